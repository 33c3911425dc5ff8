//! Public keys: loading (PEM, DER, X.509 certificates, JWK) and SPKI export.

use std::fmt;
use std::path::Path;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ECDSA_P521_SHA512_FIXED, ED25519,
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
};
use hsmjwt_core::{Curve, Jwk, OkpCurve, PublicKeyParams};

use crate::asn1::{self, Encoding};
use crate::error::{Error, Result};
use crate::file::{MAX_KEY_FILE, read_file};
use crate::private::{PrivateKey, WipeOnDrop};

/// A public key for signature verification: RSA (2048 to 8192 bits), EC on P-256, P-384
/// or P-521, or Ed25519. EC points are checked to lie on their curve when the key is
/// built; an Ed25519 key must be 32 bytes (a point that does not decode verifies nothing).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    params: PublicKeyParams,
    spki: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublicKey").field(&self.params).finish()
    }
}

/// Parses the key material with aws-lc-rs, which rejects an EC point off its curve.
pub(crate) fn parse_for_verification(
    params: &PublicKeyParams,
    rsa: &'static aws_lc_rs::signature::RsaParameters,
) -> Result<ParsedPublicKey> {
    let rejected = Error::rejected("public key");
    match params {
        PublicKeyParams::Rsa { n, e } => RsaPublicKeyComponents {
            n: n.as_slice(),
            e: e.as_slice(),
        }
        .to_parsed_public_key(rsa)
        .map_err(rejected),
        PublicKeyParams::Ec { crv, .. } => {
            let alg = match crv {
                Curve::P256 => &ECDSA_P256_SHA256_FIXED,
                Curve::P384 => &ECDSA_P384_SHA384_FIXED,
                Curve::P521 => &ECDSA_P521_SHA512_FIXED,
                other => return Err(Error::UnsupportedKey(format!("EC curve {other}"))),
            };
            let point = params.ec_point().unwrap_or_default();
            ParsedPublicKey::new(alg, point).map_err(rejected)
        }
        PublicKeyParams::Okp {
            crv: OkpCurve::Ed25519,
            x,
        } => ParsedPublicKey::new(&ED25519, x).map_err(rejected),
        other => Err(Error::UnsupportedKey(format!("{other:?}"))),
    }
}

impl PublicKey {
    /// A public key from its parameters, validated: RSA size within 2048..=8192 bits and a
    /// usable exponent, EC point on the curve, Ed25519 key of 32 bytes.
    ///
    /// # Errors
    /// [`Error::RsaKeyTooSmall`], [`Error::RsaKeyTooLarge`], [`Error::KeyRejected`] (for
    /// example a point off the curve), [`Error::UnsupportedKey`].
    pub fn from_params(params: PublicKeyParams) -> Result<Self> {
        if let PublicKeyParams::Rsa { n, e } = &params {
            asn1::rsa_params(n, e)?;
        }
        parse_for_verification(&params, &RSA_PKCS1_2048_8192_SHA256)?;
        let spki = asn1::encode_spki(&params)?;
        Ok(PublicKey { params, spki })
    }

    /// Parses a public key from PEM text: `PUBLIC KEY` (SubjectPublicKeyInfo), `RSA PUBLIC
    /// KEY` (PKCS#1) or `CERTIFICATE` (the certificate's key). A private-key PEM is accepted
    /// too, and its public half is used, so the same key file serves for signing and
    /// verifying. The first usable block wins.
    ///
    /// # Errors
    /// [`Error::Pem`] for malformed PEM, [`Error::NoPemBlock`] when no block holds a key,
    /// [`Error::EncryptedKey`] for an encrypted private key, and any error about the key.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let blocks = pem::parse_many(pem).map_err(Error::pem)?;
        let mut found = Vec::new();
        for block in blocks {
            match block.tag() {
                "PUBLIC KEY" => return Self::from_params(asn1::parse_spki(block.contents())?),
                "RSA PUBLIC KEY" => {
                    return Self::from_params(asn1::parse_pkcs1_public(block.contents())?);
                }
                "CERTIFICATE" | "X509 CERTIFICATE" => {
                    return Self::from_certificate_der(block.contents());
                }
                "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {
                    return Ok(PrivateKey::from_pem_blocks(vec![block])?
                        .public_key()
                        .clone());
                }
                other => found.push(other.to_owned()),
            }
        }
        Err(Error::NoPemBlock {
            expected: "public key, certificate or private key",
            found,
        })
    }

    /// Parses a DER public key: SubjectPublicKeyInfo, then X.509 certificate, then PKCS#1
    /// `RSAPublicKey`; a DER private key is accepted as a last resort (its public half).
    ///
    /// # Errors
    /// [`Error::UnrecognizedFormat`] when the bytes are none of these, and any error about
    /// the key.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.is_empty() {
            return Err(Error::Empty);
        }
        if asn1::is_spki(der) {
            return Self::from_params(asn1::parse_spki(der)?);
        }
        if x509_parser::parse_x509_certificate(der).is_ok() {
            return Self::from_certificate_der(der);
        }
        if pkcs1::RsaPublicKey::try_from(der).is_ok() {
            return Self::from_params(asn1::parse_pkcs1_public(der)?);
        }
        match PrivateKey::from_der(der) {
            Ok(key) => Ok(key.public_key().clone()),
            Err(Error::UnrecognizedFormat { .. }) => Err(Error::UnrecognizedFormat {
                expected: "a public key (SubjectPublicKeyInfo, X.509 certificate or PKCS#1) \
                           or a private key in DER",
            }),
            Err(e) => Err(e),
        }
    }

    /// The public key of a DER X.509 certificate. The certificate is parsed but neither its
    /// signature nor its validity period is checked.
    ///
    /// # Errors
    /// [`Error::Certificate`] for a malformed certificate (or trailing data), and any error
    /// about its key.
    pub fn from_certificate_der(der: &[u8]) -> Result<Self> {
        let cert = parse_certificate(der)?;
        Self::from_params(asn1::parse_spki(cert.public_key().raw)?)
    }

    /// A public key from a JWK (its `kid`, `alg`, `use` are not kept here).
    ///
    /// # Errors
    /// As [`PublicKey::from_params`].
    pub fn from_jwk(jwk: &Jwk) -> Result<Self> {
        Self::from_params(jwk.params.clone())
    }

    /// Parses a public key, detecting the encoding: PEM text, a JSON JWK (public or private;
    /// first non-blank byte `{`), or else DER.
    ///
    /// # Errors
    /// As [`PublicKey::from_pem`], [`PublicKey::from_der`], [`Jwk::from_json`] or
    /// [`PrivateKey::from_jwk`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::parse(bytes).map(|(key, _)| key)
    }

    /// As [`PublicKey::from_bytes`], with the JWK itself when `bytes` are a public JWK.
    fn parse(bytes: &[u8]) -> Result<(Self, Option<Jwk>)> {
        match asn1::encoding(bytes)? {
            Encoding::Pem(text) => Ok((Self::from_pem(text)?, None)),
            Encoding::Json => {
                let map = WipeOnDrop(hsmjwt_core::json::parse_object(bytes, "JWK")?);
                if map.0.contains_key("d") {
                    drop(map);
                    return Ok((PrivateKey::from_jwk(bytes)?.public_key().clone(), None));
                }
                let map = &map.0;
                if map.contains_key("keys") {
                    return Err(Error::InvalidJwk(
                        "a JWK Set was given where a single JWK is expected".to_owned(),
                    ));
                }
                let jwk = Jwk::from_map(map)?;
                Ok((Self::from_jwk(&jwk)?, Some(jwk)))
            }
            Encoding::Der => Ok((Self::from_der(bytes)?, None)),
        }
    }

    /// Reads and parses a public key file of at most [`MAX_KEY_FILE`] bytes, in any
    /// format [`PublicKey::from_bytes`] accepts.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::TooLarge`] when it is larger
    /// than the limit; otherwise [`Error::Load`] naming the file, with the parse error as
    /// its source.
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_jwk(path).map(|(key, _)| key)
    }

    /// As [`PublicKey::load`], with the file's JWK: a public JWK file's own, which keeps its
    /// `kid`, `alg`, `use` and `key_ops` (they matter to verifiers: `alg` pins the
    /// algorithm), or for any other file (PEM, DER, a certificate, a private JWK) the key's
    /// bare JWK. The file is read once.
    ///
    /// # Errors
    /// As [`PublicKey::load`].
    pub fn load_jwk(path: &Path) -> Result<(Self, Jwk)> {
        let bytes = read_file(path, MAX_KEY_FILE, "key files")?;
        let (key, jwk) = Self::parse(&bytes).map_err(|e| e.in_file(path))?;
        let jwk = jwk.unwrap_or_else(|| key.jwk());
        Ok((key, jwk))
    }

    /// The key material.
    pub fn params(&self) -> &PublicKeyParams {
        &self.params
    }

    /// The key as a JWK with only its key material (no `kid`, `alg` or `use`).
    pub fn jwk(&self) -> Jwk {
        Jwk::new(self.params.clone())
    }

    /// The key as a DER SubjectPublicKeyInfo, byte for byte what `openssl pkey -pubout
    /// -outform DER` writes.
    pub fn to_spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }

    /// The key as PEM (`-----BEGIN PUBLIC KEY-----`, 64-character lines, LF line endings),
    /// as `openssl pkey -pubout` writes it.
    pub fn to_spki_pem(&self) -> String {
        asn1::pem_encode("PUBLIC KEY", &self.spki)
    }
}

pub(crate) fn parse_certificate(
    der: &[u8],
) -> Result<x509_parser::certificate::X509Certificate<'_>> {
    use x509_parser::error::X509Error;
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(Error::certificate(X509Error::InvalidCertificate)),
        Err(x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e)) => {
            Err(Error::certificate(e))
        }
        Err(x509_parser::nom::Err::Incomplete(_)) => {
            Err(Error::certificate(X509Error::InvalidCertificate))
        }
    }
}

/// Loads a certificate chain: PEM with one or more `CERTIFICATE` blocks (other blocks are
/// ignored), or one DER certificate. Returns the DER of each certificate, in order, after
/// checking that each parses as X.509 (signatures and validity are not checked).
///
/// # Errors
/// [`Error::NoCertificate`] when there is none, [`Error::Pem`] for malformed PEM,
/// [`Error::Certificate`] for a certificate that does not parse.
pub fn load_certificate_chain(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    if asn1::looks_like_pem(bytes) {
        let blocks = pem::parse_many(bytes).map_err(Error::pem)?;
        let certs: Vec<Vec<u8>> = blocks
            .into_iter()
            .filter(|b| matches!(b.tag(), "CERTIFICATE" | "X509 CERTIFICATE"))
            .map(pem::Pem::into_contents)
            .collect();
        if certs.is_empty() {
            return Err(Error::NoCertificate);
        }
        for cert in &certs {
            parse_certificate(cert)?;
        }
        return Ok(certs);
    }
    if bytes.is_empty() {
        return Err(Error::NoCertificate);
    }
    parse_certificate(bytes)?;
    Ok(vec![bytes.to_vec()])
}
