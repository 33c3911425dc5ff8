//! Finding keys on a token and reading their public halves.

use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use hsmjwt_core::{Curve, KeyKind, PublicKeyParams};

use crate::error::{Error, Result};
use crate::uri::Pkcs11Uri;

/// DER of the named-curve OID for P-256 (1.2.840.10045.3.1.7), as in `CKA_EC_PARAMS`.
pub(crate) const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER of the named-curve OID for P-384 (1.3.132.0.34), as in `CKA_EC_PARAMS`.
pub(crate) const P384_PARAMS: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// The `CKA_EC_PARAMS` value naming `curve`.
pub(crate) fn ec_params(curve: Curve) -> Option<&'static [u8]> {
    match curve {
        Curve::P256 => Some(P256_PARAMS),
        Curve::P384 => Some(P384_PARAMS),
        _ => None,
    }
}

/// The curve named by a `CKA_EC_PARAMS` value (a DER OID, or a printable curve name as some
/// tokens store it).
pub(crate) fn curve_from_params(params: &[u8]) -> Option<Curve> {
    match params {
        P256_PARAMS => Some(Curve::P256),
        P384_PARAMS => Some(Curve::P384),
        // PrintableString names (RFC 3279 allows only the OID, but some tokens differ).
        [0x13, len, name @ ..] if usize::from(*len) == name.len() => match name {
            b"prime256v1" | b"secp256r1" | b"P-256" => Some(Curve::P256),
            b"secp384r1" | b"P-384" => Some(Curve::P384),
            _ => None,
        },
        _ => None,
    }
}

/// The uncompressed point in a `CKA_EC_POINT` value: DER `OCTET STRING` wrapping
/// `04 || X || Y` (as PKCS#11 says), or the bare point (as some tokens return).
pub(crate) fn unwrap_ec_point(value: &[u8], curve: Curve) -> Option<&[u8]> {
    let point_len = 1 + 2 * curve.coordinate_len();
    let inner = match value {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        [0x04, 0x81, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        _ => value,
    };
    (inner.len() == point_len && inner.first() == Some(&0x04)).then_some(inner)
}

/// The template selecting objects of `class` by the URI's label and id.
pub(crate) fn template(
    class: ObjectClass,
    label: Option<&str>,
    id: Option<&[u8]>,
) -> Vec<Attribute> {
    let mut t = vec![Attribute::Class(class)];
    if let Some(label) = label {
        t.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = id {
        t.push(Attribute::Id(id.to_vec()));
    }
    t
}

/// The one private key the URI selects on the token.
pub(crate) fn find_private_key(
    session: &Session,
    token: &str,
    uri: &Pkcs11Uri,
) -> Result<ObjectHandle> {
    let found = session
        .find_objects(&template(ObjectClass::PRIVATE_KEY, uri.object(), uri.id()))
        .map_err(|e| Error::pkcs11("C_FindObjects", token, e))?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::KeyNotFound {
            what: "private key",
            token: token.to_owned(),
            searched: uri.describe_object(),
        }),
        many => Err(Error::AmbiguousKey {
            what: "private keys",
            token: token.to_owned(),
            searched: uri.describe_object(),
            count: many.len(),
        }),
    }
}

/// Reads the attributes of `handle` that are available, ignoring the others.
pub(crate) fn attributes(
    session: &Session,
    token: &str,
    handle: ObjectHandle,
    wanted: &[AttributeType],
) -> Result<Vec<Attribute>> {
    session
        .get_attributes(handle, wanted)
        .map_err(|e| Error::pkcs11("C_GetAttributeValue", token, e))
}

/// What [`describe`] learns about a key object.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyFacts {
    pub(crate) key_type: Option<KeyType>,
    pub(crate) label: Option<String>,
    pub(crate) id: Vec<u8>,
    pub(crate) modulus: Option<Vec<u8>>,
    pub(crate) exponent: Option<Vec<u8>>,
    pub(crate) ec_params: Option<Vec<u8>>,
    pub(crate) ec_point: Option<Vec<u8>>,
    pub(crate) modulus_bits: Option<usize>,
    pub(crate) sign: Option<bool>,
}

impl KeyFacts {
    /// The kind of key, when it is one this library can use.
    pub(crate) fn kind(&self) -> Option<KeyKind> {
        match self.key_type? {
            KeyType::RSA => Some(KeyKind::Rsa),
            KeyType::EC => self
                .ec_params
                .as_deref()
                .and_then(curve_from_params)
                .map(KeyKind::Ec),
            _ => None,
        }
    }

    /// The RSA modulus size in bits, from `CKA_MODULUS` or `CKA_MODULUS_BITS`.
    pub(crate) fn rsa_bits(&self) -> Option<usize> {
        match &self.modulus {
            Some(n) => {
                let first = n.iter().position(|b| *b != 0)?;
                let lead = n.get(first)?;
                Some((n.len() - first - 1) * 8 + (8 - lead.leading_zeros() as usize))
            }
            None => self.modulus_bits,
        }
    }

    /// A description such as "an RSA 2048-bit key" or "an EC P-384 key".
    pub(crate) fn describe_kind(&self) -> String {
        match (self.key_type, self.kind()) {
            (_, Some(KeyKind::Rsa)) => match self.rsa_bits() {
                Some(bits) => format!("an RSA {bits}-bit key"),
                None => "an RSA key".to_owned(),
            },
            (_, Some(KeyKind::Ec(curve))) => format!("an EC {curve} key"),
            (Some(KeyType::EC), _) => "an EC key on an unsupported curve".to_owned(),
            (Some(t), _) => format!("a {t} key"),
            (None, _) => "a key of unknown type".to_owned(),
        }
    }
}

/// Reads the type, label, id and public parameters of a key object.
pub(crate) fn describe(session: &Session, token: &str, handle: ObjectHandle) -> Result<KeyFacts> {
    let attrs = attributes(
        session,
        token,
        handle,
        &[
            AttributeType::KeyType,
            AttributeType::Label,
            AttributeType::Id,
            AttributeType::Modulus,
            AttributeType::PublicExponent,
            AttributeType::ModulusBits,
            AttributeType::EcParams,
            AttributeType::EcPoint,
            AttributeType::Sign,
        ],
    )?;
    let mut facts = KeyFacts::default();
    for a in attrs {
        match a {
            Attribute::KeyType(t) => facts.key_type = Some(t),
            Attribute::Label(l) => facts.label = Some(String::from_utf8_lossy(&l).into_owned()),
            Attribute::Id(id) => facts.id = id,
            Attribute::Modulus(n) if !n.is_empty() => facts.modulus = Some(n),
            Attribute::PublicExponent(e) if !e.is_empty() => facts.exponent = Some(e),
            Attribute::ModulusBits(b) => facts.modulus_bits = Some(usize::from(b)),
            Attribute::EcParams(p) if !p.is_empty() => facts.ec_params = Some(p),
            Attribute::EcPoint(p) if !p.is_empty() => facts.ec_point = Some(p),
            Attribute::Sign(s) => facts.sign = Some(s),
            _ => {}
        }
    }
    Ok(facts)
}

/// The public key object paired with a private key: same id (when it has one), else same
/// label, of the same key type.
fn find_public_key(session: &Session, token: &str, private: &KeyFacts) -> Result<Option<KeyFacts>> {
    let (label, id) = if private.id.is_empty() {
        (private.label.as_deref(), None)
    } else {
        (None, Some(private.id.as_slice()))
    };
    if label.is_none() && id.is_none() {
        return Ok(None);
    }
    let mut t = template(ObjectClass::PUBLIC_KEY, label, id);
    if let Some(kt) = private.key_type {
        t.push(Attribute::KeyType(kt));
    }
    let found = session
        .find_objects(&t)
        .map_err(|e| Error::pkcs11("C_FindObjects", token, e))?;
    for handle in found {
        let facts = describe(session, token, handle)?;
        if facts.ec_params == private.ec_params || private.ec_params.is_none() {
            return Ok(Some(facts));
        }
    }
    Ok(None)
}

/// The public key of a private key object: the modulus and exponent of the private key (or
/// of its public key object), or the EC point of its public key object.
pub(crate) fn public_key(
    session: &Session,
    token: &str,
    private: &KeyFacts,
) -> Result<PublicKeyParams> {
    let who = || {
        let mut s = Vec::new();
        if let Some(l) = &private.label {
            s.push(format!("label `{l}`"));
        }
        if !private.id.is_empty() {
            s.push(format!("id {}", crate::uri::hex(&private.id)));
        }
        s.join(", ")
    };
    match private.kind() {
        Some(KeyKind::Rsa) => {
            let (n, e) = match (&private.modulus, &private.exponent) {
                (Some(n), Some(e)) => (n.clone(), e.clone()),
                _ => {
                    let public = find_public_key(session, token, private)?;
                    match public.and_then(|p| p.modulus.zip(p.exponent)) {
                        Some(ne) => ne,
                        None => {
                            return Err(Error::UnsupportedKey(format!(
                                "cannot read the modulus of the RSA key with {} (neither the private key nor a public key object shows it)",
                                who()
                            )));
                        }
                    }
                }
            };
            PublicKeyParams::rsa(&n, &e).map_err(Error::PublicKey)
        }
        Some(KeyKind::Ec(curve)) => {
            let point = match &private.ec_point {
                Some(p) => Some(p.clone()),
                None => find_public_key(session, token, private)?.and_then(|p| p.ec_point),
            };
            let Some(point) = point else {
                return Err(Error::UnsupportedKey(format!(
                    "no public key object with {} on token `{token}` holds the EC point of the private key",
                    who()
                )));
            };
            let raw = unwrap_ec_point(&point, curve).ok_or_else(|| {
                Error::UnsupportedKey(format!(
                    "CKA_EC_POINT of the key with {} is not an uncompressed {curve} point",
                    who()
                ))
            })?;
            PublicKeyParams::ec_from_point(curve, raw).map_err(Error::PublicKey)
        }
        _ => Err(Error::UnsupportedKey(format!(
            "the key with {} is {} (supported: RSA of 2048 bits or more, EC P-256, EC P-384)",
            who(),
            private.describe_kind()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_and_points() {
        assert_eq!(curve_from_params(P256_PARAMS), Some(Curve::P256));
        assert_eq!(curve_from_params(P384_PARAMS), Some(Curve::P384));
        assert_eq!(curve_from_params(b"\x13\x0aprime256v1"), Some(Curve::P256));
        assert_eq!(
            curve_from_params(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]),
            None
        );
        assert_eq!(curve_from_params(&[]), None);

        let mut point = vec![0x04];
        point.extend_from_slice(&[7u8; 64]);
        let mut der = vec![0x04, 65];
        der.extend_from_slice(&point);
        assert_eq!(unwrap_ec_point(&der, Curve::P256), Some(point.as_slice()));
        assert_eq!(unwrap_ec_point(&point, Curve::P256), Some(point.as_slice()));
        assert_eq!(unwrap_ec_point(&der, Curve::P384), None);
        assert_eq!(unwrap_ec_point(&der[..10], Curve::P256), None);
        assert_eq!(unwrap_ec_point(&[], Curve::P256), None);
    }
}
