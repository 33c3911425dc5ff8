//! The one error type of `hsmjwt-soft`.

use std::path::PathBuf;

use hsmjwt_core::text::{Untrusted, UntrustedMessage};
use hsmjwt_core::{Algorithm, BoxError};

/// Everything that can go wrong while loading, generating, writing or using a software key.
///
/// What a message quotes from a key or certificate file (PEM labels, JWK members,
/// certificate subjects) is shown escaped ([`Untrusted`], [`UntrustedMessage`]); the
/// variants keep it as it was.
///
/// Signing and verification failures reach callers through the [`hsmjwt_core::Signer`] and
/// [`hsmjwt_core::Verifier`] traits as [`hsmjwt_core::Error`]; a signing failure keeps this
/// error as its `source`, and a bad signature is always the opaque
/// [`hsmjwt_core::Error::InvalidSignature`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read, created, written or have its permissions set.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was attempted ("read", "create", "write", ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's complaint.
        #[source]
        source: std::io::Error,
    },
    /// A file, or another input, holds more than the limit for its kind (see
    /// [`crate::file`]); it was not read past the limit.
    #[error("{name} is larger than the {} limit for {what}", crate::file::human_size(*limit))]
    TooLarge {
        /// The file's path, or the input's name ("stdin").
        name: String,
        /// The limit, in bytes.
        limit: u64,
        /// What was being read, in the plural ("key files").
        what: &'static str,
    },
    /// A key file exists and overwriting it was not allowed.
    #[error("{} already exists; refusing to overwrite it", path.display())]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// A key was to overwrite something that is not a regular file: a directory, a device,
    /// a FIFO, or a symbolic link to one of those or to nothing.
    #[error("{} is {found}; refusing to write a key there (give a regular file)", path.display())]
    NotRegularFile {
        /// The path given.
        path: PathBuf,
        /// What it is or leads to ("a directory", "a symbolic link to nothing", ...).
        found: &'static str,
    },
    /// The content of a key or certificate file could not be used.
    #[error("cannot load {}", path.display())]
    Load {
        /// The file.
        path: PathBuf,
        /// Why its content was refused.
        #[source]
        source: Box<Error>,
    },
    /// The input is empty.
    #[error("input is empty")]
    Empty,
    /// PEM framing or its base64 is malformed.
    #[error("malformed PEM")]
    Pem(
        /// The PEM parser's complaint.
        #[source]
        BoxError,
    ),
    /// The PEM text has no block of the kind that was asked for.
    #[error("no {expected} in PEM (found {})", found_blocks(.found))]
    NoPemBlock {
        /// What was looked for.
        expected: &'static str,
        /// The labels of the blocks that were found.
        found: Vec<String>,
    },
    /// The private key is encrypted with a passphrase.
    #[error(
        "private key is encrypted; decrypt it first, for example with \
         `openssl pkcs8 -in encrypted.pem -out key.pem` (or `openssl pkey -in encrypted.pem \
         -out key.pem` for a traditional encrypted PEM), and protect the result"
    )]
    EncryptedKey,
    /// A public key or certificate was given where a private key is needed.
    #[error("{} is a public key, not a private key", UntrustedMessage(.0))]
    NotPrivate(String),
    /// The bytes are in none of the supported encodings.
    #[error("not {expected}")]
    UnrecognizedFormat {
        /// The formats that were tried.
        expected: &'static str,
    },
    /// A recognised DER structure is malformed.
    #[error("malformed {what}")]
    Der {
        /// What was being parsed or encoded.
        what: &'static str,
        /// The DER codec's complaint.
        #[source]
        source: BoxError,
    },
    /// An X.509 certificate is malformed.
    #[error("malformed X.509 certificate")]
    Certificate(
        /// The X.509 parser's complaint.
        #[source]
        BoxError,
    ),
    /// No certificate was found in the input.
    #[error("no certificate found")]
    NoCertificate,
    /// A key type or curve this crate does not support.
    #[error("unsupported key: {}", UntrustedMessage(.0))]
    UnsupportedKey(String),
    /// An RSA key under 2048 bits.
    #[error("RSA key of {bits} bits is too small (at least 2048)")]
    RsaKeyTooSmall {
        /// The modulus size.
        bits: usize,
    },
    /// An RSA key over 8192 bits.
    #[error("RSA key of {bits} bits is too large (at most 8192)")]
    RsaKeyTooLarge {
        /// The modulus size.
        bits: usize,
    },
    /// An RSA size that key generation does not offer.
    #[error("RSA key size of {0} bits is not supported (choose 2048, 3072 or 4096)")]
    UnsupportedRsaSize(usize),
    /// An RSA size was given for an algorithm that needs an EC or Ed25519 key.
    #[error("an RSA key size was given, but {0} does not use an RSA key")]
    RsaSizeForEc(Algorithm),
    /// aws-lc-rs refused the key material.
    #[error("{what} was rejected")]
    KeyRejected {
        /// What was being loaded.
        what: &'static str,
        /// aws-lc-rs's reason.
        #[source]
        source: BoxError,
    },
    /// A cryptographic operation failed.
    #[error("{what} failed")]
    Crypto {
        /// The operation.
        what: &'static str,
        /// aws-lc-rs's (deliberately unspecific) error.
        #[source]
        source: BoxError,
    },
    /// A JWK is malformed or unusable here.
    #[error("invalid JWK: {}", UntrustedMessage(.0))]
    InvalidJwk(String),
    /// The certificate's validity period has ended.
    #[error(
        "certificate `{}` expired on {not_after}; renew it and register the new one",
        Untrusted(.subject)
    )]
    CertificateExpired {
        /// The certificate's subject.
        subject: String,
        /// The end of its validity period.
        not_after: String,
    },
    /// The certificate's validity period has not begun.
    #[error("certificate `{}` is not valid before {not_before}", Untrusted(.subject))]
    CertificateNotYetValid {
        /// The certificate's subject.
        subject: String,
        /// The start of its validity period.
        not_before: String,
    },
    /// The certificate does not certify the key it is used with.
    #[error(
        "certificate `{}` does not belong to this key (their public keys differ)",
        Untrusted(.subject)
    )]
    CertificateKeyMismatch {
        /// The certificate's subject.
        subject: String,
    },
    /// A token names another certificate than the one it is checked with.
    #[error(
        "the token's `{member}` is {}, but certificate `{subject}` has {certificate}",
        hsmjwt_core::text::Untrusted(token)
    )]
    CertificateThumbprintMismatch {
        /// The header member: `x5t#S256` or `x5t`.
        member: &'static str,
        /// The token's value, as it came (not yet cleaned for printing).
        token: String,
        /// The certificate's thumbprint.
        certificate: String,
        /// The certificate's subject.
        subject: String,
    },
    /// A field of a certificate or request to be made is invalid.
    #[error("invalid {field} `{}`: {reason}", hsmjwt_core::text::Untrusted(value))]
    InvalidCertificateField {
        /// The field: "subject", "subject alternative name", "validity".
        field: &'static str,
        /// The value given (cleaned when printed).
        value: String,
        /// What is wrong, and how to write it.
        reason: String,
    },
    /// The algorithm has no X.509 signature form here.
    #[error("algorithm {0} cannot sign certificates here")]
    UnsupportedAlgorithm(Algorithm),
    /// The signer failed while signing a certificate or request.
    #[error("the key could not sign the certificate")]
    CertificateSigning(#[source] hsmjwt_core::Error),
    /// The signer's signature does not verify with its own public key.
    #[error(
        "the key's signature does not verify with its public key (do the key and its public half belong together?)"
    )]
    CertificateSelfCheck(#[source] hsmjwt_core::Error),
    /// An error from `hsmjwt-core` (for example a JWK it refused).
    #[error(transparent)]
    Core(#[from] hsmjwt_core::Error),
    /// The algorithm does not fit the key.
    #[error("algorithm {alg} does not fit {key}")]
    AlgorithmMismatch {
        /// The algorithm asked for.
        alg: Algorithm,
        /// The key, described ("an RSA key of 2048 bits", "a P-384 key").
        key: String,
    },
    /// An explicit algorithm contradicts the JWK's `alg`.
    #[error("algorithm {requested} was asked for, but the JWK is for {jwk}")]
    JwkAlgorithmConflict {
        /// The algorithm asked for.
        requested: Algorithm,
        /// The JWK's `alg`.
        jwk: Algorithm,
    },
    /// The JWK's `use` or `key_ops` exclude signature verification.
    #[error("JWK{} is not for signature verification ({})", kid.as_deref().map(|k| format!(" `{}`", Untrusted(k))).unwrap_or_default(), UntrustedMessage(.reason))]
    NotForVerification {
        /// The JWK's `kid`.
        kid: Option<String>,
        /// Which member excludes it.
        reason: String,
    },
    /// A JWK Set has no key usable for verification.
    #[error("JWK Set has no key usable for signature verification{}", alg.map(|a| format!(" with {a}")).unwrap_or_default())]
    NoUsableKey {
        /// The algorithm asked for, if any.
        alg: Option<Algorithm>,
    },
}

fn found_blocks(found: &[String]) -> String {
    if found.is_empty() {
        "no PEM blocks".to_owned()
    } else {
        found
            .iter()
            .map(|t| format!("`{}`", Untrusted(t)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Error {
    /// [`Error::Pem`] with the PEM parser's error as the source.
    pub(crate) fn pem(source: pem::PemError) -> Error {
        Error::Pem(Box::new(source))
    }

    /// [`Error::Certificate`] with the X.509 parser's error as the source.
    pub(crate) fn certificate(source: x509_parser::error::X509Error) -> Error {
        Error::Certificate(Box::new(source))
    }

    /// Makes [`Error::Der`] about `what` from the DER codec's error.
    pub(crate) fn der(what: &'static str) -> impl FnOnce(der::Error) -> Error {
        move |source| Error::Der {
            what,
            source: Box::new(source),
        }
    }

    /// Makes [`Error::KeyRejected`] about `what` from aws-lc-rs's reason.
    pub(crate) fn rejected(
        what: &'static str,
    ) -> impl FnOnce(aws_lc_rs::error::KeyRejected) -> Error {
        move |source| Error::KeyRejected {
            what,
            source: Box::new(source),
        }
    }

    /// Makes [`Error::Crypto`] about the operation `what` from aws-lc-rs's error.
    pub(crate) fn crypto(what: &'static str) -> impl Fn(aws_lc_rs::error::Unspecified) -> Error {
        move |source| Error::Crypto {
            what,
            source: Box::new(source),
        }
    }

    /// Wraps an error about a file's content with the file's path.
    pub(crate) fn in_file(self, path: &std::path::Path) -> Error {
        match self {
            e @ (Error::Io { .. }
            | Error::TooLarge { .. }
            | Error::Load { .. }
            | Error::AlreadyExists { .. }
            | Error::NotRegularFile { .. }) => e,
            other => Error::Load {
                path: path.to_owned(),
                source: Box::new(other),
            },
        }
    }
}

/// The `Result` type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    const FORGED: &str = "a\nerror: forged\r\u{1b}]0;pwned\u{7}\u{202e}\0";

    /// What a message quotes from a key or certificate file is escaped.
    #[test]
    fn file_values_are_escaped() {
        let s = || FORGED.to_owned();
        let jwk = serde_json::json!({"kty": FORGED, "d": "AQAB"}).to_string();
        let errors = [
            Error::NoPemBlock {
                expected: "private key",
                found: vec![s(), s()],
            },
            Error::NotPrivate(format!("PEM block `{FORGED}`")),
            Error::UnsupportedKey(s()),
            Error::InvalidJwk(s()),
            Error::CertificateExpired {
                subject: s(),
                not_after: "2020-01-01".into(),
            },
            Error::CertificateNotYetValid {
                subject: s(),
                not_before: "2020-01-01".into(),
            },
            Error::CertificateKeyMismatch { subject: s() },
            Error::NotForVerification {
                kid: Some(s()),
                reason: s(),
            },
            crate::PrivateKey::from_bytes(jwk.as_bytes()).unwrap_err(),
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
