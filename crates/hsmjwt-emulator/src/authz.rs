//! A small authorization server for JAR (RFC 9101) and PAR (RFC 9126), for tests and for
//! users' own CI.
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
use axum::http::{HeaderMap, Response, StatusCode};
use axum::routing::{get, post};
use hsmjwt_core::profile::client_assertion;
use hsmjwt_core::profile::jar;
use hsmjwt_core::{Jwk, NumericDate, Validation};
use hsmjwt_soft::SoftVerifier;
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::client_auth::{
    Presented, Refused, ReplayCache, basic, lock, params, presented, secret_matches, verify_jwt,
};
use crate::error::Result;
use crate::response::{
    Answer, Reject, invalid_client, invalid_request, json_response, not_found, reject,
};
use crate::server::{Bound, Running};

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

    /// Sets how long a pushed request's `request_uri` stays valid (sent as `expires_in` in
    /// whole seconds).
    ///
    /// # Errors
    /// [`crate::Error::Setting`] for a lifetime a client refuses: under 1 s, or beyond
    /// [`hsmjwt_oauth::MAX_EXPIRES_IN`].
    pub fn with_request_uri_lifetime(mut self, d: Duration) -> Result<Self> {
        self.request_uri_lifetime =
            crate::config::token_lifetime("request_uri_lifetime", d, Duration::from_secs(1))?;
        Ok(self)
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
    replay: ReplayCache,
    pushed: Mutex<HashMap<String, Pushed>>,
    par_requests: AtomicUsize,
    authorize_requests: AtomicUsize,
}

/// A running authorization server. Dropping it stops the server.
pub struct AuthorizationServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _running: Running,
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
    /// Starts the server on a thread of its own. Dropping the handle stops it.
    ///
    /// # Errors
    /// [`crate::Error::NotLoopback`] or [`crate::Error::Listen`] when the address cannot be
    /// used, [`crate::Error::Start`] when the thread cannot start.
    pub fn start_background(config: AuthorizationServerConfig) -> Result<Self> {
        let bound = Bound::new(config.listen)?;
        let addr = bound.addr();
        let shared = Arc::new(Shared {
            par_endpoint: format!("http://{addr}/oauth/par"),
            config,
            replay: ReplayCache::default(),
            pushed: Mutex::new(HashMap::new()),
            par_requests: AtomicUsize::new(0),
            authorize_requests: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/oauth/par", post(par))
            .route("/authorize", get(authorize))
            .fallback(|| async { not_found() })
            .with_state(shared.clone());
        let running = Running::thread(bound, app, "authorization server")?;
        Ok(AuthorizationServer {
            addr,
            shared,
            _running: running,
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

fn invalid_object(d: impl AsRef<str>) -> Reject {
    reject(StatusCode::BAD_REQUEST, "invalid_request_object", d)
}

fn verifier(jwk: &Jwk) -> std::result::Result<SoftVerifier, Reject> {
    SoftVerifier::from_jwk(jwk, None)
        .map_err(|e| invalid_client(format!("registered key unusable: {e}")))
}

/// Checks the client authentication of a PAR request against the registration.
fn authenticate(
    shared: &Shared,
    client: &RegisteredClient,
    form: &HashMap<String, String>,
    headers: &HeaderMap,
) -> std::result::Result<(), Reject> {
    if let RegisteredAuth::None = client.auth {
        return Ok(());
    }
    match (&client.auth, presented(form, headers)?) {
        (RegisteredAuth::PrivateKeyJwt(jwk), Presented::Assertion { jwt }) => {
            let validation = client_assertion::validation(&client.client_id, &shared.config.issuer)
                .with_audience(shared.par_endpoint.clone())
                .with_leeway(shared.config.leeway);
            verify_jwt(
                jwt,
                &verifier(jwk)?,
                &validation,
                &shared.replay,
                "assertion",
            )
            .map(drop)
            .map_err(|refused| invalid_client(format!("client assertion refused: {refused}")))
        }
        (RegisteredAuth::PrivateKeyJwt(_), _) => Err(invalid_client(
            "private_key_jwt expected: client_assertion_type is missing or wrong",
        )),
        (RegisteredAuth::Secret(secret), Presented::Basic { id, secret: given }) => {
            if id != client.client_id {
                return Err(invalid_client("basic credentials name another client"));
            }
            check_secret(secret, &given)
        }
        (RegisteredAuth::Secret(secret), Presented::Post { secret: given }) => {
            check_secret(secret, given)
        }
        (RegisteredAuth::Secret(_), _) => Err(invalid_client("client authentication is missing")),
        (RegisteredAuth::None, _) => Ok(()),
    }
}

fn check_secret(secret: &SecretString, given: &str) -> std::result::Result<(), Reject> {
    if secret_matches(secret, given) {
        Ok(())
    } else {
        Err(invalid_client("client secret is wrong"))
    }
}

/// The client named by `client_id`, or else by HTTP Basic credentials.
fn client<'a>(
    shared: &'a Shared,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> std::result::Result<&'a RegisteredClient, Reject> {
    let basic_id = basic(headers)?.map(|(id, _)| id);
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
    let claims = match verify_jwt(request, &key, &validation, &shared.replay, "request") {
        Ok(claims) => claims,
        Err(Refused::Replayed) => {
            return Err(invalid_object("request object jti was already used"));
        }
        Err(refused) => return Err(invalid_object(format!("request object refused: {refused}"))),
    };
    jar::check_client_id(&claims, &client.client_id).map_err(|e| invalid_object(e.to_string()))?;
    let params = claims.extra;
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
    Ok(params)
}

fn respond(r: Answer) -> Response<Body> {
    r.unwrap_or_else(|e| *e)
}

async fn par(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response<Body> {
    shared.par_requests.fetch_add(1, Ordering::SeqCst);
    respond((|| {
        let form = params(&body).map_err(invalid_request)?;
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
        let q = params(query.unwrap_or_default().as_bytes()).map_err(invalid_request)?;
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
