//! Taking keys apart the way other JWT libraries want them: the DER of a PEM block, the
//! PKCS#1 key inside PKCS#8, the key bits inside a SubjectPublicKeyInfo.
//!
//! The structures are read with RustCrypto's `pkcs8`, `pkcs1` and `spki` crates (on `der`).

use der::Decode as _;
use pkcs8::PrivateKeyInfo;
use spki::SubjectPublicKeyInfoRef;

use crate::Error;

/// The DER of a PEM block with this label (`PRIVATE KEY`, `PUBLIC KEY`, ...).
///
/// # Errors
/// [`Error::Key`] when the text is not PEM or its label differs.
pub fn pem_der(pem: &str, label: &str) -> Result<Vec<u8>, Error> {
    let block = pem::parse(pem).map_err(|e| Error::key("not PEM", e))?;
    if block.tag() != label {
        return Err(Error::Key {
            message: format!("PEM `{}`, not `{label}`", block.tag()),
            source: None,
        });
    }
    Ok(block.into_contents())
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` of an RSA key (what
/// jsonwebtoken's `EncodingKey::from_rsa_der` takes).
///
/// # Errors
/// [`Error::Key`] when the DER is not a PKCS#8 `PrivateKeyInfo`, its algorithm is not
/// `rsaEncryption`, or the key inside is not a PKCS#1 `RSAPrivateKey`.
pub fn pkcs1_from_pkcs8(pkcs8: &[u8]) -> Result<Vec<u8>, Error> {
    let info = PrivateKeyInfo::from_der(pkcs8)
        .map_err(|e| Error::key("not a PKCS#8 PrivateKeyInfo", e))?;
    if info.algorithm.oid != pkcs1::ALGORITHM_OID {
        return Err(Error::Key {
            message: format!("PKCS#8 key of algorithm {}, not RSA", info.algorithm.oid),
            source: None,
        });
    }
    pkcs1::RsaPrivateKey::from_der(info.private_key)
        .map_err(|e| Error::key("the PKCS#8 key is not a PKCS#1 RSAPrivateKey", e))?;
    Ok(info.private_key.to_vec())
}

/// The key bits inside a SubjectPublicKeyInfo: PKCS#1 `RSAPublicKey` for RSA, the
/// uncompressed point for EC (what jsonwebtoken's `DecodingKey::from_*_der` take).
///
/// # Errors
/// [`Error::Key`] when the DER is not a SubjectPublicKeyInfo, or its BIT STRING does not
/// hold whole bytes.
pub fn spki_key_bits(spki: &[u8]) -> Result<Vec<u8>, Error> {
    let info = SubjectPublicKeyInfoRef::from_der(spki)
        .map_err(|e| Error::key("not a SubjectPublicKeyInfo", e))?;
    info.subject_public_key
        .as_bytes()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| Error::Key {
            message: "BIT STRING without whole bytes".to_owned(),
            source: None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    // `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` and
    // `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024`, with their public
    // keys (`openssl pkey -pubout`): test keys, never used for anything else.
    const EC_PKCS8: &str = include_str!("../tests/keys/p256.pkcs8.pem");
    const EC_SPKI: &str = include_str!("../tests/keys/p256.spki.pem");
    const RSA_PKCS8: &str = include_str!("../tests/keys/rsa1024.pkcs8.pem");
    const RSA_PKCS1: &str = include_str!("../tests/keys/rsa1024.pkcs1.pem");
    const RSA_SPKI: &str = include_str!("../tests/keys/rsa1024.spki.pem");
    const RSA_PKCS1_PUBLIC: &str = include_str!("../tests/keys/rsa1024.pkcs1-public.pem");

    #[test]
    fn pem_blocks_by_label() {
        let der = pem_der(EC_SPKI, "PUBLIC KEY").unwrap();
        assert_eq!(der.first(), Some(&0x30), "a DER SEQUENCE");
        let e = pem_der(EC_SPKI, "PRIVATE KEY").unwrap_err().to_string();
        assert_eq!(e, "PEM `PUBLIC KEY`, not `PRIVATE KEY`");
        assert!(pem_der("no pem", "PUBLIC KEY").is_err());
    }

    #[test]
    fn pkcs1_inside_pkcs8_is_what_openssl_writes() {
        let pkcs8 = pem_der(RSA_PKCS8, "PRIVATE KEY").unwrap();
        let pkcs1 = pem_der(RSA_PKCS1, "RSA PRIVATE KEY").unwrap();
        assert_eq!(pkcs1_from_pkcs8(&pkcs8).unwrap(), pkcs1);

        // An EC key is not RSA; a public key is not PKCS#8; cut or trailing bytes fail.
        let ec = pem_der(EC_PKCS8, "PRIVATE KEY").unwrap();
        let e = pkcs1_from_pkcs8(&ec).unwrap_err().to_string();
        assert!(
            e.contains("1.2.840.10045.2.1") && e.contains("not RSA"),
            "{e}"
        );
        let spki = pem_der(RSA_SPKI, "PUBLIC KEY").unwrap();
        assert!(pkcs1_from_pkcs8(&spki).is_err());
        assert!(pkcs1_from_pkcs8(&pkcs8[..pkcs8.len() - 1]).is_err());
        assert!(pkcs1_from_pkcs8(&[pkcs8.as_slice(), &[0]].concat()).is_err());
        assert!(pkcs1_from_pkcs8(&[]).is_err());
    }

    #[test]
    fn key_bits_inside_spki_are_what_openssl_writes() {
        let spki = pem_der(RSA_SPKI, "PUBLIC KEY").unwrap();
        let pkcs1 = pem_der(RSA_PKCS1_PUBLIC, "RSA PUBLIC KEY").unwrap();
        assert_eq!(spki_key_bits(&spki).unwrap(), pkcs1);

        // The uncompressed P-256 point: 04 || X || Y, the last 65 bytes of the SPKI.
        let spki = pem_der(EC_SPKI, "PUBLIC KEY").unwrap();
        let point = spki_key_bits(&spki).unwrap();
        assert_eq!(point.len(), 65);
        assert_eq!(point[0], 0x04);
        assert!(spki.ends_with(&point));

        // SEQUENCE { SEQUENCE { OID 1.2.840.10045.2.1 }, BIT STRING (1 unused bit) 04 }
        let odd_bits = [
            0x30, 0x0f, 0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x03,
            0x02, 0x01, 0x04,
        ];
        let e = spki_key_bits(&odd_bits).unwrap_err().to_string();
        assert_eq!(e, "BIT STRING without whole bytes");
        let private = pem_der(EC_PKCS8, "PRIVATE KEY").unwrap();
        assert!(spki_key_bits(&private).is_err());
        assert!(spki_key_bits(&spki[..spki.len() - 1]).is_err());
    }
}
