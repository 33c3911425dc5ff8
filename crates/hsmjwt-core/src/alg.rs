//! JWS signature algorithms (RFC 7518 section 3), asymmetric only.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// A JWS signature algorithm. `none` and the HMAC algorithms are deliberately absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256, salt length 32.
    PS256,
    /// RSASSA-PSS with SHA-384, MGF1 with SHA-384, salt length 48.
    PS384,
    /// RSASSA-PSS with SHA-512, MGF1 with SHA-512, salt length 64.
    PS512,
    /// ECDSA on P-256 with SHA-256, signature as raw `r || s` (64 bytes).
    ES256,
    /// ECDSA on P-384 with SHA-384, signature as raw `r || s` (96 bytes).
    ES384,
}

/// The hash function an algorithm uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// Output length in bytes (also the PSS salt length).
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    /// Hashes `data` with this function.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            HashAlg::Sha256 => sha2::Sha256::digest(data).to_vec(),
            HashAlg::Sha384 => sha2::Sha384::digest(data).to_vec(),
            HashAlg::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// An elliptic curve supported for ECDSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Curve {
    /// NIST P-256 (secp256r1, prime256v1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
}

impl Curve {
    /// The JWK `crv` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }

    /// Size of one coordinate (and of `r` and `s`) in bytes.
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }

    /// The ECDSA algorithm that uses this curve.
    pub fn algorithm(self) -> Algorithm {
        match self {
            Curve::P256 => Algorithm::ES256,
            Curve::P384 => Algorithm::ES384,
        }
    }

    /// Parses a JWK `crv` name.
    ///
    /// # Errors
    /// Fails with [`Error::InvalidJwk`] for any curve other than P-256 and P-384.
    pub fn from_jwk_name(name: &str) -> Result<Self, Error> {
        match name {
            "P-256" => Ok(Curve::P256),
            "P-384" => Ok(Curve::P384),
            other => Err(Error::InvalidJwk(format!(
                "unsupported curve `{other}` (supported: P-256, P-384)"
            ))),
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The family of key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// An RSA key (at least 2048 bits).
    Rsa,
    /// An EC key on the given curve.
    Ec(Curve),
}

impl Algorithm {
    /// Every supported algorithm, in a stable order.
    pub const ALL: [Algorithm; 8] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
    ];

    /// The JOSE name, e.g. `"RS256"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
        }
    }

    /// The hash function the algorithm uses.
    pub fn hash(self) -> HashAlg {
        match self {
            Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 => HashAlg::Sha256,
            Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => HashAlg::Sha384,
            Algorithm::RS512 | Algorithm::PS512 => HashAlg::Sha512,
        }
    }

    /// The kind of key the algorithm needs.
    pub fn key_kind(self) -> KeyKind {
        match self {
            Algorithm::ES256 => KeyKind::Ec(Curve::P256),
            Algorithm::ES384 => KeyKind::Ec(Curve::P384),
            _ => KeyKind::Rsa,
        }
    }

    /// Whether this is an RSASSA-PSS algorithm.
    pub fn is_pss(self) -> bool {
        matches!(self, Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512)
    }

    /// The default algorithm for a kind of key: RS256 for RSA, ES256/ES384 by curve.
    pub fn default_for(kind: KeyKind) -> Algorithm {
        match kind {
            KeyKind::Rsa => Algorithm::RS256,
            KeyKind::Ec(curve) => curve.algorithm(),
        }
    }

    /// Whether a key of `kind` can be used with this algorithm.
    pub fn fits(self, kind: KeyKind) -> bool {
        self.key_kind() == kind
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// Parses a JOSE algorithm name, case-sensitively as RFC 7515 requires.
    fn from_str(s: &str) -> Result<Self, Error> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| Error::UnsupportedAlgorithm(s.to_owned()))
    }
}

impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_is_refused() {
        for a in Algorithm::ALL {
            assert_eq!(a.as_str().parse::<Algorithm>().ok(), Some(a));
        }
        for bad in ["none", "HS256", "rs256", "EdDSA", "ES512", ""] {
            assert!(bad.parse::<Algorithm>().is_err(), "{bad}");
        }
    }

    #[test]
    fn key_kinds() {
        assert!(Algorithm::PS384.fits(KeyKind::Rsa));
        assert!(!Algorithm::ES256.fits(KeyKind::Ec(Curve::P384)));
        assert_eq!(Algorithm::ES384.hash().output_len(), 48);
    }
}
