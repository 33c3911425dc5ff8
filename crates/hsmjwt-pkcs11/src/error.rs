//! The one error type of `hsmjwt-pkcs11`.

use std::path::PathBuf;

use hsmjwt_core::Algorithm;

/// A PKCS#11 library error, kept as the `source` of [`Error`] variants.
pub type CryptokiError = cryptoki::error::Error;

/// Everything that can go wrong while addressing, opening, listing or using a key in a
/// PKCS#11 token.
///
/// The PKCS#11 library's own error is kept as the `source`; messages never contain a PIN.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A PKCS#11 URI (RFC 7512) is malformed or names an unsupported attribute.
    #[error("invalid PKCS#11 URI: {}", attribute.as_deref().map(|a| format!("attribute `{a}` {reason}")).unwrap_or_else(|| reason.clone()))]
    InvalidUri {
        /// The attribute at fault, when the fault is in one attribute.
        attribute: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// No module path was given in the URI, as an argument or in `PKCS11_MODULE`.
    #[error(
        "no PKCS#11 module given: add `module-path=/path/to/module.so` to the URI's query or set PKCS11_MODULE"
    )]
    NoModule,
    /// The module file does not exist or cannot be resolved.
    #[error("PKCS#11 module `{}` cannot be found", path.display())]
    ModuleNotFound {
        /// The path as given.
        path: PathBuf,
        /// The file system's complaint.
        #[source]
        source: std::io::Error,
    },
    /// The module could not be loaded or initialized (`C_Initialize`).
    #[error("cannot load PKCS#11 module `{}` (for SoftHSM, check that SOFTHSM2_CONF names a readable configuration)", path.display())]
    ModuleLoad {
        /// The module path.
        path: PathBuf,
        /// The library's error.
        #[source]
        source: CryptokiError,
    },
    /// No token matches the URI.
    #[error("no token matches {searched}; run `hsmjwt hsm list` to see the tokens")]
    TokenNotFound {
        /// What was searched for, for example ``token `jwt` ``.
        searched: String,
    },
    /// More than one token matches the URI.
    #[error(
        "{count} tokens match {searched} ({labels}); add `token=`, `serial=` or `slot-id=` to the URI"
    )]
    AmbiguousToken {
        /// What was searched for.
        searched: String,
        /// How many tokens match.
        count: usize,
        /// Their labels, comma-separated.
        labels: String,
    },
    /// The token needs a login and no PIN source is available.
    #[error(
        "no PIN for token `{token}`: add `pin-source=file:/path` (or `pin-value=`) to the URI, set HSMJWT_PIN, or run in a terminal to be prompted"
    )]
    NoPin {
        /// The token label.
        token: String,
    },
    /// The PIN file named by `pin-source` cannot be read.
    #[error("cannot read the PIN from `{}`", path.display())]
    PinSource {
        /// The PIN file.
        path: PathBuf,
        /// The file system's complaint.
        #[source]
        source: std::io::Error,
    },
    /// The interactive PIN prompt failed.
    #[error("cannot read the PIN from the terminal")]
    PinPrompt(#[source] std::io::Error),
    /// The token rejected the PIN (`CKR_PIN_INCORRECT`). It is never retried automatically.
    #[error(
        "wrong PIN for token `{token}` (not retried: tokens lock the user after a few failures)"
    )]
    PinIncorrect {
        /// The token label.
        token: String,
        /// The library's error.
        #[source]
        source: CryptokiError,
    },
    /// The user PIN of the token is locked (`CKR_PIN_LOCKED` or the token's flag).
    #[error("the user PIN of token `{token}` is locked; the security officer must unlock it")]
    PinLocked {
        /// The token label.
        token: String,
        /// The library's error, when the lock was reported by `C_Login`.
        #[source]
        source: Option<CryptokiError>,
    },
    /// The PIN was rejected by an earlier login of this signer, so it is not tried again.
    #[error("the PIN for token `{token}` was rejected earlier; not trying it again")]
    PinRejectedEarlier {
        /// The token label.
        token: String,
    },
    /// Logging in failed for another reason.
    #[error("cannot log in to token `{token}`")]
    Login {
        /// The token label.
        token: String,
        /// The library's error.
        #[source]
        source: CryptokiError,
    },
    /// No key matches the URI on the token.
    #[error(
        "no {what} matches {searched} on token `{token}`; run `hsmjwt hsm list` to see the keys"
    )]
    KeyNotFound {
        /// The kind of object searched for ("private key", "public key").
        what: &'static str,
        /// The token label.
        token: String,
        /// What was searched for, for example ``label `jwt-rsa`, id 01``.
        searched: String,
    },
    /// More than one key matches the URI.
    #[error(
        "{count} private keys match {searched} on token `{token}`; add `object=` or `id=` to the URI"
    )]
    AmbiguousKey {
        /// The token label.
        token: String,
        /// What was searched for.
        searched: String,
        /// How many keys match.
        count: usize,
    },
    /// A key with the requested label or id already exists (key generation).
    #[error("a key with {searched} already exists on token `{token}`")]
    KeyExists {
        /// The token label.
        token: String,
        /// The label and id that collide.
        searched: String,
    },
    /// The key cannot be used: unsupported type or curve, too small, or unreadable public part.
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    /// The key's public part does not make a valid JWK (for example RSA under 2048 bits).
    #[error("the key's public part is not usable")]
    PublicKey(#[source] hsmjwt_core::Error),
    /// The requested algorithm does not fit the key.
    #[error("algorithm {algorithm} does not fit {key}")]
    AlgorithmMismatch {
        /// The requested algorithm.
        algorithm: Algorithm,
        /// The key, for example "an EC P-384 key".
        key: String,
    },
    /// A request that cannot be carried out as asked (for example a bad RSA size).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The token returned a signature of the wrong length.
    #[error("the token returned a {found}-byte signature where {expected} bytes were expected")]
    SignatureLength {
        /// The expected length.
        expected: usize,
        /// The length returned.
        found: usize,
    },
    /// A PKCS#11 call failed.
    #[error("PKCS#11 {operation} failed{}", on_token(token))]
    Pkcs11 {
        /// What was being done, for example "C_Sign".
        operation: &'static str,
        /// The token label (empty when not known yet).
        token: String,
        /// The library's error.
        #[source]
        source: CryptokiError,
    },
}

impl Error {
    pub(crate) fn uri(attribute: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidUri {
            attribute: Some(attribute.into()),
            reason: reason.into(),
        }
    }

    pub(crate) fn pkcs11(operation: &'static str, token: &str, source: CryptokiError) -> Self {
        Error::Pkcs11 {
            operation,
            token: token.to_owned(),
            source,
        }
    }
}

/// " on token `LABEL`", or nothing while the token is not known yet.
fn on_token(token: &str) -> String {
    if token.is_empty() {
        String::new()
    } else {
        format!(" on token `{token}`")
    }
}

/// The `Result` type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
