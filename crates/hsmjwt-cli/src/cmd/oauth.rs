//! `hsmjwt oauth ...`: a generic OAuth 2.0 token endpoint.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand, ValueEnum};
use hsmjwt::oauth::{ClientAuth, Grant, JwtBearerGrant, OAuthClient, TokenParams};
use hsmjwt::{Algorithm, Signer};

use crate::args::{AlgArg, parse_duration};

/// OAuth subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum OauthCommand {
    /// Request an access token from an OAuth 2.0 token endpoint.
    ///
    /// With --key the client authenticates with private_key_jwt (a fresh client assertion
    /// for each request, iss = sub = client id, aud = the token endpoint or --aud). With
    /// --grant jwt-bearer the key signs the RFC 7523 assertion instead (sub = --subject),
    /// and the client authenticates only if --auth or --client-secret-env says so. Client
    /// secrets come from the environment variable named by --client-secret-env, never
    /// from the command line. Prints the access token on stdout.
    #[command(after_help = "\
Examples:
  hsmjwt oauth token --token-endpoint https://as.example/token --client-id app \\
      --key 'pkcs11:token=jwt;object=client-key' --scope 'read write'
  hsmjwt oauth token --token-endpoint https://as.example/token --client-id app \\
      --key key.pem --grant jwt-bearer --subject user@example.com
  APP_SECRET=... hsmjwt oauth token --token-endpoint https://as.example/token \\
      --client-id app --client-secret-env APP_SECRET --auth client-secret-post")]
    Token(OauthTokenArgs),
}

/// Grant types.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum GrantArg {
    /// grant_type=client_credentials.
    ClientCredentials,
    /// grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer (RFC 7523).
    JwtBearer,
}

/// Client authentication methods.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum AuthArg {
    /// A client assertion signed with the client's key (see [`AuthArg::parser`]).
    PrivateKeyJwt,
    /// client_id and client_secret form fields.
    ClientSecretPost,
    /// HTTP Basic with the client id and secret.
    ClientSecretBasic,
    /// client_id only (a public client).
    None,
}

impl AuthArg {
    /// The parser of an `--auth` flag whose private_key_jwt key is given by `key_flag`
    /// (`--key`, `--auth-key`): the possible values, that one's help naming the flag.
    pub(crate) fn parser(key_flag: &'static str) -> impl TypedValueParser<Value = AuthArg> {
        let values = AuthArg::value_variants().iter().filter_map(|v| {
            let value = v.to_possible_value()?;
            Some(if *v == AuthArg::PrivateKeyJwt {
                value.help(format!("A client assertion signed with {key_flag}"))
            } else {
                value
            })
        });
        PossibleValuesParser::new(values).try_map(|s| AuthArg::from_str(&s, false))
    }
}

#[derive(Debug, Args)]
pub(crate) struct OauthTokenArgs {
    /// The token endpoint URL (https, or http to a loopback address).
    #[arg(long, value_name = "URL")]
    token_endpoint: String,
    /// Client ID: `iss` of the assertions, and `sub` of the client assertion.
    #[arg(long, value_name = "ID")]
    client_id: String,
    /// Signing key (file or pkcs11: URI) for private_key_jwt or the JWT-bearer assertion.
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// Algorithm of --key (default: RS256 for RSA, ES256/ES384/ES512 by curve, EdDSA for
    /// Ed25519); any case.
    #[arg(long, value_enum, ignore_case = true)]
    alg: Option<AlgArg>,
    /// NAME of the environment variable holding the client secret.
    #[arg(long, value_name = "VAR")]
    client_secret_env: Option<String>,
    /// Client authentication (default: client-secret-basic with --client-secret-env, else
    /// private-key-jwt with --key and the client-credentials grant, else none).
    #[arg(long, value_parser = AuthArg::parser("--key"))]
    auth: Option<AuthArg>,
    /// Grant type.
    #[arg(long, value_enum, default_value = "client-credentials")]
    grant: GrantArg,
    /// `scope` parameter.
    #[arg(long)]
    scope: Option<String>,
    /// `audience` request parameter.
    #[arg(long)]
    audience: Option<String>,
    /// `resource` request parameter (repeatable).
    #[arg(long)]
    resource: Vec<String>,
    /// `aud` of the assertions (default: the token endpoint URL).
    #[arg(long)]
    aud: Option<String>,
    /// `sub` of the JWT-bearer assertion (default: the client id).
    #[arg(long)]
    subject: Option<String>,
    /// Lifetime (`exp` - `iat`) of the client assertion and of the JWT-bearer assertion:
    /// more than zero, at most 1h (RFC 7523 assertions are short-lived).
    #[arg(long, default_value = "2m", value_parser = parse_lifetime, value_name = "DURATION")]
    lifetime: Duration,
    /// Time allowed to open each connection (TCP and TLS).
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    connect_timeout: Duration,
    /// Time allowed for the whole request, retries and waits included: a Retry-After that
    /// would end later fails at once.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    timeout: Duration,
    /// Print JSON instead: token_type, access_token, expires_in_seconds, expires_at,
    /// scope, and whether a refresh_token or id_token came back (never their values).
    #[arg(long)]
    json: bool,
}

/// `--lifetime`: a duration within the client assertion profile's bounds (0, 1 h].
fn parse_lifetime(s: &str) -> Result<Duration, String> {
    use hsmjwt::core::profile::client_assertion::{MAX_LIFETIME, check_lifetime};
    let lifetime = parse_duration(s)?;
    check_lifetime(lifetime).map_err(|_| {
        format!(
            "an assertion lifetime must be more than 0 and at most {}",
            humantime::format_duration(MAX_LIFETIME)
        )
    })?;
    Ok(lifetime)
}

pub(crate) fn run(c: OauthCommand) -> Result<ExitCode> {
    match c {
        OauthCommand::Token(a) => token(&a),
    }
}

/// Builds the client authentication from the flags: `--auth` when given, else
/// client-secret-basic when a secret variable is named, else private_key_jwt when
/// `default_key` is given, else none. `key` signs private_key_jwt assertions for
/// `audience`.
///
/// # Errors
/// When the chosen method lacks its key or secret, or the secret variable is unset.
pub(crate) fn client_auth(
    auth: Option<AuthArg>,
    default_key: Option<&Arc<dyn Signer>>,
    key: Option<&Arc<dyn Signer>>,
    secret_env: Option<&str>,
    audience: &str,
) -> Result<ClientAuth> {
    let secret = secret_env
        .map(hsmjwt::oauth::secret::from_env)
        .transpose()?;
    let method = match auth {
        Some(m) => m,
        None if secret.is_some() => AuthArg::ClientSecretBasic,
        None if default_key.is_some() => AuthArg::PrivateKeyJwt,
        None => AuthArg::None,
    };
    Ok(match method {
        AuthArg::PrivateKeyJwt => {
            let Some(s) = key else {
                bail!("private-key-jwt client authentication needs a key");
            };
            ClientAuth::private_key_jwt(s.clone(), audience)
        }
        AuthArg::ClientSecretPost | AuthArg::ClientSecretBasic => {
            let Some(s) = secret else {
                bail!("client secret authentication needs --client-secret-env VAR");
            };
            if method == AuthArg::ClientSecretPost {
                ClientAuth::SecretPost(s)
            } else {
                ClientAuth::SecretBasic(s)
            }
        }
        AuthArg::None => ClientAuth::None,
    })
}

fn token(a: &OauthTokenArgs) -> Result<ExitCode> {
    let signer: Option<Arc<dyn Signer>> = match &a.key {
        Some(k) => Some(Arc::from(
            super::key_source(k)?
                .open_signer(a.alg.map(Algorithm::from))
                .context("cannot open --key")?,
        )),
        None => None,
    };
    let audience = a.aud.clone().unwrap_or_else(|| a.token_endpoint.clone());
    let auth = client_auth(
        a.auth,
        signer
            .as_ref()
            .filter(|_| a.grant == GrantArg::ClientCredentials),
        signer.as_ref(),
        a.client_secret_env.as_deref(),
        &audience,
    )?;
    // --lifetime is the client assertion's too, not only the JWT-bearer grant's.
    let auth = match auth {
        pkj @ ClientAuth::PrivateKeyJwt { .. } => pkj.with_lifetime(a.lifetime)?,
        other => other,
    };
    if a.grant == GrantArg::ClientCredentials && matches!(auth, ClientAuth::None) {
        bail!(
            "the client-credentials grant needs client authentication: give --key or --client-secret-env VAR"
        );
    }
    if a.subject.is_some() && a.grant != GrantArg::JwtBearer {
        bail!("--subject applies to --grant jwt-bearer");
    }
    let grant = match a.grant {
        GrantArg::ClientCredentials => Grant::ClientCredentials,
        GrantArg::JwtBearer => {
            let Some(s) = &signer else {
                bail!("--grant jwt-bearer needs --key to sign the assertion");
            };
            let mut g = JwtBearerGrant::new(s.clone())
                .with_audience(audience)
                .with_lifetime(a.lifetime);
            if let Some(sub) = &a.subject {
                g = g.with_subject(sub.clone());
            }
            Grant::JwtBearer(g)
        }
    };
    let mut params = TokenParams::new();
    if let Some(s) = &a.scope {
        params = params.with_scope(s.clone());
    }
    if let Some(aud) = &a.audience {
        params = params.with_audience(aud.clone());
    }
    for r in &a.resource {
        params = params.with_resource(r.clone());
    }
    let client = OAuthClient::new(&a.token_endpoint, a.client_id.clone(), auth)
        .context("invalid --token-endpoint")?
        .with_http(super::ims::http(a.connect_timeout, a.timeout)?);
    let token = super::ims::runtime()?
        .block_on(client.request(&grant, &params))
        .context("token request failed")?;
    super::ims::print_token(&token, a.json)
}
