//! `hsmjwt jar`: a JWT-secured authorization request (RFC 9101), by value or pushed (PAR).

use std::process::ExitCode;
use std::time::Duration;

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use hsmjwt::core::profile::jar::{Pkce, RequestObject, authorization_url, par_authorization_url};
use hsmjwt::core::profile::random_token;
use hsmjwt::oauth::endpoint::parse_endpoint_url;
use hsmjwt::oauth::par;
use hsmjwt::{Algorithm, NumericDate, Signer};

use super::oauth::AuthArg;
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
    /// Algorithm: RS256, PS256 or ES256 are the usual ones (default: from the key); any
    /// case.
    #[arg(long, value_enum, ignore_case = true)]
    pub alg: Option<AlgArg>,
    /// Header `kid`: a value, or `thumbprint`.
    #[arg(long)]
    pub kid: Option<String>,
    /// The client ID (`iss` and `client_id`).
    #[arg(long, value_name = "ID")]
    pub client_id: String,
    /// The authorization server's issuer identifier (`aud`; also the `aud` of the PAR
    /// client assertion).
    #[arg(long, value_name = "URL")]
    pub issuer: String,
    /// `redirect_uri`.
    #[arg(long, value_name = "URL")]
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
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    pub ttl: Duration,
    /// The authorization endpoint: print the URL with `request=<jwt>` (with
    /// `request_uri=...` instead when --par-endpoint is given).
    #[arg(long, value_name = "URL")]
    pub authorize_endpoint: Option<String>,
    /// The PAR endpoint: push the request object and print the `request_uri` it returns
    /// (and the URL with it when --authorize-endpoint is given too).
    #[arg(long, value_name = "URL")]
    pub par_endpoint: Option<String>,
    /// PAR client authentication (default: client-secret-basic with --client-secret-env,
    /// else private-key-jwt with --auth-key, else none).
    #[arg(long, value_parser = AuthArg::parser("--auth-key"), requires = "par_endpoint")]
    pub auth: Option<AuthArg>,
    /// Key for private_key_jwt at the PAR endpoint (file or pkcs11: URI); a key pair other
    /// than the request object's, as Auth0 advises.
    #[arg(long, value_name = "KEY", requires = "par_endpoint")]
    pub auth_key: Option<String>,
    /// Algorithm of --auth-key (default: from the key); any case.
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        requires = "auth_key",
        value_name = "ALG"
    )]
    pub auth_alg: Option<AlgArg>,
    /// NAME of the environment variable holding the client secret for the PAR endpoint.
    #[arg(long, value_name = "VAR", requires = "par_endpoint")]
    pub client_secret_env: Option<String>,
    /// Print JSON (`request`, `url`, `request_uri`, `state`, `nonce`, `code_verifier`).
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
    let (url, request_uri) = match (&a.authorize_endpoint, &a.par_endpoint) {
        (Some(endpoint), None) => (
            Some(authorization_url(endpoint, &a.client_id, &request)),
            None,
        ),
        (authorize, Some(par_endpoint)) => {
            let pushed = push(a, par_endpoint, &request)?;
            let url = authorize
                .as_deref()
                .map(|e| par_authorization_url(e, &a.client_id, &pushed));
            (url, Some(pushed))
        }
        (None, None) => bail!("give --authorize-endpoint or --par-endpoint"),
    };
    let printed = Printed {
        request: &request,
        url: url.as_deref(),
        request_uri: request_uri.as_deref(),
        state: state.as_deref(),
        nonce: nonce.as_deref(),
        pkce: pkce.as_ref(),
    };
    printed.print(a.json)?;
    Ok(ExitCode::SUCCESS)
}

/// Pushes the request object; returns the `request_uri`.
fn push(a: &JarArgs, par_endpoint: &str, request: &str) -> Result<String> {
    let auth_key: Option<Arc<dyn Signer>> = match &a.auth_key {
        Some(k) => Some(Arc::from(
            super::key_source(k)?
                .open_signer(a.auth_alg.map(Algorithm::from))
                .context("cannot open --auth-key")?,
        )),
        None => None,
    };
    let auth = super::oauth::client_auth(
        a.auth,
        auth_key.as_ref(),
        auth_key.as_ref(),
        a.client_secret_env.as_deref(),
        &a.issuer,
    )?;
    let url = parse_endpoint_url(par_endpoint).context("invalid --par-endpoint")?;
    let http = super::ims::http(Duration::from_secs(10), Duration::from_secs(30))?;
    let pushed = super::ims::runtime()?
        .block_on(par::push(&http, &url, &a.client_id, &auth, request))
        .context("pushed authorization request failed")?;
    Ok(pushed.request_uri)
}

/// What `hsmjwt jar` prints.
struct Printed<'a> {
    request: &'a str,
    url: Option<&'a str>,
    request_uri: Option<&'a str>,
    state: Option<&'a str>,
    nonce: Option<&'a str>,
    pkce: Option<&'a Pkce>,
}

impl Printed<'_> {
    fn print(&self, json: bool) -> Result<()> {
        let verifier = self.pkce.map(Pkce::verifier);
        if json {
            return super::out_json(&serde_json::json!({
                "request": self.request,
                "url": self.url,
                "request_uri": self.request_uri,
                "state": self.state,
                "nonce": self.nonce,
                "code_verifier": verifier,
            }));
        }
        for (name, value) in [
            ("request", Some(self.request)),
            ("request_uri", self.request_uri),
            ("url", self.url),
            ("state", self.state),
            ("nonce", self.nonce),
            ("code_verifier", verifier),
        ] {
            if let Some(v) = value {
                // `request_uri` is the server's: printed escaped, never cut.
                let v = hsmjwt::core::text::clean(v, usize::MAX);
                super::out(&format!("{name}: {v}"))?;
            }
        }
        Ok(())
    }
}
