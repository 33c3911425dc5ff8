//! The one error type of `hsmjwt-ims`.

use std::sync::Arc;
use std::time::Duration;

/// Everything that can go wrong while minting, exchanging, caching or parsing.
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
    /// An IMS host name that is not a bare host name.
    #[error("invalid ims host `{host}`: {reason}")]
    InvalidHost {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot build the http client")]
    Client {
        /// The HTTP library's error.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// No connection could be made (after the retries).
    #[error("cannot connect to {url}")]
    Connect {
        /// The endpoint (without query).
        url: String,
        /// The HTTP library's error.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// The request or the response took longer than the configured timeout.
    #[error("request to {url} timed out after {} ms", timeout.as_millis())]
    Timeout {
        /// The endpoint (without query).
        url: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// The request failed for another transport reason.
    #[error("request to {url} failed")]
    Http {
        /// The endpoint (without query).
        url: String,
        /// The HTTP library's error.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// The endpoint answered with an error status. OAuth endpoints and IMS describe the
    /// problem in `error` and `error_description`; IMS adds an `x-debug-id` header to quote
    /// to Adobe support.
    #[error(
        "{url} answered {status}{}{}{}",
        error.as_deref().map(|e| format!(": {e}")).unwrap_or_default(),
        error_description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default(),
        debug_id.as_deref().map(|d| format!(" [x-debug-id {d}]")).unwrap_or_default()
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
        /// The `x-debug-id` response header, if any.
        debug_id: Option<String>,
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
        /// What was being minted ("service-account JWT", "client assertion", ...).
        what: &'static str,
        /// The core or signer error.
        #[source]
        source: Arc<hsmjwt_core::Error>,
    },
    /// The blocking signing task could not complete (it panicked or was cancelled).
    #[error("the signing task did not complete")]
    SignTask {
        /// The join error.
        #[source]
        source: Arc<tokio::task::JoinError>,
    },
    /// A credentials document is malformed or lacks a field.
    #[error("invalid credentials ({format}): {reason}")]
    Credentials {
        /// Which kind of document ("AEM service credentials", "Developer Console project", ...).
        format: &'static str,
        /// What is wrong, naming the field (never its value when it is a secret).
        reason: String,
    },
    /// A credentials document is not JSON.
    #[error("credentials are not valid JSON")]
    CredentialsJson {
        /// The parser's complaint (position only; secrets are not echoed by serde_json).
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A certificate could not be parsed.
    #[error("invalid certificate: {reason}")]
    Certificate {
        /// What is wrong.
        reason: String,
    },
    /// The emulator could not start or serve.
    #[error("emulator: {reason}")]
    Emulator {
        /// What went wrong.
        reason: String,
        /// The cause, when there is one.
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
}

impl Error {
    /// The HTTP status of an [`Error::Endpoint`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Endpoint { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The OAuth `error` code of an [`Error::Endpoint`].
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            Error::Endpoint { error, .. } => error.as_deref(),
            _ => None,
        }
    }

    /// The OAuth `error_description` of an [`Error::Endpoint`].
    pub fn error_description(&self) -> Option<&str> {
        match self {
            Error::Endpoint {
                error_description, ..
            } => error_description.as_deref(),
            _ => None,
        }
    }

    /// The `x-debug-id` of an [`Error::Endpoint`].
    pub fn debug_id(&self) -> Option<&str> {
        match self {
            Error::Endpoint { debug_id, .. } => debug_id.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn jwt(what: &'static str, source: hsmjwt_core::Error) -> Self {
        Error::Jwt {
            what,
            source: Arc::new(source),
        }
    }

    pub(crate) fn credentials(format: &'static str, reason: impl Into<String>) -> Self {
        Error::Credentials {
            format,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_response(url: &str, reason: impl Into<String>) -> Self {
        Error::InvalidResponse {
            url: url.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The `Result` type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
