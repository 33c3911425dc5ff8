//! DER and PEM plumbing: object identifiers, SubjectPublicKeyInfo parsing and encoding, and
//! PEM encoding into zeroized buffers. Structure only: no key arithmetic happens here.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetStringRef, UintRef};
use der::{Decode, Encode, Reader, SliceReader};
use hsmjwt_core::jwk::MIN_RSA_BITS;
use hsmjwt_core::{Curve, OkpCurve, PublicKeyParams};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// `rsaEncryption` (PKCS#1).
pub(crate) const RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey` (RFC 5480).
pub(crate) const EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `prime256v1` / `secp256r1`.
pub(crate) const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `secp384r1`.
pub(crate) const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// `secp521r1`.
pub(crate) const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
/// `id-Ed25519` (RFC 8410): the key algorithm of Ed25519 keys, without parameters.
pub(crate) const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The largest RSA modulus accepted, in bits (the limit of aws-lc-rs).
pub(crate) const MAX_RSA_BITS: usize = 8192;

/// A readable name for a key-algorithm or curve OID that this crate does not support.
pub(crate) fn describe_oid(oid: &ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.1.1.10" => {
            "RSASSA-PSS-restricted RSA key (re-export it as a plain RSA key)"
        }
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.2.840.10040.4.1" => "DSA",
        "1.3.132.0.10" => "EC curve secp256k1",
        "1.3.36.3.3.2.8.1.1.7" => "EC curve brainpoolP256r1",
        other => return format!("algorithm OID {other}"),
    };
    name.to_owned()
}

/// The curve named by an OID.
pub(crate) fn curve_from_oid(oid: &ObjectIdentifier) -> Result<Curve> {
    let known = Curve::ALL
        .into_iter()
        .find(|c| curve_oid(*c).is_ok_and(|o| o == *oid));
    known.ok_or_else(|| {
        Error::UnsupportedKey(format!(
            "{} (supported curves: P-256, P-384, P-521)",
            describe_oid(oid)
        ))
    })
}

/// The OID of a curve.
pub(crate) fn curve_oid(curve: Curve) -> Result<ObjectIdentifier> {
    match curve {
        Curve::P256 => Ok(P256),
        Curve::P384 => Ok(P384),
        Curve::P521 => Ok(P521),
        other => Err(Error::UnsupportedKey(format!("EC curve {other}"))),
    }
}

/// The key-algorithm OID of an OKP curve.
fn okp_oid(curve: OkpCurve) -> Result<ObjectIdentifier> {
    match curve {
        OkpCurve::Ed25519 => Ok(ED25519),
        other => Err(Error::UnsupportedKey(format!("OKP curve {other}"))),
    }
}

/// The size in bits of a big-endian unsigned integer.
pub(crate) fn bit_len(be: &[u8]) -> usize {
    match be.iter().position(|b| *b != 0) {
        None => 0,
        Some(i) => (be.len() - i - 1) * 8 + (8 - be[i].leading_zeros() as usize),
    }
}

/// Checks an RSA modulus against the accepted size range.
pub(crate) fn check_rsa_modulus(n: &[u8]) -> Result<usize> {
    let bits = bit_len(n);
    if bits < MIN_RSA_BITS {
        return Err(Error::RsaKeyTooSmall { bits });
    }
    if bits > MAX_RSA_BITS {
        return Err(Error::RsaKeyTooLarge { bits });
    }
    Ok(bits)
}

/// RSA public parameters from modulus and exponent, with this crate's size checks. The
/// exponent must be odd, greater than 1 and at most 33 bits, as aws-lc-rs requires.
pub(crate) fn rsa_params(n: &[u8], e: &[u8]) -> Result<PublicKeyParams> {
    check_rsa_modulus(n)?;
    let e_bits = bit_len(e);
    if !(2..=33).contains(&e_bits) || e.last().is_some_and(|b| b & 1 == 0) {
        return Err(Error::UnsupportedKey(
            "RSA public exponent must be odd, greater than 1 and at most 33 bits".to_owned(),
        ));
    }
    Ok(PublicKeyParams::rsa(n, e)?)
}

/// EC public parameters from a SEC1 point, which must be uncompressed.
pub(crate) fn ec_params(curve: Curve, point: &[u8]) -> Result<PublicKeyParams> {
    if point.first() != Some(&4) {
        return Err(Error::UnsupportedKey(format!(
            "{curve} point is not in uncompressed form"
        )));
    }
    Ok(PublicKeyParams::ec_from_point(curve, point)?)
}

/// Parses a PKCS#1 `RSAPublicKey`.
pub(crate) fn parse_pkcs1_public(der_bytes: &[u8]) -> Result<PublicKeyParams> {
    let key =
        pkcs1::RsaPublicKey::from_der(der_bytes).map_err(Error::der("PKCS#1 RSA public key"))?;
    rsa_params(key.modulus.as_bytes(), key.public_exponent.as_bytes())
}

/// Whether the bytes parse as a SubjectPublicKeyInfo (whatever its algorithm).
pub(crate) fn is_spki(der_bytes: &[u8]) -> bool {
    SubjectPublicKeyInfoRef::from_der(der_bytes).is_ok()
}

/// Parses a SubjectPublicKeyInfo holding an RSA, P-256/P-384/P-521 or Ed25519 key.
pub(crate) fn parse_spki(der_bytes: &[u8]) -> Result<PublicKeyParams> {
    let spki = SubjectPublicKeyInfoRef::from_der(der_bytes)
        .map_err(Error::der("SubjectPublicKeyInfo public key"))?;
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| Error::UnsupportedKey("public key bit string has unused bits".to_owned()))?;
    let oid = spki.algorithm.oid;
    if oid == RSA_ENCRYPTION {
        parse_pkcs1_public(key)
    } else if oid == EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters_oid()
            .map_err(|_| Error::UnsupportedKey("EC key without a named curve".to_owned()))?;
        ec_params(curve_from_oid(&curve)?, key)
    } else if oid == ED25519 {
        // RFC 8410: the parameters are absent.
        if spki.algorithm.parameters.is_some() {
            return Err(Error::UnsupportedKey(
                "Ed25519 key with algorithm parameters".to_owned(),
            ));
        }
        Ok(PublicKeyParams::okp(OkpCurve::Ed25519, key)?)
    } else {
        Err(Error::UnsupportedKey(describe_oid(&oid)))
    }
}

/// Encodes public parameters as a DER SubjectPublicKeyInfo, as `openssl pkey -pubout` does.
pub(crate) fn encode_spki(params: &PublicKeyParams) -> Result<Vec<u8>> {
    let enc = Error::der("SubjectPublicKeyInfo");
    match params {
        PublicKeyParams::Rsa { n, e } => {
            let pkcs1 = pkcs1::RsaPublicKey {
                modulus: UintRef::new(n).map_err(Error::der("RSA modulus"))?,
                public_exponent: UintRef::new(e).map_err(Error::der("RSA exponent"))?,
            }
            .to_der()
            .map_err(Error::der("PKCS#1 RSA public key"))?;
            SubjectPublicKeyInfoRef {
                algorithm: AlgorithmIdentifierRef {
                    oid: RSA_ENCRYPTION,
                    parameters: Some(AnyRef::NULL),
                },
                subject_public_key: BitStringRef::from_bytes(&pkcs1)
                    .map_err(Error::der("RSA key"))?,
            }
            .to_der()
            .map_err(enc)
        }
        PublicKeyParams::Ec { crv, .. } => {
            let curve = curve_oid(*crv)?;
            let point = params.ec_point().unwrap_or_default();
            SubjectPublicKeyInfoRef {
                algorithm: AlgorithmIdentifierRef {
                    oid: EC_PUBLIC_KEY,
                    parameters: Some(AnyRef::from(&curve)),
                },
                subject_public_key: BitStringRef::from_bytes(&point)
                    .map_err(Error::der("EC point"))?,
            }
            .to_der()
            .map_err(enc)
        }
        PublicKeyParams::Okp { crv, x } => SubjectPublicKeyInfoRef {
            algorithm: AlgorithmIdentifierRef {
                oid: okp_oid(*crv)?,
                parameters: None,
            },
            subject_public_key: BitStringRef::from_bytes(x).map_err(Error::der("OKP key"))?,
        }
        .to_der()
        .map_err(enc),
        _ => Err(Error::UnsupportedKey(format!("{params:?}"))),
    }
}

/// Whether the bytes are a PKCS#8 `EncryptedPrivateKeyInfo`: `SEQUENCE { AlgorithmIdentifier,
/// OCTET STRING }`, a shape no unencrypted key format has.
pub(crate) fn is_encrypted_pkcs8(der_bytes: &[u8]) -> bool {
    let Ok(mut reader) = SliceReader::new(der_bytes) else {
        return false;
    };
    let parsed = reader.sequence(|r| {
        AlgorithmIdentifierRef::decode(r)?;
        OctetStringRef::decode(r)?;
        Ok(())
    });
    parsed.is_ok() && reader.is_finished()
}

/// PEM-encodes `der` under `label` with 64-character lines and LF line endings, into a buffer
/// that is wiped when dropped (for private keys).
pub(crate) fn pem_encode_secret(label: &str, der: &[u8]) -> Zeroizing<String> {
    let body_len = der.len().div_ceil(3) * 4;
    let lines = body_len.div_ceil(64);
    let capacity = 2 * (label.len() + 16) + body_len + lines;
    let mut out = Zeroizing::new(String::with_capacity(capacity));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in der.chunks(48) {
        STANDARD.encode_string(chunk, &mut out);
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// PEM-encodes public data (a public key, a certificate, a request) under `label` with
/// LF line endings.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let block = pem::Pem::new(label, der.to_vec());
    pem::encode_config(
        &block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// Whether text looks like PEM.
pub(crate) fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// How key bytes are encoded, as the `from_bytes` functions tell.
pub(crate) enum Encoding<'a> {
    /// PEM text.
    Pem(&'a str),
    /// A JSON object (a JWK).
    Json,
    /// Anything else, read as DER.
    Der,
}

/// Tells the encoding of key bytes: PEM text (which must be UTF-8), a JSON object (first
/// non-blank byte `{`), or else DER.
pub(crate) fn encoding(bytes: &[u8]) -> Result<Encoding<'_>> {
    if looks_like_pem(bytes) {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::UnrecognizedFormat {
            expected: "PEM text in UTF-8",
        })?;
        return Ok(Encoding::Pem(text));
    }
    if looks_like_json(bytes) {
        return Ok(Encoding::Json);
    }
    Ok(Encoding::Der)
}

/// Whether bytes look like a JSON object (first non-blank byte is `{`).
pub(crate) fn looks_like_json(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[0, 0]), 0);
        assert_eq!(bit_len(&[1]), 1);
        assert_eq!(bit_len(&[0, 0x80, 0]), 16);
    }

    #[test]
    fn secret_pem_lines() {
        let pem = pem_encode_secret("PRIVATE KEY", &[0u8; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines.first(), Some(&"-----BEGIN PRIVATE KEY-----"));
        assert_eq!(lines.get(1).map(|l| l.len()), Some(64));
        assert_eq!(lines.last(), Some(&"-----END PRIVATE KEY-----"));
        assert!(pem.ends_with('\n'));
    }

    #[test]
    fn encrypted_shape() {
        assert!(!is_encrypted_pkcs8(b""));
        assert!(!is_encrypted_pkcs8(&[0x30, 0x00]));
    }
}
