//! The one error type of `hsmjwt-core`.

use crate::alg::Algorithm;
use crate::time::NumericDate;

/// A boxed error from a signing or verification backend, kept as the `source`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Which part of a compact JWS an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// The protected header (first part).
    Header,
    /// The payload, holding the claims (second part).
    Payload,
    /// The signature (third part).
    Signature,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        })
    }
}

/// Everything that can go wrong while building, signing, parsing or validating a token.
///
/// Every rejection names what was wrong, except a failed signature check, which is one
/// opaque [`Error::InvalidSignature`] on purpose.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token is longer than the configured limit.
    #[error("token is {size} bytes, more than the limit of {limit} bytes")]
    TokenTooLarge {
        /// Size of the token in bytes.
        size: usize,
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The token is not three dot-separated parts.
    #[error("token is not a compact JWS: expected 3 dot-separated parts, found {parts}")]
    WrongPartCount {
        /// How many parts the token had.
        parts: usize,
    },
    /// A part is not canonical unpadded base64url.
    #[error("{part} is not canonical base64url without padding")]
    InvalidBase64 {
        /// The part at fault.
        part: Part,
        /// The decoder's complaint (the `base64` crate's error).
        #[source]
        source: BoxError,
    },
    /// A part (or a JWK/JWKS document) is not valid JSON.
    #[error("{what} is not valid JSON")]
    InvalidJson {
        /// What was being parsed ("header", "payload", "JWK", ...).
        what: &'static str,
        /// The parser's complaint.
        #[source]
        source: BoxError,
    },
    /// A JSON object names the same member twice.
    #[error("{what} has a duplicate member `{name}`")]
    DuplicateMember {
        /// What was being parsed.
        what: &'static str,
        /// The repeated name.
        name: String,
    },
    /// The header or payload is JSON but not a JSON object.
    #[error("{what} is not a JSON object")]
    NotAnObject {
        /// What was being parsed.
        what: &'static str,
    },
    /// An algorithm name that this library does not support (including `none` and HMAC).
    #[error(
        "unsupported algorithm `{0}` (supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)"
    )]
    UnsupportedAlgorithm(String),
    /// A header member is missing or has the wrong type or value.
    #[error("header member `{name}` {reason}")]
    InvalidHeader {
        /// The header member.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The header lists a critical extension this verifier does not understand.
    #[error("header lists critical extension `{0}`, which is not understood")]
    UnsupportedCritical(String),
    /// A claim has the wrong JSON type or an impossible value.
    #[error("claim `{name}` {reason}")]
    InvalidClaim {
        /// The claim.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The token's `alg` is not the algorithm the verifying key is for.
    #[error("token is signed with {found}, but the key is for {expected}")]
    AlgorithmMismatch {
        /// The algorithm of the key.
        expected: Algorithm,
        /// The algorithm named by the token.
        found: Algorithm,
    },
    /// No verifying key matches the token's `kid` and `alg`.
    #[error("no key matches the token (alg {alg}{})", kid.as_deref().map(|k| format!(", kid `{k}`")).unwrap_or_default())]
    NoMatchingKey {
        /// The token's algorithm.
        alg: Algorithm,
        /// The token's key id, if any.
        kid: Option<String>,
    },
    /// The signature does not verify. Deliberately says nothing more.
    #[error("signature invalid")]
    InvalidSignature,
    /// A required claim is absent.
    #[error("required claim `{0}` is missing")]
    MissingClaim(String),
    /// The token has expired (`exp` plus leeway is in the past).
    #[error("token expired at {exp} (now {now})")]
    Expired {
        /// The token's `exp`.
        exp: NumericDate,
        /// The validation clock's time.
        now: NumericDate,
    },
    /// The token is not valid yet (`nbf` minus leeway is in the future).
    #[error("token is not valid before {nbf} (now {now})")]
    NotYetValid {
        /// The token's `nbf`.
        nbf: NumericDate,
        /// The validation clock's time.
        now: NumericDate,
    },
    /// The token claims to be issued in the future (`iat` minus leeway is after now).
    #[error("token is issued in the future at {iat} (now {now})")]
    IssuedInFuture {
        /// The token's `iat`.
        iat: NumericDate,
        /// The validation clock's time.
        now: NumericDate,
    },
    /// The token lives longer than the configured maximum lifetime.
    #[error("token lifetime of {lifetime} s exceeds the maximum of {max} s")]
    LifetimeTooLong {
        /// The token's lifetime in seconds.
        lifetime: i64,
        /// The maximum in seconds.
        max: u64,
    },
    /// `iss` is not one of the expected issuers.
    #[error("issuer `{0}` is not the expected one")]
    InvalidIssuer(String),
    /// `sub` is not the expected subject.
    #[error("subject `{0}` is not the expected one")]
    InvalidSubject(String),
    /// None of the token's audiences is expected.
    #[error("audience {0:?} does not include an expected audience")]
    InvalidAudience(Vec<String>),
    /// The token has an audience but the validation expects none.
    #[error("token has an audience {0:?} but no expected audience was configured")]
    UnexpectedAudience(Vec<String>),
    /// The `typ` header is not the expected one.
    #[error("token type `{found}` is not the expected `{expected}`")]
    InvalidType {
        /// The expected type.
        expected: String,
        /// The type found (empty when absent).
        found: String,
    },
    /// A JWK or JWKS is malformed or unsupported.
    #[error("invalid JWK: {0}")]
    InvalidJwk(String),
    /// A token or profile was asked to be built with a missing or out-of-range field.
    #[error("cannot build token: {0}")]
    Build(String),
    /// The signer failed. The backend's error is kept as the source.
    #[error("signing failed")]
    Sign {
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// The verifier failed for a reason other than a bad signature (for example a
    /// malformed key). The backend's error is kept as the source.
    #[error("verification could not be performed")]
    Verify {
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// Serialising the header or claims failed.
    #[error("cannot serialise {what}")]
    Serialize {
        /// What was being serialised.
        what: &'static str,
        /// The serialiser's complaint (`serde_json`'s error).
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// Wraps a backend error as a signing failure.
    pub fn sign(source: impl Into<BoxError>) -> Self {
        Error::Sign {
            source: source.into(),
        }
    }

    /// Wraps a backend error as a verification failure (not a bad signature).
    pub fn verify(source: impl Into<BoxError>) -> Self {
        Error::Verify {
            source: source.into(),
        }
    }

    /// Makes [`Error::InvalidBase64`] about `part` from the decoder's error.
    pub(crate) fn base64(part: Part) -> impl FnOnce(base64::DecodeError) -> Self {
        move |source| Error::InvalidBase64 {
            part,
            source: Box::new(source),
        }
    }

    /// Makes [`Error::Serialize`] about `what` from the serialiser's error.
    pub(crate) fn serialize(what: &'static str) -> impl FnOnce(serde_json::Error) -> Self {
        move |source| Error::Serialize {
            what,
            source: Box::new(source),
        }
    }
}

/// The `Result` type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
