//! `hsmjwt sign`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use hsmjwt::core::with_key_id;
use hsmjwt::soft::{Certificate, CertificateHeaders, certify_header};
use hsmjwt::{Algorithm, Claims, Header, NumericDate};

use crate::args::SignArgs;
use crate::input;

pub(crate) fn run(a: &SignArgs) -> Result<ExitCode> {
    let mut claims = match &a.claims {
        Some(arg) => {
            let text = input::json_arg(arg, "claims")?;
            Claims::from_json(text.as_bytes()).context("invalid --claims")?
        }
        None => Claims::new(),
    };
    if let Some(iss) = &a.iss {
        claims.iss = Some(iss.clone());
    }
    if let Some(sub) = &a.sub {
        claims.sub = Some(sub.clone());
    }
    if !a.aud.is_empty() {
        claims.aud = Some(a.aud.clone().into());
    }
    let now = a.now.map_or_else(NumericDate::now, NumericDate::from_unix);
    let iat = *claims.iat.get_or_insert(now);
    if claims.exp.is_none() {
        claims.exp = Some(iat.saturating_add(a.ttl));
    }
    match a.jti.as_deref() {
        Some("auto") => claims.jti = Some(uuid::Uuid::new_v4().to_string()),
        Some(j) => claims.jti = Some(j.to_owned()),
        None => {}
    }
    let mut header = Header::jwt(Algorithm::RS256);
    for h in &a.headers {
        let (name, value) = input::name_json(h, "--header")?;
        header
            .set(&name, value)
            .with_context(|| format!("invalid --header {name}"))?;
    }
    let signer = super::key_source(&a.key)?.open_signer(a.alg.map(Algorithm::from))?;
    if let Some(path) = &a.cert {
        let chain = Certificate::load_chain(path)?;
        let validity = certify_header(
            &mut header,
            &chain,
            signer.public_key(),
            NumericDate::now(),
            CertificateHeaders::new(a.x5c, a.x5t),
        )?;
        if let Some(leaf) = chain.first() {
            super::warn_if_expiring(leaf, validity);
        }
    }
    let token = match super::resolve_kid(a.kid.as_deref(), signer.public_key()) {
        Some(kid) => hsmjwt::encode(&header, &claims, &with_key_id(signer, kid))?,
        None => hsmjwt::encode(&header, &claims, &signer)?,
    };
    super::out(&token)?;
    Ok(ExitCode::SUCCESS)
}
