//! A small authorization server for JAR (RFC 9101) and PAR (RFC 9126), for tests and for
//! users' own CI (feature `emulator`).
//!
//! It registers clients with the key that verifies their request objects, their client
//! authentication (`private_key_jwt` key, a secret, or none) and their redirect URIs, and
//! serves:
//! - `POST /oauth/par`: authenticates the client, verifies the request object (signature
//!   with the registered key, `typ`, `iss`, `aud` = the issuer, `exp`, `iat`, `jti` replay,
//!   `client_id` match, registered `redirect_uri`) and answers `201` with
//!   `{"request_uri","expires_in"}`;
//! - `GET /authorize?client_id=..&request=..` or `..&request_uri=..`: verifies the request
//!   object (or redeems the pushed one, once) and answers `200` with the accepted
//!   authorization parameters as JSON, instead of a login page.
//!
//! Errors are OAuth error bodies: `invalid_client` (401), `invalid_request` and
//! `invalid_request_object` (400). It listens on loopback only and stops when dropped.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Response, StatusCode, header};
use axum::routing::{get, post};
use base64::Engine as _;
use hsmjwt_core::profile::client_assertion::{self, ASSERTION_TYPE};
use hsmjwt_core::profile::jar;
use hsmjwt_core::{Jwk, NumericDate, Validation};
use hsmjwt_soft::SoftVerifier;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::emulator::{bind, emu_io, error, json_response, lock, serve_app};
use crate::error::Result;

/// How a registered client authenticates at the PAR endpoint.
#[derive(Clone)]
#[non_exhaustive]
pub enum RegisteredAuth {
    /// `private_key_jwt` with this public key (its `alg`, or the key type's default).
    PrivateKeyJwt(Jwk),
    /// `client_secret_post` or `client_secret_basic` with this secret.
    Secret(SecretString),
    /// A public client.
    None,
}

impl fmt::Debug for RegisteredAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisteredAuth::PrivateKeyJwt(jwk) => {
                f.debug_tuple("PrivateKeyJwt").field(&jwk.kid).finish()
            }
            RegisteredAuth::Secret(_) => f.write_str("Secret([REDACTED])"),
            RegisteredAuth::None => f.write_str("None"),
        }
    }
}

/// A client the server knows.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    /// The client ID.
    pub client_id: String,
    /// The public key that verifies the client's request objects (its `alg`, or the key
    /// type's default algorithm).
    pub request_object_key: Jwk,
    /// The client's authentication at the PAR endpoint.
    pub auth: RegisteredAuth,
    /// The redirect URIs the client may use.
    pub redirect_uris: Vec<String>,
}

/// How to run the server.
#[derive(Debug, Clone)]
pub struct AuthorizationServerConfig {
    issuer: String,
    clients: Vec<RegisteredClient>,
    request_uri_lifetime: Duration,
    leeway: Duration,
    listen: SocketAddr,
}

impl AuthorizationServerConfig {
    /// A server whose issuer identifier is `issuer` (the `aud` of request objects), on
    /// `127.0.0.1` with a free port, `request_uri`s valid 60 s, 30 s leeway.
    pub fn new(issuer: impl Into<String>) -> Self {
        AuthorizationServerConfig {
            issuer: issuer.into(),
            clients: Vec::new(),
            request_uri_lifetime: Duration::from_secs(60),
            leeway: Duration::from_secs(30),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }

    /// Registers a client.
    #[must_use]
    pub fn with_client(mut self, client: RegisteredClient) -> Self {
        self.clients.push(client);
        self
    }

    /// Sets how long a pushed request's `request_uri` stays valid.
    #[must_use]
    pub fn with_request_uri_lifetime(mut self, d: Duration) -> Self {
        self.request_uri_lifetime = d;
        self
    }
}

struct Pushed {
    client_id: String,
    params: Map<String, Value>,
    expires: NumericDate,
}

struct Shared {
    config: AuthorizationServerConfig,
    par_endpoint: String,
    seen_jti: Mutex<HashMap<String, NumericDate>>,
    pushed: Mutex<HashMap<String, Pushed>>,
    par_requests: AtomicUsize,
    authorize_requests: AtomicUsize,
}

/// A running authorization server. Dropping it stops the server.
pub struct AuthorizationServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("addr", &self.addr)
            .field("issuer", &self.shared.config.issuer)
            .finish_non_exhaustive()
    }
}

impl AuthorizationServer {
    /// Starts the server on a thread of its own.
    ///
    /// # Errors
    /// [`crate::Error::Emulator`] when the address cannot be bound or the thread cannot start.
    pub fn start_background(config: AuthorizationServerConfig) -> Result<Self> {
        let listener = bind(config.listen)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(emu_io("cannot start a runtime"))?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(emu_io("cannot listen"))?
        };
        let addr = listener.local_addr().map_err(emu_io("cannot listen"))?;
        let shared = Arc::new(Shared {
            par_endpoint: format!("http://{addr}/oauth/par"),
            config,
            seen_jti: Mutex::new(HashMap::new()),
            pushed: Mutex::new(HashMap::new()),
            par_requests: AtomicUsize::new(0),
            authorize_requests: AtomicUsize::new(0),
        });
        let (stop, rx) = watch::channel(false);
        let app = Router::new()
            .route("/oauth/par", post(par))
            .route("/authorize", get(authorize))
            .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
            .with_state(shared.clone());
        let thread = std::thread::Builder::new()
            .name("authz-server".into())
            .spawn(move || runtime.block_on(serve_app(listener, app, rx, "authorization server")))
            .map_err(emu_io("cannot start the server thread"))?;
        tracing::info!(%addr, "authorization server listening");
        Ok(AuthorizationServer {
            addr,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The PAR endpoint URL.
    pub fn par_endpoint(&self) -> String {
        self.shared.par_endpoint.clone()
    }

    /// The authorization endpoint URL.
    pub fn authorize_endpoint(&self) -> String {
        format!("{}/authorize", self.base_url())
    }

    /// How many PAR requests arrived.
    pub fn par_requests(&self) -> usize {
        self.shared.par_requests.load(Ordering::SeqCst)
    }

    /// How many authorization requests arrived.
    pub fn authorize_requests(&self) -> usize {
        self.shared.authorize_requests.load(Ordering::SeqCst)
    }
}

impl Drop for AuthorizationServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type Reject = Box<Response<Body>>;

fn reject(status: StatusCode, code: &str, description: impl AsRef<str>) -> Reject {
    Box::new(error(status, code, description.as_ref()))
}

fn invalid_request(d: impl AsRef<str>) -> Reject {
    reject(StatusCode::BAD_REQUEST, "invalid_request", d)
}

fn invalid_object(d: impl AsRef<str>) -> Reject {
    reject(StatusCode::BAD_REQUEST, "invalid_request_object", d)
}

fn invalid_client(d: impl AsRef<str>) -> Reject {
    reject(StatusCode::UNAUTHORIZED, "invalid_client", d)
}

/// Parses form or query parameters; a repeated parameter is an error (RFC 6749 3.1).
fn params(bytes: &[u8]) -> std::result::Result<HashMap<String, String>, Reject> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(bytes) {
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(invalid_request(format!("parameter `{k}` is repeated")));
        }
    }
    Ok(out)
}

fn verifier(jwk: &Jwk) -> std::result::Result<SoftVerifier, Reject> {
    SoftVerifier::from_jwk(jwk, None)
        .map_err(|e| invalid_client(format!("registered key unusable: {e}")))
}

/// Records a `jti` until its token's expiry; a second sighting is a replay.
fn first_use(shared: &Shared, scope: &str, jti: Option<&str>, exp: Option<NumericDate>) -> bool {
    let Some(jti) = jti else { return false };
    let now = NumericDate::now();
    let mut seen = lock(&shared.seen_jti);
    seen.retain(|_, exp| *exp >= now.saturating_sub(shared.config.leeway));
    seen.insert(format!("{scope}:{jti}"), exp.unwrap_or(now))
        .is_none()
}

/// The `Authorization: Basic` credentials, form-urldecoded (RFC 6749 2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let pair = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())?;
    let (id, secret) = pair.split_once(':')?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

fn authenticate(
    shared: &Shared,
    client: &RegisteredClient,
    form: &HashMap<String, String>,
    headers: &HeaderMap,
) -> std::result::Result<(), Reject> {
    let basic = basic_credentials(headers);
    match &client.auth {
        RegisteredAuth::PrivateKeyJwt(jwk) => {
            if form.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
                return Err(invalid_client(
                    "private_key_jwt expected: client_assertion_type is missing or wrong",
                ));
            }
            let assertion = form
                .get("client_assertion")
                .ok_or_else(|| invalid_client("client_assertion is missing"))?;
            let validation = client_assertion::validation(&client.client_id, &shared.config.issuer)
                .with_audience(shared.par_endpoint.clone())
                .with_leeway(shared.config.leeway);
            let t = hsmjwt_core::decode(assertion, &verifier(jwk)?, &validation)
                .map_err(|e| invalid_client(format!("client assertion refused: {e}")))?;
            if !first_use(shared, "assertion", t.claims.jti.as_deref(), t.claims.exp) {
                return Err(invalid_client("client assertion jti was already used"));
            }
            Ok(())
        }
        RegisteredAuth::Secret(secret) => {
            let given = match (basic, form.get("client_secret")) {
                (Some((id, secret)), None) => {
                    if id != client.client_id {
                        return Err(invalid_client("basic credentials name another client"));
                    }
                    secret
                }
                (None, Some(s)) => s.clone(),
                (Some(_), Some(_)) => {
                    return Err(invalid_request(
                        "more than one client authentication method",
                    ));
                }
                (None, None) => return Err(invalid_client("client authentication is missing")),
            };
            if given.as_bytes() != secret.expose_secret().as_bytes() {
                return Err(invalid_client("client secret is wrong"));
            }
            Ok(())
        }
        RegisteredAuth::None => Ok(()),
    }
}

/// The client named by `client_id`, or else by HTTP Basic credentials.
fn client<'a>(
    shared: &'a Shared,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> std::result::Result<&'a RegisteredClient, Reject> {
    let basic_id = basic_credentials(headers).map(|(id, _)| id);
    let id = q
        .get("client_id")
        .or(basic_id.as_ref())
        .ok_or_else(|| invalid_request("client_id is missing"))?;
    shared
        .config
        .clients
        .iter()
        .find(|c| &c.client_id == id)
        .ok_or_else(|| invalid_client(format!("unknown client `{id}`")))
}

/// Verifies a request object and returns the authorization parameters it carries.
fn verify_request_object(
    shared: &Shared,
    client: &RegisteredClient,
    request: &str,
) -> std::result::Result<Map<String, Value>, Reject> {
    let validation: Validation =
        jar::validation(&client.client_id, &shared.config.issuer).with_leeway(shared.config.leeway);
    let key = SoftVerifier::from_jwk(&client.request_object_key, None)
        .map_err(|e| invalid_object(format!("registered key unusable: {e}")))?;
    let t = hsmjwt_core::decode(request, &key, &validation)
        .map_err(|e| invalid_object(format!("request object refused: {e}")))?;
    jar::check_client_id(&t.claims, &client.client_id)
        .map_err(|e| invalid_object(e.to_string()))?;
    let params = t.claims.extra.clone();
    for name in ["request", "request_uri"] {
        if params.contains_key(name) {
            return Err(invalid_object(format!(
                "request object must not contain `{name}`"
            )));
        }
    }
    match params.get("response_type") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => return Err(invalid_object("response_type is missing")),
    }
    match params.get("redirect_uri") {
        Some(Value::String(uri)) if client.redirect_uris.contains(uri) => {}
        Some(_) => {
            return Err(invalid_object(
                "redirect_uri is not registered for this client",
            ));
        }
        None => return Err(invalid_object("redirect_uri is missing")),
    }
    if !first_use(shared, "request", t.claims.jti.as_deref(), t.claims.exp) {
        return Err(invalid_object("request object jti was already used"));
    }
    Ok(params)
}

fn respond(r: std::result::Result<Response<Body>, Reject>) -> Response<Body> {
    r.unwrap_or_else(|e| *e)
}

async fn par(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response<Body> {
    shared.par_requests.fetch_add(1, Ordering::SeqCst);
    respond((|| {
        let form = params(&body)?;
        let client = client(&shared, &form, &headers)?;
        authenticate(&shared, client, &form, &headers)?;
        if form.contains_key("request_uri") {
            return Err(invalid_request(
                "request_uri must not be pushed (RFC 9126 section 2.1)",
            ));
        }
        let request = form
            .get("request")
            .ok_or_else(|| invalid_request("request is missing"))?;
        let params = verify_request_object(&shared, client, request)?;
        let id =
            hsmjwt_core::profile::random_token(24).map_err(|e| invalid_request(e.to_string()))?;
        let request_uri = format!("urn:ietf:params:oauth:request_uri:{id}");
        let lifetime = shared.config.request_uri_lifetime;
        lock(&shared.pushed).insert(
            request_uri.clone(),
            Pushed {
                client_id: client.client_id.clone(),
                params,
                expires: NumericDate::now().saturating_add(lifetime),
            },
        );
        let body =
            serde_json::json!({"request_uri": request_uri, "expires_in": lifetime.as_secs()});
        Ok(json_response(StatusCode::CREATED, body.to_string(), None))
    })())
}

async fn authorize(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response<Body> {
    shared.authorize_requests.fetch_add(1, Ordering::SeqCst);
    respond((|| {
        let q = params(query.unwrap_or_default().as_bytes())?;
        let client = client(&shared, &q, &headers)?;
        let params = match (q.get("request"), q.get("request_uri")) {
            (Some(_), Some(_)) => return Err(invalid_request("request and request_uri together")),
            (Some(request), None) => verify_request_object(&shared, client, request)?,
            (None, Some(uri)) => {
                let pushed = lock(&shared.pushed).remove(uri).ok_or_else(|| {
                    invalid_request("request_uri is unknown, expired or already used")
                })?;
                if pushed.client_id != client.client_id {
                    return Err(invalid_request("request_uri belongs to another client"));
                }
                if NumericDate::now() > pushed.expires {
                    return Err(invalid_request("request_uri has expired"));
                }
                pushed.params
            }
            (None, None) => return Err(invalid_request("request or request_uri is required")),
        };
        Ok(json_response(
            StatusCode::OK,
            Value::Object(params).to_string(),
            None,
        ))
    })())
}
