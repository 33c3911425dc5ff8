//! hsmjwt: JSON Web Tokens signed by keys that never leave an HSM.
//!
//! This facade re-exports the member crates: [`core`] (JOSE types, the strict codec,
//! validation, JWK), [`soft`] (software keys on aws-lc-rs, feature `soft`) and [`pkcs11`]
//! (keys in a PKCS#11 token, feature `pkcs11`), `oauth` (the OAuth 2.0 client, feature
//! `oauth`, off by default) and `ims` (Adobe IMS, feature `ims`, off by default), and adds [`key::KeySource`], which opens a key named by a file path or
//! a `pkcs11:` URI. Library users who want fewer dependencies
//! can depend on the member crates directly.
//!
//! ```
//! use hsmjwt::soft::{KeySpec, PrivateKey, SoftSigner, SoftVerifier, PublicKey};
//! use hsmjwt::{Claims, Header, NumericDate, Validation, Algorithm};
//!
//! let key = PrivateKey::generate(KeySpec::P256)?;
//! let public = PublicKey::from_jwk(&key.public_jwk())?;
//! let signer = SoftSigner::new(key, None)?.with_thumbprint_kid();
//! let now = NumericDate::now();
//! let claims = Claims::new()
//!     .with_issuer("me")
//!     .with_lifetime(now, std::time::Duration::from_secs(300));
//! let token = hsmjwt::encode(&Header::jwt(Algorithm::ES256), &claims, &signer)?;
//!
//! let verifier = SoftVerifier::new(&public, Algorithm::ES256)?;
//! let verified = hsmjwt::decode(&token, &verifier, &Validation::new().with_issuer("me"))?;
//! assert_eq!(verified.claims.iss.as_deref(), Some("me"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

pub use hsmjwt_core as core;
pub use hsmjwt_core::{
    Algorithm, Audience, Claims, Error, Header, Jwk, Jwks, NumericDate, Recoveries, Signer, Token,
    Validation, Verifier, decode, decode_insecure, decode_with_keys, encode,
};

pub mod bench;
#[cfg(feature = "pkcs11")]
pub mod doctor;
#[cfg(feature = "soft")]
pub mod key;
#[cfg(feature = "ims")]
pub use hsmjwt_ims as ims;
#[cfg(feature = "oauth")]
pub use hsmjwt_oauth as oauth;
#[cfg(feature = "pkcs11")]
pub use hsmjwt_pkcs11 as pkcs11;
#[cfg(feature = "soft")]
pub use hsmjwt_soft as soft;

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
