//! `hsmjwt ims ...`: Adobe IMS token exchange and a local emulator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use hsmjwt::ims::{
    CredentialsFile, ImsClient, ImsEndpoint, JwtExchange, OAuthCredentials, ServerToServer,
};
use hsmjwt::oauth::{AccessToken, ExposeSecret, HttpClient, HttpOptions};
use hsmjwt::{Algorithm, Signer};
use hsmjwt_emulator::{Emulator, EmulatorConfig, Integration};

use crate::args::parse_duration;

/// Adobe IMS subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ImsCommand {
    /// Mint a service-account JWT and exchange it for an access token.
    ///
    /// Reads AEM service credentials (or a Developer Console project with a JWT
    /// credential). The key is the file's `privateKey`, or --key (a file or a pkcs11: URI)
    /// when the key lives in an HSM. Prints the access token on stdout.
    #[command(after_help = "\
Examples:
  hsmjwt ims jwt --credentials aem-service-credentials.json
  hsmjwt ims jwt --credentials creds.json --key 'pkcs11:token=ims;object=aem-key'
  hsmjwt ims jwt --credentials creds.json --ims-url http://127.0.0.1:8080 --json")]
    Jwt(JwtArgs),
    /// OAuth server-to-server: client credentials at /ims/token/v3.
    ///
    /// Credentials come from a Developer Console project JSON, or from --client-id,
    /// --client-secret-env (the NAME of an environment variable holding the secret) and
    /// --scopes. Prints the access token on stdout.
    #[command(after_help = "\
Examples:
  hsmjwt ims token --credentials project.json
  IMS_SECRET=... hsmjwt ims token --client-id ID --client-secret-env IMS_SECRET \\
      --scopes openid,AdobeID,read_organizations")]
    Token(TokenArgs),
    /// Run a local IMS emulator (plain http on loopback) until interrupted.
    ///
    /// Serves /ims/exchange/jwt, /ims/token/v3 and /oauth/token for the integrations in the
    /// credential files (AEM service credentials with their `publicKey`, or Developer
    /// Console projects for OAuth server-to-server). Prints its base URL on stdout.
    #[command(after_help = "\
Example:
  hsmjwt ims emulator --listen 127.0.0.1:8080 --credentials creds.json")]
    Emulator(EmulatorArgs),
}

/// Where IMS is: the host named in tokens, and where requests go.
#[derive(Debug, Args)]
pub(crate) struct ImsTarget {
    /// IMS host named in the JWT (`aud`, metascopes) and, without --ims-url, contacted
    /// over https: a host name, `production` or `stage` (default: the credentials'
    /// imsEndpoint, else ims-na1.adobelogin.com).
    #[arg(long, value_name = "HOST")]
    ims_host: Option<String>,
    /// Send requests to this base URL instead of https://HOST (an emulator, a proxy).
    /// Plain http only to loopback addresses.
    #[arg(long, value_name = "URL")]
    ims_url: Option<String>,
    /// Time allowed to open each connection (TCP and TLS).
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    connect_timeout: Duration,
    /// Time allowed for the whole exchange, retries and waits included: a Retry-After that
    /// would end later fails at once.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    timeout: Duration,
}

impl ImsTarget {
    fn client(&self, default_host: Option<&str>) -> Result<ImsClient> {
        let host = match self.ims_host.as_deref().or(default_host) {
            Some("production" | "prod") | None => ImsEndpoint::production(),
            Some("stage") => ImsEndpoint::stage(),
            Some(h) => ImsEndpoint::from_host(h).context("invalid --ims-host")?,
        };
        let endpoint = match &self.ims_url {
            Some(url) => host.with_base_url(url).context("invalid --ims-url")?,
            None => host,
        };
        Ok(ImsClient::with_http(
            endpoint,
            http(self.connect_timeout, self.timeout)?,
        ))
    }
}

/// The HTTP client of the exchange commands: `limit` (`--timeout`) bounds the whole
/// command, every attempt, retry and wait included; `connect` (`--connect-timeout`) each
/// connection.
pub(crate) fn http(connect: Duration, limit: Duration) -> Result<HttpClient> {
    if connect.is_zero() {
        bail!("--connect-timeout must be longer than 0 s");
    }
    if limit.is_zero() {
        bail!("--timeout must be longer than 0 s");
    }
    Ok(HttpClient::new(
        HttpOptions::default()
            .with_connect_timeout(connect)
            .with_request_timeout(limit)
            .with_total_timeout(Some(limit)),
    )?)
}

#[derive(Debug, Args)]
pub(crate) struct JwtArgs {
    /// AEM service credentials JSON (or a Developer Console project with a JWT credential).
    #[arg(long, value_name = "FILE")]
    credentials: PathBuf,
    /// The signing key (RS256), when the file has no privateKey or to override it: a file
    /// or a pkcs11: URI.
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    #[command(flatten)]
    target: ImsTarget,
    /// Lifetime of the minted JWT (at most 24h).
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    lifetime: Duration,
    /// Also print the signed JWT on stderr (it is short-lived; the access token is the
    /// secret to protect).
    #[arg(long)]
    print_jwt: bool,
    /// Print JSON instead: token_type, access_token, expires_in_seconds, expires_at,
    /// scope, and whether a refresh_token or id_token came back (never their values).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["credentials", "client_id"])))]
// No JWT here: --ims-host only says where to send the request.
#[command(mut_arg("ims_host", |a| a.help(
    "IMS host contacted over https (without --ims-url): a host name, `production` or `stage` \
     (default: ims-na1.adobelogin.com)"
)))]
pub(crate) struct TokenArgs {
    /// Developer Console project JSON with an OAuth server-to-server credential.
    #[arg(long, value_name = "FILE")]
    credentials: Option<PathBuf>,
    /// Client ID (instead of --credentials).
    #[arg(long, value_name = "ID", requires = "client_secret_env")]
    client_id: Option<String>,
    /// NAME of the environment variable holding the client secret of --client-id (never
    /// the secret).
    #[arg(long, value_name = "VAR", conflicts_with = "credentials")]
    client_secret_env: Option<String>,
    /// Scopes, comma-separated (default with --credentials: the file's scopes).
    #[arg(long, value_name = "LIST")]
    scopes: Option<String>,
    #[command(flatten)]
    target: ImsTarget,
    /// Print JSON instead: token_type, access_token, expires_in_seconds, expires_at,
    /// scope, and whether a refresh_token or id_token came back (never their values).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EmulatorArgs {
    /// Address to listen on (loopback only; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    listen: SocketAddr,
    /// Credential files registering integrations (repeatable).
    #[arg(long, value_name = "FILE", required = true, num_args = 1..)]
    credentials: Vec<PathBuf>,
    /// expires_in of JWT-exchange tokens (sent in milliseconds; 1ms to 10y).
    #[arg(long, default_value = "86399999ms", value_parser = parse_duration, value_name = "DURATION")]
    jwt_token_lifetime: Duration,
    /// expires_in of /ims/token/v3 tokens (sent in seconds; 1s to 10y).
    #[arg(long, default_value = "86399s", value_parser = parse_duration, value_name = "DURATION")]
    v3_token_lifetime: Duration,
}

pub(crate) fn run(c: ImsCommand) -> Result<ExitCode> {
    match c {
        ImsCommand::Jwt(a) => jwt(&a),
        ImsCommand::Token(a) => token(&a),
        ImsCommand::Emulator(a) => emulator(&a),
    }
}

/// A runtime for one command.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn load(path: &std::path::Path) -> Result<CredentialsFile> {
    CredentialsFile::load(path).with_context(|| format!("cannot use {}", path.display()))
}

fn jwt(a: &JwtArgs) -> Result<ExitCode> {
    let file = load(&a.credentials)?;
    let creds = file.service_account()?;
    let signer: Arc<dyn Signer> = match (&a.key, &creds.private_key) {
        (Some(key), _) => Arc::from(
            super::key_source(key)?
                .open_signer(Some(Algorithm::RS256))
                .context("cannot open --key")?,
        ),
        (None, Some(pem)) => {
            let key = hsmjwt::soft::PrivateKey::from_pem(pem.expose_secret())
                .context("the credentials' privateKey is not usable")?;
            Arc::new(hsmjwt::soft::SoftSigner::new(key, Some(Algorithm::RS256))?)
        }
        (None, None) => bail!(
            "{} has no privateKey: give the key with --key FILE or --key 'pkcs11:...'",
            a.credentials.display()
        ),
    };
    let client = a.target.client(Some(&creds.ims_host))?;
    let flow = JwtExchange::from_credentials(client, creds, signer).with_lifetime(a.lifetime);
    let token = runtime()?.block_on(async {
        let jwt = flow.sign_jwt().await?;
        if a.print_jwt {
            eprintln!("{jwt}");
        }
        flow.exchange(&jwt).await
    });
    let token = token.context("IMS JWT exchange failed")?;
    print_token(&token, a.json)
}

fn token(a: &TokenArgs) -> Result<ExitCode> {
    let mut creds: OAuthCredentials = match (&a.credentials, &a.client_id) {
        (Some(path), _) => load(path)?.oauth_server_to_server()?.clone(),
        (None, Some(id)) => {
            let Some(var) = &a.client_secret_env else {
                bail!("--client-id needs --client-secret-env VAR");
            };
            let secret = hsmjwt::oauth::secret::from_env(var)?;
            OAuthCredentials::new(id.clone(), secret, Vec::new())
        }
        (None, None) => bail!("give --credentials FILE or --client-id ID"),
    };
    if let Some(scopes) = &a.scopes {
        creds.scopes = hsmjwt::ims::credentials::split_scopes(scopes);
    }
    let flow = ServerToServer::new(a.target.client(None)?, creds);
    let token = runtime()?
        .block_on(flow.fetch())
        .context("IMS token request failed")?;
    print_token(&token, a.json)
}

/// Prints the access token (stdout only: it is the command's output).
pub(crate) fn print_token(token: &AccessToken, json: bool) -> Result<ExitCode> {
    if json {
        super::out_json(&token_json(token))?;
    } else {
        super::out(token.secret().expose_secret())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `{"token_type","access_token","expires_in_seconds","expires_at","scope","refresh_token",
/// "id_token"}`: the two last say `present (not shown)` when the response had them, and
/// are `null` otherwise.
pub(crate) fn token_json(token: &AccessToken) -> serde_json::Value {
    let present = |yes: bool| yes.then_some("present (not shown)");
    serde_json::json!({
        "token_type": token.token_type(),
        "access_token": token.secret().expose_secret(),
        "expires_in_seconds": token.expires_in().as_secs(),
        "expires_at": token.expires_at().and_then(rfc3339),
        "scope": token.scope(),
        "refresh_token": present(token.has_refresh_token()),
        "id_token": present(token.has_id_token()),
    })
}

/// `t` in RFC 3339 (UTC, whole seconds), or `None` outside the years 1970 to 9999, which
/// the format (four-digit years) and `humantime` cannot express.
pub(crate) fn rfc3339(t: SystemTime) -> Option<String> {
    const YEAR_10000: u64 = 253_402_300_800;
    let secs = t.duration_since(UNIX_EPOCH).ok()?.as_secs();
    (secs < YEAR_10000).then(|| humantime::format_rfc3339_seconds(t).to_string())
}

fn emulator(a: &EmulatorArgs) -> Result<ExitCode> {
    let mut config = EmulatorConfig::new()
        .with_listen(a.listen)?
        .with_jwt_token_lifetime(a.jwt_token_lifetime)
        .context("invalid --jwt-token-lifetime")?
        .with_v3_token_lifetime(a.v3_token_lifetime)
        .context("invalid --v3-token-lifetime")?;
    let mut ids = Vec::new();
    for path in &a.credentials {
        let integrations = Integration::from_credentials_file(&load(path)?)
            .with_context(|| format!("cannot register {}", path.display()))?;
        ids.extend(integrations.iter().map(|i| i.client_id().to_owned()));
        config = config.with_integrations(integrations);
    }
    let rt = runtime()?;
    rt.block_on(async {
        let emulator = Emulator::start(config).await?;
        super::out(&emulator.base_url())?;
        eprintln!(
            "IMS emulator listening on {} for {}; Ctrl-C stops it",
            emulator.base_url(),
            ids.join(", ")
        );
        super::signals::Signals::listen()?.recv().await?;
        eprintln!("stopping");
        emulator.shutdown().await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
