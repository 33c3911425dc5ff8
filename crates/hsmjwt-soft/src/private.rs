//! Software private keys: loading (PEM, DER, JWK), generation and PKCS#8 export.

use std::fmt;
use std::path::Path;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair,
    KeyPair as _, RsaKeyPair,
};
use der::Decode;
use der::Encode;
use der::asn1::UintRef;
use hsmjwt_core::{
    Algorithm, Curve, Jwk, KeyKind, OkpCurve, PrivateKeyMaterial, PublicKeyParams, SecretParts, b64,
};
use serde_json::{Map, Value};
use zeroize::{Zeroize, Zeroizing};

use crate::asn1::{self, EC_PUBLIC_KEY, ED25519, Encoding, RSA_ENCRYPTION};
use crate::error::{Error, Result};
use crate::file::{MAX_KEY_FILE, read_file};
use crate::public::PublicKey;

/// What kind of key to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeySpec {
    /// An RSA key with a modulus of this many bits: 2048, 3072 or 4096.
    Rsa(usize),
    /// An EC key on P-256 (for ES256).
    P256,
    /// An EC key on P-384 (for ES384).
    P384,
    /// An EC key on P-521 (for ES512).
    P521,
    /// An Ed25519 key (for EdDSA).
    Ed25519,
}

impl KeySpec {
    /// The key to generate for `alg`: RSA (`rsa_bits`, default 2048) for RS*/PS*, P-256 for
    /// ES256, P-384 for ES384, P-521 for ES512, Ed25519 for EdDSA.
    ///
    /// # Errors
    /// [`Error::UnsupportedRsaSize`] when `rsa_bits` is not 2048, 3072 or 4096;
    /// [`Error::RsaSizeForEc`] when `rsa_bits` is given for an ES algorithm or EdDSA.
    pub fn for_algorithm(alg: Algorithm, rsa_bits: Option<usize>) -> Result<KeySpec> {
        let kind = alg.key_kind();
        if kind == KeyKind::Rsa {
            let bits = rsa_bits.unwrap_or(2048);
            rsa_key_size(bits)?;
            return Ok(KeySpec::Rsa(bits));
        }
        if rsa_bits.is_some() {
            return Err(Error::RsaSizeForEc(alg));
        }
        match kind {
            KeyKind::Ec(Curve::P256) => Ok(KeySpec::P256),
            KeyKind::Ec(Curve::P384) => Ok(KeySpec::P384),
            KeyKind::Ec(Curve::P521) => Ok(KeySpec::P521),
            KeyKind::Okp(OkpCurve::Ed25519) => Ok(KeySpec::Ed25519),
            other => Err(Error::UnsupportedKey(other.to_string())),
        }
    }
}

fn rsa_key_size(bits: usize) -> Result<KeySize> {
    match bits {
        2048 => Ok(KeySize::Rsa2048),
        3072 => Ok(KeySize::Rsa3072),
        4096 => Ok(KeySize::Rsa4096),
        other => Err(Error::UnsupportedRsaSize(other)),
    }
}

pub(crate) fn signing_alg(curve: Curve) -> Result<&'static EcdsaSigningAlgorithm> {
    match curve {
        Curve::P256 => Ok(&ECDSA_P256_SHA256_FIXED_SIGNING),
        Curve::P384 => Ok(&ECDSA_P384_SHA384_FIXED_SIGNING),
        Curve::P521 => Ok(&ECDSA_P521_SHA512_FIXED_SIGNING),
        other => Err(Error::UnsupportedKey(format!("EC curve {other}"))),
    }
}

pub(crate) enum KeyPair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A private key held in process memory: RSA (2048 to 8192 bits), ECDSA on P-256, P-384 or
/// P-521, or Ed25519.
///
/// All private-key operations run in aws-lc-rs. `Debug` prints only the kind and size.
pub struct PrivateKey {
    pub(crate) pair: KeyPair,
    public: PublicKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PrivateKey");
        match self.kind() {
            KeyKind::Rsa => d.field("kind", &format_args!("Rsa")),
            KeyKind::Ec(curve) => d.field("kind", &format_args!("Ec({curve})")),
            KeyKind::Okp(curve) => d.field("kind", &format_args!("Okp({curve})")),
            other => d.field("kind", &other),
        };
        d.field("bits", &self.bits()).finish_non_exhaustive()
    }
}

/// Wipes the string values of a parsed JWK when dropped.
pub(crate) struct WipeOnDrop(pub(crate) Map<String, Value>);

impl Drop for WipeOnDrop {
    fn drop(&mut self) {
        for value in self.0.values_mut() {
            if let Value::String(s) = value {
                s.zeroize();
            }
        }
    }
}

impl PrivateKey {
    fn from_rsa(pair: RsaKeyPair) -> Result<Self> {
        let public = pair.public_key();
        let params = asn1::rsa_params(
            public.modulus().big_endian_without_leading_zero(),
            public.exponent().big_endian_without_leading_zero(),
        )?;
        Ok(PrivateKey {
            public: PublicKey::from_params(params)?,
            pair: KeyPair::Rsa(pair),
        })
    }

    fn from_ec(curve: Curve, pair: EcdsaKeyPair) -> Result<Self> {
        let params = asn1::ec_params(curve, pair.public_key().as_ref())?;
        Ok(PrivateKey {
            public: PublicKey::from_params(params)?,
            pair: KeyPair::Ec(pair),
        })
    }

    fn from_ed25519(pair: Ed25519KeyPair) -> Result<Self> {
        let params = PublicKeyParams::okp(OkpCurve::Ed25519, pair.public_key().as_ref())?;
        Ok(PrivateKey {
            public: PublicKey::from_params(params)?,
            pair: KeyPair::Ed25519(pair),
        })
    }

    /// Loads a PKCS#8 `PrivateKeyInfo` (RSA, P-256, P-384, P-521; Ed25519 in PKCS#8 v1 or
    /// v2, RFC 8410).
    fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let info =
            pkcs8::PrivateKeyInfo::from_der(der).map_err(Error::der("PKCS#8 private key"))?;
        let oid = info.algorithm.oid;
        if oid == RSA_ENCRYPTION {
            let inner = pkcs1::RsaPrivateKey::from_der(info.private_key)
                .map_err(Error::der("RSA private key inside PKCS#8"))?;
            asn1::check_rsa_modulus(inner.modulus.as_bytes())?;
            let pair = RsaKeyPair::from_pkcs8(der).map_err(Error::rejected("RSA private key"))?;
            Self::from_rsa(pair)
        } else if oid == EC_PUBLIC_KEY {
            let curve_oid = info
                .algorithm
                .parameters_oid()
                .map_err(|_| Error::UnsupportedKey("EC key without a named curve".to_owned()))?;
            let curve = asn1::curve_from_oid(&curve_oid)?;
            let pair = EcdsaKeyPair::from_pkcs8(signing_alg(curve)?, der)
                .map_err(Error::rejected("EC private key"))?;
            Self::from_ec(curve, pair)
        } else if oid == ED25519 {
            // aws-lc-rs checks a v2 key's public key against the private one.
            let pair =
                Ed25519KeyPair::from_pkcs8(der).map_err(Error::rejected("Ed25519 private key"))?;
            Self::from_ed25519(pair)
        } else {
            Err(Error::UnsupportedKey(asn1::describe_oid(&oid)))
        }
    }

    /// Loads a PKCS#1 `RSAPrivateKey`.
    fn from_pkcs1_der(der: &[u8]) -> Result<Self> {
        let key =
            pkcs1::RsaPrivateKey::from_der(der).map_err(Error::der("PKCS#1 RSA private key"))?;
        if key.other_prime_infos.is_some() {
            return Err(Error::UnsupportedKey("multi-prime RSA key".to_owned()));
        }
        asn1::check_rsa_modulus(key.modulus.as_bytes())?;
        let pair = RsaKeyPair::from_der(der).map_err(Error::rejected("RSA private key"))?;
        Self::from_rsa(pair)
    }

    /// Loads a SEC1 `ECPrivateKey` (RFC 5915).
    fn from_sec1_der(der: &[u8]) -> Result<Self> {
        let key = sec1::EcPrivateKey::from_der(der).map_err(Error::der("SEC1 EC private key"))?;
        let curve = match key.parameters.and_then(|p| p.named_curve()) {
            Some(oid) => asn1::curve_from_oid(&oid)?,
            None => match key.private_key.len() {
                32 => Curve::P256,
                48 => Curve::P384,
                66 => Curve::P521,
                n => {
                    return Err(Error::UnsupportedKey(format!(
                        "EC private key of {n} bytes without a named curve"
                    )));
                }
            },
        };
        let pair = EcdsaKeyPair::from_private_key_der(signing_alg(curve)?, der)
            .map_err(Error::rejected("EC private key"))?;
        Self::from_ec(curve, pair)
    }

    /// Parses a private key from PEM text.
    ///
    /// Accepted blocks: `PRIVATE KEY` (PKCS#8: RSA, P-256, P-384, P-521, Ed25519), `RSA PRIVATE KEY`
    /// (PKCS#1) and `EC PRIVATE KEY` (SEC1). Other blocks before the key (such as
    /// `EC PARAMETERS` or a certificate) are skipped; the first private key is used.
    ///
    /// # Errors
    /// [`Error::EncryptedKey`] for an `ENCRYPTED PRIVATE KEY` or a traditional encrypted PEM,
    /// with a hint on how to decrypt it; [`Error::NotPrivate`] when the text holds only public
    /// keys or certificates; [`Error::NoPemBlock`] when it holds no key at all; [`Error::Pem`]
    /// for malformed PEM; and any error about the key itself (format, size, curve).
    pub fn from_pem(pem: &str) -> Result<Self> {
        Self::from_pem_blocks(pem::parse_many(pem).map_err(Error::pem)?)
    }

    /// Loads the first private key among parsed PEM blocks; see [`PrivateKey::from_pem`].
    pub(crate) fn from_pem_blocks(blocks: Vec<pem::Pem>) -> Result<Self> {
        let mut found = Vec::new();
        let mut public = None;
        let mut result = None;
        for block in blocks {
            let tag = block.tag().to_owned();
            let encrypted = block
                .headers()
                .get("Proc-Type")
                .is_some_and(|v| v.contains("ENCRYPTED"));
            // Every block's content is wiped when dropped, including blocks after the key.
            let der = Zeroizing::new(block.into_contents());
            if result.is_some() {
                continue;
            }
            let load: fn(&[u8]) -> Result<Self> = match tag.as_str() {
                "PRIVATE KEY" => Self::from_pkcs8_der,
                "RSA PRIVATE KEY" => Self::from_pkcs1_der,
                "EC PRIVATE KEY" => Self::from_sec1_der,
                "ENCRYPTED PRIVATE KEY" => {
                    result = Some(Err(Error::EncryptedKey));
                    continue;
                }
                "PUBLIC KEY"
                | "RSA PUBLIC KEY"
                | "EC PUBLIC KEY"
                | "CERTIFICATE"
                | "TRUSTED CERTIFICATE"
                | "X509 CERTIFICATE" => {
                    public.get_or_insert_with(|| tag.clone());
                    found.push(tag);
                    continue;
                }
                _ => {
                    found.push(tag);
                    continue;
                }
            };
            result = Some(if encrypted {
                Err(Error::EncryptedKey)
            } else {
                load(&der)
            });
        }
        if let Some(result) = result {
            return result;
        }
        match public {
            Some(tag) => Err(Error::NotPrivate(format!("PEM block `{tag}`"))),
            None => Err(Error::NoPemBlock {
                expected: "private key",
                found,
            }),
        }
    }

    /// Parses a DER private key: PKCS#8 `PrivateKeyInfo`, PKCS#1 `RSAPrivateKey` or SEC1
    /// `ECPrivateKey`, tried in that order.
    ///
    /// # Errors
    /// [`Error::EncryptedKey`] for an `EncryptedPrivateKeyInfo`; [`Error::NotPrivate`] for a
    /// public key or certificate; [`Error::UnrecognizedFormat`] for anything else that is not
    /// a private key; and any error about the key itself (size, curve, consistency).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.is_empty() {
            return Err(Error::Empty);
        }
        if pkcs8::PrivateKeyInfo::from_der(der).is_ok() {
            return Self::from_pkcs8_der(der);
        }
        if pkcs1::RsaPrivateKey::from_der(der).is_ok() {
            return Self::from_pkcs1_der(der);
        }
        if sec1::EcPrivateKey::from_der(der).is_ok() {
            return Self::from_sec1_der(der);
        }
        if asn1::is_encrypted_pkcs8(der) {
            return Err(Error::EncryptedKey);
        }
        if asn1::is_spki(der) {
            return Err(Error::NotPrivate(
                "the DER data (SubjectPublicKeyInfo)".to_owned(),
            ));
        }
        if PublicKey::from_certificate_der(der).is_ok() {
            return Err(Error::NotPrivate(
                "the DER data (X.509 certificate)".to_owned(),
            ));
        }
        if pkcs1::RsaPublicKey::from_der(der).is_ok() {
            return Err(Error::NotPrivate(
                "the DER data (PKCS#1 RSA public key)".to_owned(),
            ));
        }
        Err(Error::UnrecognizedFormat {
            expected: "a private key in PKCS#8, PKCS#1 or SEC1 DER",
        })
    }

    /// Parses a private JWK: RSA with `n`, `e`, `d`, `p`, `q`, `dp`, `dq`, `qi`, EC
    /// (P-256, P-384, P-521) with `crv`, `x`, `y`, `d`, or OKP (Ed25519, RFC 8037) with
    /// `crv`, `x`, `d`. Members such as `kid` and `alg` are ignored.
    ///
    /// # Errors
    /// [`Error::NotPrivate`] for a public JWK; [`Error::InvalidJwk`] for missing or
    /// non-canonical members, an RSA key without its CRT parameters, or a multi-prime key;
    /// [`Error::UnsupportedKey`] for other key types; [`Error::KeyRejected`] when the members
    /// do not form a consistent key; JSON errors as [`Error::Core`].
    pub fn from_jwk(json: &[u8]) -> Result<Self> {
        let map = WipeOnDrop(hsmjwt_core::json::parse_object(json, "JWK")?);
        let map = &map.0;
        let text = |name: &str| -> Result<Option<&str>> {
            match map.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(Error::InvalidJwk(format!("`{name}` is not a string"))),
            }
        };
        let bytes = |name: &str| -> Result<Zeroizing<Vec<u8>>> {
            let s = text(name)?.ok_or_else(|| Error::InvalidJwk(format!("`{name}` is missing")))?;
            b64::decode(s.as_bytes())
                .map(Zeroizing::new)
                .map_err(|_| Error::InvalidJwk(format!("`{name}` is not canonical base64url")))
        };
        if map.contains_key("keys") {
            return Err(Error::InvalidJwk(
                "a JWK Set was given where a single private JWK is expected".to_owned(),
            ));
        }
        let kty = text("kty")?.ok_or_else(|| Error::InvalidJwk("`kty` is missing".to_owned()))?;
        if !map.contains_key("d") && matches!(kty, "RSA" | "EC" | "OKP") {
            return Err(Error::NotPrivate("the JWK".to_owned()));
        }
        match kty {
            "RSA" => {
                if map.contains_key("oth") {
                    return Err(Error::UnsupportedKey("multi-prime RSA key".to_owned()));
                }
                if ["p", "q", "dp", "dq", "qi"]
                    .iter()
                    .any(|m| !map.contains_key(*m))
                {
                    return Err(Error::InvalidJwk(
                        "RSA private JWK needs `p`, `q`, `dp`, `dq` and `qi` as well as `d`"
                            .to_owned(),
                    ));
                }
                let n = bytes("n")?;
                asn1::check_rsa_modulus(&n)?;
                let (e, d, p, q) = (bytes("e")?, bytes("d")?, bytes("p")?, bytes("q")?);
                let (dp, dq, qi) = (bytes("dp")?, bytes("dq")?, bytes("qi")?);
                fn uint<'a>(v: &'a [u8], what: &'static str) -> Result<UintRef<'a>> {
                    UintRef::new(v).map_err(Error::der(what))
                }
                let der = Zeroizing::new(
                    pkcs1::RsaPrivateKey {
                        modulus: uint(&n, "RSA modulus")?,
                        public_exponent: uint(&e, "RSA public exponent")?,
                        private_exponent: uint(&d, "RSA private exponent")?,
                        prime1: uint(&p, "RSA prime")?,
                        prime2: uint(&q, "RSA prime")?,
                        exponent1: uint(&dp, "RSA CRT exponent")?,
                        exponent2: uint(&dq, "RSA CRT exponent")?,
                        coefficient: uint(&qi, "RSA CRT coefficient")?,
                        other_prime_infos: None,
                    }
                    .to_der()
                    .map_err(Error::der("PKCS#1 RSA private key"))?,
                );
                let pair =
                    RsaKeyPair::from_der(&der).map_err(Error::rejected("RSA private JWK"))?;
                // aws-lc-rs checks that n = p * q and that d, dp, dq and qi agree with them.
                Self::from_rsa(pair)
            }
            "EC" => {
                let crv =
                    text("crv")?.ok_or_else(|| Error::InvalidJwk("`crv` is missing".to_owned()))?;
                let curve = Curve::from_jwk_name(crv)?;
                let (x, y, d) = (bytes("x")?, bytes("y")?, bytes("d")?);
                let len = curve.coordinate_len();
                if x.len() != len || y.len() != len || d.len() != len {
                    return Err(Error::InvalidJwk(format!(
                        "{curve} `x`, `y` and `d` must be {len} bytes each"
                    )));
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let pair =
                    EcdsaKeyPair::from_private_key_and_public_key(signing_alg(curve)?, &d, &point)
                        .map_err(Error::rejected("EC private JWK"))?;
                Self::from_ec(curve, pair)
            }
            "OKP" => {
                let crv =
                    text("crv")?.ok_or_else(|| Error::InvalidJwk("`crv` is missing".to_owned()))?;
                let curve = OkpCurve::from_jwk_name(crv)?;
                let (x, d) = (bytes("x")?, bytes("d")?);
                let len = curve.key_len();
                if x.len() != len || d.len() != len {
                    return Err(Error::InvalidJwk(format!(
                        "{curve} `x` and `d` must be {len} bytes each"
                    )));
                }
                // The seed `d` must give the public key `x` (RFC 8037 section 2).
                let pair = Ed25519KeyPair::from_seed_and_public_key(&d, &x)
                    .map_err(Error::rejected("Ed25519 private JWK"))?;
                Self::from_ed25519(pair)
            }
            other => Err(Error::UnsupportedKey(format!(
                "JWK key type `{other}` (supported: RSA, EC, OKP)"
            ))),
        }
    }

    /// Parses a private key, detecting the encoding: PEM text, a JSON JWK (first non-blank
    /// byte `{`), or else DER.
    ///
    /// # Errors
    /// As [`PrivateKey::from_pem`], [`PrivateKey::from_jwk`] or [`PrivateKey::from_der`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        match asn1::encoding(bytes)? {
            Encoding::Pem(text) => Self::from_pem(text),
            Encoding::Json => Self::from_jwk(bytes),
            Encoding::Der => Self::from_der(bytes),
        }
    }

    /// Reads and parses a private key file of at most [`MAX_KEY_FILE`] bytes, in any
    /// format [`PrivateKey::from_bytes`] accepts.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::TooLarge`] when it is larger
    /// than the limit; otherwise [`Error::Load`] naming the file, with the parse error as
    /// its source.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = read_file(path, MAX_KEY_FILE, "key files")?;
        Self::from_bytes(&bytes).map_err(|e| e.in_file(path))
    }

    /// Generates a new key with the system's secure random generator.
    ///
    /// # Errors
    /// [`Error::UnsupportedRsaSize`] for an RSA size other than 2048, 3072 or 4096;
    /// [`Error::Crypto`] if generation fails.
    pub fn generate(spec: KeySpec) -> Result<Self> {
        let crypto = Error::crypto("key generation");
        match spec {
            KeySpec::Rsa(bits) => {
                let pair = RsaKeyPair::generate(rsa_key_size(bits)?).map_err(crypto)?;
                Self::from_rsa(pair)
            }
            KeySpec::P256 => Self::generate_ec(Curve::P256),
            KeySpec::P384 => Self::generate_ec(Curve::P384),
            KeySpec::P521 => Self::generate_ec(Curve::P521),
            KeySpec::Ed25519 => Self::from_ed25519(Ed25519KeyPair::generate().map_err(crypto)?),
        }
    }

    fn generate_ec(curve: Curve) -> Result<Self> {
        let pair =
            EcdsaKeyPair::generate(signing_alg(curve)?).map_err(Error::crypto("key generation"))?;
        Self::from_ec(curve, pair)
    }

    /// The kind of key: RSA, EC with its curve, or OKP (Ed25519).
    pub fn kind(&self) -> KeyKind {
        self.public.params().kind()
    }

    /// The key size in bits: the modulus size for RSA, the curve size for EC, 256 for
    /// Ed25519.
    pub fn bits(&self) -> usize {
        self.public.params().bits()
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The public half as a JWK, without `kid`, `alg` or `use`.
    pub fn public_jwk(&self) -> Jwk {
        self.public.jwk()
    }

    /// The key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), in a buffer that is
    /// wiped when dropped.
    ///
    /// # Errors
    /// [`Error::Crypto`] if aws-lc-rs cannot serialise the key.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        let crypto = Error::crypto("PKCS#8 serialisation");
        // Both aws-lc-rs buffers wipe themselves when dropped.
        match &self.pair {
            KeyPair::Rsa(pair) => {
                let der: Pkcs8V1Der<'static> = pair.as_der().map_err(crypto)?;
                Ok(asn1::pem_encode_secret("PRIVATE KEY", der.as_ref()))
            }
            KeyPair::Ec(pair) => {
                let doc = pair.to_pkcs8v1().map_err(crypto)?;
                Ok(asn1::pem_encode_secret("PRIVATE KEY", doc.as_ref()))
            }
            // PKCS#8 v1, as `openssl genpkey -algorithm ED25519` writes it.
            KeyPair::Ed25519(pair) => {
                let doc = pair.to_pkcs8v1().map_err(crypto)?;
                Ok(asn1::pem_encode_secret("PRIVATE KEY", doc.as_ref()))
            }
        }
    }

    /// The key's parts in the neutral form that other backends import (see
    /// [`hsmjwt_core::PrivateKeyMaterial`]), in buffers wiped when dropped: RSA's CRT parts,
    /// an EC scalar of the curve's length, an Ed25519 seed; with the public half.
    ///
    /// # Errors
    /// [`Error::Crypto`] if aws-lc-rs cannot serialise the key, [`Error::Der`] if its own
    /// serialisation does not parse (not expected).
    pub fn material(&self) -> Result<PrivateKeyMaterial> {
        let crypto = Error::crypto("PKCS#8 serialisation");
        let wiped = |bytes: &[u8]| Zeroizing::new(bytes.to_vec());
        let secret = match &self.pair {
            KeyPair::Rsa(pair) => {
                let der: Pkcs8V1Der<'static> = pair.as_der().map_err(crypto)?;
                let info = pkcs8::PrivateKeyInfo::from_der(der.as_ref())
                    .map_err(Error::der("PKCS#8 private key"))?;
                let key = pkcs1::RsaPrivateKey::from_der(info.private_key)
                    .map_err(Error::der("RSA private key inside PKCS#8"))?;
                SecretParts::Rsa {
                    d: wiped(key.private_exponent.as_bytes()),
                    p: wiped(key.prime1.as_bytes()),
                    q: wiped(key.prime2.as_bytes()),
                    dp: wiped(key.exponent1.as_bytes()),
                    dq: wiped(key.exponent2.as_bytes()),
                    qi: wiped(key.coefficient.as_bytes()),
                }
            }
            KeyPair::Ec(pair) => {
                let doc = pair.to_pkcs8v1().map_err(crypto)?;
                let info = pkcs8::PrivateKeyInfo::from_der(doc.as_ref())
                    .map_err(Error::der("PKCS#8 private key"))?;
                let key = sec1::EcPrivateKey::from_der(info.private_key)
                    .map_err(Error::der("SEC1 EC private key inside PKCS#8"))?;
                SecretParts::Ec {
                    d: wiped(key.private_key),
                }
            }
            KeyPair::Ed25519(pair) => {
                let doc = pair.to_pkcs8v1().map_err(crypto)?;
                let info = pkcs8::PrivateKeyInfo::from_der(doc.as_ref())
                    .map_err(Error::der("PKCS#8 private key"))?;
                // RFC 8410: the private key is an OCTET STRING inside the OCTET STRING.
                let seed = der::asn1::OctetStringRef::from_der(info.private_key)
                    .map_err(Error::der("Ed25519 private key inside PKCS#8"))?;
                SecretParts::Okp {
                    d: wiped(seed.as_bytes()),
                }
            }
        };
        Ok(PrivateKeyMaterial::new(
            self.public.params().clone(),
            secret,
        )?)
    }

    /// Writes the key as PKCS#8 PEM to `path` with file mode 0600 (on Unix).
    ///
    /// Without `overwrite`, nothing that exists at `path` is touched (a file, a link, even a
    /// dangling one). With it, an existing regular file is truncated and its mode set to
    /// 0600 before the key is written; a symbolic link is followed and its target written
    /// the same way (the link stays), but only when that target is an existing regular
    /// file: a dangling link (whose target a write would create wherever it points) and
    /// anything that is not a regular file (a directory, a device such as `/dev/null`,
    /// whose mode would change for everyone, a FIFO) are refused.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] when the path exists and `overwrite` is false;
    /// [`Error::NotRegularFile`] when, with `overwrite`, it is or leads to something other
    /// than a regular file; [`Error::Io`] when it cannot be created, restricted or written.
    pub fn write_pkcs8_pem(&self, path: &Path, overwrite: bool) -> Result<()> {
        let pem = self.to_pkcs8_pem()?;
        crate::file::write_private_file(path, pem.as_bytes(), overwrite)
    }
}
