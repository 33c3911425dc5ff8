//! Credential files users already have, and credentials from flags or code.
//!
//! - AEM Developer Console *service credentials* (`{"ok":true,"integration":{...}}`): a
//!   service-account (JWT) integration, with or without its `privateKey` (a user who moved
//!   the key into an HSM keeps the file without it).
//! - Adobe Developer Console *project* JSON: OAuth server-to-server credentials and legacy
//!   service-account (JWT) credentials.
//!
//! Secrets (`clientSecret`, `privateKey`) are [`SecretString`]s: redacted in `Debug`, wiped
//! on drop, never logged.
//!
//! The documents are read strictly (duplicate members are an error) into `serde` structures;
//! a member of the wrong JSON type is reported as such with its path
//! (``` `integration.technicalAccount.clientId` is not a string ```), a required one that is
//! absent or empty as missing.

use std::io::Read as _;
use std::path::Path;

use hsmjwt_core::NumericDate;
use hsmjwt_core::profile::adobe::{DEFAULT_IMS_HOST, ServiceAccountJwt};
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::endpoint::check_host;
use crate::error::{Error, Result};

mod doc;

const AEM: &str = "AEM service credentials";
const CONSOLE: &str = "Developer Console project";

/// Largest credentials file read: 1 MiB.
pub const MAX_CREDENTIALS_FILE: u64 = 1 << 20;

/// AEM service credentials without their private key: the document `json` with
/// `integration.privateKey` (or a root-level `privateKey`, for a bare integration) removed,
/// every other member unchanged and in its order, pretty-printed, in a buffer wiped when
/// dropped (it still holds the client secret). This is the file to keep once the key lives
/// in an HSM: `hsmjwt ims jwt --credentials OUT --key 'pkcs11:...'` uses it.
///
/// # Errors
/// As [`CredentialsFile::from_json`]; [`Error::Credentials`] when the document is not AEM
/// service credentials or has no `privateKey`.
pub fn aem_without_private_key(json: &[u8]) -> Result<Zeroizing<String>> {
    match CredentialsFile::from_json(json)? {
        CredentialsFile::Aem(c) if c.private_key.is_some() => {}
        CredentialsFile::Aem(_) => {
            return Err(Error::credentials(
                AEM,
                "the document has no `privateKey` to remove",
            ));
        }
        CredentialsFile::Console(_) => {
            return Err(Error::credentials(
                CONSOLE,
                "only AEM service credentials carry a private key to remove",
            ));
        }
    }
    let mut root = Wiped(serde_json::Value::Object(
        hsmjwt_core::json::parse_object(json, "credentials")
            .map_err(|e| Error::credentials(AEM, e.to_string()))?,
    ));
    let integration = match root.0.get_mut("integration") {
        Some(serde_json::Value::Object(i)) => i,
        _ => match &mut root.0 {
            serde_json::Value::Object(r) => r,
            _ => return Err(Error::credentials(AEM, "not an object")),
        },
    };
    // `shift_remove` keeps the order of the other members (serde_json's `preserve_order`).
    if let Some(removed) = integration.shift_remove("privateKey") {
        drop(Wiped(removed));
    }
    let text = serde_json::to_string_pretty(&root.0)
        .map_err(|e| Error::credentials(AEM, format!("cannot write the document: {e}")))?;
    let mut out = Zeroizing::new(text);
    out.push('\n');
    Ok(out)
}

/// A JSON value whose strings are wiped when dropped.
struct Wiped(serde_json::Value);

impl Drop for Wiped {
    fn drop(&mut self) {
        fn wipe(value: &mut serde_json::Value) {
            match value {
                serde_json::Value::String(s) => zeroize::Zeroize::zeroize(s),
                serde_json::Value::Array(a) => a.iter_mut().for_each(wipe),
                serde_json::Value::Object(o) => o.values_mut().for_each(wipe),
                _ => {}
            }
        }
        wipe(&mut self.0);
    }
}

/// Which kind of document credentials came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialsFormat {
    /// AEM Developer Console service credentials.
    AemServiceCredentials,
    /// Adobe Developer Console project JSON.
    ConsoleProject,
    /// Built from flags, environment variables or code.
    Manual,
}

/// A service-account (JWT) integration: what the JWT exchange needs, and what a
/// credentials check inspects.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServiceAccountCredentials {
    /// The integration's client ID (API key).
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretString,
    /// Organization ID (`...@AdobeOrg`): the JWT's `iss`.
    pub org_id: String,
    /// Technical account ID (`...@techacct.adobe.com`): the JWT's `sub`.
    pub technical_account_id: String,
    /// Technical account email, when the document has one.
    pub technical_account_email: Option<String>,
    /// The IMS host (`imsEndpoint`), default `ims-na1.adobelogin.com`.
    pub ims_host: String,
    /// Metascopes (AEM: `metascopes`, comma-separated; Console: `meta_scopes`).
    pub metascopes: Vec<String>,
    /// The private key PEM, when the document carries it.
    pub private_key: Option<SecretString>,
    /// The registered certificate (AEM `publicKey`), or a public key PEM.
    pub certificate_pem: Option<String>,
    /// The certificate's expiry as the document states it (AEM
    /// `certificateExpirationDate`).
    pub certificate_expiration_date: Option<String>,
    /// A display name, when the document has one.
    pub name: Option<String>,
    /// Where these credentials came from.
    pub format: CredentialsFormat,
}

impl ServiceAccountCredentials {
    /// Credentials from individual values (flags, environment, code), on the production
    /// IMS host, without key material.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: SecretString,
        org_id: impl Into<String>,
        technical_account_id: impl Into<String>,
        metascopes: Vec<String>,
    ) -> Self {
        ServiceAccountCredentials {
            client_id: client_id.into(),
            client_secret,
            org_id: org_id.into(),
            technical_account_id: technical_account_id.into(),
            technical_account_email: None,
            ims_host: DEFAULT_IMS_HOST.to_owned(),
            metascopes,
            private_key: None,
            certificate_pem: None,
            certificate_expiration_date: None,
            name: None,
            format: CredentialsFormat::Manual,
        }
    }

    /// The key of these credentials and its registered certificate, for moving the key into
    /// an HSM (`hsmjwt hsm import --credentials`): the `privateKey` as a software key, and
    /// `publicKey` when it is a certificate. When `publicKey` is a bare public key instead,
    /// it must be the private key's, and no certificate is returned.
    ///
    /// # Errors
    /// [`Error::Credentials`] when the document has no `privateKey`; [`Error::PrivateKey`]
    /// when it does not load; [`Error::Certificate`] when `publicKey` is neither a
    /// certificate nor a public key, or is the public key of another key.
    pub fn key_and_certificate(
        &self,
    ) -> Result<(hsmjwt_soft::PrivateKey, Option<hsmjwt_soft::Certificate>)> {
        use secrecy::ExposeSecret as _;
        let format = match self.format {
            CredentialsFormat::ConsoleProject => CONSOLE,
            _ => AEM,
        };
        let pem = self
            .private_key
            .as_ref()
            .ok_or_else(|| Error::credentials(format, "the document has no `privateKey`"))?;
        let key =
            hsmjwt_soft::PrivateKey::from_pem(pem.expose_secret()).map_err(Error::PrivateKey)?;
        let certificate = match &self.certificate_pem {
            Some(pem) if pem.contains("-----BEGIN CERTIFICATE-----") => {
                hsmjwt_soft::Certificate::chain_from_bytes(pem.as_bytes())
                    .map_err(|e| Error::Certificate {
                        reason: format!("`publicKey` is not a usable certificate: {e}"),
                    })?
                    .into_iter()
                    .next()
            }
            Some(pem) => {
                let public =
                    hsmjwt_soft::PublicKey::from_pem(pem).map_err(|e| Error::Certificate {
                        reason: format!(
                            "`publicKey` is neither a certificate nor a public key: {e}"
                        ),
                    })?;
                if &public != key.public_key() {
                    return Err(Error::Certificate {
                        reason: "`publicKey` is not the public key of `privateKey`".to_owned(),
                    });
                }
                None
            }
            None => None,
        };
        Ok((key, certificate))
    }

    /// Sets the IMS host.
    ///
    /// # Errors
    /// [`Error::InvalidHost`] when it is not a bare host name.
    pub fn with_ims_host(mut self, host: &str) -> Result<Self> {
        check_host(host)?;
        self.ims_host = host.to_ascii_lowercase();
        Ok(self)
    }

    /// Sets the certificate or public key PEM.
    #[must_use]
    pub fn with_certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.certificate_pem = Some(pem.into());
        self
    }

    /// The JWT template for these credentials, naming `ims_host` in `aud` and metascope
    /// claims (normally [`ServiceAccountCredentials::ims_host`], or the host of the IMS the
    /// token goes to).
    pub fn service_account_jwt(&self, ims_host: &str) -> ServiceAccountJwt {
        ServiceAccountJwt::new(
            self.org_id.clone(),
            self.technical_account_id.clone(),
            self.client_id.clone(),
            ims_host,
        )
        .with_metascopes(self.metascopes.iter().cloned())
    }

    /// The certificate's `notAfter`, read from the certificate itself when
    /// `certificate_pem` holds one, else from `certificate_expiration_date` (RFC 3339).
    ///
    /// # Errors
    /// [`Error::Certificate`] when the PEM or the certificate cannot be parsed, or the date
    /// is not a valid RFC 3339 date (an impossible day such as `2025-02-31` included).
    pub fn certificate_not_after(&self) -> Result<Option<NumericDate>> {
        if let Some(pem) = &self.certificate_pem
            && let Some(der) = first_certificate(pem)?
        {
            let cert =
                hsmjwt_soft::Certificate::from_der(&der).map_err(|e| Error::Certificate {
                    reason: e.to_string(),
                })?;
            return Ok(Some(cert.not_after()));
        }
        match &self.certificate_expiration_date {
            Some(date) => parse_rfc3339(date)
                .map(Some)
                .ok_or_else(|| Error::Certificate {
                    reason: format!("`certificateExpirationDate` {date:?} is not an RFC 3339 date"),
                }),
            None => Ok(None),
        }
    }
}

/// The DER of the first `CERTIFICATE` block, if the PEM has one.
fn first_certificate(pem_text: &str) -> Result<Option<Vec<u8>>> {
    let blocks = pem::parse_many(pem_text.as_bytes()).map_err(|e| Error::Certificate {
        reason: e.to_string(),
    })?;
    Ok(blocks
        .into_iter()
        .find(|b| b.tag() == "CERTIFICATE")
        .map(pem::Pem::into_contents))
}

/// Seconds since the epoch of an RFC 3339 date-time (`2026-02-14T07:35:37.000Z`, any
/// offset); `None` for anything else, impossible dates included.
fn parse_rfc3339(s: &str) -> Option<NumericDate> {
    let t = time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .ok()?;
    Some(NumericDate::from_unix(t.unix_timestamp()))
}

/// OAuth server-to-server (client credentials) credentials.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OAuthCredentials {
    /// Client ID.
    pub client_id: String,
    /// Client secret (the first of `client_secrets` in a Console project).
    pub client_secret: SecretString,
    /// Scopes, sent comma-separated to IMS.
    pub scopes: Vec<String>,
    /// Organization ID, when known.
    pub org_id: Option<String>,
    /// Technical account ID, when known.
    pub technical_account_id: Option<String>,
    /// Technical account email, when known.
    pub technical_account_email: Option<String>,
    /// A display name, when the document has one.
    pub name: Option<String>,
    /// Where these credentials came from.
    pub format: CredentialsFormat,
}

impl OAuthCredentials {
    /// Credentials from individual values (flags, environment, code).
    pub fn new(
        client_id: impl Into<String>,
        client_secret: SecretString,
        scopes: Vec<String>,
    ) -> Self {
        OAuthCredentials {
            client_id: client_id.into(),
            client_secret,
            scopes,
            org_id: None,
            technical_account_id: None,
            technical_account_email: None,
            name: None,
            format: CredentialsFormat::Manual,
        }
    }
}

/// A credential inside a Developer Console project.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConsoleCredential {
    /// `integration_type: oauth_server_to_server`.
    OAuthServerToServer(OAuthCredentials),
    /// A legacy service-account (JWT) credential.
    Jwt(ServiceAccountCredentials),
    /// Another kind (OAuth web, API key, ...), kept for listing.
    Other {
        /// The credential's name.
        name: Option<String>,
        /// Its `integration_type`.
        integration_type: Option<String>,
    },
}

/// An Adobe Developer Console project JSON.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConsoleProject {
    /// `project.name`.
    pub project_name: Option<String>,
    /// `project.org.ims_org_id`.
    pub org_id: String,
    /// `project.workspace.name`.
    pub workspace_name: Option<String>,
    /// The workspace's credentials, in document order.
    pub credentials: Vec<ConsoleCredential>,
}

/// A parsed credentials document.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CredentialsFile {
    /// AEM service credentials.
    Aem(ServiceAccountCredentials),
    /// A Developer Console project.
    Console(ConsoleProject),
}

impl CredentialsFile {
    /// Parses either kind of document, recognised by its shape.
    ///
    /// # Errors
    /// [`Error::CredentialsJson`] for malformed JSON, [`Error::Credentials`] naming the
    /// member (by its path) that is missing, empty or of the wrong type.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let root = hsmjwt_core::json::parse_object(bytes, "credentials").map_err(|e| match e {
            hsmjwt_core::Error::InvalidJson { source, .. } => Error::CredentialsJson { source },
            other => Error::credentials("credentials", other.to_string()),
        })?;
        if root.contains_key("project") {
            return doc::console(root).map(CredentialsFile::Console);
        }
        if root.contains_key("integration") || root.contains_key("technicalAccount") {
            return doc::aem(root).map(CredentialsFile::Aem);
        }
        Err(Error::credentials(
            "credentials",
            "neither AEM service credentials (`integration`) nor a Developer Console project (`project`)",
        ))
    }

    /// Reads and parses a credentials file of at most [`MAX_CREDENTIALS_FILE`] bytes. The
    /// bound holds while reading, so a pipe or a device cannot make it read more.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be read, [`Error::Credentials`] when it is larger than
    /// the limit; as [`CredentialsFile::from_json`].
    pub fn load(path: &Path) -> Result<Self> {
        let io = |e: std::io::Error| Error::Io {
            path: path.display().to_string(),
            source: Box::new(e),
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Zeroizing::new(Vec::new());
        file.take(MAX_CREDENTIALS_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_CREDENTIALS_FILE {
            return Err(Error::credentials(
                "credentials",
                format!(
                    "{} is larger than {MAX_CREDENTIALS_FILE} bytes",
                    path.display()
                ),
            ));
        }
        Self::from_json(&bytes)
    }

    /// The service-account (JWT) credentials: the AEM integration, or the first JWT
    /// credential of a Console project.
    ///
    /// # Errors
    /// [`Error::Credentials`] when the document has none.
    pub fn service_account(&self) -> Result<&ServiceAccountCredentials> {
        match self {
            CredentialsFile::Aem(c) => Ok(c),
            CredentialsFile::Console(p) => p
                .credentials
                .iter()
                .find_map(|c| match c {
                    ConsoleCredential::Jwt(j) => Some(j),
                    _ => None,
                })
                .ok_or_else(|| {
                    Error::credentials(
                        CONSOLE,
                        "the project has no service-account (JWT) credential",
                    )
                }),
        }
    }

    /// The OAuth server-to-server credentials: the first of a Console project.
    ///
    /// # Errors
    /// [`Error::Credentials`] when the document has none (AEM service credentials never do).
    pub fn oauth_server_to_server(&self) -> Result<&OAuthCredentials> {
        match self {
            CredentialsFile::Aem(_) => Err(Error::credentials(
                AEM,
                "service credentials are for the JWT exchange (`ims jwt`), not OAuth server-to-server",
            )),
            CredentialsFile::Console(p) => p
                .credentials
                .iter()
                .find_map(|c| match c {
                    ConsoleCredential::OAuthServerToServer(o) => Some(o),
                    _ => None,
                })
                .ok_or_else(|| {
                    Error::credentials(
                        CONSOLE,
                        "the project has no OAuth server-to-server credential",
                    )
                }),
        }
    }
}

/// Splits a scope list given as `a,b` or `a b` into scopes.
pub fn split_scopes(list: &str) -> Vec<String> {
    list.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(
            split_scopes("openid, AdobeID read_organizations"),
            ["openid", "AdobeID", "read_organizations"]
        );
    }

    #[test]
    fn rfc3339() {
        assert_eq!(
            parse_rfc3339("2026-02-14T07:35:37.000Z"),
            Some(NumericDate::from_unix(1_771_054_537))
        );
        assert_eq!(
            parse_rfc3339("1970-01-01T00:00:00Z"),
            Some(NumericDate::from_unix(0))
        );
        assert_eq!(
            parse_rfc3339("2000-03-01T00:00:00+00:00"),
            Some(NumericDate::from_unix(951_868_800))
        );
        assert_eq!(
            parse_rfc3339("2000-03-01T02:00:00+02:00"),
            Some(NumericDate::from_unix(951_868_800))
        );
        for bad in [
            "2026-02-14",
            "2026-13-14T00:00:00Z",
            "2025-02-31T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-02-14T24:00:00Z",
            "2026-02-14T07:35:37",
            "99999-02-14T07:35:37Z",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        // A leap year's 29 February exists.
        assert!(parse_rfc3339("2024-02-29T00:00:00Z").is_some());
    }

    #[test]
    fn an_impossible_expiry_date_is_an_error() {
        let mut c = ServiceAccountCredentials::new(
            "id",
            SecretString::from("s"),
            "org@AdobeOrg",
            "tech@techacct.adobe.com",
            vec!["m".into()],
        );
        c.certificate_expiration_date = Some("2025-02-31T07:35:37.000Z".into());
        let e = c.certificate_not_after().unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid certificate: `certificateExpirationDate` \"2025-02-31T07:35:37.000Z\" is not an RFC 3339 date"
        );
    }
}

#[cfg(test)]
mod without_key_tests {
    use super::*;

    #[test]
    fn the_private_key_goes_and_everything_else_stays_in_order() {
        let json = br#"{"ok":true,"integration":{"imsEndpoint":"ims-na1.adobelogin.com","metascopes":"ent_aem_cloud_api","technicalAccount":{"clientId":"cid","clientSecret":"sec"},"email":"e@techacct.adobe.com","id":"tid@techacct.adobe.com","org":"org@AdobeOrg","privateKey":"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n","publicKey":"-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n","certificateExpirationDate":"2027-01-01T00:00:00.000Z"},"statusCode":200}"#;
        let out = aem_without_private_key(json).unwrap();
        assert!(
            !out.contains("privateKey") && !out.contains("PRIVATE KEY"),
            "{}",
            *out
        );
        let order: Vec<usize> = [
            "\"ok\"",
            "imsEndpoint",
            "metascopes",
            "technicalAccount",
            "clientSecret",
            "\"email\"",
            "\"id\"",
            "\"org\"",
            "publicKey",
            "certificateExpirationDate",
            "statusCode",
        ]
        .iter()
        .map(|k| out.find(k).unwrap_or_else(|| panic!("{k} lost")))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{}", *out);
        let parsed = CredentialsFile::from_json(out.as_bytes()).unwrap();
        let c = parsed.service_account().unwrap();
        assert!(c.private_key.is_none());
        assert_eq!(c.client_id, "cid");
        assert!(c.certificate_pem.as_deref().unwrap().contains("MIIC"));

        // Already without a key, or not AEM: refused, saying why.
        let e = aem_without_private_key(out.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("no `privateKey`"), "{e}");
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;
    use hsmjwt_soft::{KeySpec, PrivateKey};

    fn creds(key: Option<&PrivateKey>, public_pem: Option<String>) -> ServiceAccountCredentials {
        let mut c = ServiceAccountCredentials::new(
            "cid",
            SecretString::from("secret"),
            "org@AdobeOrg",
            "tech@techacct.adobe.com",
            vec!["ent_aem_cloud_api".into()],
        );
        c.format = CredentialsFormat::AemServiceCredentials;
        c.private_key = key.map(|k| SecretString::from(k.to_pkcs8_pem().unwrap().as_str()));
        c.certificate_pem = public_pem;
        c
    }

    #[test]
    fn the_key_comes_with_its_certificate_or_a_matching_public_key() {
        let key = PrivateKey::generate(KeySpec::P256).unwrap();
        let other = PrivateKey::generate(KeySpec::P256).unwrap();
        let own = creds(Some(&key), Some(key.public_key().to_spki_pem()));
        let (loaded, cert) = own.key_and_certificate().unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        assert!(cert.is_none());

        let wrong = creds(Some(&key), Some(other.public_key().to_spki_pem()));
        let e = wrong.key_and_certificate().unwrap_err();
        assert!(matches!(e, Error::Certificate { .. }), "{e:?}");
        assert!(
            e.to_string().contains("not the public key of `privateKey`"),
            "{e}"
        );

        let e = creds(None, None).key_and_certificate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid credentials (AEM service credentials): the document has no `privateKey`"
        );
        let mut junk = creds(None, None);
        junk.private_key = Some(SecretString::from(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ));
        let e = junk.key_and_certificate().unwrap_err();
        assert!(matches!(e, Error::PrivateKey(_)), "{e:?}");
    }
}
