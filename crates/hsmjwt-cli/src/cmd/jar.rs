//! `hsmjwt jar`: a JWT-secured authorization request (RFC 9101), by value or pushed (PAR).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use hsmjwt::core::profile::jar::{Pkce, RequestObject, authorization_url};
use hsmjwt::core::profile::random_token;
use hsmjwt::{Algorithm, NumericDate};

use crate::args::{AlgArg, parse_duration};

/// Arguments of `hsmjwt jar`.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("endpoint")
        .required(true)
        .multiple(true)
        .args(["authorize_endpoint", "par_endpoint"])
))]
pub(crate) struct JarArgs {
    /// The signing key: file or pkcs11: URI. Use a key pair of its own for JAR.
    #[arg(long)]
    pub key: String,
    /// Algorithm: RS256, PS256 or ES256 are the usual ones (default: from the key).
    #[arg(long, value_enum)]
    pub alg: Option<AlgArg>,
    /// Header `kid`: a value, or `thumbprint`.
    #[arg(long)]
    pub kid: Option<String>,
    /// The client ID (`iss` and `client_id`).
    #[arg(long)]
    pub client_id: String,
    /// The authorization server's issuer identifier (`aud`).
    #[arg(long)]
    pub issuer: String,
    /// `redirect_uri`.
    #[arg(long)]
    pub redirect_uri: String,
    /// `scope`, space-separated.
    #[arg(long)]
    pub scope: Option<String>,
    /// `response_type`.
    #[arg(long, default_value = "code")]
    pub response_type: String,
    /// `state`: a value, or `auto` for a random one.
    #[arg(long)]
    pub state: Option<String>,
    /// `nonce`: a value, or `auto` for a random one.
    #[arg(long)]
    pub nonce: Option<String>,
    /// Generate a PKCE verifier and send its S256 challenge; the verifier is printed.
    #[arg(long)]
    pub pkce: bool,
    /// Request object lifetime (at most 1h).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub ttl: Duration,
    /// The authorization endpoint: print the URL with `request=<jwt>`.
    #[arg(long)]
    pub authorize_endpoint: Option<String>,
    /// The PAR endpoint: push the request object and print the `request_uri` it returns
    /// (and the URL with it when --authorize-endpoint is given too).
    #[arg(long)]
    pub par_endpoint: Option<String>,
    /// Print JSON (`request`, `url`, `state`, `nonce`, `code_verifier`).
    #[arg(long)]
    pub json: bool,
}

fn auto(value: Option<&str>) -> Result<Option<String>> {
    Ok(match value {
        Some("auto") => Some(random_token(16)?),
        Some(v) => Some(v.to_owned()),
        None => None,
    })
}

pub(crate) fn run(a: &JarArgs) -> Result<ExitCode> {
    let signer = super::key_source(&a.key)?.open_signer(a.alg.map(Algorithm::from))?;
    let mut ro = RequestObject::new(
        a.client_id.clone(),
        a.issuer.clone(),
        a.redirect_uri.clone(),
    )
    .with_response_type(a.response_type.clone())
    .with_lifetime(a.ttl);
    if let Some(scope) = &a.scope {
        ro = ro.with_scope(scope.clone());
    }
    let state = auto(a.state.as_deref())?;
    let nonce = auto(a.nonce.as_deref())?;
    if let Some(s) = &state {
        ro = ro.with_state(s.clone());
    }
    if let Some(n) = &nonce {
        ro = ro.with_nonce(n.clone());
    }
    let pkce = if a.pkce {
        Some(Pkce::generate()?)
    } else {
        None
    };
    if let Some(p) = &pkce {
        ro = ro.with_pkce(p);
    }
    let now = NumericDate::now();
    let request = match super::resolve_kid(a.kid.as_deref(), signer.public_key()) {
        Some(kid) => ro.sign(&hsmjwt::core::with_key_id(&signer, kid), now)?,
        None => ro.sign(&signer, now)?,
    };
    let url = match (&a.authorize_endpoint, &a.par_endpoint) {
        (Some(endpoint), None) => authorization_url(endpoint, &a.client_id, &request),
        _ => anyhow::bail!("--par-endpoint is not available yet; use --authorize-endpoint"),
    };
    print_result(
        a.json,
        &request,
        &url,
        state.as_deref(),
        nonce.as_deref(),
        pkce.as_ref(),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn print_result(
    json: bool,
    request: &str,
    url: &str,
    state: Option<&str>,
    nonce: Option<&str>,
    pkce: Option<&Pkce>,
) -> Result<()> {
    if json {
        return super::out_json(&serde_json::json!({
            "request": request,
            "url": url,
            "state": state,
            "nonce": nonce,
            "code_verifier": pkce.map(Pkce::verifier),
        }));
    }
    super::out(&format!("request: {request}"))?;
    super::out(&format!("url: {url}"))?;
    if let Some(s) = state {
        super::out(&format!("state: {s}"))?;
    }
    if let Some(n) = nonce {
        super::out(&format!("nonce: {n}"))?;
    }
    if let Some(p) = pkce {
        super::out(&format!("code_verifier: {}", p.verifier()))?;
    }
    Ok(())
}
