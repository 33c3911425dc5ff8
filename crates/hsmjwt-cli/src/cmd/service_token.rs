//! `hsmjwt service-token`: the Adobe Pass `AD-Service-Token`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use hsmjwt::core::profile::service_token::{DEFAULT_AUDIENCE, ServiceToken};
use hsmjwt::{Algorithm, NumericDate};

use crate::args::parse_duration;
use crate::input;

/// Arguments of `hsmjwt service-token`.
#[derive(Debug, Args)]
pub(crate) struct ServiceTokenArgs {
    /// The identity service's RSA signing key: file or pkcs11: URI (signs RS256).
    #[arg(long)]
    pub key: String,
    /// `iss`: the identity service.
    #[arg(long)]
    pub iss: String,
    /// `sub`: the user's unique identifier.
    #[arg(long)]
    pub sub: String,
    /// `aud`.
    #[arg(long, default_value = DEFAULT_AUDIENCE)]
    pub aud: String,
    /// Lifetime (at most 24h).
    #[arg(long, default_value = "10m", value_parser = parse_duration, value_name = "DURATION")]
    pub ttl: Duration,
    /// Header `kid` (required by Adobe Pass): a value, or `thumbprint`.
    #[arg(long, default_value = "thumbprint")]
    pub kid: String,
    /// `jti` (default: a random UUID).
    #[arg(long)]
    pub jti: Option<String>,
    /// Extra claim as NAME=JSON, e.g. name='"Jane Smith"' (repeatable).
    #[arg(long = "claim", value_name = "NAME=JSON")]
    pub claims: Vec<String>,
    /// Print the whole header line `AD-Service-Token: <jws>`.
    #[arg(long)]
    pub header_line: bool,
    /// Issue as of this time (seconds since the epoch) instead of now.
    #[arg(long, value_name = "UNIX")]
    pub now: Option<i64>,
}

pub(crate) fn run(a: &ServiceTokenArgs) -> Result<ExitCode> {
    let signer = super::key_source(&a.key)?.open_signer(Some(Algorithm::RS256))?;
    let mut profile = ServiceToken::new(a.iss.clone(), a.sub.clone())
        .with_audience(a.aud.clone())
        .with_lifetime(a.ttl);
    if let Some(kid) = super::resolve_kid(Some(&a.kid), signer.public_key()) {
        profile = profile.with_kid(kid);
    }
    if let Some(jti) = &a.jti {
        profile = profile.with_jti(jti.clone());
    }
    for c in &a.claims {
        let (name, value) = input::name_json(c, "--claim")?;
        profile = profile
            .with_claim(&name, value)
            .with_context(|| format!("invalid --claim {name}"))?;
    }
    let now = a.now.map_or_else(NumericDate::now, NumericDate::from_unix);
    let out = if a.header_line {
        profile.header_line(&signer, now)?
    } else {
        profile.sign(&signer, now)?
    };
    super::out(&out)?;
    Ok(ExitCode::SUCCESS)
}
