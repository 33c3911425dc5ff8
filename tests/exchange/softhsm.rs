//! The IMS and OAuth flows with an RSA key generated inside a SoftHSM2 token.
//!
//! SoftHSM reads `SOFTHSM2_CONF` at `C_Initialize`, and setting an environment variable is
//! `unsafe` (forbidden here), so the test prepares a token folder, then runs this test
//! binary again with `SOFTHSM2_CONF` set; the child does the work. Without SoftHSM2 the test
//! prints a skip line, unless `CI` or `HSMJWT_REQUIRE_SOFTHSM=1` is set: then it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use hsmjwt_core::{Algorithm, Signer};
use hsmjwt_emulator::{Emulator, EmulatorConfig, Endpoint, Integration};
use hsmjwt_ims::{ImsClient, ImsEndpoint, JwtExchange, ServiceAccountCredentials};
use hsmjwt_oauth::{
    ClientAuth, HttpClient, HttpOptions, JwtBearerGrant, OAuthClient, SecretString, TokenCache,
    TokenParams,
};
use hsmjwt_pkcs11::{Pkcs11Signer, Pkcs11Uri, SignerOptions};

const CHILD: &str = "HSMJWT_IMS_SOFTHSM_CHILD";
const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const TOKEN: &str = "ims-test";
const PIN: &str = "1234";

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

fn required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var("HSMJWT_REQUIRE_SOFTHSM").is_ok_and(|v| v == "1")
}

#[test]
fn ims_flows_with_a_softhsm_key() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    if !Path::new(MODULE).exists() || !on_path("softhsm2-util") {
        let msg = "SoftHSM2 is not installed (apt-get install -y softhsm2, or cargo xtask softhsm)";
        assert!(
            !required(),
            "{msg}; required because CI or HSMJWT_REQUIRE_SOFTHSM=1 is set"
        );
        eprintln!("SKIPPED: {msg}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let out = Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            TOKEN,
            "--so-pin",
            "12345678",
            "--pin",
            PIN,
        ])
        .env("SOFTHSM2_CONF", &conf)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "softhsm2-util: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "softhsm::ims_flows_with_a_softhsm_key",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, "1")
        .env("SOFTHSM2_CONF", &conf)
        .env_remove("HSMJWT_PIN")
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the SoftHSM child failed: {status}");
}

fn uri(object: &str) -> Pkcs11Uri {
    Pkcs11Uri::new()
        .with_token(TOKEN)
        .with_object(object)
        .with_module_path(PathBuf::from(MODULE))
        .with_pin_value(SecretString::from(PIN))
}

fn child() {
    let jwk = hsmjwt_pkcs11::generate_key_pair(&uri("ims-rsa"), Algorithm::RS256, None).unwrap();
    let public_pem = hsmjwt_soft::PublicKey::from_jwk(&jwk)
        .unwrap()
        .to_spki_pem();
    let signer: Arc<dyn Signer> = Arc::new(
        Pkcs11Signer::open(
            &uri("ims-rsa"),
            SignerOptions::default().with_algorithm(Algorithm::RS256),
        )
        .unwrap(),
    );
    let creds = ServiceAccountCredentials::new(
        "hsm-client",
        SecretString::from("p8e-FAKE-hsm-secret"),
        "HSMORG@AdobeOrg",
        "HSMTECH@techacct.adobe.com",
        vec!["ent_aem_cloud_api".into()],
    )
    .with_certificate_pem(public_pem);
    let config =
        EmulatorConfig::new().with_integration(Integration::from_service_account(&creds).unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let emu = Emulator::start(config).await.unwrap();
        let http =
            HttpClient::new(HttpOptions::default().with_request_timeout(Duration::from_secs(10)))
                .unwrap();
        let endpoint = ImsEndpoint::production()
            .with_base_url(&emu.base_url())
            .unwrap();
        let client = ImsClient::with_http(endpoint, http.clone());

        // JWT exchange, through the cache, with concurrent callers.
        let cache = TokenCache::new(JwtExchange::from_credentials(
            client,
            &creds,
            signer.clone(),
        ));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let cache = cache.clone();
            tasks.push(tokio::spawn(async move { cache.get().await }));
        }
        for t in tasks {
            let token = t.await.unwrap().unwrap();
            assert_eq!(token.expires_in(), Duration::from_millis(86_399_999));
        }
        assert!(emu.requests(Endpoint::JwtExchange) >= 1);
        assert_eq!(cache.fetch_count(), 1);

        // OAuth: private_key_jwt and the JWT-bearer grant with the HSM key.
        let auth = ClientAuth::private_key_jwt(signer.clone(), emu.token_endpoint());
        let oauth = OAuthClient::new(&emu.token_endpoint(), "hsm-client", auth)
            .unwrap()
            .with_http(http);
        oauth.client_credentials(&TokenParams::new()).await.unwrap();
        oauth
            .jwt_bearer(
                JwtBearerGrant::new(signer).with_subject("someone"),
                &TokenParams::new(),
            )
            .await
            .unwrap();
        assert_eq!(emu.requests(Endpoint::OAuthToken), 2);
        emu.shutdown().await;
    });
    eprintln!("SoftHSM: JWT exchange, private_key_jwt and JWT-bearer grant passed");
}
