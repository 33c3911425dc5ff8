//! Taking keys apart the way other JWT libraries want them: the DER of a PEM block, the
//! PKCS#1 key inside PKCS#8, the key bits inside a SubjectPublicKeyInfo.
//!
//! Only for keys the tests made themselves: a short DER walk, no general parser.

/// The DER of a PEM block with this label (`PRIVATE KEY`, `PUBLIC KEY`, ...).
///
/// # Errors
/// When the text is not PEM or its label differs.
pub fn pem_der(pem: &str, label: &str) -> Result<Vec<u8>, String> {
    let block = pem::parse(pem).map_err(|e| format!("not PEM: {e}"))?;
    if block.tag() != label {
        return Err(format!("PEM `{}`, not `{label}`", block.tag()));
    }
    Ok(block.into_contents())
}

/// One DER element: (tag, content, what follows). Lengths up to two bytes.
///
/// # Errors
/// When the element is cut short or its length takes more than two bytes.
pub fn tlv(der: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let short = || "DER element cut short".to_owned();
    let (&tag, rest) = der.split_first().ok_or_else(short)?;
    let (&first, rest) = rest.split_first().ok_or_else(short)?;
    let (len, rest) = match first {
        n if n < 0x80 => (usize::from(n), rest),
        0x81 => {
            let (&n, rest) = rest.split_first().ok_or_else(short)?;
            (usize::from(n), rest)
        }
        0x82 => match rest {
            [hi, lo, rest @ ..] => ((usize::from(*hi) << 8) | usize::from(*lo), rest),
            _ => return Err(short()),
        },
        other => return Err(format!("unexpected DER length byte {other:#x}")),
    };
    if rest.len() < len {
        return Err(short());
    }
    let (content, after) = rest.split_at(len);
    Ok((tag, content, after))
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (what jsonwebtoken's
/// `EncodingKey::from_rsa_der` takes).
///
/// # Errors
/// When the DER is not `SEQUENCE { version, algorithm, OCTET STRING }`.
pub fn pkcs1_from_pkcs8(pkcs8: &[u8]) -> Result<Vec<u8>, String> {
    // PrivateKeyInfo ::= SEQUENCE { version INTEGER, algorithm SEQUENCE, privateKey OCTET STRING }
    let (_, info, _) = tlv(pkcs8)?;
    let (_, _version, rest) = tlv(info)?;
    let (_, _algorithm, rest) = tlv(rest)?;
    match tlv(rest)? {
        (0x04, key, _) => Ok(key.to_vec()),
        (tag, _, _) => Err(format!("OCTET STRING expected, found tag {tag:#x}")),
    }
}

/// The key bits inside a SubjectPublicKeyInfo: PKCS#1 `RSAPublicKey` for RSA, the
/// uncompressed point for EC (what jsonwebtoken's `DecodingKey::from_*_der` take).
///
/// # Errors
/// When the DER is not `SEQUENCE { algorithm, BIT STRING }` with whole bytes.
pub fn spki_key_bits(spki: &[u8]) -> Result<Vec<u8>, String> {
    // SubjectPublicKeyInfo ::= SEQUENCE { algorithm SEQUENCE, subjectPublicKey BIT STRING }
    let (_, info, _) = tlv(spki)?;
    let (_, _algorithm, rest) = tlv(info)?;
    match tlv(rest)? {
        (0x03, [0, bits @ ..], _) => Ok(bits.to_vec()),
        (0x03, _, _) => Err("BIT STRING without whole bytes".to_owned()),
        (tag, _, _) => Err(format!("BIT STRING expected, found tag {tag:#x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_short_and_long_lengths_and_refuses_cut_elements() {
        assert_eq!(tlv(&[0x04, 1, 9, 7]), Ok((0x04, &[9][..], &[7][..])));
        let long = [&[0x04, 0x81, 0x80][..], &[1; 0x80]].concat();
        assert_eq!(tlv(&long).map(|(_, c, _)| c.len()), Ok(0x80));
        let longer = [&[0x04, 0x82, 0x01, 0x00][..], &[1; 0x100]].concat();
        assert_eq!(tlv(&longer).map(|(_, c, _)| c.len()), Ok(0x100));
        for bad in [
            &[][..],
            &[0x04],
            &[0x04, 2, 1],
            &[0x04, 0x81],
            &[0x04, 0x82, 1],
            &[0x04, 0x83, 0, 0, 1],
        ] {
            assert!(tlv(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn takes_keys_apart() {
        // SEQUENCE { INTEGER 0, SEQUENCE {}, OCTET STRING 01 02 }
        let pkcs8 = [0x30, 9, 0x02, 1, 0, 0x30, 0, 0x04, 2, 1, 2];
        assert_eq!(pkcs1_from_pkcs8(&pkcs8), Ok(vec![1, 2]));
        // SEQUENCE { SEQUENCE {}, BIT STRING (0 unused) 04 05 }
        let spki = [0x30, 7, 0x30, 0, 0x03, 3, 0, 4, 5];
        assert_eq!(spki_key_bits(&spki), Ok(vec![4, 5]));
        assert!(spki_key_bits(&pkcs8).is_err());
        assert!(pkcs1_from_pkcs8(&spki).is_err());
        let pem = "-----BEGIN PUBLIC KEY-----\nMAcwAAMDAAQF\n-----END PUBLIC KEY-----\n";
        assert_eq!(pem_der(pem, "PUBLIC KEY"), Ok(spki.to_vec()));
        assert!(pem_der(pem, "PRIVATE KEY").is_err());
        assert!(pem_der("no pem", "PUBLIC KEY").is_err());
    }
}
