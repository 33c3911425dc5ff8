//! `hsmjwt pubkey`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use hsmjwt::Algorithm;
use hsmjwt::soft::PublicKey;

use crate::args::{PubkeyArgs, PubkeyFormat};

pub(crate) fn run(a: &PubkeyArgs) -> Result<ExitCode> {
    let jwk = super::key_source(&a.key)?.public_key()?;
    if a.format == PubkeyFormat::Pem {
        if a.kid.is_some() || a.alg.is_some() || a.name.is_some() {
            bail!("--kid, --alg and --name do not apply to PEM output");
        }
        let pem = PublicKey::from_jwk(&jwk)?.to_spki_pem();
        super::out(pem.trim_end())?;
        return Ok(ExitCode::SUCCESS);
    }
    if a.format == PubkeyFormat::Auth0Credential {
        return auth0(a, &jwk);
    }
    let mut jwk = jwk.with_use("sig");
    if let Some(alg) = a.alg {
        let alg = Algorithm::from(alg);
        if !alg.fits(jwk.params.kind()) {
            bail!("--alg {alg} does not fit this key ({:?})", jwk.params);
        }
        jwk = jwk.with_alg(alg);
    }
    jwk.kid = super::resolve_kid(a.kid.as_deref(), &jwk);
    let value = if a.format == PubkeyFormat::Jwks {
        hsmjwt::Jwks { keys: vec![jwk] }.to_value()
    } else {
        serde_json::Value::Object(jwk.to_map())
    };
    super::out_json(&value)?;
    Ok(ExitCode::SUCCESS)
}

/// Auth0's `public_key` credential (JAR and Private Key JWT): RSA only, RS256 or PS256.
fn auth0(a: &PubkeyArgs, jwk: &hsmjwt::Jwk) -> Result<ExitCode> {
    if a.kid.is_some() {
        bail!("--kid does not apply to auth0-credential output");
    }
    let alg = a.alg.map_or(Algorithm::RS256, Algorithm::from);
    if !matches!(alg, Algorithm::RS256 | Algorithm::PS256) || !alg.fits(jwk.params.kind()) {
        bail!(
            "Auth0 public-key credentials take RSA keys with RS256 or PS256, not {alg} with {:?}",
            jwk.params
        );
    }
    let pem = PublicKey::from_jwk(jwk)?.to_spki_pem();
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| format!("hsmjwt {}", jwk.thumbprint()));
    super::out_json(&serde_json::json!({
        "name": name,
        "credential_type": "public_key",
        "pem": pem,
        "alg": alg.as_str(),
    }))?;
    Ok(ExitCode::SUCCESS)
}
