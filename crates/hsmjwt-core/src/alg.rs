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
    /// ECDSA on P-521 with SHA-512, signature as raw `r || s` (132 bytes: 66 each).
    ES512,
    /// EdDSA (RFC 8037) with an Ed25519 key; the signature is 64 bytes. Ed448 is not
    /// supported.
    EdDSA,
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
    /// NIST P-521 (secp521r1).
    P521,
}

impl Curve {
    /// Every supported curve, in a stable order.
    pub const ALL: [Curve; 3] = [Curve::P256, Curve::P384, Curve::P521];

    /// The JWK `crv` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// Size of one coordinate (and of `r` and `s`) in bytes: 32, 48, 66.
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// The size of the curve in bits: 256, 384, 521.
    pub fn bits(self) -> usize {
        match self {
            Curve::P256 => 256,
            Curve::P384 => 384,
            Curve::P521 => 521,
        }
    }

    /// The ECDSA algorithm that uses this curve.
    pub fn algorithm(self) -> Algorithm {
        match self {
            Curve::P256 => Algorithm::ES256,
            Curve::P384 => Algorithm::ES384,
            Curve::P521 => Algorithm::ES512,
        }
    }

    /// Parses a JWK `crv` name.
    ///
    /// # Errors
    /// Fails with [`Error::InvalidJwk`] for any curve other than P-256, P-384 and P-521.
    pub fn from_jwk_name(name: &str) -> Result<Self, Error> {
        Curve::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| {
                Error::InvalidJwk(format!(
                    "unsupported curve `{name}` (supported: P-256, P-384, P-521)"
                ))
            })
    }
}

/// A curve of an octet key pair (RFC 8037 `kty: OKP`) supported for signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OkpCurve {
    /// Ed25519 (RFC 8032), for EdDSA.
    Ed25519,
}

impl OkpCurve {
    /// The JWK `crv` name.
    pub fn as_str(self) -> &'static str {
        match self {
            OkpCurve::Ed25519 => "Ed25519",
        }
    }

    /// The length of the public key `x` (and of the private key `d`) in bytes: 32.
    pub fn key_len(self) -> usize {
        match self {
            OkpCurve::Ed25519 => 32,
        }
    }

    /// The length of a signature in bytes: 64.
    pub fn signature_len(self) -> usize {
        match self {
            OkpCurve::Ed25519 => 64,
        }
    }

    /// The size of the key in bits: 256.
    pub fn bits(self) -> usize {
        self.key_len() * 8
    }

    /// Parses a JWK `crv` name of an OKP key.
    ///
    /// # Errors
    /// Fails with [`Error::InvalidJwk`] for any curve other than Ed25519 (X25519 and X448
    /// are for key agreement, not signatures; Ed448 is not supported).
    pub fn from_jwk_name(name: &str) -> Result<Self, Error> {
        match name {
            "Ed25519" => Ok(OkpCurve::Ed25519),
            other => Err(Error::InvalidJwk(format!(
                "unsupported OKP curve `{other}` (supported: Ed25519)"
            ))),
        }
    }
}

impl fmt::Display for OkpCurve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    /// An octet key pair (RFC 8037) on the given curve.
    Okp(OkpCurve),
}

impl fmt::Display for KeyKind {
    /// "RSA", "EC P-256", "Ed25519".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyKind::Rsa => f.write_str("RSA"),
            KeyKind::Ec(curve) => write!(f, "EC {curve}"),
            KeyKind::Okp(curve) => write!(f, "{curve}"),
        }
    }
}

impl Algorithm {
    /// Every supported algorithm, in a stable order.
    pub const ALL: [Algorithm; 10] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::EdDSA,
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
            Algorithm::ES512 => "ES512",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// The hash function the algorithm applies to the message; `None` for EdDSA, which
    /// takes the message itself (Ed25519 hashes inside the signature scheme, and a backend
    /// that hashed first would make a signature nobody verifies).
    pub fn hash(self) -> Option<HashAlg> {
        match self {
            Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 => Some(HashAlg::Sha256),
            Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => Some(HashAlg::Sha384),
            Algorithm::RS512 | Algorithm::PS512 | Algorithm::ES512 => Some(HashAlg::Sha512),
            Algorithm::EdDSA => None,
        }
    }

    /// The kind of key the algorithm needs.
    pub fn key_kind(self) -> KeyKind {
        match self {
            Algorithm::ES256 => KeyKind::Ec(Curve::P256),
            Algorithm::ES384 => KeyKind::Ec(Curve::P384),
            Algorithm::ES512 => KeyKind::Ec(Curve::P521),
            Algorithm::EdDSA => KeyKind::Okp(OkpCurve::Ed25519),
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => KeyKind::Rsa,
        }
    }

    /// The exact length of every signature of this algorithm, where the algorithm fixes
    /// it: `r || s` for ECDSA (64, 96, 132 bytes), 64 bytes for Ed25519; `None` for RSA,
    /// whose signatures are as long as the key's modulus.
    pub fn signature_len(self) -> Option<usize> {
        match self.key_kind() {
            KeyKind::Ec(curve) => Some(2 * curve.coordinate_len()),
            KeyKind::Okp(curve) => Some(curve.signature_len()),
            KeyKind::Rsa => None,
        }
    }

    /// Whether this is an RSASSA-PSS algorithm.
    pub fn is_pss(self) -> bool {
        matches!(self, Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512)
    }

    /// The default algorithm for a kind of key: RS256 for RSA, ES256/ES384/ES512 by curve,
    /// EdDSA for Ed25519.
    pub fn default_for(kind: KeyKind) -> Algorithm {
        match kind {
            KeyKind::Rsa => Algorithm::RS256,
            KeyKind::Ec(curve) => curve.algorithm(),
            KeyKind::Okp(OkpCurve::Ed25519) => Algorithm::EdDSA,
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
        for bad in [
            "none", "HS256", "rs256", "eddsa", "EDDSA", "Ed25519", "es512", "ES521", "",
        ] {
            assert!(bad.parse::<Algorithm>().is_err(), "{bad}");
        }
        assert_eq!("EdDSA".parse::<Algorithm>().ok(), Some(Algorithm::EdDSA));
        assert_eq!("ES512".parse::<Algorithm>().ok(), Some(Algorithm::ES512));
    }

    #[test]
    fn key_kinds() {
        assert!(Algorithm::PS384.fits(KeyKind::Rsa));
        assert!(!Algorithm::ES256.fits(KeyKind::Ec(Curve::P384)));
        assert_eq!(Algorithm::ES384.hash().map(HashAlg::output_len), Some(48));
        assert_eq!(Algorithm::ES512.hash(), Some(HashAlg::Sha512));
        assert_eq!(Algorithm::EdDSA.hash(), None);
        assert!(Algorithm::ES512.fits(KeyKind::Ec(Curve::P521)));
        assert!(!Algorithm::ES512.fits(KeyKind::Ec(Curve::P256)));
        assert!(Algorithm::EdDSA.fits(KeyKind::Okp(OkpCurve::Ed25519)));
        for alg in Algorithm::ALL {
            assert_eq!(
                alg.fits(KeyKind::Okp(OkpCurve::Ed25519)),
                alg == Algorithm::EdDSA,
                "{alg}"
            );
            assert_eq!(
                Algorithm::default_for(alg.key_kind()).key_kind(),
                alg.key_kind()
            );
        }
        assert_eq!(
            Algorithm::default_for(KeyKind::Ec(Curve::P521)),
            Algorithm::ES512
        );
    }

    #[test]
    fn signature_lengths_and_sizes() {
        let lens: Vec<Option<usize>> = Algorithm::ALL.iter().map(|a| a.signature_len()).collect();
        assert_eq!(
            lens,
            [
                None,
                None,
                None,
                None,
                None,
                None,
                Some(64),
                Some(96),
                Some(132),
                Some(64)
            ]
        );
        assert_eq!(Curve::P521.coordinate_len(), 66);
        assert_eq!(Curve::P521.bits(), 521);
        assert_eq!(OkpCurve::Ed25519.bits(), 256);
        for c in Curve::ALL {
            assert_eq!(Curve::from_jwk_name(c.as_str()).ok(), Some(c));
        }
        for bad in ["P-192", "p-521", "Ed25519", "secp256k1"] {
            assert!(Curve::from_jwk_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            OkpCurve::from_jwk_name("Ed25519").ok(),
            Some(OkpCurve::Ed25519)
        );
        for bad in ["X25519", "Ed448", "X448", "ed25519", "P-256"] {
            assert!(OkpCurve::from_jwk_name(bad).is_err(), "{bad}");
        }
        assert_eq!(KeyKind::Ec(Curve::P521).to_string(), "EC P-521");
        assert_eq!(KeyKind::Okp(OkpCurve::Ed25519).to_string(), "Ed25519");
        assert_eq!(KeyKind::Rsa.to_string(), "RSA");
    }
}
