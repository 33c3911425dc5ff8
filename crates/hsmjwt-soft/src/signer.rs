//! [`SoftSigner`]: a software private key behind the [`hsmjwt_core::Signer`] trait.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256, RSA_PSS_SHA384,
    RSA_PSS_SHA512, RsaEncoding,
};
use hsmjwt_core::{Algorithm, Jwk, KeyKind};

use crate::error::{Error, Result};
use crate::private::{KeyPair, PrivateKey};

/// Describes a key for error messages: "an RSA key of 2048 bits", "a P-256 key", "an
/// Ed25519 key".
pub(crate) fn describe_key(kind: KeyKind, bits: usize) -> String {
    match kind {
        KeyKind::Rsa => format!("an RSA key of {bits} bits"),
        KeyKind::Ec(curve) => format!("a {curve} key"),
        KeyKind::Okp(curve) => format!("an {curve} key"),
        other => format!("a {other:?} key"),
    }
}

/// Checks that `alg` can be used with a key of `kind`.
pub(crate) fn check_fits(alg: Algorithm, kind: KeyKind, bits: usize) -> Result<()> {
    if alg.fits(kind) {
        Ok(())
    } else {
        Err(Error::AlgorithmMismatch {
            alg,
            key: describe_key(kind, bits),
        })
    }
}

fn rsa_padding(alg: Algorithm) -> Option<&'static dyn RsaEncoding> {
    Some(match alg {
        Algorithm::RS256 => &RSA_PKCS1_SHA256,
        Algorithm::RS384 => &RSA_PKCS1_SHA384,
        Algorithm::RS512 => &RSA_PKCS1_SHA512,
        Algorithm::PS256 => &RSA_PSS_SHA256,
        Algorithm::PS384 => &RSA_PSS_SHA384,
        Algorithm::PS512 => &RSA_PSS_SHA512,
        _ => return None,
    })
}

/// Signs JWS with a [`PrivateKey`] held in memory, through aws-lc-rs.
///
/// RS* use RSASSA-PKCS1-v1_5, PS* RSASSA-PSS with MGF1 and a salt as long as the hash, ES*
/// ECDSA with raw `r || s` output, EdDSA Ed25519 (RFC 8032, deterministic) over the
/// message itself.
pub struct SoftSigner {
    key: PrivateKey,
    alg: Algorithm,
    kid: Option<String>,
    jwk: Jwk,
    rng: SystemRandom,
}

impl fmt::Debug for SoftSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftSigner")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl SoftSigner {
    /// A signer for `key` with `alg`, or the key's default algorithm (RS256 for RSA, ES256,
    /// ES384 or ES512 by curve, EdDSA for Ed25519) when `alg` is `None`.
    ///
    /// # Errors
    /// [`Error::AlgorithmMismatch`] when `alg` does not fit the key (RS*/PS* need RSA,
    /// ES256 needs P-256, ES384 P-384, ES512 P-521, EdDSA Ed25519).
    pub fn new(key: PrivateKey, alg: Option<Algorithm>) -> Result<Self> {
        let alg = alg.unwrap_or_else(|| Algorithm::default_for(key.kind()));
        check_fits(alg, key.kind(), key.bits())?;
        let jwk = key.public_jwk().with_alg(alg);
        Ok(SoftSigner {
            key,
            alg,
            kid: None,
            jwk,
            rng: SystemRandom::new(),
        })
    }

    /// Sets the key id put in the header's `kid` (and in [`hsmjwt_core::Signer::public_key`]).
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        let kid = kid.into();
        self.jwk.kid = Some(kid.clone());
        self.kid = Some(kid);
        self
    }

    /// Sets the key id to the RFC 7638 thumbprint of the public key.
    #[must_use]
    pub fn with_thumbprint_kid(self) -> Self {
        let kid = self.jwk.thumbprint();
        self.with_kid(kid)
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    fn sign_inner(&self, message: &[u8]) -> Result<Vec<u8>> {
        let crypto = Error::crypto("signing");
        match &self.key.pair {
            KeyPair::Rsa(pair) => {
                let padding = rsa_padding(self.alg).ok_or_else(|| Error::AlgorithmMismatch {
                    alg: self.alg,
                    key: describe_key(self.key.kind(), self.key.bits()),
                })?;
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &self.rng, message, &mut signature)
                    .map_err(crypto)?;
                Ok(signature)
            }
            KeyPair::Ec(pair) => Ok(pair
                .sign(&self.rng, message)
                .map_err(crypto)?
                .as_ref()
                .to_vec()),
            KeyPair::Ed25519(pair) => Ok(pair.try_sign(message).map_err(crypto)?.as_ref().to_vec()),
        }
    }
}

impl hsmjwt_core::Signer for SoftSigner {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }

    fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The public key with `alg` set, and `kid` when one was given.
    fn public_key(&self) -> &Jwk {
        &self.jwk
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, hsmjwt_core::Error> {
        self.sign_inner(message).map_err(hsmjwt_core::Error::sign)
    }
}
