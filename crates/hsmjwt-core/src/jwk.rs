//! JSON Web Keys (RFC 7517) for RSA, EC and OKP (RFC 8037, Ed25519) public keys, and RFC
//! 7638 thumbprints.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::alg::{Algorithm, Curve, KeyKind, OkpCurve};
use crate::b64;
use crate::error::Error;
use crate::json;
use crate::text::Untrusted;

/// Private-key members that a public JWK must not carry.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The smallest RSA modulus accepted anywhere, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// The key material of a public JWK.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKeyParams {
    /// An RSA public key.
    Rsa {
        /// Modulus, big-endian, without leading zero bytes.
        n: Vec<u8>,
        /// Public exponent, big-endian, without leading zero bytes.
        e: Vec<u8>,
    },
    /// An EC public key.
    Ec {
        /// The curve.
        crv: Curve,
        /// X coordinate, exactly the curve's coordinate length.
        x: Vec<u8>,
        /// Y coordinate, exactly the curve's coordinate length.
        y: Vec<u8>,
    },
    /// An octet key pair's public key (RFC 8037, `kty: OKP`).
    Okp {
        /// The curve.
        crv: OkpCurve,
        /// The public key, exactly the curve's key length (32 bytes for Ed25519).
        x: Vec<u8>,
    },
}

impl std::fmt::Debug for PublicKeyParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublicKeyParams::Rsa { n, .. } => write!(f, "Rsa({} bits)", rsa_bits(n)),
            PublicKeyParams::Ec { crv, .. } => write!(f, "Ec({crv})"),
            PublicKeyParams::Okp { crv, .. } => write!(f, "Okp({crv})"),
        }
    }
}

fn rsa_bits(n: &[u8]) -> usize {
    match n.iter().position(|b| *b != 0) {
        None => 0,
        Some(i) => (n.len() - i - 1) * 8 + (8 - n[i].leading_zeros() as usize),
    }
}

fn strip_leading_zeros(v: &[u8]) -> Vec<u8> {
    let start = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    v[start..].to_vec()
}

impl PublicKeyParams {
    /// An RSA key from its modulus and exponent (leading zero bytes are removed).
    ///
    /// # Errors
    /// Fails when the modulus is under 2048 bits or the exponent is zero.
    pub fn rsa(n: &[u8], e: &[u8]) -> Result<Self, Error> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = rsa_bits(&n);
        if bits < MIN_RSA_BITS {
            return Err(Error::InvalidJwk(format!(
                "RSA key of {bits} bits is too small (at least {MIN_RSA_BITS})"
            )));
        }
        if e.is_empty() || e.len() > 8 {
            return Err(Error::InvalidJwk("RSA exponent is out of range".into()));
        }
        Ok(PublicKeyParams::Rsa { n, e })
    }

    /// An EC key from its coordinates.
    ///
    /// # Errors
    /// Fails when a coordinate does not have the curve's length.
    pub fn ec(crv: Curve, x: &[u8], y: &[u8]) -> Result<Self, Error> {
        let len = crv.coordinate_len();
        if x.len() != len || y.len() != len {
            return Err(Error::InvalidJwk(format!(
                "{crv} coordinates must be {len} bytes each"
            )));
        }
        Ok(PublicKeyParams::Ec {
            crv,
            x: x.to_vec(),
            y: y.to_vec(),
        })
    }

    /// An EC key from an uncompressed SEC1 point (`04 || X || Y`).
    ///
    /// # Errors
    /// Fails when the point is not uncompressed or has the wrong length for the curve.
    pub fn ec_from_point(crv: Curve, point: &[u8]) -> Result<Self, Error> {
        let len = crv.coordinate_len();
        match point.split_first() {
            Some((4, xy)) if xy.len() == 2 * len => Self::ec(crv, &xy[..len], &xy[len..]),
            _ => Err(Error::InvalidJwk(format!(
                "EC point is not an uncompressed {crv} point"
            ))),
        }
    }

    /// An OKP key (RFC 8037) from its public key bytes.
    ///
    /// # Errors
    /// Fails when `x` does not have the curve's key length (32 bytes for Ed25519).
    pub fn okp(crv: OkpCurve, x: &[u8]) -> Result<Self, Error> {
        let len = crv.key_len();
        if x.len() != len {
            return Err(Error::InvalidJwk(format!(
                "{crv} `x` must be {len} bytes, not {}",
                x.len()
            )));
        }
        Ok(PublicKeyParams::Okp { crv, x: x.to_vec() })
    }

    /// The kind of key.
    pub fn kind(&self) -> KeyKind {
        match self {
            PublicKeyParams::Rsa { .. } => KeyKind::Rsa,
            PublicKeyParams::Ec { crv, .. } => KeyKind::Ec(*crv),
            PublicKeyParams::Okp { crv, .. } => KeyKind::Okp(*crv),
        }
    }

    /// The key size in bits: the modulus size for RSA, the curve size for EC (256, 384,
    /// 521), 256 for Ed25519.
    pub fn bits(&self) -> usize {
        match self {
            PublicKeyParams::Rsa { n, .. } => rsa_bits(n),
            PublicKeyParams::Ec { crv, .. } => crv.bits(),
            PublicKeyParams::Okp { crv, .. } => crv.bits(),
        }
    }

    /// The uncompressed SEC1 point of an EC key (`04 || X || Y`); `None` for other keys.
    pub fn ec_point(&self) -> Option<Vec<u8>> {
        match self {
            PublicKeyParams::Ec { x, y, .. } => {
                let mut p = Vec::with_capacity(1 + x.len() + y.len());
                p.push(4);
                p.extend_from_slice(x);
                p.extend_from_slice(y);
                Some(p)
            }
            PublicKeyParams::Rsa { .. } | PublicKeyParams::Okp { .. } => None,
        }
    }
}

/// A public JSON Web Key for signature verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// The key material.
    pub params: PublicKeyParams,
    /// `kid`.
    pub kid: Option<String>,
    /// `use` (`sig` for signature keys).
    pub use_: Option<String>,
    /// `alg`, kept as a string because a JWKS may name algorithms this crate does not support.
    pub alg: Option<String>,
    /// `key_ops`.
    pub key_ops: Option<Vec<String>>,
    /// `x5c`: certificate chain, standard base64 DER.
    pub x5c: Option<Vec<String>>,
    /// `x5t#S256`.
    pub x5t_s256: Option<String>,
}

impl Jwk {
    /// A JWK with only key material.
    pub fn new(params: PublicKeyParams) -> Self {
        Jwk {
            params,
            kid: None,
            use_: None,
            alg: None,
            key_ops: None,
            x5c: None,
            x5t_s256: None,
        }
    }

    /// Sets `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets `kid` to the RFC 7638 thumbprint.
    #[must_use]
    pub fn with_thumbprint_kid(mut self) -> Self {
        self.kid = Some(self.thumbprint());
        self
    }

    /// Sets `use`.
    #[must_use]
    pub fn with_use(mut self, use_: impl Into<String>) -> Self {
        self.use_ = Some(use_.into());
        self
    }

    /// Sets `alg`.
    #[must_use]
    pub fn with_alg(mut self, alg: Algorithm) -> Self {
        self.alg = Some(alg.as_str().to_owned());
        self
    }

    /// The algorithm this key is pinned to by its `alg` member, if that names a supported one.
    ///
    /// # Errors
    /// Fails when `alg` names an unsupported algorithm or one that does not fit the key.
    pub fn algorithm(&self) -> Result<Option<Algorithm>, Error> {
        let Some(name) = &self.alg else {
            return Ok(None);
        };
        let alg: Algorithm = name.parse()?;
        if !alg.fits(self.params.kind()) {
            return Err(Error::InvalidJwk(format!(
                "alg {alg} does not fit a {:?} key",
                self.params
            )));
        }
        Ok(Some(alg))
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url), usable as a `kid`.
    pub fn thumbprint(&self) -> String {
        b64::encode(&crate::alg::HashAlg::Sha256.digest(self.thumbprint_input().as_bytes()))
    }

    /// The canonical JSON that RFC 7638 hashes: required members only, sorted, no spaces.
    pub fn thumbprint_input(&self) -> String {
        match &self.params {
            PublicKeyParams::Rsa { n, e } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                b64::encode(e),
                b64::encode(n)
            ),
            PublicKeyParams::Ec { crv, x, y } => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                crv.as_str(),
                b64::encode(x),
                b64::encode(y)
            ),
            PublicKeyParams::Okp { crv, x } => format!(
                r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
                crv.as_str(),
                b64::encode(x)
            ),
        }
    }

    /// Parses a public JWK from JSON, strictly.
    ///
    /// # Errors
    /// Fails on malformed JSON, duplicate members, unsupported `kty`/`crv` (an OKP key must
    /// be Ed25519: X25519, X448 and Ed448 are refused), non-canonical base64url, wrong
    /// coordinate or key lengths, RSA keys under 2048 bits, and private-key members.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        Jwk::from_map(&json::parse_object(bytes, "JWK")?)
    }

    /// Builds a public JWK from a JSON object; see [`Jwk::from_json`].
    ///
    /// # Errors
    /// See [`Jwk::from_json`].
    pub fn from_map(map: &Map<String, Value>) -> Result<Self, Error> {
        if let Some(name) = PRIVATE_MEMBERS.iter().find(|n| map.contains_key(**n)) {
            return Err(Error::InvalidJwk(format!(
                "holds private key member `{name}` where a public key is expected"
            )));
        }
        let s = |name: &str| {
            json::opt_string(map, name).map_err(|r| Error::InvalidJwk(format!("`{name}` {r}")))
        };
        let req =
            |name: &str| s(name)?.ok_or_else(|| Error::InvalidJwk(format!("`{name}` is missing")));
        let bytes = |name: &str| {
            b64::decode(req(name)?.as_bytes())
                .map_err(|_| Error::InvalidJwk(format!("`{name}` is not canonical base64url")))
        };
        let params = match req("kty")?.as_str() {
            "RSA" => PublicKeyParams::rsa(&bytes("n")?, &bytes("e")?)?,
            "EC" => {
                let crv = Curve::from_jwk_name(&req("crv")?)?;
                PublicKeyParams::ec(crv, &bytes("x")?, &bytes("y")?)?
            }
            "OKP" => {
                let crv = OkpCurve::from_jwk_name(&req("crv")?)?;
                PublicKeyParams::okp(crv, &bytes("x")?)?
            }
            other => {
                return Err(Error::InvalidJwk(format!(
                    "unsupported key type `{}` (supported: RSA, EC, OKP)",
                    Untrusted(other)
                )));
            }
        };
        let arr = |name: &str| {
            json::opt_string_array(map, name)
                .map_err(|r| Error::InvalidJwk(format!("`{name}` {r}")))
        };
        let jwk = Jwk {
            params,
            kid: s("kid")?,
            use_: s("use")?,
            alg: s("alg")?,
            key_ops: arr("key_ops")?,
            x5c: arr("x5c")?,
            x5t_s256: s("x5t#S256")?,
        };
        Ok(jwk)
    }

    /// The JWK as a JSON object.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut m = Map::new();
        match &self.params {
            PublicKeyParams::Rsa { n, e } => {
                m.insert("kty".into(), "RSA".into());
                m.insert("n".into(), b64::encode(n).into());
                m.insert("e".into(), b64::encode(e).into());
            }
            PublicKeyParams::Ec { crv, x, y } => {
                m.insert("kty".into(), "EC".into());
                m.insert("crv".into(), crv.as_str().into());
                m.insert("x".into(), b64::encode(x).into());
                m.insert("y".into(), b64::encode(y).into());
            }
            PublicKeyParams::Okp { crv, x } => {
                m.insert("kty".into(), "OKP".into());
                m.insert("crv".into(), crv.as_str().into());
                m.insert("x".into(), b64::encode(x).into());
            }
        }
        for (name, v) in [("kid", &self.kid), ("use", &self.use_), ("alg", &self.alg)] {
            if let Some(v) = v {
                m.insert(name.into(), v.clone().into());
            }
        }
        if let Some(v) = &self.key_ops {
            m.insert("key_ops".into(), v.clone().into());
        }
        if let Some(v) = &self.x5c {
            m.insert("x5c".into(), v.clone().into());
        }
        if let Some(v) = &self.x5t_s256 {
            m.insert("x5t#S256".into(), v.clone().into());
        }
        m
    }

    /// Whether the JWK may be used to verify signatures according to `use` and `key_ops`.
    pub fn is_for_verification(&self) -> bool {
        self.use_.as_deref().is_none_or(|u| u == "sig")
            && self
                .key_ops
                .as_ref()
                .is_none_or(|ops| ops.iter().any(|o| o == "verify"))
    }
}

impl Serialize for Jwk {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Jwk {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        Jwk::from_map(&map).map_err(serde::de::Error::custom)
    }
}

/// A JWK Set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Jwks {
    /// The usable keys, in document order.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a JWK Set. Keys of a type or curve this crate does not support (`oct`, OKP
    /// keys other than Ed25519 such as X25519, EC curves such as secp256k1) are skipped; a
    /// malformed key of a supported type and curve is an error.
    ///
    /// # Errors
    /// Fails on malformed JSON, duplicate members, a missing `keys` array, or a malformed key.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let map = json::parse_object(bytes, "JWKS")?;
        let Some(Value::Array(items)) = map.get("keys") else {
            return Err(Error::InvalidJwk("JWKS has no `keys` array".into()));
        };
        let mut keys = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Value::Object(obj) = item else {
                return Err(Error::InvalidJwk(format!("JWKS key {i} is not an object")));
            };
            let kty = obj.get("kty").and_then(Value::as_str);
            let crv = obj.get("crv").and_then(Value::as_str);
            let supported = match kty {
                Some("RSA") => true,
                Some("EC") => crv.is_none_or(|c| Curve::from_jwk_name(c).is_ok()),
                Some("OKP") => crv.is_none_or(|c| OkpCurve::from_jwk_name(c).is_ok()),
                _ => false,
            };
            if !supported {
                continue;
            }
            keys.push(Jwk::from_map(obj).map_err(|e| match e {
                Error::InvalidJwk(r) => Error::InvalidJwk(format!("JWKS key {i}: {r}")),
                other => other,
            })?);
        }
        Ok(Jwks { keys })
    }

    /// The keys whose `kid` equals `kid`.
    pub fn find<'a>(&'a self, kid: &'a str) -> impl Iterator<Item = &'a Jwk> + 'a {
        self.keys
            .iter()
            .filter(move |k| k.kid.as_deref() == Some(kid))
    }

    /// The set as a JSON object `{"keys":[...]}`.
    pub fn to_value(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| Value::Object(k.to_map()))
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

impl Serialize for Jwks {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 section 3.1: the thumbprint of the RFC 7517 appendix A.1 RSA key.
    #[test]
    fn rfc7638_example_thumbprint() {
        let jwk = Jwk::from_json(
            br#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(jwk.params.bits(), 2048);
    }

    #[test]
    fn rejects_private_and_malformed() {
        assert!(
            Jwk::from_json(br#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}"#).is_err()
        );
        assert!(Jwk::from_json(br#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#).is_err());
        assert!(Jwk::from_json(br#"{"kty":"oct","k":"AA"}"#).is_err());
        assert!(Jwk::from_json(br#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#).is_err());
        // Unsupported kinds and curves are skipped in a set; a supported one that is
        // malformed is an error.
        for skipped in [
            r#"{"kty":"OKP","crv":"X25519","x":"AA"}"#,
            r#"{"kty":"OKP","crv":"Ed448","x":"AA"}"#,
            r#"{"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"}"#,
            r#"{"kty":"oct","k":"AA"}"#,
        ] {
            let set = format!(r#"{{"keys":[{skipped}]}}"#);
            assert!(
                Jwks::from_json(set.as_bytes()).is_ok_and(|s| s.keys.is_empty()),
                "{skipped}"
            );
            assert!(Jwk::from_json(skipped.as_bytes()).is_err(), "{skipped}");
        }
        assert!(Jwks::from_json(br#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AA"}]}"#).is_err());
        assert!(Jwks::from_json(br#"{"nokeys":[]}"#).is_err());
    }

    /// RFC 8037 appendix A.2 and A.3: the Ed25519 public key and its thumbprint.
    #[test]
    fn rfc8037_okp_key_and_thumbprint() {
        let jwk = Jwk::from_json(
            br#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(jwk.params.kind(), KeyKind::Okp(OkpCurve::Ed25519));
        assert_eq!(jwk.params.bits(), 256);
        assert_eq!(
            jwk.thumbprint_input(),
            r#"{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#
        );
        assert_eq!(
            jwk.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        let round = Jwk::from_map(&jwk.to_map()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(round, jwk);
        assert_eq!(jwk.params.ec_point(), None);
        // Private member, short and long keys, missing `x` or `crv`.
        for bad in [
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}"#,
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUQ"}"#,
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURoA"}"#,
            r#"{"kty":"OKP","crv":"Ed25519"}"#,
            r#"{"kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        ] {
            assert!(Jwk::from_json(bad.as_bytes()).is_err(), "{bad}");
        }
        let pinned = Jwk::new(jwk.params.clone()).with_alg(Algorithm::ES256);
        assert!(pinned.algorithm().is_err());
        let pinned = Jwk::new(jwk.params).with_alg(Algorithm::EdDSA);
        assert_eq!(pinned.algorithm().ok().flatten(), Some(Algorithm::EdDSA));
    }

    #[test]
    fn p521_coordinates_are_66_bytes() {
        let x = b64::encode(&[1u8; 66]);
        let ok = format!(r#"{{"kty":"EC","crv":"P-521","x":"{x}","y":"{x}"}}"#);
        let jwk = Jwk::from_json(ok.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(jwk.params.kind(), KeyKind::Ec(Curve::P521));
        assert_eq!(jwk.params.bits(), 521);
        assert_eq!(jwk.params.ec_point().map(|p| p.len()), Some(133));
        let short = b64::encode(&[1u8; 65]);
        let bad = format!(r#"{{"kty":"EC","crv":"P-521","x":"{short}","y":"{x}"}}"#);
        assert!(Jwk::from_json(bad.as_bytes()).is_err());
    }
}
