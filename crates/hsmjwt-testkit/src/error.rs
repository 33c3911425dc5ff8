//! The crate's one error type.

use std::path::PathBuf;
use std::process::ExitStatus;

/// A cause from another crate or from a caller's closure, kept as a `source`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can fail in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// SoftHSM2 (its module or `softhsm2-util`) or OpenSC (`pkcs11-tool`) is missing.
    #[error(
        "SoftHSM2 is not installed (missing: {}); install it with `apt-get install -y softhsm2 opensc` or `cargo xtask softhsm`",
        .missing.join(", ")
    )]
    NotInstalled {
        /// The module path or the tools that are missing.
        missing: Vec<String>,
    },

    /// A PKCS#11 module of [`modules`](crate::modules) or the tools its set-up runs are
    /// missing.
    #[error("{module} is not set up (missing: {}); {hint}", .missing.join(", "))]
    ModuleNotInstalled {
        /// The module's kind (`kryoptic`, `tpm2`, ...).
        module: &'static str,
        /// The module path, the variable that should name it, or the tools that are missing.
        missing: Vec<String>,
        /// How to install it.
        hint: String,
    },

    /// An option of the fixture is out of range (a token label, a PIN).
    #[error("{0}")]
    InvalidOption(String),

    /// A folder or file of the fixture cannot be made, written, read or removed.
    #[error("cannot {action} {}", .path.display())]
    Io {
        /// What was being done: `create`, `write`, `remove`, ...
        action: &'static str,
        /// The folder or file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// A program (`softhsm2-util`, `pkcs11-tool`, this executable again) cannot be started.
    #[error("cannot start `{program}`")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// A program ran and failed. PINs are not part of `command`.
    #[error("`{command}` failed ({status}): {stderr}")]
    Tool {
        /// The command, PINs left out.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on stderr, trimmed.
        stderr: String,
    },

    /// A server of a fixture (`p11-kit server`, swtpm) exited or did not get ready.
    #[error("`{command}` did not start: {reason}")]
    Server {
        /// The command.
        command: String,
        /// What went wrong: it exited (with which status and output), or was not ready in
        /// time.
        reason: String,
    },

    /// A token is not among the fixture's tokens, or SoftHSM does not list it after
    /// initializing it.
    #[error("no token labelled `{0}` in the fixture")]
    NoSuchToken(String),

    /// An operation that needs the fixture's environment in this process (`SOFTHSM2_CONF`,
    /// which the module reads at `C_Initialize`) was called in a process without it.
    #[error(
        "this process does not have the fixture's SOFTHSM2_CONF{}: the module would not see its tokens; load it in a child run by `SoftHsm::rerun`",
        .conf.as_ref().map(|c| format!(" ({})", c.display())).unwrap_or_default()
    )]
    WrongEnvironment {
        /// The fixture's configuration file, when known.
        conf: Option<PathBuf>,
    },

    /// The caller's key generation failed.
    #[error("cannot generate key `{label}` on token `{token}`")]
    KeyGeneration {
        /// The token.
        token: String,
        /// The key's label.
        label: String,
        /// What the caller's closure returned.
        #[source]
        source: BoxError,
    },

    /// A PKCS#11 module cannot be loaded, or one of its functions failed.
    #[error("{message}")]
    Pkcs11 {
        /// What failed, with the module's path and the return value's name.
        message: String,
        /// The loader's error, when loading failed.
        #[source]
        source: Option<BoxError>,
    },

    /// A key is not in the expected form (PEM label, PKCS#8, SubjectPublicKeyInfo).
    #[error("{message}")]
    Key {
        /// What was expected.
        message: String,
        /// The parser's error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// An [`Error::Io`].
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// An [`Error::Key`] with a parser's error as its source.
    pub(crate) fn key(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Key {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}
