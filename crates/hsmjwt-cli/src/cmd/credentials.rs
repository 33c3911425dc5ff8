//! `hsmjwt credentials check`: what a credentials file is for, and whether it still works.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use hsmjwt::soft::{Certificate, PrivateKey, Validity};
use hsmjwt::{Jwk, NumericDate};
use hsmjwt_ims::ExposeSecret;
use hsmjwt_ims::{ConsoleCredential, CredentialsFile, OAuthCredentials, ServiceAccountCredentials};
use serde_json::{Value, json};

/// Credentials subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum CredentialsCommand {
    /// Check an AEM service-credentials or Adobe Developer Console file.
    ///
    /// Reports which flow the file is for, whether the private key (the file's privateKey
    /// or --key) and the certificate belong together, how many days the certificate has
    /// left, and the claims it would mint. Secrets are never printed. Exits 1 when
    /// something is wrong (expired certificate, key and certificate that differ, a key or
    /// claims that cannot be used); a certificate that expires within 30 days is a warning.
    ///
    /// Examples:
    ///   hsmjwt credentials check --credentials service-credentials.json
    ///   hsmjwt credentials check --credentials aem.json --key 'pkcs11:token=jwt;object=aem'
    Check(CheckArgs),
}

/// Arguments of `hsmjwt credentials check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The credentials file (AEM service credentials or Developer Console project JSON).
    #[arg(long, value_name = "FILE")]
    credentials: PathBuf,
    /// The private key, when it is not in the file (or to check another): file or pkcs11:
    /// URI.
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// Check as of this time (seconds since the epoch) instead of now.
    #[arg(long, value_name = "UNIX")]
    now: Option<i64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(c: CredentialsCommand) -> Result<ExitCode> {
    match c {
        CredentialsCommand::Check(a) => check(&a),
    }
}

/// One line of the report.
struct Finding {
    level: &'static str,
    topic: &'static str,
    text: String,
}

#[derive(Default)]
struct Report {
    findings: Vec<Finding>,
    details: serde_json::Map<String, Value>,
}

impl Report {
    fn ok(&mut self, topic: &'static str, text: impl Into<String>) {
        self.push("ok", topic, text);
    }

    fn warn(&mut self, topic: &'static str, text: impl Into<String>) {
        self.push("warning", topic, text);
    }

    fn problem(&mut self, topic: &'static str, text: impl Into<String>) {
        self.push("problem", topic, text);
    }

    fn info(&mut self, topic: &'static str, text: impl Into<String>) {
        self.push("info", topic, text);
    }

    fn push(&mut self, level: &'static str, topic: &'static str, text: impl Into<String>) {
        self.findings.push(Finding {
            level,
            topic,
            text: text.into(),
        });
    }

    fn has_problems(&self) -> bool {
        self.findings.iter().any(|f| f.level == "problem")
    }
}

fn check(a: &CheckArgs) -> Result<ExitCode> {
    let file = CredentialsFile::load(&a.credentials)
        .with_context(|| format!("cannot use {}", a.credentials.display()))?;
    let now = a.now.map_or_else(NumericDate::now, NumericDate::from_unix);
    let mut r = Report::default();
    match &file {
        CredentialsFile::Aem(creds) => {
            r.info("format", "AEM as a Cloud Service service credentials");
            service_account(&mut r, creds, a.key.as_deref(), now);
        }
        CredentialsFile::Console(project) => {
            r.info("format", "Adobe Developer Console project");
            r.details.insert("org".into(), json!(project.org_id));
            if project.credentials.is_empty() {
                r.problem("flow", "the project has no credential");
            }
            for c in &project.credentials {
                match c {
                    ConsoleCredential::OAuthServerToServer(o) => oauth(&mut r, o),
                    ConsoleCredential::Jwt(s) => {
                        r.warn(
                            "flow",
                            "legacy JWT credential: Adobe retired these for its own APIs in 2025 (use OAuth server-to-server)",
                        );
                        service_account(&mut r, s, a.key.as_deref(), now);
                    }
                    ConsoleCredential::Other {
                        name,
                        integration_type,
                    } => r.info(
                        "flow",
                        format!(
                            "credential {} of type {} is not used by hsmjwt",
                            name.as_deref().unwrap_or("(unnamed)"),
                            integration_type.as_deref().unwrap_or("(unknown)")
                        ),
                    ),
                    _ => r.info("flow", "a credential of a kind hsmjwt does not know"),
                }
            }
        }
        #[allow(unreachable_patterns)]
        _ => r.warn("format", "unknown credentials format"),
    }
    print(&r, a.json)?;
    Ok(if r.has_problems() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn oauth(r: &mut Report, o: &OAuthCredentials) {
    r.ok(
        "flow",
        "OAuth server-to-server: client_credentials at /ims/token/v3 (`hsmjwt ims token`)",
    );
    r.details.insert(
        "oauth_server_to_server".into(),
        json!({
            "client_id": o.client_id,
            "client_secret": secret_state(o.client_secret.expose_secret()),
            "scopes": o.scopes,
            "technical_account_id": o.technical_account_id,
        }),
    );
    if o.client_secret.expose_secret().is_empty() {
        r.problem("secret", "the client secret is empty");
    }
    if o.scopes.is_empty() {
        r.warn("scopes", "no scopes listed");
    }
}

fn secret_state(s: &str) -> &'static str {
    if s.is_empty() {
        "missing"
    } else {
        "present (not shown)"
    }
}

fn service_account(
    r: &mut Report,
    c: &ServiceAccountCredentials,
    key: Option<&str>,
    now: NumericDate,
) {
    r.ok(
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
            "client_secret": secret_state(c.client_secret.expose_secret()),
            "org": c.org_id,
            "technical_account_id": c.technical_account_id,
            "ims_host": c.ims_host,
            "metascopes": c.metascopes,
            "private_key": if c.private_key.is_some() { "in the file (not shown)" } else { "not in the file" },
        }),
    );
    match c.service_account_jwt(&c.ims_host).claims(now) {
        Ok(claims) => {
            r.details.insert(
                "claims".into(),
                serde_json::to_value(&claims).unwrap_or(Value::Null),
            );
        }
        Err(e) => r.problem("claims", format!("cannot mint the JWT: {e}")),
    }
    let public = match public_key(c, key) {
        Ok(Some((jwk, from))) => {
            r.info("key", format!("private key from {from}"));
            Some(jwk)
        }
        Ok(None) => {
            r.warn(
                "key",
                "not checked: the file has no privateKey (pass --key FILE or --key 'pkcs11:...')",
            );
            None
        }
        Err(e) => {
            r.problem("key", format!("{e:#}"));
            None
        }
    };
    certificate(r, c, public.as_ref(), now);
}

/// The public half of the key to check: --key first, else the file's privateKey.
fn public_key(
    c: &ServiceAccountCredentials,
    key: Option<&str>,
) -> Result<Option<(Jwk, &'static str)>> {
    if let Some(k) = key {
        let jwk = super::key_source(k)?
            .public_key()
            .context("cannot open --key")?;
        return Ok(Some((jwk, "--key")));
    }
    match &c.private_key {
        Some(pem) => {
            let key = PrivateKey::from_pem(pem.expose_secret())
                .context("the file's privateKey is not usable")?;
            Ok(Some((key.public_jwk(), "the file's privateKey")))
        }
        None => Ok(None),
    }
}

fn certificate(r: &mut Report, c: &ServiceAccountCredentials, key: Option<&Jwk>, now: NumericDate) {
    let Some(pem) = &c.certificate_pem else {
        r.warn(
            "certificate",
            "the file has no certificate (publicKey): key match and expiry not checked",
        );
        return;
    };
    let chain = match Certificate::chain_from_bytes(pem.as_bytes()) {
        Ok(chain) => chain,
        Err(e) => {
            r.problem("certificate", format!("the certificate is not usable: {e}"));
            return;
        }
    };
    let Some(cert) = chain.first() else {
        r.problem("certificate", "no certificate in publicKey");
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
    match cert.validity(now) {
        Validity::Valid { days_left } => r.ok(
            "certificate",
            format!(
                "valid for {days_left} more days (until {})",
                cert.not_after_text()
            ),
        ),
        Validity::ExpiresSoon { days_left } => r.warn(
            "certificate",
            format!(
                "expires in {days_left} days ({}): create a new one in the Developer Console",
                cert.not_after_text()
            ),
        ),
        Validity::Expired { days_ago } => r.problem(
            "certificate",
            format!(
                "expired {days_ago} days ago ({}): IMS will refuse the JWT",
                cert.not_after_text()
            ),
        ),
        Validity::NotYetValid => r.problem("certificate", "not valid yet"),
        _ => r.warn("certificate", "validity unknown"),
    }
    if let Some(jwk) = key {
        if cert.certifies(jwk) {
            r.ok("key", "the key and the certificate belong together");
        } else {
            r.problem(
                "key",
                "the key does not match the certificate: IMS will answer invalid_signature",
            );
        }
    }
}

fn print(r: &Report, json_out: bool) -> Result<()> {
    if json_out {
        let findings: Vec<Value> = r
            .findings
            .iter()
            .map(|f| json!({"level": f.level, "topic": f.topic, "message": f.text}))
            .collect();
        let mut v = r.details.clone();
        v.insert("findings".into(), Value::Array(findings));
        v.insert("ok".into(), Value::Bool(!r.has_problems()));
        return super::out_json(&Value::Object(v));
    }
    for f in &r.findings {
        super::out(&format!("{:<8} {:<12} {}", f.level, f.topic, f.text))?;
    }
    if let Some(claims) = r.details.get("claims") {
        super::out(&format!(
            "claims it would mint:\n{}",
            serde_json::to_string_pretty(claims)?
        ))?;
    }
    Ok(())
}
