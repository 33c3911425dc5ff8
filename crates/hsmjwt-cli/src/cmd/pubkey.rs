//! `hsmjwt pubkey`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use hsmjwt::Algorithm;
use hsmjwt::soft::PublicKey;

use crate::args::{PubkeyArgs, PubkeyFormat};

pub(crate) fn run(a: &PubkeyArgs) -> Result<ExitCode> {
    let jwk = super::key_source(&a.key)?.public_key()?;
    if a.format == PubkeyFormat::Pem {
        if a.kid.is_some() || a.alg.is_some() {
            bail!("--kid and --alg apply to JWK output only (use --format jwk or jwks)");
        }
        let pem = PublicKey::from_jwk(&jwk)?.to_spki_pem();
        super::out(pem.trim_end())?;
        return Ok(ExitCode::SUCCESS);
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
