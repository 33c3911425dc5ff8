//! The agent: keys opened, token sources kept fresh, and the HTTP API on the Unix socket
//! (and an optional loopback TCP port).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::IncomingStream;
use axum::{Json, Router};
use hsmjwt::NumericDate;
use hsmjwt::core::text::{Chain, clean};
use hsmjwt::core::{Header, Jwks, Signer};
use hsmjwt::ims::{CredentialsFile, ImsClient, ImsEndpoint, JwtExchange, ServerToServer};
use hsmjwt::key::{KeySource, OpenOptions};
use hsmjwt::oauth::{
    AccessToken, ClientAuth, Grant, HttpClient, HttpOptions, OAuthClient, OAuthFlow, TokenCache,
    TokenParams, TokenSource,
};
use secrecy::ExposeSecret as _;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use tokio::net::{TcpListener, UnixListener};

use crate::Error;
use crate::config::{Config, Profile, SourceKind};
use crate::policy::{SignRequest, claims_for};

/// The largest request body accepted (`POST /v1/sign`).
pub const MAX_BODY: usize = 16 * 1024;

/// How long one signature may take before the request fails (an HSM call that hangs).
pub const SIGN_TIMEOUT: Duration = Duration::from_secs(30);

/// A token source of any kind the configuration names.
#[derive(Clone)]
enum Source {
    ImsJwt(JwtExchange),
    ImsOauth(ServerToServer),
    Oauth(OAuthFlow),
}

impl TokenSource for Source {
    fn fetch_token(
        &self,
    ) -> impl std::future::Future<Output = hsmjwt::oauth::Result<AccessToken>> + Send {
        let source = self.clone();
        async move {
            match source {
                Source::ImsJwt(s) => s.fetch_token().await,
                Source::ImsOauth(s) => s.fetch_token().await,
                Source::Oauth(s) => s.fetch_token().await,
            }
        }
    }
}

/// A token kept fresh, and what the refresher last saw.
struct TokenEntry {
    cache: TokenCache<Source>,
    last_error: Mutex<Option<String>>,
}

/// Counters for `/metrics`.
#[derive(Default)]
struct Counters {
    signatures: AtomicU64,
    signature_failures: AtomicU64,
    refusals: AtomicU64,
    tokens_served: AtomicU64,
    refresh_failures: AtomicU64,
    peers_refused: AtomicU64,
}

/// Everything the handlers share.
struct Shared {
    keys: BTreeMap<String, Arc<dyn Signer>>,
    jwks: Jwks,
    tokens: BTreeMap<String, Arc<TokenEntry>>,
    profiles: BTreeMap<String, (Profile, Option<String>)>,
    allow_uids: Option<Vec<u32>>,
    allow_gids: Option<Vec<u32>>,
    counters: Counters,
}

/// Who is on the other end of a connection: the Unix socket's peer credentials, or
/// nothing for the loopback TCP port.
#[derive(Clone, Copy, Debug, Default)]
pub struct Peer {
    /// The peer's user id.
    pub uid: Option<u32>,
    /// The peer's group id.
    pub gid: Option<u32>,
    /// The peer's process id.
    pub pid: Option<i32>,
}

impl Connected<IncomingStream<'_, UnixListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, UnixListener>) -> Self {
        let cred = stream.io().peer_cred().ok();
        Peer {
            uid: cred.map(|c| c.uid()),
            gid: cred.map(|c| c.gid()),
            pid: cred.and_then(|c| c.pid()),
        }
    }
}

impl Connected<IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(_: IncomingStream<'_, TcpListener>) -> Self {
        Peer::default()
    }
}

/// A JSON error response: `{"error": CODE, "message": ..., "field": ...}`.
fn error(status: StatusCode, code: &str, message: &str, field: Option<&str>) -> Response {
    let mut body = json!({"error": code, "message": message});
    if let Some(field) = field {
        body["field"] = json!(field);
    }
    (status, no_store(), Json(body)).into_response()
}

fn no_store() -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

impl Shared {
    /// `Some(response)` when the peer may not use the agent.
    fn refuse_peer(&self, peer: &Peer, what: &str) -> Option<Response> {
        let uid_ok = self
            .allow_uids
            .as_ref()
            .is_none_or(|uids| peer.uid.is_some_and(|u| uids.contains(&u)));
        let gid_ok = self
            .allow_gids
            .as_ref()
            .is_none_or(|gids| peer.gid.is_some_and(|g| gids.contains(&g)));
        if uid_ok && gid_ok {
            return None;
        }
        self.counters.peers_refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(target: "hsmjwt::audit", uid = ?peer.uid, gid = ?peer.gid, pid = ?peer.pid, what, "peer refused");
        Some(error(
            StatusCode::FORBIDDEN,
            "peer_refused",
            "this user or group may not use the agent",
            None,
        ))
    }
}

/// The agent's state, built from a configuration: keys opened, token sources set up.
pub struct Agent {
    shared: Arc<Shared>,
    unix: PathBuf,
    tcp: Option<std::net::SocketAddr>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("unix", &self.unix)
            .field("keys", &self.shared.keys.keys().collect::<Vec<_>>())
            .field("tokens", &self.shared.tokens.keys().collect::<Vec<_>>())
            .field("profiles", &self.shared.profiles.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Agent {
    /// Opens every key (blocking: an HSM may prompt nothing, but it may be slow) and sets
    /// up every token source, with `http` for the token endpoints.
    ///
    /// # Errors
    /// [`Error::Key`] for a key that does not open, [`Error::TokenSetup`] for a token source
    /// whose credentials, secret or endpoint cannot be used.
    pub fn build(config: &Config, http: &HttpOptions) -> Result<Self, Error> {
        let mut keys = BTreeMap::new();
        let mut jwks = Jwks::default();
        for (name, k) in &config.keys {
            let source: KeySource = k.key.parse().map_err(|source| Error::Key {
                name: name.clone(),
                source,
            })?;
            let signer: Arc<dyn Signer> = Arc::from(source.open(&OpenOptions::default()).map_err(
                |source| Error::Key {
                    name: name.clone(),
                    source,
                },
            )?);
            let jwk = signer.public_key().clone();
            let kid = jwk.thumbprint();
            jwks.keys.push(jwk.with_kid(kid));
            keys.insert(name.clone(), signer);
        }
        let http_client = HttpClient::new(http.clone()).map_err(|e| Error::TokenSetup {
            name: String::new(),
            reason: "the HTTP client cannot be made".to_owned(),
            source: Some(Box::new(e)),
        })?;
        let mut tokens = BTreeMap::new();
        for (name, t) in &config.tokens {
            let setup =
                |reason: String, source: Option<Box<dyn std::error::Error + Send + Sync>>| {
                    Error::TokenSetup {
                        name: name.clone(),
                        reason,
                        source,
                    }
                };
            let source = match t.source {
                SourceKind::ImsJwt | SourceKind::ImsOauth => {
                    let path = t.credentials.as_deref().unwrap_or(Path::new(""));
                    let file = CredentialsFile::load(path).map_err(|e| {
                        setup(
                            format!("credentials {} cannot be used", path.display()),
                            Some(Box::new(e)),
                        )
                    })?;
                    let host = |h: &str| {
                        let endpoint = ImsEndpoint::from_host(h).map_err(|e| {
                            setup("the IMS host is not valid".into(), Some(Box::new(e)))
                        })?;
                        match &t.ims_url {
                            Some(url) => endpoint.with_base_url(url).map_err(|e| {
                                setup("ims_url is not valid".into(), Some(Box::new(e)))
                            }),
                            None => Ok(endpoint),
                        }
                    };
                    if t.source == SourceKind::ImsJwt {
                        let creds = file.service_account().map_err(|e| {
                            setup("credentials: no service account".into(), Some(Box::new(e)))
                        })?;
                        let client =
                            ImsClient::with_http(host(&creds.ims_host)?, http_client.clone());
                        let key = t.key.as_deref().unwrap_or_default();
                        let signer = keys
                            .get(key)
                            .cloned()
                            .ok_or_else(|| setup(format!("no key `{key}`"), None))?;
                        Source::ImsJwt(JwtExchange::from_credentials(client, creds, signer))
                    } else {
                        let creds = file.oauth_server_to_server().map_err(|e| {
                            setup(
                                "credentials: no OAuth server-to-server".into(),
                                Some(Box::new(e)),
                            )
                        })?;
                        let client = ImsClient::with_http(
                            host("ims-na1.adobelogin.com")?,
                            http_client.clone(),
                        );
                        Source::ImsOauth(ServerToServer::new(client, creds.clone()))
                    }
                }
                SourceKind::Oauth => {
                    let endpoint = t.token_endpoint.clone().unwrap_or_default();
                    let key = t.key.as_deref().unwrap_or_default();
                    let signer = keys
                        .get(key)
                        .cloned()
                        .ok_or_else(|| setup(format!("no key `{key}`"), None))?;
                    let auth = ClientAuth::private_key_jwt(signer, endpoint.clone());
                    let client =
                        OAuthClient::new(&endpoint, t.client_id.clone().unwrap_or_default(), auth)
                            .map_err(|e| {
                                setup("token_endpoint cannot be used".into(), Some(Box::new(e)))
                            })?
                            .with_http(http_client.clone());
                    let mut params = TokenParams::new();
                    if let Some(scope) = &t.scope {
                        params = params.with_scope(scope.clone());
                    }
                    Source::Oauth(OAuthFlow::new(client, Grant::ClientCredentials, params))
                }
            };
            tokens.insert(
                name.clone(),
                Arc::new(TokenEntry {
                    cache: TokenCache::new(source),
                    last_error: Mutex::new(None),
                }),
            );
        }
        let profiles = config
            .profiles
            .iter()
            .map(|(name, p)| {
                let kid = match p.kid.as_deref() {
                    Some("thumbprint") => keys.get(&p.key).map(|s| s.public_key().thumbprint()),
                    other => other.map(str::to_owned),
                };
                (name.clone(), (p.clone(), kid))
            })
            .collect();
        Ok(Agent {
            shared: Arc::new(Shared {
                keys,
                jwks,
                tokens,
                profiles,
                allow_uids: config.listen.allow_uids.clone(),
                allow_gids: config.listen.allow_gids.clone(),
                counters: Counters::default(),
            }),
            unix: config.listen.unix.clone(),
            tcp: config.listen.tcp,
        })
    }

    /// The routes.
    fn router(&self) -> Router {
        Router::new()
            .route("/v1/tokens/{name}", get(token))
            .route("/v1/sign/{profile}", post(sign))
            .route("/v1/jwks", get(jwks))
            .route("/healthz", get(healthz))
            .route("/metrics", get(metrics))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(self.shared.clone())
    }

    /// Binds the socket (mode 0660; a stale socket file is replaced, one another process
    /// listens on is not) and the TCP port, starts the token refreshers, and serves until
    /// `stop` resolves; then stops accepting, lets requests in flight finish, and removes
    /// the socket.
    ///
    /// # Errors
    /// [`Error::Socket`] when the socket cannot be made (its folder missing, another agent
    /// on it) or the TCP port cannot be bound.
    pub async fn serve(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let unix = bind_unix(&self.unix)?;
        let tcp = match self.tcp {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| Error::Socket {
                path: PathBuf::from(addr.to_string()),
                reason: "cannot listen".into(),
                source: Some(e),
            })?),
            None => None,
        };
        let refreshers: Vec<_> = self
            .shared
            .tokens
            .iter()
            .map(|(name, entry)| {
                tokio::spawn(refresh(name.clone(), entry.clone(), self.shared.clone()))
            })
            .collect();
        let (tx, rx) = tokio::sync::watch::channel(false);
        let stopping = {
            let tx = tx.clone();
            tokio::spawn(async move {
                stop.await;
                let _ = tx.send(true);
            })
        };
        let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        tracing::info!(socket = %self.unix.display(), "hsmjwt agent listening");
        let app = self.router();
        let unix_server = axum::serve(
            unix,
            app.clone().into_make_service_with_connect_info::<Peer>(),
        )
        .with_graceful_shutdown(wait(rx.clone()));
        let result = match tcp {
            Some(tcp) => {
                let tcp_server =
                    axum::serve(tcp, app.into_make_service_with_connect_info::<Peer>())
                        .with_graceful_shutdown(wait(rx.clone()));
                let (a, b) = tokio::join!(unix_server, tcp_server);
                a.and(b)
            }
            None => unix_server.await,
        };
        stopping.abort();
        for r in refreshers {
            r.abort();
        }
        let _ = std::fs::remove_file(&self.unix);
        tracing::info!(socket = %self.unix.display(), "hsmjwt agent stopped");
        result.map_err(|e| Error::Socket {
            path: self.unix.clone(),
            reason: "the server failed".into(),
            source: Some(e),
        })
    }
}

/// The Unix socket at `path`, mode 0660.
fn bind_unix(path: &Path) -> Result<UnixListener, Error> {
    let socket_error = |reason: String, source: Option<std::io::Error>| Error::Socket {
        path: path.to_owned(),
        reason,
        source,
    };
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
        && !parent.is_dir()
    {
        return Err(socket_error(
            format!("its folder {} does not exist", parent.display()),
            None,
        ));
    }
    if std::fs::symlink_metadata(path).is_ok() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(socket_error("another agent listens on it".into(), None));
        }
        std::fs::remove_file(path)
            .map_err(|e| socket_error("a stale socket file cannot be removed".into(), Some(e)))?;
    }
    let listener =
        UnixListener::bind(path).map_err(|e| socket_error("cannot listen".into(), Some(e)))?;
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| socket_error("cannot set its mode to 0660".into(), Some(e)))?;
    Ok(listener)
}

/// Keeps one token fresh: refreshes it before its margin, retries failures with backoff
/// (1 s doubling to 60 s) while the still-valid token keeps being served.
async fn refresh(name: String, entry: Arc<TokenEntry>, shared: Arc<Shared>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match entry.cache.get().await {
            Ok(_) => {
                *entry
                    .last_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = None;
                backoff = Duration::from_secs(1);
                let wait = entry
                    .cache
                    .status()
                    .map_or(Duration::from_secs(1), |s| s.refresh_in)
                    .max(Duration::from_millis(200));
                tokio::time::sleep(wait).await;
            }
            Err(e) => {
                shared
                    .counters
                    .refresh_failures
                    .fetch_add(1, Ordering::Relaxed);
                let message = Chain(&e).to_string();
                tracing::warn!(token = %name, error = %message, retry_in = ?backoff, "token refresh failed");
                *entry
                    .last_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(message);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
}

async fn token(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    if let Some(refused) = shared.refuse_peer(&peer, "token") {
        return refused;
    }
    let Some(entry) = shared.tokens.get(&name) else {
        return error(
            StatusCode::NOT_FOUND,
            "unknown_token",
            &format!("no token `{}`", clean(&name, 64)),
            None,
        );
    };
    let token = match entry.cache.get().await {
        Ok(token) => token,
        Err(e) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "token_unavailable",
                &Chain(&e).to_string(),
                None,
            );
        }
    };
    shared
        .counters
        .tokens_served
        .fetch_add(1, Ordering::Relaxed);
    let expires_at = token
        .expires_at()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    tracing::info!(target: "hsmjwt::audit", uid = ?peer.uid, pid = ?peer.pid, token = %name, "access token handed out");
    (
        StatusCode::OK,
        no_store(),
        Json(json!({
            "access_token": token.secret().expose_secret(),
            "token_type": token.token_type(),
            "expires_at": expires_at,
            "expires_in": expires_at.map(|e| e.saturating_sub(now)),
        })),
    )
        .into_response()
}

async fn sign(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    UrlPath(profile): UrlPath<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(refused) = shared.refuse_peer(&peer, "sign") {
        return refused;
    }
    let Some((profile_config, kid)) = shared.profiles.get(&profile) else {
        return error(
            StatusCode::NOT_FOUND,
            "unknown_profile",
            &format!("no profile `{}`", clean(&profile, 64)),
            None,
        );
    };
    let request: SignRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("the body is not a sign request: {e}"),
                None,
            );
        }
    };
    let jti = uuid::Uuid::new_v4().to_string();
    let (claims, _ttl) = match claims_for(profile_config, &request, NumericDate::now(), &jti) {
        Ok(c) => c,
        Err(refusal) => {
            shared.counters.refusals.fetch_add(1, Ordering::Relaxed);
            tracing::info!(target: "hsmjwt::audit", uid = ?peer.uid, pid = ?peer.pid, profile = %profile, field = %refusal.field, "signature refused by policy");
            return error(
                StatusCode::FORBIDDEN,
                "forbidden",
                &refusal.to_string(),
                Some(&refusal.field),
            );
        }
    };
    let Some(signer) = shared.keys.get(&profile_config.key).cloned() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the profile's key is missing",
            None,
        );
    };
    let mut header = Header::jwt(signer.algorithm());
    if let Some(typ) = &profile_config.typ {
        header = header.with_typ(typ.clone());
    }
    if let Some(kid) = kid {
        header = header.with_kid(kid.clone());
    }
    let claims_json = serde_json::to_vec(&claims).unwrap_or_default();
    let digest: String = Sha256::digest(&claims_json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let task = tokio::task::spawn_blocking(move || hsmjwt::encode(&header, &claims, &*signer));
    let token = match tokio::time::timeout(SIGN_TIMEOUT, task).await {
        Ok(Ok(Ok(token))) => token,
        Ok(Ok(Err(e))) => {
            shared
                .counters
                .signature_failures
                .fetch_add(1, Ordering::Relaxed);
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "sign_failed",
                &Chain(&e).to_string(),
                None,
            );
        }
        Ok(Err(_)) | Err(_) => {
            shared
                .counters
                .signature_failures
                .fetch_add(1, Ordering::Relaxed);
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "sign_failed",
                "the signature did not finish in time",
                None,
            );
        }
    };
    shared.counters.signatures.fetch_add(1, Ordering::Relaxed);
    tracing::info!(target: "hsmjwt::audit", uid = ?peer.uid, pid = ?peer.pid, profile = %profile, jti = %jti, aud = %request.aud, claims_sha256 = %digest, "JWT signed");
    (StatusCode::OK, no_store(), Json(json!({ "token": token }))).into_response()
}

async fn jwks(State(shared): State<Arc<Shared>>, ConnectInfo(peer): ConnectInfo<Peer>) -> Response {
    if let Some(refused) = shared.refuse_peer(&peer, "jwks") {
        return refused;
    }
    Json(serde_json::to_value(&shared.jwks).unwrap_or_default()).into_response()
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let mut problems = Vec::new();
    for (name, entry) in &shared.tokens {
        if entry.cache.cached().is_none() {
            let why = entry
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
                .unwrap_or_else(|| "not fetched yet".to_owned());
            problems.push(format!("tokens.{name}: no valid token ({why})"));
        }
    }
    if problems.is_empty() {
        (StatusCode::OK, Json(json!({"status": "ok"}))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "problems": problems})),
        )
            .into_response()
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let c = &shared.counters;
    let mut out = String::new();
    for (name, help, value) in [
        (
            "hsmjwt_agent_signatures_total",
            "JWTs signed",
            &c.signatures,
        ),
        (
            "hsmjwt_agent_signature_failures_total",
            "signatures that failed",
            &c.signature_failures,
        ),
        (
            "hsmjwt_agent_policy_refusals_total",
            "sign requests refused by policy",
            &c.refusals,
        ),
        (
            "hsmjwt_agent_tokens_served_total",
            "access tokens handed out",
            &c.tokens_served,
        ),
        (
            "hsmjwt_agent_refresh_failures_total",
            "token refreshes that failed",
            &c.refresh_failures,
        ),
        (
            "hsmjwt_agent_peers_refused_total",
            "connections refused by peer credentials",
            &c.peers_refused,
        ),
    ] {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
            value.load(Ordering::Relaxed)
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
