//! Software keys for hsmjwt: RSA and ECDSA private and public keys held in process memory,
//! with every private-key operation in [aws-lc-rs](https://crates.io/crates/aws-lc-rs)
//! (constant-time).
//!
//! - [`PrivateKey`] loads PKCS#8, PKCS#1 and SEC1 keys (PEM or DER) and private JWKs,
//!   generates keys ([`KeySpec`]) and writes them as PKCS#8 PEM with mode 0600.
//! - [`PublicKey`] loads SubjectPublicKeyInfo, PKCS#1, X.509 certificates and JWKs, and
//!   exports SubjectPublicKeyInfo as `openssl pkey -pubout` does.
//! - [`SoftSigner`] and [`SoftVerifier`] implement [`hsmjwt_core::Signer`] and
//!   [`hsmjwt_core::Verifier`] for all of RS256/384/512, PS256/384/512, ES256 and ES384.
//!
//! RSA keys under 2048 bits are refused everywhere. ECDSA signatures are raw `r || s`.
//!
//! ```
//! use hsmjwt_core::{Claims, Header, NumericDate, Validation, decode, encode};
//! use hsmjwt_soft::{KeySpec, PrivateKey, SoftSigner, SoftVerifier};
//!
//! let key = PrivateKey::generate(KeySpec::P256)?;
//! let verifier = SoftVerifier::new(key.public_key(), hsmjwt_core::Algorithm::ES256)?;
//! let signer = SoftSigner::new(key, None)?.with_thumbprint_kid();
//!
//! let now = NumericDate::from_unix(1_700_000_000);
//! let claims = Claims::new()
//!     .with_issuer("https://issuer.example")
//!     .with_audience("https://api.example")
//!     .with_expiry(NumericDate::from_unix(1_700_000_300));
//! let token = encode(&Header::jwt(hsmjwt_core::Algorithm::ES256), &claims, &signer)?;
//!
//! let validation = Validation::new().with_audience("https://api.example").at(now);
//! let decoded = decode(&token, &verifier, &validation)?;
//! assert_eq!(decoded.claims.iss.as_deref(), Some("https://issuer.example"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod asn1;
mod cert;
mod error;
mod private;
mod public;
mod signer;
mod verifier;

pub use cert::{Certificate, EXPIRY_WARNING_DAYS, Validity, set_certificate_headers};
pub use error::{Error, Result};
pub use private::{KeySpec, PrivateKey};
pub use public::{PublicKey, load_certificate_chain};
pub use signer::SoftSigner;
pub use verifier::{SoftVerifier, verifiers_from_jwks};
