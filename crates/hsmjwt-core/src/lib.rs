#![doc = include_str!("../README.md")]
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
pub mod private_key;
pub mod profile;
pub mod sign;
pub mod text;
pub mod time;
pub mod validation;

pub use alg::{Algorithm, Curve, HashAlg, KeyKind, OkpCurve};
pub use claims::{Audience, Claims};
pub use error::{BoxError, Error, Part, Result};
pub use header::Header;
pub use jwk::{Jwk, Jwks, PublicKeyParams};
pub use jws::{
    Inspection, Token, UnverifiedToken, decode, decode_insecure, decode_with_keys, encode,
    encode_payload, inspect,
};
pub use private_key::{PrivateKeyMaterial, SecretParts};
pub use sign::{KeyIdSigner, Recoveries, Signer, Verifier, with_key_id};
pub use time::{Clock, FixedClock, NumericDate, SystemClock};
pub use validation::Validation;
