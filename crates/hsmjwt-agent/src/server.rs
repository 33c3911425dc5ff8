//! The agent: keys opened, token sources kept fresh, and the HTTP API on the Unix socket
//! (and an optional loopback TCP port).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use secrecy::ExposeSecret as _;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use tokio::net::{TcpListener, UnixListener};

use crate::Error;
use crate::config::{Config, Profile, SourceKind};
use crate::lanes::Lanes;
use crate::policy::{SignRequest, claims_for};

/// The largest request body accepted (`POST /v1/sign`).
pub const MAX_BODY: usize = 16 * 1024;

/// How long one signature may take before the request fails (an HSM call that hangs), by
/// default: [`HttpOptions::sign_timeout`](hsmjwt::oauth::HttpOptions::sign_timeout) in
/// [`AgentOptions::http`] sets it, for `POST /v1/sign` and the token sources alike.
pub const SIGN_TIMEOUT: Duration = Duration::from_secs(30);

/// How [`Agent::build`] talks to token endpoints and when it refreshes tokens.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AgentOptions {
    /// Timeouts and retries of the token requests; its `sign_timeout` bounds every
    /// signature (`POST /v1/sign` too; [`SIGN_TIMEOUT`] by default).
    pub http: HttpOptions,
    /// When a token is refreshed (by default 5 min before expiry, at the latest after 90%
    /// of its lifetime).
    pub cache: hsmjwt::oauth::CacheOptions,
}

impl AgentOptions {
    /// Sets the HTTP options.
    #[must_use]
    pub fn with_http(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// Sets the token caches' options.
    #[must_use]
    pub fn with_cache(mut self, cache: hsmjwt::oauth::CacheOptions) -> Self {
        self.cache = cache;
        self
    }
}

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
    cache: TokenCache<Recorded>,
    stats: Arc<FetchStats>,
}

/// What the fetches of one token did: failures and the last error (cleared by a success).
/// The cache serves a still-valid token when a refresh fails, so its answer does not tell.
#[derive(Default)]
struct FetchStats {
    successes: std::sync::atomic::AtomicU64,
    failures: std::sync::atomic::AtomicU64,
    last_error: Mutex<Option<(String, bool)>>,
}

/// A token source that records its failures in [`FetchStats`].
#[derive(Clone)]
struct Recorded {
    source: Source,
    stats: Arc<FetchStats>,
}

impl TokenSource for Recorded {
    fn fetch_token(
        &self,
    ) -> impl std::future::Future<Output = hsmjwt::oauth::Result<AccessToken>> + Send {
        let this = self.clone();
        async move {
            let result = this.source.fetch_token().await;
            let mut last = this
                .stats
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match &result {
                Ok(_) => {
                    *last = None;
                    this.stats
                        .successes
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => {
                    // A refusal (invalid_client, a revoked key) will not pass by asking
                    // again: the cache holds it (see `CacheOptions::max_retry_delay`).
                    let refused = e.is_refusal();
                    *last = Some((Chain(e).to_string(), refused));
                    this.stats
                        .failures
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            result
        }
    }
}

/// The metrics of `/metrics` (Prometheus text format, `prometheus-client`). They live as
/// long as the process: a reload keeps them.
struct Metrics {
    registry: Registry,
    signatures: Family<Vec<(String, String)>, Counter>,
    tokens_served: Family<Vec<(String, String)>, Counter>,
    refresh_failures: Family<Vec<(String, String)>, Counter>,
    exchanges: Family<Vec<(String, String)>, Counter>,
    hsm_recoveries: Family<Vec<(String, String)>, Counter>,
    peers_refused: Counter,
    reloads: Family<Vec<(String, String)>, Counter>,
    sign_seconds: Histogram,
    token_seconds: Histogram,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("hsmjwt_agent");
        let signatures = Family::default();
        registry.register(
            "signatures",
            "JWTs asked for, by profile and result (ok, refused, failed)",
            signatures.clone(),
        );
        let tokens_served = Family::default();
        registry.register(
            "tokens_served",
            "access tokens handed out, by token",
            tokens_served.clone(),
        );
        let hsm_recoveries = Family::default();
        registry.register(
            "hsm_recoveries",
            "recoveries of the keys' HSM signers, by key and kind (session: a lost session \
             replaced and logged in again; module: the PKCS#11 module initialized again)",
            hsm_recoveries.clone(),
        );
        let exchanges = Family::default();
        registry.register(
            "exchanges",
            "token requests to the token servers, by token and result (ok, failed)",
            exchanges.clone(),
        );
        let refresh_failures = Family::default();
        registry.register(
            "refresh_failures",
            "token refreshes that failed, by token",
            refresh_failures.clone(),
        );
        let peers_refused = Counter::default();
        registry.register(
            "peers_refused",
            "connections refused by their peer credentials",
            peers_refused.clone(),
        );
        let reloads = Family::default();
        registry.register(
            "reloads",
            "configuration reloads, by result (ok, failed)",
            reloads.clone(),
        );
        let sign_seconds = Histogram::new(exponential_buckets(0.000_05, 2.0, 20));
        registry.register(
            "sign_duration_seconds",
            "time to sign a JWT (policy, signature)",
            sign_seconds.clone(),
        );
        let token_seconds = Histogram::new(exponential_buckets(0.000_01, 2.0, 24));
        registry.register(
            "token_duration_seconds",
            "time to answer a token request (a cold token waits for its exchange)",
            token_seconds.clone(),
        );
        Metrics {
            registry,
            signatures,
            tokens_served,
            refresh_failures,
            exchanges,
            hsm_recoveries,
            peers_refused,
            reloads,
            sign_seconds,
            token_seconds,
        }
    }
}

fn label(name: &str, value: &str) -> Vec<(String, String)> {
    vec![(name.to_owned(), value.to_owned())]
}

/// Everything the handlers share.
struct Shared {
    keys: BTreeMap<String, Arc<KeyEntry>>,
    jwks: Jwks,
    tokens: BTreeMap<String, Arc<TokenEntry>>,
    profiles: BTreeMap<String, ProfileEntry>,
    allow_uids: Option<Vec<u32>>,
    allow_gids: Option<Vec<u32>>,
    /// The keys whose last signature failed, with the error (cleared by a success).
    key_errors: Mutex<BTreeMap<String, String>>,
    /// The time one signature may take (`AgentOptions::http.sign_timeout`).
    sign_timeout: Duration,
}

/// A configured key: its signer and the threads it signs on.
struct KeyEntry {
    signer: Arc<dyn Signer>,
    /// As many threads as the key has sessions.
    lanes: Lanes,
    /// The signer's recoveries (sessions, modules) already added to the metrics.
    recoveries_seen: [AtomicU64; 2],
}

impl Shared {
    /// Adds to `hsm_recoveries` what the signers recovered since the last call (the
    /// counters of a signer only grow; a reload starts new signers and new counts). Called
    /// when the metrics are read, not on the signing path.
    fn count_recoveries(&self, metrics: &Metrics) {
        for (name, key) in &self.keys {
            let now = key.signer.recoveries();
            for (kind, value, seen) in [
                ("session", now.sessions, &key.recoveries_seen[0]),
                ("module", now.modules, &key.recoveries_seen[1]),
            ] {
                let before = seen.fetch_max(value, Ordering::Relaxed);
                if value > before {
                    metrics
                        .hsm_recoveries
                        .get_or_create(&vec![
                            ("key".to_owned(), name.clone()),
                            ("kind".to_owned(), kind.to_owned()),
                        ])
                        .inc_by(value - before);
                }
            }
        }
    }
}

/// A profile as it signs: its policy, its key, and the header of its tokens made once.
struct ProfileEntry {
    config: Profile,
    key: Arc<KeyEntry>,
    /// `alg` of the key; `typ`, `kid`, and the certificate's `x5t#S256` (with `x5c`, `x5t`
    /// when asked for).
    header: Header,
    /// The certificate's leaf, checked to be valid before each signature.
    leaf: Option<hsmjwt::soft::Certificate>,
}

impl ProfileEntry {
    /// The profile `name` of the configuration, signing with `key`.
    ///
    /// # Errors
    /// [`Error::Config`] naming `profiles.NAME.cert` when the certificate cannot be read,
    /// does not certify the key or is not valid now.
    fn new(name: &str, p: &Profile, key: Arc<KeyEntry>) -> Result<Self, Error> {
        let signer = &*key.signer;
        let mut header = Header::jwt(signer.algorithm());
        if let Some(typ) = &p.typ {
            header = header.with_typ(typ.clone());
        }
        match p.kid.as_deref() {
            Some("thumbprint") => header = header.with_kid(signer.public_key().thumbprint()),
            Some(kid) => header = header.with_kid(kid.to_owned()),
            None => {}
        }
        let mut leaf = None;
        if let Some(path) = &p.cert {
            let bad = |e: hsmjwt::soft::Error| {
                Error::config("", format!("profiles.{name}.cert: {}", Chain(&e)))
            };
            let chain = hsmjwt::soft::Certificate::load_chain(path).map_err(bad)?;
            let validity = hsmjwt::soft::certify_header(
                &mut header,
                &chain,
                signer.public_key(),
                NumericDate::now(),
                hsmjwt::soft::CertificateHeaders::new(p.x5c, p.x5t),
            )
            .map_err(bad)?;
            leaf = chain.into_iter().next();
            if let (Some(first), hsmjwt::soft::Validity::ExpiresSoon { days_left }) =
                (&leaf, validity)
            {
                tracing::warn!(
                    profile = name,
                    days_left,
                    not_after = first.not_after_text(),
                    "the profile's certificate expires soon; renew it"
                );
            }
        }
        Ok(ProfileEntry {
            config: p.clone(),
            key,
            header,
            leaf,
        })
    }
}

/// What the handlers see: the state now (swapped whole by a reload) and the metrics.
struct Live {
    current: RwLock<Arc<Shared>>,
    metrics: Metrics,
}

impl Live {
    fn current(&self) -> Arc<Shared> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }
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

/// A peer credential for the audit log: the number, or `-` over TCP.
fn shown<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn no_store() -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

impl Shared {
    /// `Some(response)` when the peer may not use the agent.
    fn refuse_peer(&self, peer: &Peer, what: &str, metrics: &Metrics) -> Option<Response> {
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
        metrics.peers_refused.inc();
        tracing::warn!(target: "hsmjwt::audit", uid = %shown(peer.uid), gid = %shown(peer.gid), pid = %shown(peer.pid), what, "peer refused");
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
    /// Opens every key (blocking: an HSM may be slow) and sets up every token source, with
    /// `options.http` for the token endpoints and `options.cache` for the token caches.
    ///
    /// # Errors
    /// [`Error::Key`] for a key that does not open, [`Error::TokenSetup`] for a token source
    /// whose credentials, secret or endpoint cannot be used.
    pub fn build(config: &Config, options: &AgentOptions) -> Result<Self, Error> {
        let http = &options.http;
        let mut keys = BTreeMap::new();
        let mut jwks = Jwks::default();
        for (name, k) in &config.keys {
            let source: KeySource = k.key.parse().map_err(|source| Error::Key {
                name: name.clone(),
                source,
            })?;
            let options = OpenOptions {
                pool_size: k.sessions,
                ..OpenOptions::default()
            };
            let signer: Arc<dyn Signer> =
                Arc::from(source.open(&options).map_err(|source| Error::Key {
                    name: name.clone(),
                    source,
                })?);
            let threads = k.sessions.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            let lanes = Lanes::start(name, threads).map_err(|source| Error::Threads {
                name: name.clone(),
                source,
            })?;
            let jwk = signer.public_key().clone();
            let kid = jwk.thumbprint();
            jwks.keys.push(jwk.with_kid(kid));
            keys.insert(
                name.clone(),
                Arc::new(KeyEntry {
                    signer,
                    lanes,
                    recoveries_seen: [AtomicU64::new(0), AtomicU64::new(0)],
                }),
            );
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
                    let secret = client_secret(t).map_err(|e| setup(e, None))?;
                    if t.source == SourceKind::ImsJwt {
                        let mut creds = file
                            .service_account()
                            .map_err(|e| {
                                setup("credentials: no service account".into(), Some(Box::new(e)))
                            })?
                            .clone();
                        if let Some(secret) = secret {
                            creds.client_secret = secret;
                        }
                        let client =
                            ImsClient::with_http(host(&creds.ims_host)?, http_client.clone());
                        let key = t.key.as_deref().unwrap_or_default();
                        let signer = keys
                            .get(key)
                            .map(|k| k.signer.clone())
                            .ok_or_else(|| setup(format!("no key `{key}`"), None))?;
                        Source::ImsJwt(JwtExchange::from_credentials(client, &creds, signer))
                    } else {
                        let mut creds = file
                            .oauth_server_to_server()
                            .map_err(|e| {
                                setup(
                                    "credentials: no OAuth server-to-server".into(),
                                    Some(Box::new(e)),
                                )
                            })?
                            .clone();
                        if let Some(secret) = secret {
                            creds.client_secret = secret;
                        }
                        let client = ImsClient::with_http(
                            host("ims-na1.adobelogin.com")?,
                            http_client.clone(),
                        );
                        Source::ImsOauth(ServerToServer::new(client, creds))
                    }
                }
                SourceKind::Oauth => {
                    let endpoint = t.token_endpoint.clone().unwrap_or_default();
                    let key = t.key.as_deref().unwrap_or_default();
                    let signer = keys
                        .get(key)
                        .map(|k| k.signer.clone())
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
            tokens.insert(name.clone(), {
                let stats = Arc::new(FetchStats::default());
                let recorded = Recorded {
                    source,
                    stats: stats.clone(),
                };
                Arc::new(TokenEntry {
                    cache: TokenCache::with_options(recorded, options.cache.clone()),
                    stats,
                })
            });
        }
        let mut profiles = BTreeMap::new();
        for (name, p) in &config.profiles {
            let Some(key) = keys.get(&p.key) else {
                return Err(Error::config(
                    "",
                    format!("profiles.{name}.key: no key `{}` in [keys]", p.key),
                ));
            };
            profiles.insert(name.clone(), ProfileEntry::new(name, p, key.clone())?);
        }
        Ok(Agent {
            shared: Arc::new(Shared {
                keys,
                jwks,
                tokens,
                profiles,
                allow_uids: config.listen.allow_uids.clone(),
                allow_gids: config.listen.allow_gids.clone(),
                key_errors: Mutex::new(BTreeMap::new()),
                sign_timeout: http.sign_timeout,
            }),
            unix: config.listen.unix.clone(),
            tcp: config.listen.tcp,
        })
    }

    /// The Unix socket this agent listens on.
    #[must_use]
    pub fn socket(&self) -> &Path {
        &self.unix
    }

    /// Binds the socket and the TCP port ([`bind`](Self::bind)), then starts the token
    /// refreshers and serves until [`Control::Stop`] ([`Listening::serve`], which says what
    /// a stop and a reload do).
    ///
    /// # Errors
    /// [`Error::Socket`] when the socket cannot be made (its folder missing, another agent
    /// on it) or the TCP port cannot be bound, or when a server fails.
    pub async fn serve(
        self,
        control: tokio::sync::mpsc::Receiver<Control>,
        grace: Duration,
    ) -> Result<(), Error> {
        self.bind().await?.serve(control, grace).await
    }

    /// Binds the socket (mode 0660; a stale socket file is replaced, one another process
    /// listens on is not) and the TCP port. Connections wait in the listeners' queues from
    /// now on, so a caller that serves the result on a task of its own can use the agent at
    /// once, without waiting for the socket to appear.
    ///
    /// # Errors
    /// [`Error::Socket`] when the socket cannot be made (its folder missing, another agent
    /// on it) or the TCP port cannot be bound.
    pub async fn bind(self) -> Result<Listening, Error> {
        let unix = bind_unix(&self.unix)?;
        let tcp = match self.tcp {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| Error::Socket {
                path: PathBuf::from(addr.to_string()),
                reason: "cannot listen".into(),
                source: Some(e),
            })?),
            None => None,
        };
        Ok(Listening {
            agent: self,
            unix,
            tcp,
        })
    }
}

/// An [`Agent`] whose socket (and TCP port) is bound: [`Agent::bind`]. Dropped without
/// [`serve`](Self::serve), it closes its listeners and leaves the socket file, which the
/// next bind replaces as stale.
#[derive(Debug)]
pub struct Listening {
    agent: Agent,
    unix: UnixListener,
    tcp: Option<TcpListener>,
}

impl Listening {
    /// The Unix socket the agent listens on.
    #[must_use]
    pub fn socket(&self) -> &Path {
        &self.agent.unix
    }

    /// Starts the token refreshers and serves until [`Control::Stop`] (or `control`
    /// closes): then it stops accepting, gives requests in flight up to `grace` to finish,
    /// and removes the socket. [`Control::Reload`] swaps in another agent's keys, tokens
    /// and profiles at once (requests in flight finish on the old ones); its `[listen]` is
    /// not applied (a restart is needed for that).
    ///
    /// # Errors
    /// [`Error::Socket`] when a server fails.
    pub async fn serve(
        self,
        mut control: tokio::sync::mpsc::Receiver<Control>,
        grace: Duration,
    ) -> Result<(), Error> {
        let Listening { agent, unix, tcp } = self;
        let live = Arc::new(Live {
            current: RwLock::new(agent.shared.clone()),
            metrics: Metrics::new(),
        });
        let mut refreshers = start_refreshers(&agent.shared, &live);
        let (tx, rx) = tokio::sync::watch::channel(false);
        let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let app = router(live.clone());
        let mut servers = tokio::task::JoinSet::new();
        servers.spawn(
            axum::serve(
                unix,
                app.clone().into_make_service_with_connect_info::<Peer>(),
            )
            .with_graceful_shutdown(wait(rx.clone()))
            .into_future(),
        );
        if let Some(tcp) = tcp {
            servers.spawn(
                axum::serve(tcp, app.into_make_service_with_connect_info::<Peer>())
                    .with_graceful_shutdown(wait(rx.clone()))
                    .into_future(),
            );
        }
        tracing::info!(socket = %agent.unix.display(), "hsmjwt agent listening");
        let mut failure = None;
        loop {
            tokio::select! {
                command = control.recv() => match command {
                    Some(Control::Reload(next)) => {
                        for r in refreshers.drain(..) {
                            r.abort();
                        }
                        *live.current.write().unwrap_or_else(PoisonError::into_inner) = next.shared.clone();
                        refreshers = start_refreshers(&next.shared, &live);
                        live.metrics.reloads.get_or_create(&label("result", "ok")).inc();
                        tracing::info!("configuration reloaded");
                    }
                    Some(Control::ReloadFailed(reason)) => {
                        live.metrics.reloads.get_or_create(&label("result", "failed")).inc();
                        tracing::error!(reason = %reason, "configuration not reloaded: the old one keeps serving");
                    }
                    Some(Control::Stop) | None => break,
                },
                done = servers.join_next() => {
                    // A server ended without being asked: report it and stop the others.
                    if let Some(Ok(Err(e))) = done {
                        failure = Some(e);
                    }
                    break;
                }
            }
        }
        tracing::info!(grace = ?grace, "hsmjwt agent stopping: no new connections, requests in flight finish");
        let _ = tx.send(true);
        let drained = tokio::time::timeout(grace, async {
            while servers.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(grace = ?grace, "requests still in flight after the grace period were cut");
            servers.abort_all();
        }
        for r in refreshers {
            r.abort();
        }
        let _ = std::fs::remove_file(&agent.unix);
        tracing::info!(socket = %agent.unix.display(), "hsmjwt agent stopped");
        match failure {
            Some(e) => Err(Error::Socket {
                path: agent.unix.clone(),
                reason: "the server failed".into(),
                source: Some(e),
            }),
            None => Ok(()),
        }
    }
}

/// What the agent's owner tells a serving agent.
#[derive(Debug)]
#[non_exhaustive]
pub enum Control {
    /// Serve this agent's keys, tokens and profiles from now on.
    Reload(Box<Agent>),
    /// A new configuration was not taken (the owner could not build it): logged with the
    /// reason and counted; the current one keeps serving.
    ReloadFailed(String),
    /// Stop (see [`Agent::serve`]).
    Stop,
}

/// The routes.
fn router(live: Arc<Live>) -> Router {
    Router::new()
        .route("/v1/tokens/{name}", get(token))
        .route("/v1/sign/{profile}", post(sign))
        .route("/v1/jwks", get(jwks))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(live)
}

/// One refresher per token of `shared`.
fn start_refreshers(shared: &Arc<Shared>, live: &Arc<Live>) -> Vec<tokio::task::JoinHandle<()>> {
    shared
        .tokens
        .iter()
        .map(|(name, entry)| tokio::spawn(refresh(name.clone(), entry.clone(), live.clone())))
        .collect()
}
/// The client secret a token names with `client_secret_env` or `client_secret_file`.
fn client_secret(t: &crate::config::TokenConfig) -> Result<Option<secrecy::SecretString>, String> {
    if let Some(var) = &t.client_secret_env {
        return hsmjwt::oauth::secret::from_env(var)
            .map(Some)
            .map_err(|e| format!("client_secret_env: {e}"));
    }
    if let Some(path) = &t.client_secret_file {
        let bytes = hsmjwt::soft::file::read_file(path, 4096, "client secret files")
            .map_err(|e| format!("client_secret_file: {e}"))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| format!("client_secret_file: {} is not UTF-8", path.display()))?
            .trim();
        if text.is_empty() {
            return Err(format!("client_secret_file: {} is empty", path.display()));
        }
        return Ok(Some(secrecy::SecretString::from(text.to_owned())));
    }
    Ok(None)
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

/// Keeps one token fresh: asks the cache for it whenever it is due for a refresh (at most
/// every 200 ms), so that callers find it fresh; the cache serves the still-valid token when
/// a refresh fails and tries again after its retry delay. New failures are logged (a
/// refusal as an error) and counted in the metrics.
async fn refresh(name: String, entry: Arc<TokenEntry>, live: Arc<Live>) {
    let mut seen = entry
        .stats
        .failures
        .load(std::sync::atomic::Ordering::Relaxed);
    let mut seen_ok = 0;
    loop {
        let result = entry.cache.get().await;
        let successes = entry
            .stats
            .successes
            .load(std::sync::atomic::Ordering::Relaxed);
        if successes > seen_ok {
            live.metrics
                .exchanges
                .get_or_create(&vec![
                    ("token".to_owned(), name.clone()),
                    ("result".to_owned(), "ok".to_owned()),
                ])
                .inc_by(successes - seen_ok);
            seen_ok = successes;
        }
        let failures = entry
            .stats
            .failures
            .load(std::sync::atomic::Ordering::Relaxed);
        if failures > seen {
            live.metrics
                .refresh_failures
                .get_or_create(&label("token", &name))
                .inc_by(failures - seen);
            live.metrics
                .exchanges
                .get_or_create(&vec![
                    ("token".to_owned(), name.clone()),
                    ("result".to_owned(), "failed".to_owned()),
                ])
                .inc_by(failures - seen);
            seen = failures;
            let last = entry
                .stats
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if let Some((message, refused)) = last {
                let serving = result.is_ok();
                if refused {
                    tracing::error!(token = %name, error = %message, serving_the_valid_token = serving, "token refresh refused by the server");
                } else {
                    tracing::warn!(token = %name, error = %message, serving_the_valid_token = serving, "token refresh failed");
                }
            }
        }
        let wait = match entry.cache.status() {
            Some(status) => status.refresh_in,
            // No token yet: try again in a second, twice as long after each failure in a
            // row up to the cache's delays (a refusal is held by the cache: asking it
            // again makes no request).
            None => cold_retry(entry.cache.failures_in_a_row(), entry.cache.options()),
        }
        .max(Duration::from_millis(200));
        tokio::time::sleep(wait).await;
    }
}

/// The wait before asking again for a token that could not be fetched at all, after
/// `failures` failures in a row: 1 s, doubled each time, at most what the cache itself would
/// wait ([`CacheOptions::retry_after`](hsmjwt::oauth::CacheOptions::retry_after)).
fn cold_retry(failures: u32, options: &hsmjwt::oauth::CacheOptions) -> Duration {
    hsmjwt::oauth::backoff(
        Duration::from_secs(1),
        failures,
        options.retry_after(failures.max(1), false),
    )
}

async fn token(
    State(live): State<Arc<Live>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    let shared = live.current();
    if let Some(refused) = shared.refuse_peer(&peer, "token", &live.metrics) {
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
    let started = Instant::now();
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
    live.metrics
        .token_seconds
        .observe(started.elapsed().as_secs_f64());
    live.metrics
        .tokens_served
        .get_or_create(&label("token", &name))
        .inc();
    let expires_at = token
        .expires_at()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    tracing::info!(target: "hsmjwt::audit", uid = %shown(peer.uid), pid = %shown(peer.pid), token = %name, "access token handed out");
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
    State(live): State<Arc<Live>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    UrlPath(profile): UrlPath<String>,
    body: axum::body::Bytes,
) -> Response {
    let shared = live.current();
    if let Some(refused) = shared.refuse_peer(&peer, "sign", &live.metrics) {
        return refused;
    }
    let Some(entry) = shared.profiles.get(&profile) else {
        return error(
            StatusCode::NOT_FOUND,
            "unknown_profile",
            &format!("no profile `{}`", clean(&profile, 64)),
            None,
        );
    };
    let started = Instant::now();
    let count = |result: &str| {
        live.metrics
            .signatures
            .get_or_create(&vec![
                ("profile".to_owned(), profile.clone()),
                ("result".to_owned(), result.to_owned()),
            ])
            .inc();
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
    let profile_config = &entry.config;
    let (claims, _ttl) = match claims_for(profile_config, &request, NumericDate::now(), &jti) {
        Ok(c) => c,
        Err(refusal) => {
            count("refused");
            tracing::info!(target: "hsmjwt::audit", uid = %shown(peer.uid), pid = %shown(peer.pid), profile = %profile, field = %refusal.field, "signature refused by policy");
            return error(
                StatusCode::FORBIDDEN,
                "forbidden",
                &refusal.to_string(),
                Some(&refusal.field),
            );
        }
    };
    if let Some(leaf) = &entry.leaf
        && let Err(e) = leaf.check(NumericDate::now())
    {
        count("failed");
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "certificate_invalid",
            &format!("profiles.{}.cert: {}", clean(&profile, 64), Chain(&e)),
            None,
        );
    }
    let header = entry.header.clone();
    let claims_json = serde_json::to_vec(&claims).unwrap_or_default();
    let digest: String = Sha256::digest(&claims_json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let signer = entry.key.signer.clone();
    let task = entry
        .key
        .lanes
        .run(move || hsmjwt::encode(&header, &claims, &*signer));
    let key_errors = |failure: Option<String>| {
        let mut errors = shared
            .key_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match failure {
            Some(message) => errors.insert(profile_config.key.clone(), message),
            None => errors.remove(&profile_config.key),
        };
    };
    let outcome = tokio::time::timeout(shared.sign_timeout, task).await;
    let outcome_timed_out = outcome.is_err();
    let token = match outcome {
        Ok(Ok(Ok(token))) => token,
        Ok(Ok(Err(e))) => {
            count("failed");
            let message = Chain(&e).to_string();
            key_errors(Some(message.clone()));
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "sign_failed",
                &message,
                None,
            );
        }
        Ok(Err(_)) | Err(_) => {
            count("failed");
            let message = if outcome_timed_out {
                format!(
                    "the signature did not finish within {:?}",
                    shared.sign_timeout
                )
            } else {
                "the signature failed: its signing thread stopped".to_owned()
            };
            key_errors(Some(message.clone()));
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "sign_failed",
                &message,
                None,
            );
        }
    };
    key_errors(None);
    count("ok");
    live.metrics
        .sign_seconds
        .observe(started.elapsed().as_secs_f64());
    tracing::info!(target: "hsmjwt::audit", uid = %shown(peer.uid), pid = %shown(peer.pid), profile = %profile, jti = %jti, aud = %request.aud, claims_sha256 = %digest, "JWT signed");
    (StatusCode::OK, no_store(), Json(json!({ "token": token }))).into_response()
}

async fn jwks(State(live): State<Arc<Live>>, ConnectInfo(peer): ConnectInfo<Peer>) -> Response {
    let shared = live.current();
    if let Some(refused) = shared.refuse_peer(&peer, "jwks", &live.metrics) {
        return refused;
    }
    Json(serde_json::to_value(&shared.jwks).unwrap_or_default()).into_response()
}

async fn healthz(State(live): State<Arc<Live>>) -> Response {
    let shared = live.current();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    for (name, entry) in &shared.tokens {
        if entry.cache.cached().is_some() {
            if let Some((message, _)) = entry
                .stats
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
            {
                warnings.push(format!(
                    "tokens.{name}: the refresh fails ({message}); the still-valid token is served"
                ));
            }
        } else {
            let why = entry
                .stats
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
                .map_or_else(|| "not fetched yet".to_owned(), |(message, _)| message);
            problems.push(format!("tokens.{name}: no valid token ({why})"));
        }
    }
    for (key, message) in shared
        .key_errors
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
    {
        problems.push(format!("keys.{key}: the last signature failed ({message})"));
    }
    if problems.is_empty() {
        (
            StatusCode::OK,
            Json(json!({"status": "ok", "warnings": warnings})),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "problems": problems})),
        )
            .into_response()
    }
}

async fn metrics(State(live): State<Arc<Live>>) -> Response {
    live.current().count_recoveries(&live.metrics);
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &live.metrics.registry).is_err() {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the metrics cannot be encoded",
            None,
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
