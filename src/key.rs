//! Opening keys by name: a file path (PEM, DER or JWK) or a `pkcs11:` URI.
//!
//! This is what the CLI's `--key` flag accepts, offered to library users too.

use std::path::PathBuf;
use std::str::FromStr;

use hsmjwt_core::{Algorithm, Jwk, Signer};

/// Why a key could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A software key could not be loaded or used.
    #[error(transparent)]
    Soft(#[from] hsmjwt_soft::Error),
    /// An HSM key could not be opened or used.
    #[cfg(feature = "pkcs11")]
    #[error(transparent)]
    Pkcs11(#[from] hsmjwt_pkcs11::Error),
    /// A `pkcs11:` URI was given but the crate was built without the `pkcs11` feature.
    #[error("`pkcs11:` key URIs need the `pkcs11` feature of the hsmjwt crate")]
    Pkcs11Disabled,
    /// A core check failed.
    #[error(transparent)]
    Core(#[from] hsmjwt_core::Error),
}

/// Where a key lives.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeySource {
    /// A file holding a PEM, DER or JWK key (or, for public keys, a certificate).
    File(PathBuf),
    /// A key in a PKCS#11 token, addressed by an RFC 7512 URI.
    #[cfg(feature = "pkcs11")]
    Pkcs11(Box<hsmjwt_pkcs11::Pkcs11Uri>),
}

impl FromStr for KeySource {
    type Err = KeyError;

    /// Parses a key name: anything starting with `pkcs11:` is a PKCS#11 URI, anything
    /// else a file path.
    fn from_str(s: &str) -> Result<Self, KeyError> {
        if s.starts_with("pkcs11:") {
            #[cfg(feature = "pkcs11")]
            return Ok(KeySource::Pkcs11(Box::new(s.parse()?)));
            #[cfg(not(feature = "pkcs11"))]
            return Err(KeyError::Pkcs11Disabled);
        }
        Ok(KeySource::File(PathBuf::from(s)))
    }
}

impl KeySource {
    /// Opens the private key as a signer for `alg` (the key's default algorithm when
    /// `None`: RS256 for RSA, ES256/ES384 by curve).
    ///
    /// # Errors
    /// Fails when the file cannot be read or parsed, when the algorithm does not fit the
    /// key, or when the token, the PIN or the key is wrong.
    pub fn open_signer(&self, alg: Option<Algorithm>) -> Result<Box<dyn Signer>, KeyError> {
        match self {
            KeySource::File(path) => {
                let key = hsmjwt_soft::PrivateKey::load(path)?;
                Ok(Box::new(hsmjwt_soft::SoftSigner::new(key, alg)?))
            }
            #[cfg(feature = "pkcs11")]
            KeySource::Pkcs11(uri) => {
                let options = hsmjwt_pkcs11::SignerOptions {
                    algorithm: alg,
                    ..Default::default()
                };
                Ok(Box::new(hsmjwt_pkcs11::Pkcs11Signer::open(uri, options)?))
            }
        }
    }

    /// The public key, as a JWK. A file may hold a private key, a public key, a certificate
    /// or a JWK; a public JWK file keeps its `kid`, `alg`, `use` and `key_ops` (so `alg` pins
    /// the verification algorithm), anything else gives a JWK without them. An HSM key is
    /// opened (which may need the PIN) and its JWK returned without `kid` and `alg`.
    ///
    /// # Errors
    /// As [`KeySource::open_signer`].
    pub fn public_key(&self) -> Result<Jwk, KeyError> {
        match self {
            KeySource::File(path) => {
                let key = hsmjwt_soft::PublicKey::load(path)?;
                // A public JWK's members other than the key material matter to verifiers.
                let public_jwk = std::fs::read(path)
                    .ok()
                    .filter(|b| b.trim_ascii_start().starts_with(b"{"))
                    .and_then(|b| Jwk::from_json(&b).ok());
                Ok(public_jwk.unwrap_or_else(|| key.jwk()))
            }
            #[cfg(feature = "pkcs11")]
            KeySource::Pkcs11(_) => {
                // The signer's JWK names the algorithm it was opened for; the key itself fits
                // several, so neither `alg` nor `kid` belongs to it.
                let mut jwk = self.open_signer(None)?.public_key().clone();
                jwk.kid = None;
                jwk.alg = None;
                Ok(jwk)
            }
        }
    }
}
