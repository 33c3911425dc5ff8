//! JWS signatures by keys that never leave a PKCS#11 token (an HSM, a smart card, SoftHSM).
//!
//! Keys are named by RFC 7512 PKCS#11 URIs ([`Pkcs11Uri`]). A [`Pkcs11Signer`] implements
//! [`hsmjwt_core::Signer`] (and the RustCrypto [`signature::Signer`]) for RS256/384/512,
//! PS256/384/512, ES256/384/512 and EdDSA (Ed25519, `CKM_EDDSA`); [`generate_key_pair`]
//! makes keys inside the token, [`import_key`] brings a key made elsewhere into it,
//! [`delete_key`] removes a key with its public key and certificates, [`public_key`] reads a key's public half (without a PIN
//! from a public key or certificate object), [`store_certificate`] puts a key's
//! certificate beside it, and [`list`] shows what a module holds.
//!
//! One PKCS#11 context per module is shared by the whole process (see [`shared_context`]);
//! each signer keeps a pool of sessions so that threads sign in parallel.
//!
//! The library takes its policy from the caller: the module and the PIN come from the URI
//! or from the [`TokenAccess`] in the options (a [`PinSource`]: a value, a file, or a
//! callback that may prompt). It reads no environment variable and never prompts by itself.
//!
//! ```no_run
//! use hsmjwt_core::{encode, Algorithm, Claims, Header, NumericDate};
//! use hsmjwt_pkcs11::{Pkcs11Signer, Pkcs11Uri, SignerOptions};
//!
//! let uri: Pkcs11Uri = "pkcs11:token=jwt;object=ec-key;type=private\
//!     ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin".parse()?;
//! let signer = Pkcs11Signer::open(&uri, SignerOptions::default().with_kid("ec-1"))?;
//! let claims = Claims::new()
//!     .with_issuer("https://issuer.example")
//!     .with_expiry(NumericDate::from_unix(2_000_000_000));
//! let jwt = encode(&Header::jwt(Algorithm::ES256), &claims, &signer)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod access;
mod context;
mod delete;
mod error;
mod import;
mod key;
mod keygen;
mod list;
mod mechanisms;
mod objects;
mod pool;
mod public;
#[allow(unsafe_code)]
mod raw;
mod signer;
pub mod uri;

pub use access::{MAX_PIN_FILE, PinCallback, PinRequest, PinSource, TokenAccess};
pub use context::{finalize_all, shared_context};
pub use delete::{DeleteOptions, Deletion, KeyObject, KeyObjects, ObjectKind, delete_key};
pub use error::{BoxError, Error, Result};
pub use import::{ImportOptions, ImportedKey, import_key};
pub use keygen::{KeyPairOptions, RSA_BITS, generate_key_pair, generate_key_pair_with};
pub use list::{
    Inventory, KeyClass, KeyEntry, KeyProtection, LibraryInfo, NotLoggedIn, SlotEntry, TokenEntry,
    TokenFlags, list,
};
pub use objects::{CertificateEntry, StoreOptions, StoredCertificate, store_certificate};
pub use public::public_key;
pub use signer::{Pkcs11Signer, Signature, SignerOptions};
pub use uri::{ObjectType, Pkcs11Uri, is_pkcs11_uri};

/// The `cryptoki` crate this backend is built on, for [`shared_context`] users.
pub use cryptoki;

/// The README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
