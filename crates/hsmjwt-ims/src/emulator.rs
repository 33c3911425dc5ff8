//! A small IMS-compatible server for tests and CI (feature `emulator`).
//!
//! It serves, on a loopback address:
//! - `POST /ims/exchange/jwt`: the service-account JWT exchange. The JWT's RS256 signature
//!   is verified against the registered certificate or public key, then `iss`, `sub`,
//!   `aud`, `exp` (30 s of skew), a lifetime of at most 24 h and the metascope claims; the
//!   client id and secret are checked. Success: `{"token_type":"bearer","access_token":
//!   ...,"expires_in":86399999}` (**milliseconds**).
//! - `POST /ims/token/v3`: OAuth server-to-server (`client_credentials` with client id,
//!   secret and comma-separated scopes). Success: `expires_in` 86399 (**seconds**).
//! - `POST /oauth/token`: a generic RFC 6749 token endpoint for testing generic clients:
//!   `client_credentials` and the RFC 7523 JWT-bearer grant, with `client_secret_post`,
//!   `client_secret_basic` or `private_key_jwt` (assertion `jti`s may not be reused).
//! - `GET /health`: `ok`.
//!
//! Errors are Adobe-shaped: `{"error":"invalid_client"|"invalid_token"|
//! "invalid_signature"|"invalid_scope"|"bad_request"|...,"error_description":"..."}` with
//! status 400 or 401, and every answer carries an `x-debug-id` header.
//!
//! Faults can be queued ([`Emulator::push_fault`]): each request to a token endpoint takes
//! the next one (an error status, a 429 with `Retry-After`, a delay, or any body), and
//! requests are counted per endpoint ([`Emulator::requests`]).
//!
//! The server stops when its [`Emulator`] handle is dropped or [`Emulator::shutdown`] is
//! awaited.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hsmjwt_ims::Error> {
//! use hsmjwt_ims::emulator::{Emulator, EmulatorConfig, Integration};
//! use hsmjwt_ims::CredentialsFile;
//!
//! let file = CredentialsFile::load("service-credentials.json".as_ref())?;
//! let config = EmulatorConfig::new().with_integrations(Integration::from_credentials_file(&file)?);
//! let emulator = Emulator::start(config).await?;
//! println!("IMS at {}", emulator.base_url());
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use axum::routing::{get, post};
use base64::Engine as _;
use hsmjwt_core::profile::adobe::{MAX_LIFETIME, ServiceAccountJwt};
use hsmjwt_core::profile::client_assertion::{ASSERTION_TYPE, JWT_BEARER_GRANT};
use hsmjwt_core::{
    Algorithm, Claims, Error as CoreError, KeyKind, NumericDate, UnverifiedToken, Validation,
    Verifier,
};
use hsmjwt_soft::{PublicKey, SoftVerifier};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;

use crate::credentials::{
    ConsoleCredential, CredentialsFile, OAuthCredentials, ServiceAccountCredentials,
};
use crate::error::{Error, Result};

/// How long a stopping server waits for requests in progress before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The endpoints the emulator counts requests for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST /ims/exchange/jwt`.
    JwtExchange,
    /// `POST /ims/token/v3`.
    TokenV3,
    /// `POST /oauth/token`.
    OAuthToken,
}

impl Endpoint {
    fn index(self) -> usize {
        match self {
            Endpoint::JwtExchange => 0,
            Endpoint::TokenV3 => 1,
            Endpoint::OAuthToken => 2,
        }
    }
}

/// A fault the emulator answers with instead of (or before) a normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status, an optional `Retry-After` (seconds) and an OAuth error body.
    Status {
        /// HTTP status.
        status: u16,
        /// `Retry-After` in seconds.
        retry_after: Option<u64>,
    },
    /// 429 Too Many Requests with `Retry-After` as an HTTP date.
    RetryAt(std::time::SystemTime),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer with this status and this body verbatim (content type JSON).
    Body {
        /// HTTP status.
        status: u16,
        /// The body.
        body: String,
    },
}

impl Fault {
    /// An error status (500, 502, 503, 400, ...).
    pub fn status(status: u16) -> Self {
        Fault::Status {
            status,
            retry_after: None,
        }
    }

    /// 429 Too Many Requests with `Retry-After: {seconds}`.
    pub fn too_many_requests(retry_after_seconds: u64) -> Self {
        Fault::Status {
            status: 429,
            retry_after: Some(retry_after_seconds),
        }
    }

    /// 429 Too Many Requests with `Retry-After: <HTTP date of at>` (whole seconds).
    pub fn too_many_requests_until(at: std::time::SystemTime) -> Self {
        Fault::RetryAt(at)
    }

    /// A slow answer.
    pub fn delay(d: Duration) -> Self {
        Fault::Delay(d)
    }

    /// A verbatim answer.
    pub fn body(status: u16, body: impl Into<String>) -> Self {
        Fault::Body {
            status,
            body: body.into(),
        }
    }
}

/// A service-account (JWT) registration.
#[derive(Clone)]
struct ServiceAccount {
    org_id: String,
    technical_account_id: String,
    ims_host: String,
    metascopes: Vec<String>,
}

/// A registered integration (client).
#[derive(Clone)]
pub struct Integration {
    client_id: String,
    client_secret: SecretString,
    service_account: Option<ServiceAccount>,
    scopes: Option<Vec<String>>,
    verifiers: Vec<Arc<SoftVerifier>>,
}

impl fmt::Debug for Integration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Integration")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("service_account", &self.service_account.is_some())
            .field("scopes", &self.scopes)
            .field("keys", &self.verifiers.len())
            .finish()
    }
}

impl Integration {
    /// A client with a secret and nothing else (for `/oauth/token` with client secrets).
    pub fn client(client_id: impl Into<String>, client_secret: SecretString) -> Self {
        Integration {
            client_id: client_id.into(),
            client_secret,
            service_account: None,
            scopes: None,
            verifiers: Vec::new(),
        }
    }

    /// A service-account integration from AEM-style credentials; `certificate_pem` (the
    /// AEM `publicKey`: a certificate or a public key PEM) is the registered key.
    ///
    /// # Errors
    /// [`Error::Credentials`] when there is no certificate or public key, or it is unusable.
    pub fn from_service_account(creds: &ServiceAccountCredentials) -> Result<Self> {
        let pem = creds.certificate_pem.as_deref().ok_or_else(|| {
            Error::credentials(
                "emulator registration",
                format!(
                    "integration `{}` has no certificate or public key (`publicKey`)",
                    creds.client_id
                ),
            )
        })?;
        let mut i = Integration::client(creds.client_id.clone(), creds.client_secret.clone())
            .with_public_key_pem(pem)?;
        i.service_account = Some(ServiceAccount {
            org_id: creds.org_id.clone(),
            technical_account_id: creds.technical_account_id.clone(),
            ims_host: creds.ims_host.clone(),
            metascopes: creds.metascopes.clone(),
        });
        Ok(i)
    }

    /// An OAuth server-to-server integration; its scopes are the ones it may request.
    pub fn from_oauth(creds: &OAuthCredentials) -> Self {
        Integration::client(creds.client_id.clone(), creds.client_secret.clone())
            .with_scopes(creds.scopes.clone())
    }

    /// Every integration a credentials file describes: the AEM integration, or the OAuth
    /// server-to-server credentials of a Console project (its JWT credentials carry no
    /// certificate and are skipped with a warning).
    ///
    /// # Errors
    /// [`Error::Credentials`] when the file yields no usable integration.
    pub fn from_credentials_file(file: &CredentialsFile) -> Result<Vec<Self>> {
        match file {
            CredentialsFile::Aem(c) => Ok(vec![Self::from_service_account(c)?]),
            CredentialsFile::Console(p) => {
                let mut out = Vec::new();
                for c in &p.credentials {
                    match c {
                        ConsoleCredential::OAuthServerToServer(o) => out.push(Self::from_oauth(o)),
                        ConsoleCredential::Jwt(j) if j.certificate_pem.is_some() => {
                            out.push(Self::from_service_account(j)?);
                        }
                        ConsoleCredential::Jwt(j) => tracing::warn!(
                            client_id = %j.client_id,
                            "skipping a JWT credential without a certificate"
                        ),
                        _ => {}
                    }
                }
                if out.is_empty() {
                    return Err(Error::credentials(
                        "emulator registration",
                        "the project has no OAuth server-to-server credential",
                    ));
                }
                Ok(out)
            }
        }
    }

    /// Registers a public key (certificate, SPKI or PKCS#1 PEM) for the JWT exchange and
    /// `private_key_jwt`. RSA keys verify RS256 and PS256; EC keys ES256 or ES384.
    ///
    /// # Errors
    /// [`Error::Credentials`] when the PEM holds no usable public key.
    pub fn with_public_key_pem(mut self, pem: &str) -> Result<Self> {
        let bad = |e: hsmjwt_soft::Error| {
            Error::credentials("emulator registration", format!("unusable public key: {e}"))
        };
        let key = PublicKey::from_pem(pem).map_err(bad)?;
        let algs: &[Algorithm] = match key.params().kind() {
            KeyKind::Rsa => &[Algorithm::RS256, Algorithm::PS256],
            _ => &[Algorithm::ES256, Algorithm::ES384],
        };
        for alg in algs {
            if let Ok(v) = SoftVerifier::new(&key, *alg) {
                self.verifiers.push(Arc::new(v));
            }
        }
        if self.verifiers.is_empty() {
            return Err(Error::credentials(
                "emulator registration",
                "the public key fits no supported algorithm",
            ));
        }
        Ok(self)
    }

    /// Limits the scopes this client may request (by default: any).
    #[must_use]
    pub fn with_scopes(mut self, scopes: Vec<String>) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    fn verifier(&self, alg: Algorithm) -> Option<&SoftVerifier> {
        self.verifiers
            .iter()
            .map(|v| &**v)
            .find(|v| v.algorithm() == alg)
    }
}

/// What the emulator serves and how.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    listen: SocketAddr,
    jwt_token_lifetime: Duration,
    v3_token_lifetime: Duration,
    oauth_token_lifetime: Duration,
    leeway: Duration,
    integrations: Vec<Integration>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            jwt_token_lifetime: Duration::from_millis(86_399_999),
            v3_token_lifetime: Duration::from_secs(86_399),
            oauth_token_lifetime: Duration::from_secs(3600),
            leeway: Duration::from_secs(30),
            integrations: Vec::new(),
        }
    }
}

impl EmulatorConfig {
    /// Listens on 127.0.0.1 on a free port, Adobe's token lifetimes, 30 s of skew.
    pub fn new() -> Self {
        Self::default()
    }

    /// Listens on `addr`, which must be a loopback address.
    ///
    /// # Errors
    /// [`Error::Emulator`] for a non-loopback address (the emulator speaks plain http).
    pub fn with_listen(mut self, addr: SocketAddr) -> Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(Error::Emulator {
                reason: format!(
                    "refusing to listen on {addr}: the emulator serves plain http on loopback addresses only"
                ),
                source: None,
            });
        }
        self.listen = addr;
        Ok(self)
    }

    /// Registers an integration.
    #[must_use]
    pub fn with_integration(mut self, integration: Integration) -> Self {
        self.integrations.push(integration);
        self
    }

    /// Registers integrations.
    #[must_use]
    pub fn with_integrations(
        mut self,
        integrations: impl IntoIterator<Item = Integration>,
    ) -> Self {
        self.integrations.extend(integrations);
        self
    }

    /// The `expires_in` of JWT-exchange tokens (sent in milliseconds; default 86399999 ms).
    #[must_use]
    pub fn with_jwt_token_lifetime(mut self, d: Duration) -> Self {
        self.jwt_token_lifetime = d;
        self
    }

    /// The `expires_in` of `/ims/token/v3` tokens (sent in seconds; default 86399 s).
    #[must_use]
    pub fn with_v3_token_lifetime(mut self, d: Duration) -> Self {
        self.v3_token_lifetime = d;
        self
    }

    /// The `expires_in` of `/oauth/token` tokens (sent in seconds; default 3600 s).
    #[must_use]
    pub fn with_oauth_token_lifetime(mut self, d: Duration) -> Self {
        self.oauth_token_lifetime = d;
        self
    }

    /// The clock skew tolerated on `exp`, `iat` and `nbf` (default 30 s).
    #[must_use]
    pub fn with_leeway(mut self, d: Duration) -> Self {
        self.leeway = d;
        self
    }
}

struct Shared {
    config: EmulatorConfig,
    base_urls: Vec<String>,
    integrations: HashMap<String, Integration>,
    faults: Mutex<VecDeque<Fault>>,
    counters: [AtomicUsize; 3],
    issued: AtomicUsize,
    seen_jti: Mutex<HashMap<String, i64>>,
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .field("integrations", &self.shared.integrations.len())
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Starts the server on the current tokio runtime.
    ///
    /// # Errors
    /// [`Error::Emulator`] when the address cannot be bound.
    pub async fn start(config: EmulatorConfig) -> Result<Self> {
        let listener = bind(config.listen)?;
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(emu_io("cannot listen"))?;
        let (addr, shared) = shared(&listener, config)?;
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, shared.clone(), rx));
        tracing::info!(%addr, "IMS emulator listening");
        Ok(Emulator {
            addr,
            shared,
            stop,
            task: Some(task),
            thread: None,
        })
    }

    /// Starts the server on a thread of its own (for synchronous callers and tests that
    /// run other processes). Dropping the handle stops the server and joins the thread.
    ///
    /// # Errors
    /// [`Error::Emulator`] when the address cannot be bound or the thread cannot start.
    pub fn start_background(config: EmulatorConfig) -> Result<Self> {
        let listener = bind(config.listen)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(emu_io("cannot start a runtime"))?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(emu_io("cannot listen"))?
        };
        let (addr, shared) = shared(&listener, config)?;
        let (stop, rx) = watch::channel(false);
        let for_thread = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ims-emulator".into())
            .spawn(move || runtime.block_on(serve(listener, for_thread, rx)))
            .map_err(emu_io("cannot start the server thread"))?;
        tracing::info!(%addr, "IMS emulator listening");
        Ok(Emulator {
            addr,
            shared,
            stop,
            task: None,
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the base URL for IMS clients (`--ims-url`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/oauth/token`: the generic token endpoint.
    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth/token", self.base_url())
    }

    /// Queues a fault: the next request to a token endpoint without an earlier queued
    /// fault takes it.
    pub fn push_fault(&self, fault: Fault) {
        lock(&self.shared.faults).push_back(fault);
    }

    /// Queues `n` copies of a fault.
    pub fn push_faults(&self, n: usize, fault: &Fault) {
        let mut q = lock(&self.shared.faults);
        for _ in 0..n {
            q.push_back(fault.clone());
        }
    }

    /// Faults still queued.
    pub fn pending_faults(&self) -> usize {
        lock(&self.shared.faults).len()
    }

    /// Requests received by `endpoint` (faulted ones included).
    pub fn requests(&self, endpoint: Endpoint) -> usize {
        self.shared.counters[endpoint.index()].load(Ordering::SeqCst)
    }

    /// Access tokens issued.
    pub fn tokens_issued(&self) -> usize {
        self.shared.issued.load(Ordering::SeqCst)
    }

    /// Resets the request counters.
    pub fn reset_counters(&self) {
        for c in &self.shared.counters {
            c.store(0, Ordering::SeqCst);
        }
    }

    /// Stops the server and waits for it (at most a short grace period for requests in
    /// progress).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// Waits until the server stops (it stops only when the handle is dropped or shut
    /// down, so this is for a process that serves until it is interrupted; race it with
    /// a signal).
    pub async fn stopped(&mut self) {
        if let Some(task) = self.task.as_mut() {
            let _ = task.await;
            self.task = None;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            // The task ends by itself within the grace period; do not block an async context.
            drop(task);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub(crate) fn emu_io(reason: &'static str) -> impl Fn(std::io::Error) -> Error {
    move |e| Error::Emulator {
        reason: reason.to_owned(),
        source: Some(Arc::new(e)),
    }
}

pub(crate) fn bind(addr: SocketAddr) -> Result<std::net::TcpListener> {
    if !addr.ip().is_loopback() {
        return Err(Error::Emulator {
            reason: format!("refusing to listen on {addr}: loopback addresses only"),
            source: None,
        });
    }
    let l = std::net::TcpListener::bind(addr).map_err(|e| Error::Emulator {
        reason: format!("cannot listen on {addr}"),
        source: Some(Arc::new(e)),
    })?;
    l.set_nonblocking(true).map_err(emu_io("cannot listen"))?;
    Ok(l)
}

fn shared(
    listener: &tokio::net::TcpListener,
    config: EmulatorConfig,
) -> Result<(SocketAddr, Arc<Shared>)> {
    let addr = listener
        .local_addr()
        .map_err(emu_io("cannot read the bound address"))?;
    let mut base_urls = vec![format!("http://{addr}")];
    if addr.ip().is_loopback() {
        base_urls.push(format!("http://localhost:{}", addr.port()));
    }
    let integrations = config
        .integrations
        .iter()
        .map(|i| (i.client_id.clone(), i.clone()))
        .collect();
    Ok((
        addr,
        Arc::new(Shared {
            config,
            base_urls,
            integrations,
            faults: Mutex::new(VecDeque::new()),
            counters: [
                AtomicUsize::new(0),
                AtomicUsize::new(0),
                AtomicUsize::new(0),
            ],
            issued: AtomicUsize::new(0),
            seen_jti: Mutex::new(HashMap::new()),
        }),
    ))
}

async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>, rx: watch::Receiver<bool>) {
    let app = Router::new()
        .route("/ims/exchange/jwt", post(jwt_exchange))
        .route("/ims/token/v3", post(token_v3))
        .route("/oauth/token", post(oauth_token))
        .route("/health", get(|| async { "ok" }))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .with_state(shared);
    serve_app(listener, app, rx, "IMS emulator").await;
}

/// Serves `app` until `rx` turns true, then lets requests in progress finish for a short
/// grace period and cuts the rest, so that a client holding a connection open cannot keep
/// a test's server alive.
pub(crate) async fn serve_app(
    listener: tokio::net::TcpListener,
    app: Router,
    rx: watch::Receiver<bool>,
    what: &'static str,
) {
    let mut graceful_rx = rx.clone();
    let mut hard_rx = rx;
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = graceful_rx.wait_for(|stop| *stop).await;
    });
    let deadline = async move {
        let _ = hard_rx.wait_for(|stop| *stop).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        r = server.into_future() => {
            if let Err(e) = r {
                tracing::warn!(error = %e, "{what} stopped with an error");
            }
        }
        () = deadline => tracing::debug!("{what} cut requests still in progress"),
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---- responses ----

fn debug_id() -> String {
    let bytes = hsmjwt_core::profile::random_bytes(16).unwrap_or_default();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn json_response(
    status: StatusCode,
    body: String,
    extra: Option<(header::HeaderName, String)>,
) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&debug_id()) {
        h.insert("x-debug-id", v);
    }
    if let Some((name, value)) = extra
        && let Ok(v) = HeaderValue::from_str(&value)
    {
        h.insert(name, v);
    }
    r
}

pub(crate) fn error(status: StatusCode, code: &str, description: &str) -> Response<Body> {
    let body = serde_json::json!({"error": code, "error_description": description}).to_string();
    json_response(status, body, None)
}

/// An error answer, boxed to keep `Result`s small.
type Reject = Box<Response<Body>>;

fn reject(status: StatusCode, code: &str, description: &str) -> Reject {
    Box::new(error(status, code, description))
}

fn bad_request(description: &str) -> Reject {
    reject(StatusCode::BAD_REQUEST, "bad_request", description)
}

fn issue(
    shared: &Shared,
    lifetime_value: u128,
    token_type: &str,
    scope: Option<&str>,
) -> Response<Body> {
    let token = match hsmjwt_core::profile::random_token(48) {
        Ok(t) => t,
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "no randomness",
            );
        }
    };
    shared.issued.fetch_add(1, Ordering::SeqCst);
    let mut body = serde_json::json!({
        "token_type": token_type,
        "access_token": format!("emu.{token}"),
        "expires_in": u64::try_from(lifetime_value).unwrap_or(u64::MAX),
    });
    if let (Some(s), Some(map)) = (scope, body.as_object_mut()) {
        map.insert("scope".into(), serde_json::Value::String(s.to_owned()));
    }
    json_response(StatusCode::OK, body.to_string(), None)
}

// ---- request handling ----

/// Counts the request and applies the next fault; `Some` is the answer to send instead.
async fn before(shared: &Shared, endpoint: Endpoint) -> Option<Response<Body>> {
    shared.counters[endpoint.index()].fetch_add(1, Ordering::SeqCst);
    let fault = lock(&shared.faults).pop_front();
    match fault {
        None => None,
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let code = if status == StatusCode::TOO_MANY_REQUESTS {
                "too_many_requests"
            } else if status.is_server_error() {
                "server_error"
            } else {
                "bad_request"
            };
            let body = serde_json::json!({"error": code, "error_description": "injected fault"})
                .to_string();
            Some(json_response(
                status,
                body,
                retry_after.map(|s| (header::RETRY_AFTER, s.to_string())),
            ))
        }
        Some(Fault::RetryAt(at)) => {
            let body = serde_json::json!({"error": "too_many_requests", "error_description": "injected fault"})
                .to_string();
            Some(json_response(
                StatusCode::TOO_MANY_REQUESTS,
                body,
                Some((header::RETRY_AFTER, httpdate::fmt_http_date(at))),
            ))
        }
        Some(Fault::Body { status, body }) => Some(json_response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            body,
            None,
        )),
    }
}

/// The form parameters; a repeated parameter or a wrong content type is an error.
fn form(headers: &HeaderMap, body: &[u8]) -> std::result::Result<HashMap<String, String>, Reject> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.split(';').next().is_some_and(|t| {
        t.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    }) {
        return Err(bad_request(
            "content type must be application/x-www-form-urlencoded",
        ));
    }
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(bad_request(&format!("parameter `{k}` is repeated")));
        }
    }
    Ok(out)
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn required<'a>(
    p: &'a HashMap<String, String>,
    name: &str,
) -> std::result::Result<&'a str, Reject> {
    match p.get(name).map(String::as_str) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(bad_request(&format!("missing required parameter: {name}"))),
    }
}

/// Looks up the client and checks its secret.
fn authenticate<'a>(
    shared: &'a Shared,
    client_id: &str,
    secret: &str,
) -> std::result::Result<&'a Integration, Reject> {
    let Some(i) = shared.integrations.get(client_id) else {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "invalid client_id parameter",
        ));
    };
    if !ct_eq(
        i.client_secret.expose_secret().as_bytes(),
        secret.as_bytes(),
    ) {
        return Err(reject(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "invalid client_secret parameter",
        ));
    }
    Ok(i)
}

fn validation_error(e: &CoreError) -> Reject {
    reject(StatusCode::BAD_REQUEST, "invalid_token", &e.to_string())
}

/// An endpoint's own logic: the answer, or a rejection.
type Handler = fn(&Shared, &HeaderMap, &[u8]) -> std::result::Result<Response<Body>, Reject>;

/// Counts the request and plays a queued fault if there is one; otherwise answers with
/// `handler`.
async fn answer(
    shared: &Shared,
    endpoint: Endpoint,
    headers: &HeaderMap,
    body: &[u8],
    handler: Handler,
) -> Response<Body> {
    if let Some(r) = before(shared, endpoint).await {
        return r;
    }
    handler(shared, headers, body).unwrap_or_else(|r| *r)
}

async fn jwt_exchange(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    answer(&shared, Endpoint::JwtExchange, &headers, &body, exchange).await
}

fn exchange(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> std::result::Result<Response<Body>, Reject> {
    let p = form(headers, body)?;
    let client_id = required(&p, "client_id")?;
    let secret = required(&p, "client_secret")?;
    let jwt = required(&p, "jwt_token")?;
    let integration = authenticate(shared, client_id, secret)?;
    let Some(sa) = &integration.service_account else {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "this integration is not a service account",
        ));
    };
    let token = UnverifiedToken::parse(jwt, 64 * 1024).map_err(|e| {
        reject(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            &format!("cannot parse the JWT: {e}"),
        )
    })?;
    if token.header.alg != Algorithm::RS256 {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "the JWT must be signed with RS256",
        ));
    }
    let verifier = integration.verifier(Algorithm::RS256).ok_or_else(|| {
        reject(
            StatusCode::BAD_REQUEST,
            "invalid_signature",
            "no RSA certificate is registered",
        )
    })?;
    if token.verify_signature(verifier).is_err() {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "invalid_signature",
            "JWT signature is invalid",
        ));
    }
    let claims = token.claims().map_err(|e| validation_error(&e))?;
    let template = ServiceAccountJwt::new(
        sa.org_id.clone(),
        sa.technical_account_id.clone(),
        client_id,
        sa.ims_host.clone(),
    )
    .with_metascopes(sa.metascopes.iter().cloned());
    let validation = template.validation().with_leeway(shared.config.leeway);
    validation
        .check_crit(&token.header)
        .map_err(|e| validation_error(&e))?;
    validation
        .validate(&token.header, &claims)
        .map_err(|e| validation_error(&e))?;
    if claims.exp.is_some_and(|exp| {
        let max = MAX_LIFETIME.saturating_add(shared.config.leeway);
        exp.as_unix() > NumericDate::now().saturating_add(max).as_unix()
    }) {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "JWT expires more than 24 hours from now",
        ));
    }
    template
        .check_metascopes(&claims)
        .map_err(|e| reject(StatusCode::BAD_REQUEST, "invalid_scope", &e.to_string()))?;
    Ok(issue(
        shared,
        shared.config.jwt_token_lifetime.as_millis(),
        "bearer",
        None,
    ))
}

async fn token_v3(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    answer(&shared, Endpoint::TokenV3, &headers, &body, v3).await
}

fn v3(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> std::result::Result<Response<Body>, Reject> {
    let p = form(headers, body)?;
    let grant = required(&p, "grant_type")?;
    if grant != "client_credentials" {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        ));
    }
    let client_id = required(&p, "client_id")?;
    let secret = required(&p, "client_secret")?;
    let integration = authenticate(shared, client_id, secret)?;
    let requested: Vec<&str> = p
        .get("scope")
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    check_scopes(integration, &requested)?;
    Ok(issue(
        shared,
        u128::from(shared.config.v3_token_lifetime.as_secs()),
        "bearer",
        None,
    ))
}

fn check_scopes(integration: &Integration, requested: &[&str]) -> std::result::Result<(), Reject> {
    if let Some(allowed) = &integration.scopes
        && let Some(bad) = requested.iter().find(|s| !allowed.iter().any(|a| a == *s))
    {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("invalid scope: {bad}"),
        ));
    }
    Ok(())
}

async fn oauth_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    answer(&shared, Endpoint::OAuthToken, &headers, &body, oauth).await
}

fn invalid_client(description: &str) -> Reject {
    reject(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

/// Decodes `Authorization: Basic` into the form-urldecoded id and secret.
fn basic(headers: &HeaderMap) -> std::result::Result<Option<(String, String)>, Reject> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| invalid_client("malformed Authorization header"))?;
    let Some(b64) = v.strip_prefix("Basic ") else {
        return Err(invalid_client("only Basic authorization is supported"));
    };
    let plain = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| invalid_client("malformed Basic credentials"))?;
    let Some(colon) = plain.iter().position(|b| *b == b':') else {
        return Err(invalid_client("malformed Basic credentials"));
    };
    let decode = |b: &[u8]| -> String {
        url::form_urlencoded::parse(format!("x={}", String::from_utf8_lossy(b)).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((decode(&plain[..colon]), decode(&plain[colon + 1..]))))
}

/// Verifies a JWT signed by a registered client: signature with one of its keys, then
/// `iss`, `sub` (when `subject` is `Some`), `aud` (one of the emulator's URLs), `exp`,
/// `iat`, `jti` (unused before), lifetime at most 1 h.
fn verify_client_jwt<'a>(
    shared: &'a Shared,
    jwt: &str,
    subject_is_issuer: bool,
) -> std::result::Result<(&'a Integration, Claims), Reject> {
    let token = UnverifiedToken::parse(jwt, 64 * 1024)
        .map_err(|e| invalid_client(&format!("cannot parse the assertion: {e}")))?;
    let unverified = token
        .claims()
        .map_err(|e| invalid_client(&format!("invalid assertion claims: {e}")))?;
    let Some(iss) = unverified.iss.as_deref() else {
        return Err(invalid_client("the assertion has no iss"));
    };
    let Some(integration) = shared.integrations.get(iss) else {
        return Err(invalid_client(
            "the assertion's issuer is not a registered client",
        ));
    };
    let verifier = integration
        .verifier(token.header.alg)
        .ok_or_else(|| invalid_client("no registered key for the assertion's algorithm"))?;
    if token.verify_signature(verifier).is_err() {
        return Err(reject(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "assertion signature is invalid",
        ));
    }
    let mut v = Validation::new()
        .with_issuer(iss)
        .require("iat")
        .require("jti")
        .with_max_lifetime(Duration::from_secs(3600))
        .with_leeway(shared.config.leeway);
    for base in &shared.base_urls {
        v = v
            .with_audience(format!("{base}/oauth/token"))
            .with_audience(base.clone())
            .with_audience(format!("{base}/"));
    }
    if subject_is_issuer {
        v = v.with_subject(iss);
    }
    v.validate(&token.header, &unverified)
        .map_err(|e| invalid_client(&format!("invalid assertion: {e}")))?;
    let jti = unverified.jti.clone().unwrap_or_default();
    let exp = unverified.exp.map_or(0, NumericDate::as_unix);
    {
        let mut seen = lock(&shared.seen_jti);
        let now = NumericDate::now().as_unix();
        seen.retain(|_, e| *e + 60 > now);
        if seen.insert(format!("{iss}\u{0}{jti}"), exp).is_some() {
            return Err(invalid_client("assertion jti was already used"));
        }
    }
    Ok((integration, unverified))
}

fn oauth(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> std::result::Result<Response<Body>, Reject> {
    let p = form(headers, body)?;
    let grant = required(&p, "grant_type")?;
    let basic = basic(headers)?;
    let post_secret = p.get("client_secret");
    let assertion_type = p.get("client_assertion_type");
    let methods = usize::from(basic.is_some())
        + usize::from(post_secret.is_some())
        + usize::from(assertion_type.is_some());
    if methods > 1 {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "more than one client authentication method",
        ));
    }
    let client: Option<&Integration> = if let Some((id, secret)) = &basic {
        Some(
            authenticate(shared, id, secret)
                .map_err(|_| invalid_client("client authentication failed"))?,
        )
    } else if let Some(secret) = post_secret {
        let id = required(&p, "client_id")?;
        Some(
            authenticate(shared, id, secret)
                .map_err(|_| invalid_client("client authentication failed"))?,
        )
    } else if let Some(t) = assertion_type {
        if t != ASSERTION_TYPE {
            return Err(invalid_client("unsupported client_assertion_type"));
        }
        let jwt = required(&p, "client_assertion")?;
        let (i, _) = verify_client_jwt(shared, jwt, true)?;
        if p.get("client_id").is_some_and(|id| id != &i.client_id) {
            return Err(invalid_client("client_id does not match the assertion"));
        }
        Some(i)
    } else {
        None
    };
    let integration = match grant {
        "client_credentials" => {
            client.ok_or_else(|| invalid_client("client authentication is required"))?
        }
        g if g == JWT_BEARER_GRANT => {
            let jwt = required(&p, "assertion")?;
            let (i, _) = verify_client_jwt(shared, jwt, false).map_err(|_| {
                reject(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the assertion is not valid",
                )
            })?;
            if client.is_some_and(|c| c.client_id != i.client_id) {
                return Err(reject(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the assertion was issued by another client",
                ));
            }
            i
        }
        _ => {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "unsupported grant_type",
            ));
        }
    };
    let scope = p.get("scope").map(String::as_str);
    let requested: Vec<&str> = scope
        .map(|s| s.split(' ').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    check_scopes(integration, &requested)?;
    Ok(issue(
        shared,
        u128::from(shared.config.oauth_token_lifetime.as_secs()),
        "Bearer",
        scope,
    ))
}
