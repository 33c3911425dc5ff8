//! The one error type of `hsmjwt-emulator`.

use std::net::SocketAddr;

use hsmjwt_core::text::UntrustedMessage;

/// A cause from another library, kept as the `source` without naming its type here.
pub type BoxedSource = Box<dyn std::error::Error + Send + Sync>;

/// Why a test server could not be configured or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address is not a loopback address: the servers speak plain http.
    #[error(
        "refusing to listen on {addr}: the test servers serve plain http on loopback addresses only"
    )]
    NotLoopback {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's complaint.
        #[source]
        source: BoxedSource,
    },
    /// The server's runtime or thread could not start.
    #[error("cannot start the {what}")]
    Start {
        /// What could not start ("runtime", "server thread").
        what: &'static str,
        /// The operating system's complaint.
        #[source]
        source: BoxedSource,
    },
    /// A setting has a value the server's clients could not use (a token lifetime of 0 or
    /// beyond [`hsmjwt_oauth::MAX_EXPIRES_IN`], say).
    #[error("invalid `{setting}`: {reason}")]
    Setting {
        /// The setting, named as its `with_` method is (`v3_token_lifetime`, `leeway`, ...).
        setting: &'static str,
        /// What is wrong with the value.
        reason: String,
    },
    /// An integration or a client cannot be registered as given.
    #[error("invalid registration: {}", UntrustedMessage(.reason))]
    Registration {
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    pub(crate) fn registration(reason: impl Into<String>) -> Self {
        Error::Registration {
            reason: reason.into(),
        }
    }
}

/// The `Result` type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A registration error quotes the credentials file: escaped.
    #[test]
    fn registration_reasons_are_escaped() {
        let shown =
            Error::registration("integration `a\nerror: forged\u{1b}]0;x\u{7}`").to_string();
        assert_eq!(
            shown,
            r"invalid registration: integration `a\nerror: forged\u{1b}]0;x\u{7}`"
        );
    }
}
