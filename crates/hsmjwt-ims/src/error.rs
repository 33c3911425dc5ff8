//! The one error type of `hsmjwt-ims`.

use hsmjwt_core::text::{Untrusted, UntrustedMessage};

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
/// message. What a message quotes from a credentials file or a certificate (a host, a
/// member's path or value) is shown escaped ([`Untrusted`], [`UntrustedMessage`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A URL or an HTTP client could not be set up (see [`hsmjwt_oauth::Error`]).
    #[error(transparent)]
    OAuth(#[from] hsmjwt_oauth::Error),
    /// An IMS host name that is not a bare host name.
    #[error("invalid ims host `{}`: {}", Untrusted(.host), UntrustedMessage(.reason))]
    InvalidHost {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A credentials document is malformed or lacks a member.
    #[error("invalid credentials ({format}): {}", UntrustedMessage(.reason))]
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
    #[error("cannot read {}", Untrusted(.path))]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: BoxedSource,
    },
    /// The credentials' private key is not usable.
    #[error("the credentials' privateKey is not usable")]
    PrivateKey(#[source] hsmjwt_soft::Error),
    /// A certificate could not be parsed, or its stated expiry is not a date.
    #[error("invalid certificate: {}", UntrustedMessage(.reason))]
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

#[cfg(test)]
mod tests {
    use super::*;

    const FORGED: &str = "a\nerror: forged\r\u{1b}]0;pwned\u{7}\u{202e}\0";

    /// What a message quotes from a credentials file is escaped.
    #[test]
    fn credential_values_are_escaped() {
        let s = || FORGED.to_owned();
        let file = serde_json::json!({"integration": {
            "imsEndpoint": FORGED,
            "metascopes": "m",
            "technicalAccount": {"clientId": "c", "clientSecret": "s"},
            "id": "T", "org": "O",
        }});
        let errors = [
            Error::InvalidHost {
                host: s(),
                reason: s(),
            },
            Error::credentials("AEM", s()),
            Error::Io {
                path: s(),
                source: Box::new(std::io::Error::other("x")),
            },
            Error::Certificate { reason: s() },
            crate::CredentialsFile::from_json(file.to_string().as_bytes()).unwrap_err(),
        ];
        for err in errors {
            let shown = err.to_string();
            // Nothing a terminal acts on is left to escape.
            assert_eq!(hsmjwt_core::text::clean(&shown, usize::MAX), shown);
            assert!(
                shown.contains(r"a\nerror: forged\r\u{1b}]0;pwned"),
                "{shown}"
            );
        }
    }
}
