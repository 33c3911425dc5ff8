//! What a credentials file is for, and whether it still works: the checks behind
//! `hsmjwt credentials check`, for library users too.
//!
//! [`check`] reports, for each credential in the file, which flow it is for, whether the
//! private key (the file's `privateKey`, or a key the caller opened) and the certificate
//! belong together, how many days the certificate has left, and the claims the file would
//! mint. Secrets are never part of the report.
//!
//! ```
//! use hsmjwt_ims::{CheckOptions, CredentialsFile, check::check};
//!
//! let file = CredentialsFile::from_json(br#"{"project": {"org": {"ims_org_id": "O@AdobeOrg"},
//!     "workspace": {"details": {"credentials": [{"oauth_server_to_server": {
//!     "client_id": "c", "client_secrets": ["s"], "scopes": ["openid"]}}]}}}}"#)?;
//! let report = check(&file, &CheckOptions::new());
//! assert!(!report.has_problems());
//! for f in &report.findings {
//!     println!("{:<8} {:<12} {}", f.level, f.topic, f.message);
//! }
//! # Ok::<(), hsmjwt_ims::Error>(())
//! ```

use std::fmt;

use hsmjwt_core::text::{MESSAGE_MAX_CHARS, clean};
use hsmjwt_core::{Jwk, NumericDate};
use hsmjwt_soft::{Certificate, PrivateKey, Validity};
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};

use crate::credentials::{
    ConsoleCredential, CredentialsFile, OAuthCredentials, ServiceAccountCredentials,
};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Level {
    /// Something that is as it should be.
    Ok,
    /// A fact worth knowing.
    Info,
    /// Works now, but needs attention (a certificate expiring within 30 days, say).
    Warning,
    /// Will not work (an expired certificate, a key that does not match).
    Problem,
}

impl Level {
    /// `ok`, `info`, `warning` or `problem`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Problem => "problem",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One line of a [`CheckReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// How much it matters.
    pub level: Level,
    /// What it is about: `format`, `flow`, `secret`, `scopes`, `claims`, `key`,
    /// `certificate`.
    pub topic: &'static str,
    /// What was found, on one line (what it quotes from the file escaped).
    pub message: String,
}

/// A private key to check against the certificate, opened by the caller (a key file, or a
/// key in an HSM), instead of the file's own `privateKey`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeyToCheck {
    /// The key's public half, and where it came from (for the report: "--key", say).
    Public {
        /// The public key.
        jwk: Jwk,
        /// Where the key came from.
        from: String,
    },
    /// The caller could not open the key: the reason is reported as a problem.
    Unusable(String),
}

/// What [`check`] checks against.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CheckOptions {
    /// The time to check the certificate's validity at (default: now).
    pub now: NumericDate,
    /// The key to check, instead of the file's `privateKey` (default: none).
    pub key: Option<KeyToCheck>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            now: NumericDate::now(),
            key: None,
        }
    }
}

impl CheckOptions {
    /// Checks as of now, with the file's own key.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks as of `now`.
    #[must_use]
    pub fn at(mut self, now: NumericDate) -> Self {
        self.now = now;
        self
    }

    /// Checks `key` instead of the file's `privateKey`.
    #[must_use]
    pub fn with_key(mut self, key: KeyToCheck) -> Self {
        self.key = Some(key);
        self
    }
}

/// What [`check`] found: the findings in order, and the facts behind them as JSON
/// (`service_account`, `oauth_server_to_server`, `claims`, `certificate`, `org`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CheckReport {
    /// The findings, in the order they were made.
    pub findings: Vec<Finding>,
    /// The facts: identifiers, scopes, the claims it would mint, the certificate's
    /// subject, expiry and `x5t#S256`. Secrets are only said to be present or missing.
    pub details: Map<String, Value>,
}

impl CheckReport {
    /// Whether any finding is a [`Level::Problem`]: the file will not work as it is.
    pub fn has_problems(&self) -> bool {
        self.findings.iter().any(|f| f.level == Level::Problem)
    }

    /// The claims the file would mint, when it has a service-account credential.
    pub fn claims(&self) -> Option<&Value> {
        self.details.get("claims")
    }

    /// The report as one JSON object: the details, `findings` (`level`, `topic`,
    /// `message`) and `ok` (no problem).
    pub fn to_json(&self) -> Value {
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|f| json!({"level": f.level.as_str(), "topic": f.topic, "message": f.message}))
            .collect();
        let mut v = self.details.clone();
        v.insert("findings".into(), Value::Array(findings));
        v.insert("ok".into(), Value::Bool(!self.has_problems()));
        Value::Object(v)
    }

    /// Adds a finding. Its message quotes values from the file (a host, a credential's
    /// name, a reason): it is kept one line, escaped as [`clean`] does.
    fn push(&mut self, level: Level, topic: &'static str, message: impl Into<String>) {
        self.findings.push(Finding {
            level,
            topic,
            message: clean(&message.into(), MESSAGE_MAX_CHARS),
        });
    }
}

/// Checks a credentials file: see the module documentation.
pub fn check(file: &CredentialsFile, options: &CheckOptions) -> CheckReport {
    let mut r = CheckReport::default();
    match file {
        CredentialsFile::Aem(creds) => {
            r.push(
                Level::Info,
                "format",
                "AEM as a Cloud Service service credentials",
            );
            service_account(&mut r, creds, options);
        }
        CredentialsFile::Console(project) => {
            r.push(Level::Info, "format", "Adobe Developer Console project");
            r.details.insert("org".into(), json!(project.org_id));
            if project.credentials.is_empty() {
                r.push(Level::Problem, "flow", "the project has no credential");
            }
            for c in &project.credentials {
                match c {
                    ConsoleCredential::OAuthServerToServer(o) => oauth(&mut r, o),
                    ConsoleCredential::Jwt(s) => {
                        r.push(
                            Level::Warning,
                            "flow",
                            "legacy JWT credential: Adobe retired these for its own APIs in 2025 (use OAuth server-to-server)",
                        );
                        service_account(&mut r, s, options);
                    }
                    ConsoleCredential::Other {
                        name,
                        integration_type,
                    } => r.push(
                        Level::Info,
                        "flow",
                        format!(
                            "credential {} of type {} is not used by hsmjwt",
                            name.as_deref().unwrap_or("(unnamed)"),
                            integration_type.as_deref().unwrap_or("(unknown)")
                        ),
                    ),
                }
            }
        }
    }
    r
}

fn secret_state(present: bool) -> &'static str {
    if present {
        "present (not shown)"
    } else {
        "missing"
    }
}

fn oauth(r: &mut CheckReport, o: &OAuthCredentials) {
    r.push(
        Level::Ok,
        "flow",
        "OAuth server-to-server: client_credentials at /ims/token/v3 (`hsmjwt ims token`)",
    );
    let has_secret = !o.client_secret.expose_secret().is_empty();
    r.details.insert(
        "oauth_server_to_server".into(),
        json!({
            "client_id": o.client_id,
            "client_secret": secret_state(has_secret),
            "scopes": o.scopes,
            "technical_account_id": o.technical_account_id,
        }),
    );
    if !has_secret {
        r.push(Level::Problem, "secret", "the client secret is empty");
    }
    if o.scopes.is_empty() {
        r.push(Level::Warning, "scopes", "no scopes listed");
    }
}

fn service_account(r: &mut CheckReport, c: &ServiceAccountCredentials, options: &CheckOptions) {
    r.push(
        Level::Ok,
        "flow",
        format!(
            "service account: JWT exchange at https://{}/ims/exchange/jwt (`hsmjwt ims jwt`)",
            c.ims_host
        ),
    );
    r.details.insert(
        "service_account".into(),
        json!({
            "client_id": c.client_id,
            "client_secret": secret_state(!c.client_secret.expose_secret().is_empty()),
            "org": c.org_id,
            "technical_account_id": c.technical_account_id,
            "ims_host": c.ims_host,
            "metascopes": c.metascopes,
            "private_key": if c.private_key.is_some() { "in the file (not shown)" } else { "not in the file" },
        }),
    );
    match c.service_account_jwt(&c.ims_host).claims(options.now) {
        Ok(claims) => {
            r.details.insert(
                "claims".into(),
                serde_json::to_value(&claims).unwrap_or(Value::Null),
            );
        }
        Err(e) => r.push(
            Level::Problem,
            "claims",
            format!("cannot mint the JWT: {e}"),
        ),
    }
    let public = match public_key(c, options.key.as_ref()) {
        Ok(Some((jwk, from))) => {
            r.push(Level::Info, "key", format!("private key from {from}"));
            Some(jwk)
        }
        Ok(None) => {
            r.push(
                Level::Warning,
                "key",
                "not checked: the file has no privateKey (pass --key FILE or --key 'pkcs11:...')",
            );
            None
        }
        Err(reason) => {
            r.push(Level::Problem, "key", reason);
            None
        }
    };
    certificate(r, c, public.as_ref(), options.now);
}

/// The public half of the key to check: the caller's first, else the file's `privateKey`.
fn public_key(
    c: &ServiceAccountCredentials,
    key: Option<&KeyToCheck>,
) -> Result<Option<(Jwk, String)>, String> {
    match key {
        Some(KeyToCheck::Public { jwk, from }) => return Ok(Some((jwk.clone(), from.clone()))),
        Some(KeyToCheck::Unusable(reason)) => return Err(reason.clone()),
        None => {}
    }
    match &c.private_key {
        Some(pem) => {
            let key = PrivateKey::from_pem(pem.expose_secret())
                .map_err(|e| format!("the file's privateKey is not usable: {}", chain(&e)))?;
            Ok(Some((key.public_jwk(), "the file's privateKey".to_owned())))
        }
        None => Ok(None),
    }
}

/// An error and its causes, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn certificate(
    r: &mut CheckReport,
    c: &ServiceAccountCredentials,
    key: Option<&Jwk>,
    now: NumericDate,
) {
    let Some(pem) = &c.certificate_pem else {
        r.push(
            Level::Warning,
            "certificate",
            "the file has no certificate (publicKey): key match and expiry not checked",
        );
        return;
    };
    let chain = match Certificate::chain_from_bytes(pem.as_bytes()) {
        Ok(chain) => chain,
        Err(e) => {
            r.push(
                Level::Problem,
                "certificate",
                format!("the certificate is not usable: {e}"),
            );
            return;
        }
    };
    let Some(cert) = chain.first() else {
        r.push(Level::Problem, "certificate", "no certificate in publicKey");
        return;
    };
    r.details.insert(
        "certificate".into(),
        json!({
            "subject": cert.subject(),
            "not_after": cert.not_after_text(),
            "x5t#S256": cert.x5t_s256(),
        }),
    );
    let until = cert.not_after_text();
    match cert.validity(now) {
        Validity::Valid { days_left } => r.push(
            Level::Ok,
            "certificate",
            format!("valid for {days_left} more days (until {until})"),
        ),
        Validity::ExpiresSoon { days_left } => r.push(
            Level::Warning,
            "certificate",
            format!(
                "expires in {days_left} days ({until}): create a new one in the Developer Console"
            ),
        ),
        Validity::Expired { days_ago } => r.push(
            Level::Problem,
            "certificate",
            format!("expired {days_ago} days ago ({until}): IMS will refuse the JWT"),
        ),
        Validity::NotYetValid => r.push(Level::Problem, "certificate", "not valid yet"),
        _ => r.push(Level::Warning, "certificate", "validity unknown"),
    }
    if let Some(jwk) = key {
        if cert.certifies(jwk) {
            r.push(
                Level::Ok,
                "key",
                "the key and the certificate belong together",
            );
        } else {
            r.push(
                Level::Problem,
                "key",
                "the key does not match the certificate: IMS will answer invalid_signature",
            );
        }
    }
}

#[cfg(test)]
mod untrusted_tests {
    use super::*;

    /// A finding quotes the file (a credential's name and type): one line, escaped.
    #[test]
    fn findings_are_one_line() {
        let forged = "a\nok       flow         forged\u{1b}]0;x\u{7}\u{202e}";
        let file = serde_json::json!({"project": {"org": {"ims_org_id": "O"},
            "workspace": {"details": {"credentials": [
                {"name": forged, "integration_type": forged}]}}}});
        let file = CredentialsFile::from_json(file.to_string().as_bytes()).unwrap();
        let report = check(&file, &CheckOptions::new());
        let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
        assert!(
            messages.contains(&r"credential a\nok       flow         forged\u{1b}]0;x\u{7}\u{202e} of type a\nok       flow         forged\u{1b}]0;x\u{7}\u{202e} is not used by hsmjwt"),
            "{messages:?}"
        );
    }
}
