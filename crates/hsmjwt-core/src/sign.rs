//! The two traits every key backend implements: [`Signer`] and [`Verifier`].
//!
//! They are object-safe, `Send + Sync` and synchronous: the PKCS#11 backend blocks on the
//! device, and async callers move signing onto a blocking thread. A backend is one
//! implementor; the software backend has no privilege the HSM backend lacks.

use std::sync::Arc;

use crate::alg::Algorithm;
use crate::error::Error;
use crate::jwk::Jwk;

/// A private key able to make JWS signatures with one algorithm.
pub trait Signer: Send + Sync {
    /// The algorithm this signer produces; it becomes the header's `alg`.
    fn algorithm(&self) -> Algorithm;

    /// The key id to put in the header's `kid`, if any.
    fn key_id(&self) -> Option<&str>;

    /// The public half of the key, as a JWK.
    fn public_key(&self) -> &Jwk;

    /// Signs `message` (the JWS signing input), hashing it as the algorithm requires.
    /// ECDSA signatures are raw `r || s`.
    ///
    /// # Errors
    /// [`Error::Sign`] when the backend fails; the backend's error is the `source`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;

    /// What the signer has done so far to keep signing when its device failed under it
    /// (see [`Recoveries`]); all zero for a signer with nothing to recover, the default.
    fn recoveries(&self) -> Recoveries {
        Recoveries::default()
    }
}

/// Counts, since a signer was opened, of the recoveries it made: for metrics and health
/// reports. A software key has none; a PKCS#11 signer counts its new sessions and its
/// module's new initializations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recoveries {
    /// Sessions lost (closed, logged out, a stale key handle) and replaced by a new one,
    /// logged in again, for the signature under way.
    pub sessions: u64,
    /// Times the device (the PKCS#11 module) was lost and initialized again.
    pub modules: u64,
}

impl Recoveries {
    /// Counts of `sessions` session recoveries and `modules` module recoveries.
    pub fn new(sessions: u64, modules: u64) -> Self {
        Recoveries { sessions, modules }
    }
}

/// A public key able to check JWS signatures of one algorithm.
pub trait Verifier: Send + Sync {
    /// The one algorithm this key accepts; tokens naming any other are rejected.
    fn algorithm(&self) -> Algorithm;

    /// The key id, used to pick a key from a set by the token's `kid`.
    fn key_id(&self) -> Option<&str>;

    /// Checks `signature` over `message`.
    ///
    /// # Errors
    /// [`Error::InvalidSignature`] when the signature does not verify (and for nothing
    /// else); [`Error::Verify`] when the check could not be made at all.
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error>;
}

macro_rules! forward {
    ($($ty:ty),*) => {$(
        impl<T: Signer + ?Sized> Signer for $ty {
            fn algorithm(&self) -> Algorithm { (**self).algorithm() }
            fn key_id(&self) -> Option<&str> { (**self).key_id() }
            fn public_key(&self) -> &Jwk { (**self).public_key() }
            fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> { (**self).sign(message) }
            fn recoveries(&self) -> Recoveries { (**self).recoveries() }
        }
        impl<T: Verifier + ?Sized> Verifier for $ty {
            fn algorithm(&self) -> Algorithm { (**self).algorithm() }
            fn key_id(&self) -> Option<&str> { (**self).key_id() }
            fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
                (**self).verify(message, signature)
            }
        }
    )*};
}

forward!(&T, Box<T>, Arc<T>);

/// A signer with its key id replaced, for any backend (see [`with_key_id`]).
#[derive(Debug)]
pub struct KeyIdSigner<S> {
    inner: S,
    kid: String,
    jwk: Jwk,
}

/// Wraps `signer` so that its key id, and the `kid` of its public JWK, is `kid`.
pub fn with_key_id<S: Signer>(signer: S, kid: impl Into<String>) -> KeyIdSigner<S> {
    let kid = kid.into();
    let jwk = signer.public_key().clone().with_kid(kid.clone());
    KeyIdSigner {
        inner: signer,
        kid,
        jwk,
    }
}

impl<S: Signer> KeyIdSigner<S> {
    /// The wrapped signer.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Signer> Signer for KeyIdSigner<S> {
    fn algorithm(&self) -> Algorithm {
        self.inner.algorithm()
    }

    fn key_id(&self) -> Option<&str> {
        Some(&self.kid)
    }

    fn public_key(&self) -> &Jwk {
        &self.jwk
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.inner.sign(message)
    }

    fn recoveries(&self) -> Recoveries {
        self.inner.recoveries()
    }
}
