//! `hsmjwt credentials check`: what a credentials file is for, and whether it still works.
//!
//! The checks are `hsmjwt::ims::check`; this module opens `--key` and prints the report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use hsmjwt::NumericDate;
use hsmjwt::ims::{CheckOptions, CheckReport, CredentialsFile, KeyToCheck};

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
    #[command(after_help = "\
Examples:
  hsmjwt credentials check --credentials service-credentials.json
  hsmjwt credentials check --credentials aem.json --key 'pkcs11:token=jwt;object=aem'")]
    Check(CheckArgs),
}

/// Arguments of `hsmjwt credentials check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The credentials file (AEM service credentials or Developer Console project JSON).
    #[arg(long, value_name = "FILE")]
    credentials: PathBuf,
    /// The key to check against the certificate, when the private key is not in the file
    /// (or to check another): file or pkcs11: URI; only its public half is read.
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

fn check(a: &CheckArgs) -> Result<ExitCode> {
    let file = CredentialsFile::load(&a.credentials)
        .with_context(|| format!("cannot use {}", a.credentials.display()))?;
    let mut options =
        CheckOptions::new().at(a.now.map_or_else(NumericDate::now, NumericDate::from_unix));
    // --key is opened only when there is a service account to check it against.
    if let Some(key) = &a.key
        && file.service_account().is_ok()
    {
        options = options.with_key(open_key(key));
    }
    let report = hsmjwt::ims::check::check(&file, &options);
    print(&report, a.json)?;
    Ok(if report.has_problems() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The public half of `--key`, or why it cannot be opened (reported as a problem).
fn open_key(key: &str) -> KeyToCheck {
    let opened =
        super::key_source(key).and_then(|source| source.public_key().context("cannot open --key"));
    match opened {
        Ok(jwk) => KeyToCheck::Public {
            jwk,
            from: "--key".to_owned(),
        },
        Err(e) => KeyToCheck::Unusable(format!("{e:#}")),
    }
}

fn print(r: &CheckReport, json_out: bool) -> Result<()> {
    if json_out {
        return super::out_json(&r.to_json());
    }
    for f in &r.findings {
        super::out(&format!("{:<8} {:<12} {}", f.level, f.topic, f.message))?;
    }
    if let Some(claims) = r.claims() {
        super::out(&format!(
            "claims it would mint:\n{}",
            hsmjwt::core::text::pretty_json(claims)?
        ))?;
    }
    Ok(())
}
