//! The agent's errors.

use std::path::PathBuf;

/// What can go wrong when the agent starts, reloads or is asked for something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is wrong: the file (when there is one) and the table and field.
    #[error("{}{reason}", if file.as_os_str().is_empty() { String::new() } else { format!("{}: ", file.display()) })]
    Config {
        /// The configuration file, or empty for text given directly.
        file: PathBuf,
        /// What is wrong, naming the table and field.
        reason: String,
    },
    /// A key of `[keys]` does not open.
    #[error("keys.{name}: cannot be opened")]
    Key {
        /// The key's name.
        name: String,
        /// Why.
        #[source]
        source: hsmjwt::key::KeyError,
    },
    /// The threads a key signs on cannot be started.
    #[error("keys.{name}: its signing threads cannot be started")]
    Threads {
        /// The key's name.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A token source cannot be set up (a credentials file, a secret, an endpoint).
    #[error("tokens.{name}: {reason}")]
    TokenSetup {
        /// The token's name.
        name: String,
        /// What is wrong.
        reason: String,
        /// The cause, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The socket cannot be made or used.
    #[error("{}: {reason}", path.display())]
    Socket {
        /// The socket's path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
        /// The cause.
        #[source]
        source: Option<std::io::Error>,
    },
    /// A client request failed (the agent answered with an error).
    #[error("the agent answered {status}: {message}")]
    Agent {
        /// The HTTP status.
        status: u16,
        /// The agent's error message (cleaned).
        message: String,
    },
}

impl Error {
    pub(crate) fn config(file: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Config {
            file: file.into(),
            reason: reason.into(),
        }
    }
}
