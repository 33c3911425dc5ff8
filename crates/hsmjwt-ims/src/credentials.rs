//! Credential files users already have, and credentials from flags or the environment.
//!
//! - AEM Developer Console *service credentials* (`{"ok":true,"integration":{...}}`): a
//!   service-account (JWT) integration, with or without its `privateKey` (a user who moved
//!   the key into an HSM keeps the file without it).
//! - Adobe Developer Console *project* JSON: OAuth server-to-server credentials and legacy
//!   service-account (JWT) credentials.
//!
//! Secrets (`clientSecret`, `privateKey`) are [`SecretString`]s: redacted in `Debug`, wiped
//! on drop, never logged.

use std::path::Path;
use std::sync::Arc;

use hsmjwt_core::NumericDate;
use hsmjwt_core::profile::adobe::{DEFAULT_IMS_HOST, ServiceAccountJwt, split_metascopes};
use secrecy::SecretString;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::endpoint::check_host;
use crate::error::{Error, Result};

const AEM: &str = "AEM service credentials";
const CONSOLE: &str = "Developer Console project";

/// Largest credentials file read: 1 MiB.
pub const MAX_CREDENTIALS_FILE: u64 = 1 << 20;

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
    /// `certificate_pem` holds one, else from `certificate_expiration_date`.
    ///
    /// # Errors
    /// [`Error::Certificate`] when the PEM or the date cannot be parsed.
    pub fn certificate_not_after(&self) -> Result<Option<NumericDate>> {
        if let Some(pem) = &self.certificate_pem
            && let Some(der) = first_certificate(pem)?
        {
            let (_, cert) =
                x509_parser::parse_x509_certificate(&der).map_err(|e| Error::Certificate {
                    reason: e.to_string(),
                })?;
            return Ok(Some(NumericDate::from_unix(
                cert.validity().not_after.timestamp(),
            )));
        }
        match &self.certificate_expiration_date {
            Some(date) => parse_rfc3339(date)
                .map(Some)
                .ok_or_else(|| Error::Certificate {
                    reason: format!(
                        "`certificateExpirationDate` `{date}` is not an RFC 3339 UTC date"
                    ),
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
    /// missing or ill-typed field.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let root = hsmjwt_core::json::parse_object(bytes, "credentials").map_err(|e| match e {
            hsmjwt_core::Error::InvalidJson { source, .. } => Error::CredentialsJson {
                source: Arc::new(source),
            },
            other => Error::credentials("credentials", other.to_string()),
        })?;
        if root.contains_key("project") {
            return parse_console(root).map(CredentialsFile::Console);
        }
        if root.contains_key("integration") || root.contains_key("technicalAccount") {
            return parse_aem(root).map(CredentialsFile::Aem);
        }
        Err(Error::credentials(
            "credentials",
            "neither AEM service credentials (`integration`) nor a Developer Console project (`project`)",
        ))
    }

    /// Reads and parses a credentials file (at most 1 MiB).
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be read; as [`CredentialsFile::from_json`].
    pub fn load(path: &Path) -> Result<Self> {
        let io = |e: std::io::Error| Error::Io {
            path: path.display().to_string(),
            source: Arc::new(e),
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.len() > MAX_CREDENTIALS_FILE {
            return Err(Error::credentials(
                "credentials",
                format!("file is larger than {MAX_CREDENTIALS_FILE} bytes"),
            ));
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(io)?);
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

/// Reads a secret from the environment variable `var`.
///
/// # Errors
/// [`Error::Credentials`] when it is unset, empty or not Unicode (the value is never shown).
pub fn secret_from_env(var: &str) -> Result<SecretString> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(SecretString::from(v)),
        Ok(_) => Err(Error::credentials(
            "environment",
            format!("${var} is empty"),
        )),
        Err(std::env::VarError::NotPresent) => Err(Error::credentials(
            "environment",
            format!("${var} is not set"),
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::credentials(
            "environment",
            format!("${var} is not valid Unicode"),
        )),
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

// ---- field helpers ----

fn take_object(
    map: &mut Map<String, Value>,
    name: &str,
    format: &'static str,
) -> Result<Map<String, Value>> {
    match map.remove(name) {
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(Error::credentials(
            format,
            format!("`{name}` is not an object"),
        )),
        None => Err(Error::credentials(format, format!("`{name}` is missing"))),
    }
}

fn opt_string(
    map: &mut Map<String, Value>,
    name: &str,
    format: &'static str,
) -> Result<Option<String>> {
    match map.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::credentials(
            format,
            format!("`{name}` is not a string"),
        )),
    }
}

fn req_string(map: &mut Map<String, Value>, name: &str, format: &'static str) -> Result<String> {
    opt_string(map, name, format)?
        .ok_or_else(|| Error::credentials(format, format!("`{name}` is missing or empty")))
}

fn req_secret(
    map: &mut Map<String, Value>,
    name: &str,
    format: &'static str,
) -> Result<SecretString> {
    // The value moves into the SecretString without a copy.
    match map.remove(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(SecretString::from(s)),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(Error::credentials(
            format,
            format!("`{name}` is missing or empty"),
        )),
        Some(_) => Err(Error::credentials(
            format,
            format!("`{name}` is not a string"),
        )),
    }
}

fn opt_secret(
    map: &mut Map<String, Value>,
    name: &str,
    format: &'static str,
) -> Result<Option<SecretString>> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        _ => req_secret(map, name, format).map(Some),
    }
}

/// A list given as a JSON array of strings or as one comma-separated string.
fn string_list(
    map: &mut Map<String, Value>,
    name: &str,
    format: &'static str,
) -> Result<Vec<String>> {
    match map.remove(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(split_metascopes(&s)),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_owned()),
                _ => Err(Error::credentials(
                    format,
                    format!("`{name}` must hold only strings"),
                )),
            })
            .filter(|r| r.as_ref().map_or(true, |s| !s.is_empty()))
            .collect(),
        Some(_) => Err(Error::credentials(
            format,
            format!("`{name}` is not a string or an array of strings"),
        )),
    }
}

fn parse_aem(mut root: Map<String, Value>) -> Result<ServiceAccountCredentials> {
    if let Some(ok) = root.get("ok")
        && ok == &Value::Bool(false)
    {
        return Err(Error::credentials(AEM, "the document says `ok: false`"));
    }
    let mut i = if root.contains_key("integration") {
        take_object(&mut root, "integration", AEM)?
    } else {
        root
    };
    let mut account = take_object(&mut i, "technicalAccount", AEM)?;
    let client_id = req_string(&mut account, "clientId", AEM)
        .map_err(|_| Error::credentials(AEM, "`technicalAccount.clientId` is missing or empty"))?;
    let client_secret = req_secret(&mut account, "clientSecret", AEM).map_err(|_| {
        Error::credentials(AEM, "`technicalAccount.clientSecret` is missing or empty")
    })?;
    let ims_host = opt_string(&mut i, "imsEndpoint", AEM)?
        .map(|h| {
            // Tolerate a scheme or a trailing slash, keep the bare host.
            let h = h.trim();
            let h = h
                .strip_prefix("https://")
                .unwrap_or(h)
                .trim_end_matches('/')
                .to_ascii_lowercase();
            check_host(&h).map(|()| h)
        })
        .transpose()?
        .unwrap_or_else(|| DEFAULT_IMS_HOST.to_owned());
    let metascopes = string_list(&mut i, "metascopes", AEM)?;
    if metascopes.is_empty() {
        return Err(Error::credentials(AEM, "`metascopes` is missing or empty"));
    }
    Ok(ServiceAccountCredentials {
        client_id,
        client_secret,
        org_id: req_string(&mut i, "org", AEM)?,
        technical_account_id: req_string(&mut i, "id", AEM)?,
        technical_account_email: opt_string(&mut i, "email", AEM)?,
        ims_host,
        metascopes,
        private_key: opt_secret(&mut i, "privateKey", AEM)?,
        certificate_pem: opt_string(&mut i, "publicKey", AEM)?,
        certificate_expiration_date: opt_string(&mut i, "certificateExpirationDate", AEM)?,
        name: opt_string(&mut i, "name", AEM)?,
        format: CredentialsFormat::AemServiceCredentials,
    })
}

fn parse_console(mut root: Map<String, Value>) -> Result<ConsoleProject> {
    let mut project = take_object(&mut root, "project", CONSOLE)?;
    let mut org = take_object(&mut project, "org", CONSOLE)?;
    let org_id = req_string(&mut org, "ims_org_id", CONSOLE)
        .map_err(|_| Error::credentials(CONSOLE, "`project.org.ims_org_id` is missing or empty"))?;
    let project_name = opt_string(&mut project, "name", CONSOLE)?;
    let mut workspace = take_object(&mut project, "workspace", CONSOLE)?;
    let workspace_name = opt_string(&mut workspace, "name", CONSOLE)?;
    let mut details = take_object(&mut workspace, "details", CONSOLE)?;
    let list = match details.remove("credentials") {
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => {
            return Err(Error::credentials(
                CONSOLE,
                "`project.workspace.details.credentials` is not an array",
            ));
        }
    };
    let mut credentials = Vec::with_capacity(list.len());
    for (n, item) in list.into_iter().enumerate() {
        let Value::Object(mut c) = item else {
            return Err(Error::credentials(
                CONSOLE,
                format!("credential {n} is not an object"),
            ));
        };
        let name = opt_string(&mut c, "name", CONSOLE)?;
        let integration_type = opt_string(&mut c, "integration_type", CONSOLE)?;
        let at = |field: &str| format!("credentials[{n}].{field}");
        if let Some(v) = c.remove("oauth_server_to_server") {
            let Value::Object(mut o) = v else {
                return Err(Error::credentials(
                    CONSOLE,
                    format!("`{}` is not an object", at("oauth_server_to_server")),
                ));
            };
            let client_id = req_string(&mut o, "client_id", CONSOLE).map_err(|_| {
                Error::credentials(
                    CONSOLE,
                    format!(
                        "`{}` is missing or empty",
                        at("oauth_server_to_server.client_id")
                    ),
                )
            })?;
            let client_secret = match o.remove("client_secrets") {
                Some(Value::Array(secrets)) => secrets.into_iter().find_map(|s| match s {
                    Value::String(s) if !s.is_empty() => Some(SecretString::from(s)),
                    _ => None,
                }),
                _ => None,
            };
            let client_secret = match client_secret {
                Some(s) => s,
                None => req_secret(&mut o, "client_secret", CONSOLE).map_err(|_| {
                    Error::credentials(
                        CONSOLE,
                        format!(
                            "`{}` has no secret",
                            at("oauth_server_to_server.client_secrets")
                        ),
                    )
                })?,
            };
            credentials.push(ConsoleCredential::OAuthServerToServer(OAuthCredentials {
                client_id,
                client_secret,
                scopes: string_list(&mut o, "scopes", CONSOLE)?,
                org_id: Some(org_id.clone()),
                technical_account_id: opt_string(&mut o, "technical_account_id", CONSOLE)?,
                technical_account_email: opt_string(&mut o, "technical_account_email", CONSOLE)?,
                name,
                format: CredentialsFormat::ConsoleProject,
            }));
        } else if let Some(v) = c.remove("jwt") {
            let Value::Object(mut j) = v else {
                return Err(Error::credentials(
                    CONSOLE,
                    format!("`{}` is not an object", at("jwt")),
                ));
            };
            let missing = |f: &str| {
                Error::credentials(
                    CONSOLE,
                    format!("`{}` is missing or empty", at(&format!("jwt.{f}"))),
                )
            };
            let client_id =
                req_string(&mut j, "client_id", CONSOLE).map_err(|_| missing("client_id"))?;
            let client_secret = req_secret(&mut j, "client_secret", CONSOLE)
                .map_err(|_| missing("client_secret"))?;
            let technical_account_id = match opt_string(&mut j, "technical_account_id", CONSOLE)? {
                Some(t) => t,
                None => req_string(&mut j, "techacct", CONSOLE)
                    .map_err(|_| missing("technical_account_id"))?,
            };
            let mut metascopes = string_list(&mut j, "meta_scopes", CONSOLE)?;
            if metascopes.is_empty() {
                metascopes = string_list(&mut j, "metascopes", CONSOLE)?;
            }
            credentials.push(ConsoleCredential::Jwt(ServiceAccountCredentials {
                client_id,
                client_secret,
                org_id: org_id.clone(),
                technical_account_id,
                technical_account_email: opt_string(&mut j, "technical_account_email", CONSOLE)?,
                ims_host: DEFAULT_IMS_HOST.to_owned(),
                metascopes,
                private_key: None,
                certificate_pem: None,
                certificate_expiration_date: None,
                name,
                format: CredentialsFormat::ConsoleProject,
            }));
        } else {
            credentials.push(ConsoleCredential::Other {
                name,
                integration_type,
            });
        }
    }
    Ok(ConsoleProject {
        project_name,
        org_id,
        workspace_name,
        credentials,
    })
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)` to seconds since the epoch.
fn parse_rfc3339(s: &str) -> Option<NumericDate> {
    let s = s.trim();
    let s = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix('z'))
        .or_else(|| s.strip_suffix("+00:00"))?;
    let (date, time) = s.split_once(['T', 't', ' '])?;
    let mut d = date.split('-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    if d.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let time = time.split('.').next()?;
    let mut t = time.split(':');
    let h: i64 = t.next()?.parse().ok()?;
    let m: i64 = t.next()?.parse().ok()?;
    let sec: i64 = t.next()?.parse().ok()?;
    // RFC 3339 years have four digits; larger ones overflowed the day count below.
    if t.next().is_some()
        || !(0..=9999).contains(&year)
        || !(0..=23).contains(&h)
        || !(0..=59).contains(&m)
        || !(0..=60).contains(&sec)
    {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(NumericDate::from_unix(
        days * 86_400 + h * 3600 + m * 60 + sec,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(parse_rfc3339("2026-02-14"), None);
        assert_eq!(parse_rfc3339("2026-13-14T00:00:00Z"), None);
    }

    #[test]
    fn scopes() {
        assert_eq!(
            split_scopes("openid, AdobeID read_organizations"),
            ["openid", "AdobeID", "read_organizations"]
        );
    }
}
