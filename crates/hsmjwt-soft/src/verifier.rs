//! [`SoftVerifier`]: a public key behind the [`hsmjwt_core::Verifier`] trait.

use std::fmt;

use aws_lc_rs::signature::{
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384,
    RSA_PKCS1_2048_8192_SHA512, RSA_PSS_2048_8192_SHA256, RSA_PSS_2048_8192_SHA384,
    RSA_PSS_2048_8192_SHA512, RsaParameters,
};
use hsmjwt_core::{Algorithm, Jwk, Jwks};

use crate::error::{Error, Result};
use crate::public::{PublicKey, parse_for_verification};
use crate::signer::check_fits;

fn rsa_parameters(alg: Algorithm) -> &'static RsaParameters {
    match alg {
        Algorithm::RS384 => &RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &RSA_PSS_2048_8192_SHA512,
        // RS256, and the EC and EdDSA algorithms, for which this is not used.
        _ => &RSA_PKCS1_2048_8192_SHA256,
    }
}

/// Checks JWS signatures of one algorithm with a public key, through aws-lc-rs.
///
/// The key is parsed once, when the verifier is built. Any failed check is the opaque
/// [`hsmjwt_core::Error::InvalidSignature`].
#[derive(Clone)]
pub struct SoftVerifier {
    alg: Algorithm,
    kid: Option<String>,
    key: ParsedPublicKey,
    signature_len: Option<usize>,
}

impl fmt::Debug for SoftVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftVerifier")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SoftVerifier {
    /// A verifier for `alg` with `key`.
    ///
    /// # Errors
    /// [`Error::AlgorithmMismatch`] when `alg` does not fit the key; [`Error::KeyRejected`]
    /// if aws-lc-rs refuses the key.
    pub fn new(key: &PublicKey, alg: Algorithm) -> Result<Self> {
        let params = key.params();
        check_fits(alg, params.kind(), params.bits())?;
        let signature_len = alg.signature_len();
        Ok(SoftVerifier {
            alg,
            kid: None,
            key: parse_for_verification(params, rsa_parameters(alg))?,
            signature_len,
        })
    }

    /// Sets the key id, used to pick this key from a set by a token's `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// A verifier from a JWK. The algorithm is `alg` if given, else the JWK's `alg`, else the
    /// key's default (RS256 for RSA, ES256/ES384/ES512 by curve, EdDSA for Ed25519). The
    /// JWK's `kid` is kept.
    ///
    /// # Errors
    /// [`Error::NotForVerification`] when `use` is not `sig` or `key_ops` lacks `verify`;
    /// [`Error::JwkAlgorithmConflict`] when `alg` contradicts the JWK's `alg`;
    /// [`Error::Core`] when the JWK's `alg` is unsupported or does not fit its key; and any
    /// error of [`PublicKey::from_jwk`] and [`SoftVerifier::new`].
    pub fn from_jwk(jwk: &Jwk, alg: Option<Algorithm>) -> Result<Self> {
        if !jwk.is_for_verification() {
            let reason = match (&jwk.use_, &jwk.key_ops) {
                (Some(u), _) if u != "sig" => format!("`use` is `{u}`"),
                _ => "`key_ops` does not include `verify`".to_owned(),
            };
            return Err(Error::NotForVerification {
                kid: jwk.kid.clone(),
                reason,
            });
        }
        let pinned = jwk.algorithm()?;
        let alg = match (alg, pinned) {
            (Some(requested), Some(jwk_alg)) if requested != jwk_alg => {
                return Err(Error::JwkAlgorithmConflict {
                    requested,
                    jwk: jwk_alg,
                });
            }
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => Algorithm::default_for(jwk.params.kind()),
        };
        let verifier = SoftVerifier::new(&PublicKey::from_jwk(jwk)?, alg)?;
        Ok(match &jwk.kid {
            Some(kid) => verifier.with_kid(kid.clone()),
            None => verifier,
        })
    }
}

impl hsmjwt_core::Verifier for SoftVerifier {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }

    fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), hsmjwt_core::Error> {
        if self.signature_len.is_some_and(|len| len != signature.len()) {
            return Err(hsmjwt_core::Error::InvalidSignature);
        }
        self.key
            .verify_sig(message, signature)
            .map_err(|_| hsmjwt_core::Error::InvalidSignature)
    }
}

/// One verifier per usable key of a JWK Set, in document order.
///
/// A key is skipped when it is not for verification (`use`, `key_ops`), when its `alg` is
/// unsupported or contradicts `alg`, when it does not fit `alg`, or when its material is
/// refused. Each verifier's algorithm is `alg` if given, else the key's `alg`, else its
/// default (RS256 for an RSA key).
///
/// # Errors
/// [`Error::NoUsableKey`] when no key is usable.
pub fn verifiers_from_jwks(jwks: &Jwks, alg: Option<Algorithm>) -> Result<Vec<SoftVerifier>> {
    let verifiers: Vec<SoftVerifier> = jwks
        .keys
        .iter()
        .filter(|jwk| alg.is_none_or(|a| a.fits(jwk.params.kind())))
        .filter_map(|jwk| match SoftVerifier::from_jwk(jwk, alg) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::debug!(kid = jwk.kid.as_deref(), error = %e, "skipping JWK");
                None
            }
        })
        .collect();
    if verifiers.is_empty() {
        return Err(Error::NoUsableKey { alg });
    }
    Ok(verifiers)
}
