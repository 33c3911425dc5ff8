//! `hsmjwt verify`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use hsmjwt::soft::{Certificate, MAX_JWKS_FILE, SoftVerifier, verifiers_from_jwks};
use hsmjwt::{Algorithm, Jwks, NumericDate, Validation, Verifier};
use serde_json::value::RawValue;

use crate::args::VerifyArgs;
use crate::input;

pub(crate) fn run(a: &VerifyArgs) -> Result<ExitCode> {
    let token = input::token(a.token.as_deref())?;
    let alg = a.alg.map(Algorithm::from);
    let now = a.now.map(NumericDate::from_unix);
    // With --cert, the certificate whose thumbprints the token's header may name.
    let mut certificate = None;
    let verifiers: Vec<SoftVerifier> = if let Some(path) = &a.jwks {
        let bytes = hsmjwt::soft::file::read_file(path, MAX_JWKS_FILE, "JWK Set files")?;
        let jwks =
            Jwks::from_json(&bytes).with_context(|| format!("invalid JWKS {}", path.display()))?;
        let v = verifiers_from_jwks(&jwks, alg)?;
        if v.is_empty() {
            anyhow::bail!("{} holds no usable signature key", path.display());
        }
        v
    } else if let Some(path) = &a.cert {
        let leaf = Certificate::load_chain(path)?
            .into_iter()
            .next()
            .context("no certificate")?;
        super::check_certificate(&leaf, now.unwrap_or_else(NumericDate::now))?;
        let verifier = SoftVerifier::from_jwk(&leaf.public_key().jwk(), alg)?;
        certificate = Some(leaf);
        vec![verifier]
    } else {
        let key = a.key.as_deref().context("give --key, --jwks or --cert")?;
        let jwk = super::key_source(key)?.public_key()?;
        vec![SoftVerifier::from_jwk(&jwk, alg)?]
    };
    let mut validation = Validation::new().with_leeway(a.leeway);
    for iss in &a.iss {
        validation = validation.with_issuer(iss.clone());
    }
    for aud in &a.aud {
        validation = validation.with_audience(aud.clone());
    }
    if let Some(sub) = &a.sub {
        validation = validation.with_subject(sub.clone());
    }
    if let Some(max) = a.max_lifetime {
        validation = validation.with_max_lifetime(max);
    }
    for claim in &a.require {
        validation = validation.require(claim.clone());
    }
    if let Some(typ) = &a.typ {
        validation = validation.with_typ(typ.clone());
    }
    if let Some(now) = now {
        validation = validation.at(now);
    }
    let keys = verifiers.iter().map(|v| v as &dyn Verifier);
    let verified = hsmjwt::decode_with_keys(&token, keys, &validation)?;
    if let Some(certificate) = &certificate {
        certificate.check_thumbprints(&verified.header)?;
    }
    // Printed as the token has them (numbers as written, not rounded to floats): the same
    // bytes, which the strict decoder has just accepted.
    let shown = hsmjwt::core::jws::inspect(&token)?;
    super::out_json(&Verified {
        header: &shown.header,
        claims: shown.claims.as_deref(),
    })?;
    Ok(ExitCode::SUCCESS)
}

/// What `verify` prints: the header and the claims as JSON text.
#[derive(serde::Serialize)]
struct Verified<'a> {
    header: &'a RawValue,
    claims: Option<&'a RawValue>,
}
