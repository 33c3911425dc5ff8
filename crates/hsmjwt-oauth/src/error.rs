//! The one error type of `hsmjwt-oauth`.

use std::sync::Arc;
use std::time::Duration;

/// A cause from another library (the HTTP stack, the runtime), kept as the `source` without
/// naming its type in this crate's API.
pub type BoxedSource = Arc<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong while minting, requesting, caching or parsing tokens.
///
/// The error is `Clone` (causes are kept behind `Arc`) so that one failed token request can
/// be handed to every caller that waited for it (see [`crate::TokenCache`]).
///
/// No variant ever holds a secret: client secrets, private keys, assertions and access
/// tokens are never part of a message. URLs are shown without their query and user info.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A URL could not be parsed or is not usable as an endpoint.
    #[error("invalid url `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given (query and user info removed when it parsed).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Plain `http` to a host that is not a loopback address.
    #[error(
        "refusing plain http to `{host}`: http is allowed only to loopback addresses (127.0.0.0/8, ::1, localhost), use https"
    )]
    InsecureUrl {
        /// The host the URL names.
        host: String,
    },
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot build the http client")]
    Client {
        /// The HTTP library's error.
        #[source]
        source: BoxedSource,
    },
    /// No connection could be made (after the retries).
    #[error("cannot connect to {url}")]
    Connect {
        /// The endpoint (without query).
        url: String,
        /// The HTTP library's error.
        #[source]
        source: BoxedSource,
    },
    /// The TLS handshake failed: the server's certificate was refused (not trusted,
    /// expired, for another name) or the server broke the handshake. Never retried: trying
    /// again cannot succeed.
    #[error("tls handshake with {url} failed: {reason}")]
    Tls {
        /// The endpoint (without query).
        url: String,
        /// "the server's certificate was refused", or what else went wrong.
        reason: &'static str,
        /// The TLS library's error.
        #[source]
        source: BoxedSource,
    },
    /// The request or the response took longer than the configured timeout.
    #[error("request to {url} timed out after {} ms", timeout.as_millis())]
    Timeout {
        /// The endpoint (without query).
        url: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// The overall time limit ([`crate::HttpOptions::total_timeout`]) ran out during a
    /// request, or the wait before a retry (a `Retry-After`, or backoff) would have ended
    /// beyond it, so the request was not retried. The failure that asked for the retry is
    /// the `source` (its status, OAuth error and kept headers are read through
    /// [`Error::status`] and the other accessors).
    #[error("{reason}")]
    TimeLimit {
        /// The endpoint (without query).
        url: String,
        /// The time limit.
        limit: Duration,
        /// How many requests were made in all.
        attempts: u32,
        /// What happened, in a sentence naming the limit ("the server asked to retry after
        /// 100000 s, beyond the 30 s time limit").
        reason: String,
        /// The failure that would have been retried, if any.
        #[source]
        last: Option<Arc<Error>>,
    },
    /// The request failed for another transport reason.
    #[error("request to {url} failed")]
    Http {
        /// The endpoint (without query).
        url: String,
        /// The HTTP library's error.
        #[source]
        source: BoxedSource,
    },
    /// The endpoint answered with an error status. OAuth endpoints describe the problem in
    /// `error` and `error_description`; the response headers the client was told to keep
    /// (see [`crate::HttpOptions::with_kept_header`]) are quoted, for support.
    #[error(
        "{url} answered {status}{}{}{}",
        error.as_deref().map(|e| format!(": {e}")).unwrap_or_default(),
        error_description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default(),
        headers.iter().map(|(n, v)| format!(" [{n} {v}]")).collect::<String>()
    )]
    Endpoint {
        /// The endpoint (without query).
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The OAuth `error` code (`invalid_client`, `invalid_scope`, ...), if the body had one.
        error: Option<String>,
        /// The OAuth `error_description`, if the body had one.
        error_description: Option<String>,
        /// The kept response headers that were present: (lower-case name, cleaned value).
        headers: Vec<(String, String)>,
        /// How many requests were made in all, retries included.
        attempts: u32,
    },
    /// The response body is larger than the limit.
    #[error("response from {url} exceeds the limit of {limit} bytes")]
    ResponseTooLarge {
        /// The endpoint (without query).
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// A success response whose body is not what the endpoint must send.
    #[error("invalid response from {url}: {reason}")]
    InvalidResponse {
        /// The endpoint (without query).
        url: String,
        /// What is wrong (never quotes a token).
        reason: String,
    },
    /// The JWT or client assertion could not be built or signed.
    #[error("cannot mint the {what}")]
    Jwt {
        /// What was being minted ("client assertion", "assertion", ...).
        what: &'static str,
        /// The core or signer error.
        #[source]
        source: Arc<hsmjwt_core::Error>,
    },
    /// A signature did not finish within its time limit (an HSM call that hangs); the
    /// call fails instead of hanging.
    #[error("signing the {what} did not finish within {limit:?}")]
    SignTimeout {
        /// What was being signed (`client assertion`, `service-account JWT`).
        what: &'static str,
        /// The limit ([`HttpOptions::sign_timeout`](crate::http::HttpOptions::sign_timeout)).
        limit: std::time::Duration,
    },
    /// The blocking signing task could not complete (it panicked or was cancelled).
    #[error("the signing task did not complete")]
    SignTask {
        /// The runtime's error.
        #[source]
        source: BoxedSource,
    },
    /// A client secret cannot be used as given.
    #[error("the client secret {reason}")]
    ClientSecret {
        /// What is wrong (never the secret itself).
        reason: String,
    },
    /// A secret could not be read from the environment variable the caller named.
    #[error("cannot read the secret from ${var}: {reason}")]
    SecretEnv {
        /// The variable's name.
        var: String,
        /// What is wrong (never the value).
        reason: &'static str,
    },
}

impl Error {
    /// The [`Error::Endpoint`] this error is, or the one an [`Error::TimeLimit`] gave up
    /// retrying.
    fn answer(&self) -> Option<&Error> {
        match self {
            Error::Endpoint { .. } => Some(self),
            Error::TimeLimit {
                last: Some(last), ..
            } => last.answer(),
            _ => None,
        }
    }

    /// The HTTP status of an [`Error::Endpoint`] (or of the answer an [`Error::TimeLimit`]
    /// gave up retrying).
    pub fn status(&self) -> Option<u16> {
        match self.answer()? {
            Error::Endpoint { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the server refused the request itself, so that asking again the same way
    /// will not help: a 4xx answer (`invalid_client`, `invalid_grant`,
    /// `unauthorized_client`, ...) other than 408 (Request Timeout) and 429 (Too Many
    /// Requests).
    pub fn is_refusal(&self) -> bool {
        self.status()
            .is_some_and(|s| (400..500).contains(&s) && s != 408 && s != 429)
    }

    /// The OAuth `error` code of an [`Error::Endpoint`] (or of the answer an
    /// [`Error::TimeLimit`] gave up retrying).
    pub fn oauth_error(&self) -> Option<&str> {
        match self.answer()? {
            Error::Endpoint { error, .. } => error.as_deref(),
            _ => None,
        }
    }

    /// The OAuth `error_description` of an [`Error::Endpoint`] (or of the answer an
    /// [`Error::TimeLimit`] gave up retrying).
    pub fn error_description(&self) -> Option<&str> {
        match self.answer()? {
            Error::Endpoint {
                error_description, ..
            } => error_description.as_deref(),
            _ => None,
        }
    }

    /// A kept response header of an [`Error::Endpoint`] (or of the answer an
    /// [`Error::TimeLimit`] gave up retrying); `name` in any case.
    pub fn response_header(&self, name: &str) -> Option<&str> {
        match self.answer()? {
            Error::Endpoint { headers, .. } => headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }

    pub(crate) fn jwt(what: &'static str, source: hsmjwt_core::Error) -> Self {
        Error::Jwt {
            what,
            source: Arc::new(source),
        }
    }

    pub(crate) fn invalid_response(url: &str, reason: impl Into<String>) -> Self {
        Error::InvalidResponse {
            url: url.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn boxed(e: impl std::error::Error + Send + Sync + 'static) -> BoxedSource {
        Arc::new(e)
    }
}

/// The `Result` type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
