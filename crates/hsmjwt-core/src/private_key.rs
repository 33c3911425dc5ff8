//! Private key material in a neutral form, for moving a key from one backend to another (a
//! software key imported into a PKCS#11 token).
//!
//! Every secret part lives in a buffer that is wiped when dropped, and `Debug` prints only
//! the kind and size of the key.

use zeroize::Zeroizing;

use crate::alg::KeyKind;
use crate::error::Error;
use crate::jwk::PublicKeyParams;

/// The secret parts of a private key, big-endian, without leading zero bytes unless stated.
#[non_exhaustive]
pub enum SecretParts {
    /// An RSA private key in its CRT form (RFC 8017 `RSAPrivateKey`).
    Rsa {
        /// Private exponent `d`.
        d: Zeroizing<Vec<u8>>,
        /// First prime `p`.
        p: Zeroizing<Vec<u8>>,
        /// Second prime `q`.
        q: Zeroizing<Vec<u8>>,
        /// `d mod (p - 1)`.
        dp: Zeroizing<Vec<u8>>,
        /// `d mod (q - 1)`.
        dq: Zeroizing<Vec<u8>>,
        /// `q^-1 mod p`.
        qi: Zeroizing<Vec<u8>>,
    },
    /// An EC private scalar, exactly the curve's coordinate length (leading zeros kept).
    Ec {
        /// The scalar `d`.
        d: Zeroizing<Vec<u8>>,
    },
    /// An octet key pair's private key (RFC 8037 `d`: the 32-byte Ed25519 seed).
    Okp {
        /// The private key `d`.
        d: Zeroizing<Vec<u8>>,
    },
}

/// A private key: its secret parts and its public half, checked to be of one kind.
///
/// Made by a backend that holds the key in memory (`hsmjwt_soft::PrivateKey::material`) and
/// consumed by one that stores it (`hsmjwt_pkcs11::import_key`). The pairing of the secret
/// and public parts is not proven here: the importer proves it by signing.
pub struct PrivateKeyMaterial {
    public: PublicKeyParams,
    secret: SecretParts,
}

impl PrivateKeyMaterial {
    /// Pairs secret parts with a public key of the same kind.
    ///
    /// # Errors
    /// [`Error::InvalidJwk`] when the kinds differ (RSA parts with an EC public key), when an
    /// EC scalar or OKP key is not exactly the curve's length, or when an RSA part is empty.
    pub fn new(public: PublicKeyParams, secret: SecretParts) -> Result<Self, Error> {
        let bad = |what: String| Err(Error::InvalidJwk(what));
        match (&public, &secret) {
            (
                PublicKeyParams::Rsa { .. },
                SecretParts::Rsa {
                    d,
                    p,
                    q,
                    dp,
                    dq,
                    qi,
                },
            ) => {
                if [d, p, q, dp, dq, qi].iter().any(|part| part.is_empty()) {
                    return bad("an RSA private key part is empty".to_owned());
                }
            }
            (PublicKeyParams::Ec { crv, .. }, SecretParts::Ec { d }) => {
                if d.len() != crv.coordinate_len() {
                    return bad(format!(
                        "a {crv} private scalar must be {} bytes, not {}",
                        crv.coordinate_len(),
                        d.len()
                    ));
                }
            }
            (PublicKeyParams::Okp { crv, .. }, SecretParts::Okp { d }) => {
                if d.len() != crv.key_len() {
                    return bad(format!(
                        "an {crv} private key must be {} bytes, not {}",
                        crv.key_len(),
                        d.len()
                    ));
                }
            }
            _ => {
                return bad(format!(
                    "the secret parts are not those of the {} public key",
                    public.kind()
                ));
            }
        }
        Ok(PrivateKeyMaterial { public, secret })
    }

    /// The public half.
    pub fn public(&self) -> &PublicKeyParams {
        &self.public
    }

    /// The secret parts.
    pub fn secret(&self) -> &SecretParts {
        &self.secret
    }

    /// The kind of key.
    pub fn kind(&self) -> KeyKind {
        self.public.kind()
    }

    /// The key size in bits, as [`PublicKeyParams::bits`].
    pub fn bits(&self) -> usize {
        self.public.bits()
    }
}

impl std::fmt::Debug for PrivateKeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKeyMaterial")
            .field("public", &self.public)
            .field("secret", &format_args!("<redacted>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alg::{Curve, OkpCurve};

    fn secret(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(bytes.to_vec())
    }

    #[test]
    fn kinds_and_lengths_are_checked_and_debug_hides_the_secret() {
        let ec = PublicKeyParams::Ec {
            crv: Curve::P256,
            x: vec![1; 32],
            y: vec![2; 32],
        };
        let ok = PrivateKeyMaterial::new(
            ec.clone(),
            SecretParts::Ec {
                d: secret(&[7; 32]),
            },
        )
        .unwrap();
        assert_eq!(ok.kind(), KeyKind::Ec(Curve::P256));
        let debug = format!("{ok:?}");
        assert!(
            debug.contains("<redacted>") && !debug.contains('7'),
            "{debug}"
        );

        let short = PrivateKeyMaterial::new(
            ec.clone(),
            SecretParts::Ec {
                d: secret(&[7; 31]),
            },
        );
        assert_eq!(
            short.unwrap_err().to_string(),
            "invalid JWK: a P-256 private scalar must be 32 bytes, not 31"
        );
        let okp = PublicKeyParams::Okp {
            crv: OkpCurve::Ed25519,
            x: vec![3; 32],
        };
        assert!(
            PrivateKeyMaterial::new(
                okp.clone(),
                SecretParts::Okp {
                    d: secret(&[1; 32])
                }
            )
            .is_ok()
        );
        assert!(
            PrivateKeyMaterial::new(
                okp,
                SecretParts::Ec {
                    d: secret(&[1; 32])
                }
            )
            .is_err()
        );
        let rsa = PublicKeyParams::Rsa {
            n: vec![0xc0; 256],
            e: vec![1, 0, 1],
        };
        let parts = |d: &[u8]| SecretParts::Rsa {
            d: secret(d),
            p: secret(&[1]),
            q: secret(&[1]),
            dp: secret(&[1]),
            dq: secret(&[1]),
            qi: secret(&[1]),
        };
        assert!(PrivateKeyMaterial::new(rsa.clone(), parts(&[5])).is_ok());
        assert!(PrivateKeyMaterial::new(rsa.clone(), parts(&[])).is_err());
        assert!(PrivateKeyMaterial::new(ec, parts(&[5])).is_err());
    }
}
