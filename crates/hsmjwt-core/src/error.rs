//! The one error type of `hsmjwt-core`.
//!
//! Variants keep the values they are about as they were (a token's `kid`, an `alg` name,
//! a member name), for callers to match on; their `Display` shows every such string
//! through [`Untrusted`] (a value) or [`UntrustedMessage`] (a reason that quotes values),
//! so a forged token cannot put a newline or an escape sequence into a message.

use std::fmt;

use crate::alg::Algorithm;
use crate::text::{Untrusted, UntrustedMessage};
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
    /// The token has five parts: it is a JWE (RFC 7516), encrypted, not a JWS. Said by
    /// [`crate::jws::inspect`]; the strict decoder says [`Error::WrongPartCount`].
    #[error("this is a JWE (5 parts), not a JWS: it is encrypted and cannot be shown")]
    Jwe,
    /// A part is not canonical unpadded base64url.
    #[error("{part} is not canonical base64url without padding")]
    InvalidBase64 {
        /// The part at fault.
        part: Part,
        /// The decoder's complaint ([`b64::DecodeError`](crate::b64::DecodeError)).
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
    #[error("{what} has a duplicate member `{}`", Untrusted(.name))]
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
        "unsupported algorithm `{}` (supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)",
        Untrusted(.0)
    )]
    UnsupportedAlgorithm(String),
    /// A header member is missing or has the wrong type or value.
    #[error("header member `{}` {}", Untrusted(.name), UntrustedMessage(.reason))]
    InvalidHeader {
        /// The header member.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The header lists a critical extension this verifier does not understand.
    #[error("header lists critical extension `{}`, which is not understood", Untrusted(.0))]
    UnsupportedCritical(String),
    /// A claim has the wrong JSON type or an impossible value.
    #[error("claim `{}` {}", Untrusted(.name), UntrustedMessage(.reason))]
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
    #[error("no key matches the token (alg {alg}{})", kid.as_deref().map(|k| format!(", kid `{}`", Untrusted(k))).unwrap_or_default())]
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
    #[error("required claim `{}` is missing", Untrusted(.0))]
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
    #[error("issuer `{}` is not the expected one", Untrusted(.0))]
    InvalidIssuer(String),
    /// `sub` is not the expected subject.
    #[error("subject `{}` is not the expected one", Untrusted(.0))]
    InvalidSubject(String),
    /// None of the token's audiences is expected.
    #[error("audience {} does not include an expected audience", UntrustedList(.0))]
    InvalidAudience(Vec<String>),
    /// The token has an audience but the validation expects none.
    #[error(
        "token has an audience {} but no expected audience was configured",
        UntrustedList(.0)
    )]
    UnexpectedAudience(Vec<String>),
    /// The `typ` header is not the expected one.
    #[error(
        "token type `{}` is not the expected `{}`",
        Untrusted(.found),
        Untrusted(.expected)
    )]
    InvalidType {
        /// The expected type.
        expected: String,
        /// The type found (empty when absent).
        found: String,
    },
    /// A JWK or JWKS is malformed or unsupported.
    #[error("invalid JWK: {}", UntrustedMessage(.0))]
    InvalidJwk(String),
    /// A token or profile was asked to be built with a missing or out-of-range field.
    #[error("cannot build token: {}", UntrustedMessage(.0))]
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
    pub(crate) fn base64(part: Part) -> impl FnOnce(crate::b64::DecodeError) -> Self {
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

/// The most entries of a list of untrusted values that a message shows.
const MAX_LISTED: usize = 10;

/// Shows a list of untrusted values as `["a", "b"]`, each through [`Untrusted`], at most
/// [`MAX_LISTED`] of them (then `…`).
struct UntrustedList<'a>(&'a [String]);

impl fmt::Display for UntrustedList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        list.entries(self.0.iter().take(MAX_LISTED).map(|s| Untrusted(s)));
        if self.0.len() > MAX_LISTED {
            list.entry(&format_args!("…"));
        }
        list.finish()
    }
}

/// The `Result` type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string a variant holds is shown escaped: a forged value cannot add a line or
    /// an escape sequence to the message, and a long one is cut.
    #[test]
    fn untrusted_strings_are_escaped_in_messages() {
        let forged = "x\nerror: forged\r\u{1b}]0;title\u{7}\u{202e}";
        let s = || forged.to_owned();
        let errors = [
            Error::DuplicateMember {
                what: "header",
                name: s(),
            },
            Error::UnsupportedAlgorithm(s()),
            Error::InvalidHeader {
                name: s(),
                reason: format!("lists `{forged}`"),
            },
            Error::UnsupportedCritical(s()),
            Error::InvalidClaim {
                name: s(),
                reason: s(),
            },
            Error::NoMatchingKey {
                alg: Algorithm::RS256,
                kid: Some(s()),
            },
            Error::MissingClaim(s()),
            Error::InvalidIssuer(s()),
            Error::InvalidSubject(s()),
            Error::InvalidAudience(vec![s(), s()]),
            Error::UnexpectedAudience(vec![s()]),
            Error::InvalidType {
                expected: s(),
                found: s(),
            },
            Error::InvalidJwk(format!("unsupported key type `{forged}`")),
            Error::Build(s()),
        ];
        for err in errors {
            let shown = err.to_string();
            assert!(
                !shown.contains(['\n', '\r', '\u{1b}', '\u{7}', '\u{202e}']),
                "{shown:?}"
            );
            assert!(
                shown.contains(r"x\nerror: forged\r\u{1b}]0;title"),
                "{shown}"
            );
        }
        assert_eq!(
            Error::InvalidAudience(vec!["a".into(), "b\n".into()]).to_string(),
            r#"audience ["a", "b\n"] does not include an expected audience"#
        );
        let many: Vec<String> = (0..12).map(|i| i.to_string()).collect();
        assert_eq!(
            Error::UnexpectedAudience(many).to_string(),
            r#"token has an audience ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", …] but no expected audience was configured"#
        );
        let long = Error::UnsupportedCritical("k".repeat(5000)).to_string();
        assert!(long.len() < 300, "{}", long.len());
    }
}
