//! The one error type of `hsmjwt-ims`.

/// A cause from another library, kept as the `source` without naming its type in this
/// crate's API.
pub type BoxedSource = Box<dyn std::error::Error + Send + Sync>;

/// What can go wrong with IMS endpoints, credential files and their checks.
///
/// The token flows themselves ([`crate::JwtExchange`], [`crate::ServerToServer`]) fail with
/// [`hsmjwt_oauth::Error`], as every [`hsmjwt_oauth::TokenSource`] does; Adobe's support id
/// of a failed request is [`crate::debug_id`].
///
/// No variant ever holds a secret: client secrets and private keys are never part of a
/// message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A URL or an HTTP client could not be set up (see [`hsmjwt_oauth::Error`]).
    #[error(transparent)]
    OAuth(#[from] hsmjwt_oauth::Error),
    /// An IMS host name that is not a bare host name.
    #[error("invalid ims host `{host}`: {reason}")]
    InvalidHost {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A credentials document is malformed or lacks a member.
    #[error("invalid credentials ({format}): {reason}")]
    Credentials {
        /// Which kind of document ("AEM service credentials", "Developer Console project", ...).
        format: &'static str,
        /// What is wrong, naming the member by its path (never its value when it is a secret).
        reason: String,
    },
    /// A credentials document is not JSON.
    #[error("credentials are not valid JSON")]
    CredentialsJson {
        /// The parser's complaint (position only; secrets are not echoed).
        #[source]
        source: BoxedSource,
    },
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: BoxedSource,
    },
    /// A certificate could not be parsed, or its stated expiry is not a date.
    #[error("invalid certificate: {reason}")]
    Certificate {
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    pub(crate) fn credentials(format: &'static str, reason: impl Into<String>) -> Self {
        Error::Credentials {
            format,
            reason: reason.into(),
        }
    }
}

/// The `Result` type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
