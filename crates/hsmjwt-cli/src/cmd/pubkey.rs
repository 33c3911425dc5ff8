//! `hsmjwt pubkey`.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use hsmjwt::core::text::clean;
use hsmjwt::key::KeySource;
use hsmjwt::soft::PublicKey;
use hsmjwt::{Algorithm, Jwk, Jwks};

use crate::args::{PubkeyArgs, PubkeyFormat};
use crate::input;

pub(crate) fn run(a: &PubkeyArgs) -> Result<ExitCode> {
    if a.format == PubkeyFormat::Jwks {
        return jwks(a);
    }
    let [key] = a.key.as_slice() else {
        bail!("several --key go together in --format jwks only");
    };
    let jwk = super::key_source(key)?.public_key()?;
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
    let jwk = published(a, jwk, false)?;
    super::out_json(&serde_json::Value::Object(jwk.to_map()))?;
    Ok(ExitCode::SUCCESS)
}

/// One JWK Set of every --key, in order: a key file or URI gives its key, a JWKS file all
/// of its keys. Two keys with the same `kid`, or the same key twice, are an error.
fn jwks(a: &PubkeyArgs) -> Result<ExitCode> {
    let mut keys: Vec<(&str, Jwk)> = Vec::new();
    for arg in &a.key {
        match jwk_set(arg)? {
            Some(set) => {
                for jwk in set.keys {
                    let jwk = published(a, jwk, true).with_context(|| format!("a key of {arg}"))?;
                    keys.push((arg, jwk));
                }
            }
            None => {
                let jwk = super::key_source(arg)?.public_key()?;
                let jwk = published(a, jwk, false).with_context(|| format!("the key {arg}"))?;
                keys.push((arg, jwk));
            }
        }
    }
    let mut kids = HashMap::new();
    let mut thumbprints = HashMap::new();
    for (arg, jwk) in &keys {
        if let Some(kid) = &jwk.kid
            && let Some(first) = kids.insert(kid.as_str(), *arg)
        {
            bail!(
                "two keys have kid `{}` (from {first} and {arg}); give each key its own kid",
                clean(kid, 200)
            );
        }
        if let Some(first) = thumbprints.insert(jwk.thumbprint(), *arg) {
            bail!("the same key is given twice (from {first} and {arg})");
        }
    }
    let set = hsmjwt::Jwks {
        keys: keys.into_iter().map(|(_, jwk)| jwk).collect(),
    };
    super::out_json(&set.to_value())?;
    Ok(ExitCode::SUCCESS)
}

/// The keys of the JWK Set file `arg`, or `None` when `arg` names anything else (a key
/// file, a JWK, a certificate, a URI). A set with keys of types this tool cannot read is
/// refused rather than published without them.
fn jwk_set(arg: &str) -> Result<Option<Jwks>> {
    if !matches!(super::key_source(arg)?, KeySource::File(_)) {
        return Ok(None);
    }
    let Ok(text) = input::json_arg(&format!("@{arg}"), "key") else {
        return Ok(None);
    };
    let Some(entries) = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v.get("keys")
                .and_then(serde_json::Value::as_array)
                .map(Vec::len)
        })
    else {
        return Ok(None);
    };
    let set = Jwks::from_json(text.as_bytes()).with_context(|| format!("invalid JWKS {arg}"))?;
    if set.keys.len() != entries {
        bail!(
            "{} of the {entries} keys in {arg} are of types this tool cannot read; they would be left out of the set",
            entries - set.keys.len()
        );
    }
    Ok(Some(set))
}

/// A key as published: `use` `sig`, --alg (which must fit it) and --kid. A key from a JWKS
/// file (`from_set`) keeps the `use`, `alg` and `kid` it has.
fn published(a: &PubkeyArgs, mut jwk: Jwk, from_set: bool) -> Result<Jwk> {
    if !from_set || jwk.use_.is_none() {
        jwk = jwk.with_use("sig");
    }
    if let Some(alg) = a.alg.map(Algorithm::from)
        && !(from_set && jwk.alg.is_some())
    {
        if !alg.fits(jwk.params.kind()) {
            bail!("--alg {alg} does not fit this key ({:?})", jwk.params);
        }
        jwk = jwk.with_alg(alg);
    }
    if !(from_set && jwk.kid.is_some()) {
        jwk.kid = super::resolve_kid(a.kid.as_deref(), &jwk);
    }
    Ok(jwk)
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
