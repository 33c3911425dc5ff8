//! The HTTP layer: one form POST with OAuth client authentication, timeouts, retries with
//! backoff, a bounded response body and typed errors.
//!
//! [`HttpClient::post_form`] is public so that other OAuth requests (a pushed authorization
//! request, RFC 9126; token revocation; introspection) can reuse the same client
//! authentication, retry and error rules.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use hsmjwt_core::profile::client_assertion::{self, ASSERTION_TYPE, ClientAssertion};
use hsmjwt_core::{NumericDate, Signer};
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use url::Url;
use zeroize::Zeroizing;

use hsmjwt_core::text::clean;

use crate::endpoint::{check_url, display_url};
use crate::error::{Error, Result};

/// Timeouts, retries and limits of an [`HttpClient`].
///
/// Retries happen on connection failures, on 5xx answers and on 429; never on other 4xx
/// answers, never on TLS failures (a refused certificate stays refused: [`Error::Tls`]) or
/// other permanent transport errors, and never after a request timed out (the server may
/// still be working on it). The delay before retry *n* (1-based) is
/// `initial_backoff * 2^(n-1)`, capped at `max_backoff`, with random jitter down to half of
/// it; a `Retry-After` header (seconds, or an HTTP date) replaces it, capped at
/// `max_retry_after`.
///
/// `total_timeout` bounds the whole [`HttpClient::post_form`]: every attempt and every wait
/// (the time spent signing client assertions counts too, although a signer is never
/// interrupted). Each attempt's own timeout is the smaller of `request_timeout` and the
/// time left; a wait that would end beyond the limit is not waited: the call fails at once
/// with [`Error::TimeLimit`], which says so.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpOptions {
    /// Time allowed to open a connection (TCP and TLS), for each connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Time allowed for one request, response body included. Default 30 s.
    pub request_timeout: Duration,
    /// Time allowed for the whole call, retries and waits included; `None` for no overall
    /// limit (only `request_timeout` and the retry settings bound it). A limit too long for
    /// the monotonic clock to represent counts as none. Default 60 s.
    pub total_timeout: Option<Duration>,
    /// Retries after the first attempt. Default 3.
    pub max_retries: u32,
    /// Delay before the first retry, before jitter. Default 250 ms.
    pub initial_backoff: Duration,
    /// Longest delay computed by backoff. Default 5 s.
    pub max_backoff: Duration,
    /// Longest delay a `Retry-After` header may impose. Default 30 s.
    pub max_retry_after: Duration,
    /// Largest accepted response body. Default 1 MiB.
    pub max_response_bytes: usize,
    /// Response headers kept (lower-case names) in [`FormResponse::headers`] and in
    /// [`Error::Endpoint`], for support: a provider's request id, say. Default none.
    pub kept_headers: Vec<String>,
    /// Time allowed for one signature (a client assertion, a service-account JWT) on the
    /// blocking pool: an HSM call that hangs fails the call with [`Error::SignTimeout`]
    /// instead of hanging it. Default [`SIGN_TIMEOUT`] (30 s).
    pub sign_timeout: Duration,
}

/// The default time allowed for one signature on an async path (see
/// [`HttpOptions::sign_timeout`]).
pub const SIGN_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            total_timeout: Some(Duration::from_secs(60)),
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            max_response_bytes: 1 << 20,
            kept_headers: Vec::new(),
            sign_timeout: SIGN_TIMEOUT,
        }
    }
}

impl HttpOptions {
    /// Sets the time allowed for one signature on the blocking pool.
    #[must_use]
    pub fn with_sign_timeout(mut self, t: Duration) -> Self {
        self.sign_timeout = t;
        self
    }

    /// Sets the connect timeout.
    #[must_use]
    pub fn with_connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Sets the request timeout (each attempt's).
    #[must_use]
    pub fn with_request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }

    /// Sets the overall time limit of a call, retries and waits included (`None`: no
    /// overall limit).
    #[must_use]
    pub fn with_total_timeout(mut self, t: Option<Duration>) -> Self {
        self.total_timeout = t;
        self
    }

    /// Sets the number of retries (0 disables retrying).
    #[must_use]
    pub fn with_max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the backoff: the first delay and the largest.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// Sets the cap on `Retry-After`.
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Sets the response size limit.
    #[must_use]
    pub fn with_max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Keeps the response header `name` (compared ignoring case) in answers and errors, for
    /// support (a provider's request id, for example). Its value is cleaned of control
    /// characters and cut to 128 characters.
    #[must_use]
    pub fn with_kept_header(mut self, name: &str) -> Self {
        let name = name.to_ascii_lowercase();
        if !self.kept_headers.contains(&name) {
            self.kept_headers.push(name);
        }
        self
    }
}

/// How the client authenticates to the endpoint (RFC 6749 2.3, RFC 7523, OIDC Core 9).
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `private_key_jwt`: a fresh client assertion (new `jti`) signed by `signer` for every
    /// request, with `iss` = `sub` = client id and `aud` = `audience` (usually the token
    /// endpoint URL or the issuer). Made by [`ClientAuth::private_key_jwt`].
    #[non_exhaustive]
    PrivateKeyJwt {
        /// The key (file or HSM); signing runs on a blocking thread.
        signer: Arc<dyn Signer>,
        /// The assertion's `aud`.
        audience: String,
        /// The assertion's lifetime, `exp` - `iat`: [`client_assertion::DEFAULT_LIFETIME`]
        /// unless [`ClientAuth::with_lifetime`] sets it.
        lifetime: Duration,
    },
    /// `client_secret_post`: `client_id` and `client_secret` form fields.
    SecretPost(SecretString),
    /// `client_secret_basic`: HTTP Basic with the form-urlencoded id and secret
    /// (RFC 6749 2.3.1).
    SecretBasic(SecretString),
    /// No authentication: only the `client_id` form field (a public client).
    None,
}

impl ClientAuth {
    /// `private_key_jwt` with `signer`, for the audience `audience`, with assertions of
    /// [`client_assertion::DEFAULT_LIFETIME`] (2 minutes).
    pub fn private_key_jwt(signer: Arc<dyn Signer>, audience: impl Into<String>) -> Self {
        ClientAuth::PrivateKeyJwt {
            signer,
            audience: audience.into(),
            lifetime: client_assertion::DEFAULT_LIFETIME,
        }
    }

    /// Sets the lifetime of `private_key_jwt` client assertions: more than zero and at most
    /// [`client_assertion::MAX_LIFETIME`] (1 hour).
    ///
    /// ```
    /// # use std::{sync::Arc, time::Duration};
    /// # use hsmjwt_oauth::ClientAuth;
    /// # fn f(signer: Arc<dyn hsmjwt_core::Signer>) -> Result<(), hsmjwt_oauth::Error> {
    /// let auth = ClientAuth::private_key_jwt(signer, "https://as.example/token")
    ///     .with_lifetime(Duration::from_secs(600))?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Jwt`] (a "client assertion" that cannot be minted) for a lifetime out of
    /// those bounds, or when this is not `private_key_jwt` (no other method has an
    /// assertion).
    pub fn with_lifetime(self, lifetime: Duration) -> Result<Self> {
        let refuse = |e| Error::jwt("client assertion", e);
        match self {
            ClientAuth::PrivateKeyJwt {
                signer, audience, ..
            } => {
                client_assertion::check_lifetime(lifetime).map_err(refuse)?;
                Ok(ClientAuth::PrivateKeyJwt {
                    signer,
                    audience,
                    lifetime,
                })
            }
            other => Err(refuse(hsmjwt_core::Error::Build(format!(
                "{} client authentication has no assertion whose lifetime could be set",
                other.method_name()
            )))),
        }
    }

    /// The method's registered name (`token_endpoint_auth_method`).
    pub fn method_name(&self) -> &'static str {
        match self {
            ClientAuth::PrivateKeyJwt { .. } => "private_key_jwt",
            ClientAuth::SecretPost(_) => "client_secret_post",
            ClientAuth::SecretBasic(_) => "client_secret_basic",
            ClientAuth::None => "none",
        }
    }
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuth::PrivateKeyJwt {
                signer,
                audience,
                lifetime,
            } => f
                .debug_struct("PrivateKeyJwt")
                .field("alg", &signer.algorithm())
                .field("kid", &signer.key_id())
                .field("audience", audience)
                .field("lifetime", lifetime)
                .finish(),
            ClientAuth::SecretPost(_) => f.write_str("SecretPost([REDACTED])"),
            ClientAuth::SecretBasic(_) => f.write_str("SecretBasic([REDACTED])"),
            ClientAuth::None => f.write_str("None"),
        }
    }
}

/// A successful (2xx) answer to [`HttpClient::post_form`].
#[derive(Clone)]
#[non_exhaustive]
pub struct FormResponse {
    /// The HTTP status.
    pub status: u16,
    /// The kept response headers that were present (see [`HttpOptions::with_kept_header`]):
    /// lower-case name and cleaned value.
    pub headers: Vec<(String, String)>,
    /// The body, wiped from memory on drop (it may hold a token).
    pub body: Zeroizing<Vec<u8>>,
    /// When the successful request was sent.
    pub sent_at: SystemTime,
    /// How many requests were made, retries included.
    pub attempts: u32,
    /// The endpoint, for messages (without query).
    pub url: String,
}

impl FormResponse {
    /// A kept response header (`name` in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as a token response ([`crate::parse_token_response`]), with `expires_in` in
    /// `unit`, issued when the request was sent.
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] naming the member at fault.
    pub fn access_token(&self, unit: crate::ExpiresUnit) -> Result<crate::AccessToken> {
        crate::parse_token_response(&self.body, unit, &self.url, self.sent_at)
    }

    /// The body as one JSON object, parsed strictly (duplicate members are an error).
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] when the body is not a JSON object.
    pub fn json_object(&self) -> Result<Map<String, Value>> {
        hsmjwt_core::json::parse_object(&self.body, "response")
            .map_err(|e| Error::invalid_response(&self.url, e.to_string()))
    }
}

impl fmt::Debug for FormResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FormResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &format_args!("[{} bytes]", self.body.len()))
            .field("attempts", &self.attempts)
            .field("url", &self.url)
            .finish()
    }
}

/// An assertion signed afresh for each attempt and sent as a form field (the RFC 7523
/// JWT-bearer grant's `assertion`).
#[derive(Clone)]
pub(crate) struct FreshAssertion {
    pub(crate) field: &'static str,
    pub(crate) signer: Arc<dyn Signer>,
    pub(crate) assertion: ClientAssertion,
}

/// An HTTP client for form POSTs to token endpoints. Cheap to clone (shared pool).
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    /// For loopback URLs: never through a proxy. Built on first use.
    direct: Arc<std::sync::OnceLock<reqwest::Client>>,
    options: Arc<HttpOptions>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client with these options: rustls with the platform's trust store, redirects not
    /// followed (a token request is never re-sent elsewhere), and proxies taken from
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` as `reqwest` reads them, except for loopback
    /// addresses, which are always reached directly.
    ///
    /// # Errors
    /// [`Error::Client`] when the TLS stack cannot be set up.
    pub fn new(options: HttpOptions) -> Result<Self> {
        let client = builder(&options).build().map_err(|e| Error::Client {
            source: Error::boxed(e),
        })?;
        Ok(HttpClient {
            client,
            direct: Arc::default(),
            options: Arc::new(options),
        })
    }

    /// The client for `url`: loopback addresses bypass any proxy.
    fn client_for(&self, url: &Url) -> Result<&reqwest::Client> {
        if !crate::endpoint::is_loopback(url) {
            return Ok(&self.client);
        }
        if let Some(c) = self.direct.get() {
            return Ok(c);
        }
        let c = builder(&self.options)
            .no_proxy()
            .build()
            .map_err(|e| Error::Client {
                source: Error::boxed(e),
            })?;
        Ok(self.direct.get_or_init(|| c))
    }

    /// The same client (shared connection pool) that also keeps the response header `name`
    /// (see [`HttpOptions::with_kept_header`]).
    #[must_use]
    pub fn keeping_header(mut self, name: &str) -> Self {
        let options = (*self.options).clone().with_kept_header(name);
        self.options = Arc::new(options);
        self
    }

    /// The options in force.
    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// POSTs an `application/x-www-form-urlencoded` form to `url`, authenticated as
    /// `client_id` with `auth`, and returns the 2xx answer.
    ///
    /// Form fields added for authentication: `client_id` (except with
    /// [`ClientAuth::SecretBasic`], which sends an `Authorization: Basic` header instead),
    /// `client_secret` ([`ClientAuth::SecretPost`]), `client_assertion_type` and a freshly
    /// signed `client_assertion` for every attempt ([`ClientAuth::PrivateKeyJwt`]). `params`
    /// follow. Retries, timeouts and limits follow the client's [`HttpOptions`].
    ///
    /// # Errors
    /// [`Error::Endpoint`] for a non-2xx answer (after retries, for 5xx and 429), carrying
    /// the status, the OAuth `error` and `error_description` and the kept headers;
    /// [`Error::Connect`], [`Error::Timeout`], [`Error::Http`] for transport failures;
    /// [`Error::ResponseTooLarge`]; [`Error::Jwt`] or [`Error::SignTask`] when the client
    /// assertion cannot be signed; [`Error::InvalidUrl`] or [`Error::InsecureUrl`] for a
    /// URL that fails [`check_url`].
    pub async fn post_form(
        &self,
        url: &Url,
        client_id: &str,
        auth: &ClientAuth,
        params: &[(&str, &str)],
    ) -> Result<FormResponse> {
        self.post_form_with(url, client_id, auth, params, None)
            .await
    }

    pub(crate) async fn post_form_with(
        &self,
        url: &Url,
        client_id: &str,
        auth: &ClientAuth,
        params: &[(&str, &str)],
        fresh: Option<&FreshAssertion>,
    ) -> Result<FormResponse> {
        check_url(url)?;
        let client = self.client_for(url)?;
        let shown = display_url(url);
        let opts = &*self.options;
        let deadline = Deadline::new(opts.total_timeout);
        let mut attempt: u32 = 0;
        let mut last: Option<Error> = None;
        loop {
            let body = build_form(client_id, auth, params, fresh, opts.sign_timeout).await?;
            let limit = deadline.attempt(opts.request_timeout);
            if let Some(total) = limit.total
                && limit.timeout.is_zero()
            {
                return Err(Error::TimeLimit {
                    url: shown,
                    limit: total,
                    attempts: attempt,
                    reason: format!(
                        "no time left for a request within the {} time limit",
                        show(total)
                    ),
                    last: last.map(Arc::new),
                });
            }
            attempt += 1;
            let sent_at = SystemTime::now();
            let mut request = client
                .post(url.clone())
                .timeout(limit.timeout)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(ACCEPT, "application/json");
            if let ClientAuth::SecretBasic(secret) = auth {
                request = request.header(AUTHORIZATION, basic_auth(client_id, secret)?);
            }
            let request = request.body(reqwest::Body::from(bytes::Bytes::from_owner(body)));
            tracing::debug!(url = %shown, attempt, auth = auth.method_name(), "token endpoint request");
            let (error, retry_after) = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = kept_headers(response.headers(), &opts.kept_headers);
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| retry_after(v, SystemTime::now()));
                    let body = read_limited(response, opts.max_response_bytes)
                        .await
                        .map_err(|e| e.into_error(&shown, &limit, attempt))?;
                    if status.is_success() {
                        tracing::debug!(url = %shown, status = status.as_u16(), attempt, "token endpoint answered");
                        return Ok(FormResponse {
                            status: status.as_u16(),
                            headers,
                            body,
                            sent_at,
                            attempts: attempt,
                            url: shown,
                        });
                    }
                    let error = endpoint_error(&shown, status.as_u16(), &body, headers, attempt);
                    let retryable = status.is_server_error()
                        || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
                    if !retryable || attempt > opts.max_retries {
                        return Err(error);
                    }
                    (error, retry_after)
                }
                Err(e) => {
                    let error = Transport(e).into_error(&shown, &limit, attempt);
                    if !matches!(error, Error::Connect { .. }) || attempt > opts.max_retries {
                        return Err(error);
                    }
                    (error, None)
                }
            };
            let delay = match retry_after {
                Some(asked) => asked.min(opts.max_retry_after),
                None => backoff(opts, attempt),
            };
            if let Some(total) = deadline.total
                && !deadline.fits(delay)
            {
                let reason = match retry_after {
                    Some(asked) => format!(
                        "the server asked to retry after {}, beyond the {} time limit",
                        show(asked),
                        show(total)
                    ),
                    None => format!(
                        "retrying in {} would go beyond the {} time limit",
                        show(delay),
                        show(total)
                    ),
                };
                return Err(Error::TimeLimit {
                    url: shown,
                    limit: total,
                    attempts: attempt,
                    reason,
                    last: Some(Arc::new(error)),
                });
            }
            tracing::info!(url = %shown, attempt, status = error.status(), delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "{error}; retrying");
            last = Some(error);
            tokio::time::sleep(delay).await;
        }
    }
}

/// The overall time limit of one [`HttpClient::post_form`].
struct Deadline {
    /// The limit, when there is one the clock can represent.
    total: Option<Duration>,
    /// When it runs out.
    at: Option<Instant>,
}

/// One attempt's timeout.
struct AttemptLimit {
    /// The smaller of the request timeout and the time left.
    timeout: Duration,
    /// The overall limit, when the time left is what decided `timeout`.
    total: Option<Duration>,
}

impl Deadline {
    /// Starts the clock for `total` (none when the clock cannot represent its end).
    fn new(total: Option<Duration>) -> Self {
        let at = total.and_then(|t| Instant::now().checked_add(t));
        Deadline {
            total: at.and(total),
            at,
        }
    }

    /// The time left, if there is a limit.
    fn left(&self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// The next attempt's timeout: `request_timeout`, or the time left when shorter.
    fn attempt(&self, request_timeout: Duration) -> AttemptLimit {
        match self.left() {
            Some(left) if left < request_timeout => AttemptLimit {
                timeout: left,
                total: self.total,
            },
            _ => AttemptLimit {
                timeout: request_timeout,
                total: None,
            },
        }
    }

    /// Whether a wait of `wait` ends before the limit.
    fn fits(&self, wait: Duration) -> bool {
        self.left().is_none_or(|left| wait < left)
    }
}

/// A duration for messages: `100000 s`, `250 ms`, `2.5 s`.
fn show(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A failure of `reqwest`, to be told apart: TLS, connection, timeout, other.
struct Transport(reqwest::Error);

impl Transport {
    /// The error to report. Only [`Error::Connect`] is worth a retry: a connection refused,
    /// reset or timed out. TLS failures (a refused certificate, a broken handshake;
    /// `reqwest` counts them as connection errors) are [`Error::Tls`]; a timeout of the
    /// attempt is [`Error::Timeout`], or [`Error::TimeLimit`] when the time left decided
    /// it; anything else (an invalid request, a body that cannot be read) is
    /// [`Error::Http`].
    fn into_error(self, url: &str, limit: &AttemptLimit, attempts: u32) -> Error {
        let e = self.0;
        if let Some(reason) = tls_failure(&e) {
            return Error::Tls {
                url: url.to_owned(),
                reason,
                source: Error::boxed(e),
            };
        }
        if e.is_connect() {
            return Error::Connect {
                url: url.to_owned(),
                source: Error::boxed(e),
            };
        }
        if !e.is_timeout() {
            return Error::Http {
                url: url.to_owned(),
                source: Error::boxed(e),
            };
        }
        match limit.total {
            Some(total) => Error::TimeLimit {
                url: url.to_owned(),
                limit: total,
                attempts,
                reason: format!("no answer from {url} within the {} time limit", show(total)),
                last: None,
            },
            None => Error::Timeout {
                url: url.to_owned(),
                timeout: limit.timeout,
            },
        }
    }
}

/// What went wrong in TLS, when the TLS library's error is in `e`'s chain. An `io::Error`'s
/// `source` is the source of the error it wraps (skipping that error), so wrapped errors
/// are looked at themselves: `reqwest` reports a refused certificate as an `io::Error`
/// inside an `io::Error` around the `rustls::Error`.
fn tls_failure(e: &reqwest::Error) -> Option<&'static str> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(match tls {
                rustls::Error::InvalidCertificate(_)
                | rustls::Error::NoCertificatesPresented
                | rustls::Error::UnsupportedNameType
                | rustls::Error::InvalidCertRevocationList(_) => {
                    "the server's certificate was refused"
                }
                _ => "the handshake failed",
            });
        }
        next = match err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner),
            None => err.source(),
        };
    }
    None
}

/// The common client settings.
fn builder(options: &HttpOptions) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .timeout(options.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("hsmjwt-oauth/", env!("CARGO_PKG_VERSION")))
}

/// Builds the form body for one attempt, signing a fresh client assertion if needed.
async fn build_form(
    client_id: &str,
    auth: &ClientAuth,
    params: &[(&str, &str)],
    fresh: Option<&FreshAssertion>,
    sign_timeout: Duration,
) -> Result<Zeroizing<Vec<u8>>> {
    let client_assertion = match auth {
        ClientAuth::PrivateKeyJwt {
            signer,
            audience,
            lifetime,
        } => {
            let assertion =
                ClientAssertion::new(client_id, audience.clone()).with_lifetime(*lifetime);
            Some(sign_assertion(signer.clone(), assertion, "client assertion", sign_timeout).await?)
        }
        _ => None,
    };
    let grant_assertion = match fresh {
        Some(f) => Some((
            f.field,
            sign_assertion(
                f.signer.clone(),
                f.assertion.clone(),
                "assertion",
                sign_timeout,
            )
            .await?,
        )),
        None => None,
    };
    let mut out = Zeroizing::new(String::new());
    {
        let mut form = url::form_urlencoded::Serializer::new(&mut *out);
        match auth {
            ClientAuth::SecretBasic(_) => {}
            ClientAuth::SecretPost(secret) => {
                form.append_pair("client_id", client_id);
                form.append_pair("client_secret", secret.expose_secret());
            }
            ClientAuth::PrivateKeyJwt { .. } | ClientAuth::None => {
                if !client_id.is_empty() {
                    form.append_pair("client_id", client_id);
                }
            }
        }
        if let Some(jwt) = &client_assertion {
            form.append_pair("client_assertion_type", ASSERTION_TYPE);
            form.append_pair("client_assertion", jwt);
        }
        for (name, value) in params {
            form.append_pair(name, value);
        }
        if let Some((field, jwt)) = &grant_assertion {
            form.append_pair(field, jwt);
        }
        form.finish();
    }
    Ok(Zeroizing::new(std::mem::take(&mut *out).into_bytes()))
}

/// Signs a client assertion on a blocking thread (an HSM may take a while), within
/// `limit`.
async fn sign_assertion(
    signer: Arc<dyn Signer>,
    assertion: ClientAssertion,
    what: &'static str,
    limit: Duration,
) -> Result<String> {
    sign_blocking_within(what, limit, move || {
        assertion.sign(&*signer, NumericDate::now())
    })
    .await
}

/// [`sign_blocking_within`] with the default limit, [`SIGN_TIMEOUT`].
///
/// # Errors
/// As [`sign_blocking_within`].
pub async fn sign_blocking<F>(what: &'static str, f: F) -> Result<String>
where
    F: FnOnce() -> std::result::Result<String, hsmjwt_core::Error> + Send + 'static,
{
    sign_blocking_within(what, SIGN_TIMEOUT, f).await
}

/// Runs a signing closure (a [`Signer`] is synchronous, and an HSM may block) on tokio's
/// blocking pool, and maps its errors; `what` names the token in them. The caller waits
/// at most `limit`: a signature still running then (an HSM call that hangs) is left to
/// finish on its thread, its result dropped, and the caller gets [`Error::SignTimeout`].
/// The signer's session stays checked out by that thread until the call returns, so no
/// other signature is given it meanwhile.
///
/// # Errors
/// [`Error::Jwt`] when the closure fails, [`Error::SignTimeout`] when it does not finish
/// within `limit`, [`Error::SignTask`] when the task panicked or was cancelled.
pub async fn sign_blocking_within<F>(what: &'static str, limit: Duration, f: F) -> Result<String>
where
    F: FnOnce() -> std::result::Result<String, hsmjwt_core::Error> + Send + 'static,
{
    let task = tokio::task::spawn_blocking(f);
    let joined = match tokio::time::timeout(limit, task).await {
        Ok(joined) => joined,
        Err(_) => {
            tracing::warn!(what, limit = ?limit, "signing did not finish in time; the call fails and the signature is abandoned");
            return Err(Error::SignTimeout { what, limit });
        }
    };
    match joined {
        Ok(Ok(jwt)) => Ok(jwt),
        Ok(Err(e)) => Err(Error::jwt(what, e)),
        Err(e) => Err(Error::SignTask {
            source: Error::boxed(e),
        }),
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`, marked sensitive.
fn basic_auth(client_id: &str, secret: &SecretString) -> Result<HeaderValue> {
    let mut plain = Zeroizing::new(String::new());
    plain.extend(url::form_urlencoded::byte_serialize(client_id.as_bytes()));
    plain.push(':');
    plain.extend(url::form_urlencoded::byte_serialize(
        secret.expose_secret().as_bytes(),
    ));
    let value = Zeroizing::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(plain.as_bytes())
    ));
    let mut header = HeaderValue::from_str(&value).map_err(|_| Error::ClientSecret {
        reason: "cannot be sent in an Authorization header".to_owned(),
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// The kept headers that are present, as short printable strings.
fn kept_headers(headers: &reqwest::header::HeaderMap, kept: &[String]) -> Vec<(String, String)> {
    kept.iter()
        .filter_map(|name| {
            let value = headers.get(name.as_str())?.to_str().ok()?;
            Some((name.clone(), clean(value, 128)))
        })
        .collect()
}

/// Why a body could not be read.
enum BodyError {
    /// Over the limit (in bytes).
    TooLarge(usize),
    /// The transport failed.
    Transport(reqwest::Error),
}

impl BodyError {
    fn into_error(self, url: &str, limit: &AttemptLimit, attempts: u32) -> Error {
        match self {
            BodyError::TooLarge(limit) => Error::ResponseTooLarge {
                url: url.to_owned(),
                limit,
            },
            BodyError::Transport(e) => Transport(e).into_error(url, limit, attempts),
        }
    }
}

/// Reads the body up to `limit` bytes.
async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> std::result::Result<Zeroizing<Vec<u8>>, BodyError> {
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = Zeroizing::new(Vec::new());
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len().saturating_add(chunk.len()) > limit {
                    return Err(BodyError::TooLarge(limit));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(BodyError::Transport(e)),
        }
    }
}

/// Maps an error answer to [`Error::Endpoint`], reading `error` and `error_description`
/// from a JSON body when there is one.
fn endpoint_error(
    url: &str,
    status: u16,
    body: &[u8],
    headers: Vec<(String, String)>,
    attempts: u32,
) -> Error {
    let (error, error_description) = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => {
            let get =
                |k: &str, max: usize| map.get(k).and_then(Value::as_str).map(|s| clean(s, max));
            (get("error", 64), get("error_description", 512))
        }
        _ => (None, None),
    };
    Error::Endpoint {
        url: url.to_owned(),
        status,
        error,
        error_description,
        headers,
        attempts,
    }
}

/// The delay a `Retry-After` value asks for (RFC 9110 section 10.2.3): delay-seconds, or an
/// HTTP date, which counts from `now` (a date already past asks for no delay). `None` when
/// the value is neither, and the usual backoff applies.
fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is still "a long time": the cap applies.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The backoff delay before retry `attempt` (1-based), with jitter down to half.
fn backoff(opts: &HttpOptions, attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(20);
    let full = opts
        .initial_backoff
        .saturating_mul(1u32 << exp)
        .min(opts.max_backoff);
    let half = full / 2;
    let r = hsmjwt_core::profile::random_bytes(4)
        .ok()
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes);
    let jitter =
        Duration::try_from_secs_f64(half.as_secs_f64() * f64::from(r) / f64::from(u32::MAX))
            .map_or(half, |j| j.min(half));
    half.saturating_add(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_is_form_encoded() {
        let h = basic_auth("id:1", &SecretString::from("s p&c")).unwrap();
        let b64 = h
            .to_str()
            .unwrap()
            .strip_prefix("Basic ")
            .unwrap()
            .to_owned();
        let plain = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(plain, b"id%3A1:s+p%26c");
        assert!(h.is_sensitive());
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        // Sun, 06 Nov 1994 08:49:37 GMT, the example of RFC 9110.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let secs = |s| retry_after(s, now);
        assert_eq!(secs("120"), Some(Duration::from_secs(120)));
        assert_eq!(secs(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            secs("99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX)),
            "too many digits still asks for the longest wait (the cap applies)"
        );
        assert_eq!(
            secs("Sun, 06 Nov 1994 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        // The two obsolete forms an HTTP/1.1 recipient must accept.
        assert_eq!(
            secs("Sunday, 06-Nov-94 08:49:47 GMT"),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            secs("Sun Nov  6 08:49:57 1994"),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            secs("Sun, 06 Nov 1994 08:00:00 GMT"),
            Some(Duration::ZERO),
            "past"
        );
        for bad in [
            "",
            "-5",
            "1.5",
            "soon",
            "Sun, 06 Nov 1994 25:00:00 GMT",
            "+3",
        ] {
            assert_eq!(secs(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let o = HttpOptions::default()
            .with_backoff(Duration::from_millis(100), Duration::from_millis(300));
        for _ in 0..20 {
            let d1 = backoff(&o, 1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = backoff(&o, 3);
            assert!(d3 >= Duration::from_millis(150) && d3 <= Duration::from_millis(300));
        }
    }

    #[test]
    fn error_bodies() {
        let e = endpoint_error(
            "u",
            401,
            br#"{"error":"invalid_client","error_description":"bad\nsecret"}"#,
            vec![("x-request-id".into(), "dbg".into())],
            1,
        );
        assert_eq!(e.status(), Some(401));
        assert_eq!(e.oauth_error(), Some("invalid_client"));
        assert_eq!(e.error_description(), Some("bad\\nsecret"));
        assert_eq!(e.response_header("X-Request-Id"), Some("dbg"));
        assert_eq!(
            e.to_string(),
            "u answered 401: invalid_client (bad\\nsecret) [x-request-id dbg]"
        );
        let e = endpoint_error("u", 502, b"<html>", Vec::new(), 4);
        assert_eq!(e.to_string(), "u answered 502");
    }
}
