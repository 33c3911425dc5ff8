//! hsmjwt: JSON Web Tokens signed by keys that never leave an HSM.
//!
//! This facade re-exports the member crates: [`core`] (JOSE types, the strict codec,
//! validation, JWK), [`soft`] (software keys on aws-lc-rs, feature `soft`). Library users
//! who want fewer dependencies can depend on the member crates directly.

#![forbid(unsafe_code)]

pub use hsmjwt_core as core;
pub use hsmjwt_core::{
    Algorithm, Audience, Claims, Error, Header, Jwk, Jwks, NumericDate, Signer, Token, Validation,
    Verifier, decode, decode_insecure, decode_with_keys, encode,
};

#[cfg(feature = "soft")]
pub use hsmjwt_soft as soft;
