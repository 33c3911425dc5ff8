//! Core JOSE types for hsmjwt: algorithms, headers, claims, a strict JWS compact codec,
//! validation, and JWK/JWKS with RFC 7638 thumbprints.
//!
//! This crate does no I/O and knows no crypto backend: keys come in through the
//! [`Signer`] and [`Verifier`] traits, implemented by `hsmjwt-soft` (software keys on
//! aws-lc-rs) and `hsmjwt-pkcs11` (keys in an HSM).
//!
//! ```
//! use hsmjwt_core::{decode_insecure, Claims, NumericDate};
//!
//! let claims = Claims::new()
//!     .with_issuer("https://issuer.example")
//!     .with_expiry(NumericDate::from_unix(2_000_000_000));
//! assert_eq!(claims.to_json()?, br#"{"iss":"https://issuer.example","exp":2000000000}"#);
//!
//! // A token from RFC 7515 appendix A.2, inspected without verification.
//! let token = decode_insecure("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.AA")?;
//! assert_eq!(token.claims.iss.as_deref(), Some("joe"));
//! # Ok::<(), hsmjwt_core::Error>(())
//! ```

#![forbid(unsafe_code)]

pub mod alg;
pub mod b64;
pub mod claims;
mod error;
pub mod header;
pub mod json;
pub mod jwk;
pub mod jws;
mod member;
pub mod profile;
pub mod sign;
pub mod time;
pub mod validation;

pub use alg::{Algorithm, Curve, HashAlg, KeyKind};
pub use claims::{Audience, Claims};
pub use error::{BoxError, Error, Part, Result};
pub use header::Header;
pub use jwk::{Jwk, Jwks, PublicKeyParams};
pub use jws::{
    Token, UnverifiedToken, decode, decode_insecure, decode_with_keys, encode, encode_payload,
};
pub use sign::{KeyIdSigner, Signer, Verifier, with_key_id};
pub use time::{Clock, FixedClock, NumericDate, SystemClock};
pub use validation::Validation;
