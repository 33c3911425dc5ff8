//! Shared fixtures: a key pair with an openssl-made certificate, AEM and Console files with
//! fake values, emulators and fast clients.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hsmjwt_core::Signer;
use hsmjwt_emulator::{Emulator, EmulatorConfig, Integration};
use hsmjwt_ims::{
    CredentialsFile, ImsClient, ImsEndpoint, OAuthCredentials, ServiceAccountCredentials,
};
use hsmjwt_oauth::{CacheClock, HttpClient, HttpOptions, SecretString};
use hsmjwt_soft::{KeySpec, PrivateKey, SoftSigner};

pub(crate) const CLIENT_ID: &str = "cm-p12345-e67890-integration";
pub(crate) const CLIENT_SECRET: &str = "p8e-FAKE-secret-value-0123456789";
pub(crate) const ORG: &str = "0123456789ABCDEF01234567@AdobeOrg";
pub(crate) const TECH: &str = "FEDCBA9876543210FEDCBA98@techacct.adobe.com";
pub(crate) const METASCOPE: &str = "ent_aem_cloud_api";

pub(crate) const S2S_CLIENT_ID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
pub(crate) const S2S_SECRET: &str = "p8e-FAKE-s2s-secret-9876543210";
pub(crate) const S2S_SCOPES: [&str; 3] = ["openid", "AdobeID", "read_organizations"];

/// A key pair, its PEMs and a self-signed certificate made by openssl.
pub(crate) struct Keys {
    _dir: tempfile::TempDir,
    pub(crate) private_pem: String,
    pub(crate) public_pem: String,
    pub(crate) cert_pem: String,
}

impl Keys {
    pub(crate) fn signer(&self) -> Arc<dyn Signer> {
        Arc::new(SoftSigner::new(PrivateKey::from_pem(&self.private_pem).unwrap(), None).unwrap())
    }
}

fn make_keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeySpec::Rsa(2048)).unwrap();
    let private_pem = key.to_pkcs8_pem().unwrap().to_string();
    let public_pem = key.public_key().to_spki_pem();
    let key_path = dir.path().join("key.pem");
    key.write_pkcs8_pem(&key_path, true).unwrap();
    let cert_path = dir.path().join("cert.pem");
    self_signed_certificate(
        &key_path,
        &cert_path,
        &["-days", "365", "-subj", "/CN=hsmjwt-ims-test"],
    );
    // AEM files carry CRLF line ends.
    let cert_pem = std::fs::read_to_string(&cert_path)
        .unwrap()
        .replace('\n', "\r\n");
    Keys {
        _dir: dir,
        private_pem,
        public_pem,
        cert_pem,
    }
}

/// Has openssl write a self-signed certificate for the PEM key at `key` to `out`, with
/// `options` (validity, subject, extensions).
pub(crate) fn self_signed_certificate(key: &Path, out: &Path, options: &[&str]) {
    let made = Command::new("openssl")
        .args(["req", "-new", "-x509"])
        .args(options)
        .arg("-key")
        .arg(key)
        .arg("-out")
        .arg(out)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&made.stderr)
    );
}

/// The registered key pair (one per test process).
pub(crate) fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(make_keys)
}

/// Another key pair, not registered anywhere.
pub(crate) fn other_keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(make_keys)
}

/// AEM service credentials JSON with fake values.
pub(crate) fn aem_json(with_private_key: bool, public: &str, metascopes: &str) -> String {
    let k = keys();
    hsmjwt_testkit::aem::AemAccount {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        email: "fedcba98-7654-3210@techacct.adobe.com",
        id: TECH,
        org: ORG,
        metascopes,
        public_key: public,
        private_key: with_private_key.then_some(k.private_pem.as_str()),
        certificate_expiration: Some("2027-02-14T07:35:37.000Z"),
    }
    .to_json()
}

/// A Developer Console project JSON with an OAuth server-to-server and a JWT credential.
pub(crate) fn console_json() -> String {
    serde_json::json!({
        "project": {
            "id": "4566206088344794932",
            "name": "fake-project",
            "title": "Fake project",
            "org": {"id": "1234", "name": "Fake Org", "ims_org_id": ORG},
            "workspace": {
                "id": "4566206088344853970",
                "name": "Stage",
                "details": {
                    "credentials": [
                        {
                            "id": "11",
                            "name": "OAuth S2S",
                            "integration_type": "oauth_server_to_server",
                            "oauth_server_to_server": {
                                "client_id": S2S_CLIENT_ID,
                                "client_secrets": [S2S_SECRET],
                                "technical_account_email": "abc@techacct.adobe.com",
                                "technical_account_id": "ABC@techacct.adobe.com",
                                "scopes": S2S_SCOPES,
                            }
                        },
                        {
                            "id": "12",
                            "name": "Legacy JWT",
                            "integration_type": "service",
                            "jwt": {
                                "client_id": "legacy-client",
                                "client_secret": "p8e-FAKE-legacy-secret",
                                "techacct": "LEGACY@techacct.adobe.com",
                                "meta_scopes": ["ent_analytics_bulk_ingest_sdk", "ent_dataservices_sdk"],
                            }
                        }
                    ],
                    "services": []
                }
            }
        }
    })
    .to_string()
}

pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The AEM credentials (with a certificate, without the private key).
pub(crate) fn aem_credentials() -> ServiceAccountCredentials {
    let file = CredentialsFile::from_json(aem_json(false, &keys().cert_pem, METASCOPE).as_bytes())
        .unwrap();
    file.service_account().unwrap().clone()
}

pub(crate) fn s2s_credentials() -> OAuthCredentials {
    let file = CredentialsFile::from_json(console_json().as_bytes()).unwrap();
    file.oauth_server_to_server().unwrap().clone()
}

/// An emulator config knowing the AEM integration and the S2S client.
pub(crate) fn config() -> EmulatorConfig {
    EmulatorConfig::new()
        .with_integration(Integration::from_service_account(&aem_credentials()).unwrap())
        .with_integration(Integration::from_oauth(&s2s_credentials()))
}

pub(crate) async fn emulator() -> Emulator {
    Emulator::start(config()).await.unwrap()
}

/// Fast retries, short timeouts.
pub(crate) fn fast() -> HttpOptions {
    HttpOptions::default()
        .with_backoff(Duration::from_millis(10), Duration::from_millis(50))
        .with_request_timeout(Duration::from_secs(5))
        .with_connect_timeout(Duration::from_secs(2))
}

pub(crate) fn ims_client(emu: &Emulator, options: HttpOptions) -> ImsClient {
    let endpoint = ImsEndpoint::production()
        .with_base_url(&emu.base_url())
        .unwrap();
    ImsClient::with_http(endpoint, HttpClient::new(options).unwrap())
}

pub(crate) fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

/// A cache clock that moves only when told to.
#[derive(Debug)]
pub(crate) struct ManualClock {
    base: Instant,
    offset_nanos: AtomicU64,
}

impl ManualClock {
    /// A clock stopped at the current instant.
    pub(crate) fn new() -> Self {
        ManualClock {
            base: Instant::now(),
            offset_nanos: AtomicU64::new(0),
        }
    }

    /// Moves the clock forward.
    pub(crate) fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap();
        self.offset_nanos.fetch_add(nanos, Ordering::SeqCst);
    }
}

impl CacheClock for ManualClock {
    fn now(&self) -> Instant {
        self.base + Duration::from_nanos(self.offset_nanos.load(Ordering::SeqCst))
    }
}
