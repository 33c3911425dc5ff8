//! `hsmjwt keygen`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use hsmjwt::Algorithm;
use hsmjwt::key::KeySource;
use hsmjwt::soft::{KeySpec, PrivateKey};

use crate::args::KeygenArgs;

pub(crate) fn run(a: &KeygenArgs) -> Result<ExitCode> {
    let alg = Algorithm::from(a.alg);
    let bits = a.bits.as_deref().map(str::parse::<usize>).transpose()?;
    let (jwk, place) = match (&a.out, &a.key) {
        (Some(path), _) => {
            let key = PrivateKey::generate(KeySpec::for_algorithm(alg, bits)?)?;
            key.write_pkcs8_pem(path, a.force)?;
            (key.public_jwk(), path.display().to_string())
        }
        (None, Some(key)) => match super::key_source(key)? {
            #[allow(unreachable_patterns)]
            KeySource::File(_) => {
                anyhow::bail!("--key takes a pkcs11: URI; use --out FILE for a key file")
            }
            KeySource::Pkcs11(uri) => {
                if a.force {
                    anyhow::bail!("--force does not apply to HSM keys: delete the old key first");
                }
                let jwk = hsmjwt::key::generate_in_token(&uri, alg, bits)
                    .context("cannot generate the key pair in the token")?;
                (jwk, uri.to_string())
            }
            #[allow(unreachable_patterns)]
            _ => anyhow::bail!("unsupported key source"),
        },
        (None, None) => anyhow::bail!("give --out FILE or --key pkcs11:URI"),
    };
    let thumbprint = jwk.thumbprint();
    let kind = match jwk.params.kind() {
        hsmjwt::core::KeyKind::Rsa => format!("RSA {}", jwk.params.bits()),
        other => other.to_string(),
    };
    eprintln!("created {kind} key for {alg} at {place}; thumbprint {thumbprint}");
    if a.json {
        super::out_json(&serde_json::json!({
            "alg": alg.as_str(),
            "key": kind,
            "bits": jwk.params.bits(),
            "thumbprint": thumbprint,
            "location": place,
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}
