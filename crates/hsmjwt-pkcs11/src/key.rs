//! Finding keys on a token and reading their public halves.

use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use hsmjwt_core::{Curve, KeyKind, OkpCurve, PublicKeyParams};

use crate::error::{Error, Result};
use crate::uri::Pkcs11Uri;

/// DER of the named-curve OID for P-256 (1.2.840.10045.3.1.7), as in `CKA_EC_PARAMS`.
pub(crate) const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER of the named-curve OID for P-384 (1.3.132.0.34), as in `CKA_EC_PARAMS`.
pub(crate) const P384_PARAMS: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
/// DER of the named-curve OID for P-521 (1.3.132.0.35), as in `CKA_EC_PARAMS`.
pub(crate) const P521_PARAMS: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23];
/// DER of `id-Ed25519` (1.3.101.112, RFC 8410), one of the two `CKA_EC_PARAMS` values
/// PKCS#11 3.0 gives for an Ed25519 key; the other is the PrintableString `edwards25519`
/// (what `pkcs11-tool` sends). SoftHSM 2.6.1 takes both.
pub(crate) const ED25519_PARAMS: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

/// The `CKA_EC_PARAMS` value naming `curve`.
pub(crate) fn ec_params(curve: Curve) -> Option<&'static [u8]> {
    match curve {
        Curve::P256 => Some(P256_PARAMS),
        Curve::P384 => Some(P384_PARAMS),
        Curve::P521 => Some(P521_PARAMS),
        _ => None,
    }
}

/// The `CKA_EC_PARAMS` value of a `CKK_EC_EDWARDS` key on `curve`.
pub(crate) fn edwards_params(curve: OkpCurve) -> Option<&'static [u8]> {
    match curve {
        OkpCurve::Ed25519 => Some(ED25519_PARAMS),
        _ => None,
    }
}

/// The curve named by a `CKA_EC_PARAMS` value (a DER OID, or a printable curve name as some
/// tokens store it).
pub(crate) fn curve_from_params(params: &[u8]) -> Option<Curve> {
    match params {
        P256_PARAMS => Some(Curve::P256),
        P384_PARAMS => Some(Curve::P384),
        P521_PARAMS => Some(Curve::P521),
        // PrintableString names (RFC 3279 allows only the OID, but some tokens differ).
        [0x13, len, name @ ..] if usize::from(*len) == name.len() => match name {
            b"prime256v1" | b"secp256r1" | b"P-256" => Some(Curve::P256),
            b"secp384r1" | b"P-384" => Some(Curve::P384),
            b"secp521r1" | b"P-521" => Some(Curve::P521),
            _ => None,
        },
        _ => None,
    }
}

/// The curve named by the `CKA_EC_PARAMS` of a `CKK_EC_EDWARDS` key: `id-Ed25519`, the
/// PrintableString `edwards25519` (PKCS#11 3.0), or the older curve25519 OID
/// 1.3.6.1.4.1.11591.15.1 that some tokens use for Ed25519.
pub(crate) fn edwards_curve_from_params(params: &[u8]) -> Option<OkpCurve> {
    const GNU_ED25519: &[u8] = &[
        0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01,
    ];
    match params {
        ED25519_PARAMS | GNU_ED25519 => Some(OkpCurve::Ed25519),
        [0x13, len, name @ ..] if usize::from(*len) == name.len() => match name {
            b"edwards25519" | b"Ed25519" => Some(OkpCurve::Ed25519),
            _ => None,
        },
        _ => None,
    }
}

/// The content of a `CKA_EC_POINT` value: a DER `OCTET STRING` (as PKCS#11 says), or the
/// bare value (as some tokens return) when it does not parse as one of `len` bytes.
fn unwrap_octet_string(value: &[u8], len: usize) -> &[u8] {
    let inner = match value {
        [0x04, l, rest @ ..] if usize::from(*l) == rest.len() => rest,
        [0x04, 0x81, l, rest @ ..] if usize::from(*l) == rest.len() => rest,
        _ => value,
    };
    if inner.len() == len { inner } else { value }
}

/// The uncompressed point in a `CKA_EC_POINT` value: DER `OCTET STRING` wrapping
/// `04 || X || Y` (as PKCS#11 says), or the bare point (as some tokens return).
pub(crate) fn unwrap_ec_point(value: &[u8], curve: Curve) -> Option<&[u8]> {
    let point_len = 1 + 2 * curve.coordinate_len();
    let inner = unwrap_octet_string(value, point_len);
    (inner.len() == point_len && inner.first() == Some(&0x04)).then_some(inner)
}

/// The public key in the `CKA_EC_POINT` of a `CKK_EC_EDWARDS` key: the DER `OCTET STRING`
/// of its 32 bytes for Ed25519 (PKCS#11 3.0), or the bare bytes.
pub(crate) fn unwrap_edwards_point(value: &[u8], curve: OkpCurve) -> Option<&[u8]> {
    let inner = unwrap_octet_string(value, curve.key_len());
    (inner.len() == curve.key_len()).then_some(inner)
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

/// Checks that no object of `classes` on the token has `label` or `id`, and returns the id
/// for new objects: `id`, or 8 random bytes from the token. For key generation and import,
/// under the module's creation lock.
///
/// # Errors
/// [`Error::KeyExists`] naming the label and/or id that are taken; [`Error::Pkcs11`] when a
/// look-up or `C_GenerateRandom` fails.
pub(crate) fn free_label_and_id(
    session: &Session,
    token: &str,
    label: &str,
    id: Option<&[u8]>,
    classes: &[ObjectClass],
) -> Result<Vec<u8>> {
    let taken = |template: Vec<Attribute>| -> Result<bool> {
        Ok(!session
            .find_objects(&template)
            .map_err(|e| Error::pkcs11("C_FindObjects", token, e))?
            .is_empty())
    };
    let (mut label_taken, mut id_taken) = (false, false);
    for class in classes {
        label_taken = label_taken || taken(template(*class, Some(label), None))?;
        if let Some(id) = id {
            id_taken = id_taken || taken(template(*class, None, Some(id)))?;
        }
    }
    let mut searched = Vec::new();
    if label_taken {
        searched.push(format!("label `{label}`"));
    }
    if let Some(id) = id.filter(|_| id_taken) {
        searched.push(format!("id {}", crate::uri::hex(id)));
    }
    if !searched.is_empty() {
        return Err(Error::KeyExists {
            token: token.to_owned(),
            searched: searched.join(", "),
        });
    }
    match id {
        Some(id) => Ok(id.to_vec()),
        None => session
            .generate_random_vec(8)
            .map_err(|e| Error::pkcs11("C_GenerateRandom", token, e)),
    }
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
    /// `CKA_PUBLIC_KEY_INFO`: the DER SubjectPublicKeyInfo, when the token fills it in.
    pub(crate) public_key_info: Option<Vec<u8>>,
    /// `CKA_ALWAYS_AUTHENTICATE`: a context-specific login after every `C_SignInit`.
    pub(crate) always_authenticate: Option<bool>,
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
            KeyType::EC_EDWARDS => self
                .ec_params
                .as_deref()
                .and_then(edwards_curve_from_params)
                .map(KeyKind::Okp),
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

    /// A description such as "an RSA 2048-bit key", "an EC P-384 key" or "an Ed25519 key".
    pub(crate) fn describe_kind(&self) -> String {
        match (self.key_type, self.kind()) {
            (_, Some(KeyKind::Rsa)) => match self.rsa_bits() {
                Some(bits) => format!("an RSA {bits}-bit key"),
                None => "an RSA key".to_owned(),
            },
            (_, Some(KeyKind::Ec(curve))) => format!("an EC {curve} key"),
            (_, Some(KeyKind::Okp(curve))) => format!("an {curve} key"),
            (Some(KeyType::EC), _) => "an EC key on an unsupported curve".to_owned(),
            (Some(KeyType::EC_EDWARDS), _) => {
                "an EC Edwards key on an unsupported curve (Ed448?)".to_owned()
            }
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
            AttributeType::PublicKeyInfo,
            AttributeType::AlwaysAuthenticate,
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
            Attribute::AlwaysAuthenticate(a) => facts.always_authenticate = Some(a),
            Attribute::PublicKeyInfo(info) if !info.is_empty() => {
                facts.public_key_info = Some(info);
            }
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
        // The same curve, whatever its spelling: SoftHSM 2.6.1 stores an Ed25519 private
        // key's CKA_EC_PARAMS as `edwards25519` when its public key was made with the OID.
        let same_curve = facts.kind().is_some() && facts.kind() == private.kind();
        if facts.ec_params == private.ec_params || private.ec_params.is_none() || same_curve {
            return Ok(Some(facts));
        }
    }
    Ok(None)
}

/// The point of `found` when it is a key of the same kind and curve as `private`.
fn same_curve_point(found: KeyFacts, private: &KeyFacts) -> Option<Vec<u8>> {
    (found.kind().is_some() && found.kind() == private.kind())
        .then_some(found.ec_point)
        .flatten()
}

/// The public key of a private key object: the modulus and exponent of the private key (or
/// of its public key object), or the EC point of its public key object (an Edwards key's
/// too).
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
        Some(kind @ (KeyKind::Ec(_) | KeyKind::Okp(_))) => {
            // Wherever the token has the point: the private key's own `CKA_EC_POINT` (some
            // modules), its public key object, its `CKA_PUBLIC_KEY_INFO`, or the
            // certificate with its id.
            let mut point = private.ec_point.clone();
            if point.is_none() {
                point = find_public_key(session, token, private)?.and_then(|p| p.ec_point);
            }
            if point.is_none() {
                point = private.public_key_info.as_deref().and_then(|spki| {
                    same_curve_point(crate::public::spki_facts(spki).ok()?, private)
                });
            }
            if point.is_none() && !private.id.is_empty() {
                point = crate::public::certificate_of(session, token, &private.id)?
                    .and_then(|facts| same_curve_point(facts, private));
            }
            let Some(point) = point else {
                return Err(Error::UnsupportedKey(format!(
                    "nothing on token `{token}` holds the public point of the private key with {} (no CKA_EC_POINT on it, no public key object, no CKA_PUBLIC_KEY_INFO, no certificate with its id)",
                    who()
                )));
            };
            let not_a_point = |what: String| {
                Error::UnsupportedKey(format!(
                    "CKA_EC_POINT of the key with {} is not {what}",
                    who()
                ))
            };
            match kind {
                KeyKind::Okp(curve) => {
                    let raw = unwrap_edwards_point(&point, curve)
                        .ok_or_else(|| not_a_point(format!("an {curve} public key")))?;
                    PublicKeyParams::okp(curve, raw).map_err(Error::PublicKey)
                }
                KeyKind::Ec(curve) => {
                    let raw = unwrap_ec_point(&point, curve)
                        .ok_or_else(|| not_a_point(format!("an uncompressed {curve} point")))?;
                    PublicKeyParams::ec_from_point(curve, raw).map_err(Error::PublicKey)
                }
                other => Err(Error::UnsupportedKey(format!("{other}"))),
            }
        }
        _ => Err(Error::UnsupportedKey(format!(
            "the key with {} is {} (supported: RSA of 2048 bits or more, EC P-256, P-384, P-521, Ed25519)",
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
        assert_eq!(curve_from_params(P521_PARAMS), Some(Curve::P521));
        assert_eq!(curve_from_params(b"\x13\x0aprime256v1"), Some(Curve::P256));
        assert_eq!(curve_from_params(b"\x13\x09secp521r1"), Some(Curve::P521));
        // secp256k1 (1.3.132.0.10).
        assert_eq!(
            curve_from_params(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a]),
            None
        );
        assert_eq!(curve_from_params(ED25519_PARAMS), None);
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

        // P-521: 133 bytes, a long-form DER length.
        let mut point = vec![0x04];
        point.extend_from_slice(&[9u8; 132]);
        let mut der = vec![0x04, 0x81, 133];
        der.extend_from_slice(&point);
        assert_eq!(unwrap_ec_point(&der, Curve::P521), Some(point.as_slice()));
        assert_eq!(unwrap_ec_point(&point, Curve::P521), Some(point.as_slice()));
        assert_eq!(unwrap_ec_point(&der, Curve::P384), None);
    }

    #[test]
    fn edwards_params_and_points() {
        assert_eq!(
            edwards_curve_from_params(ED25519_PARAMS),
            Some(OkpCurve::Ed25519)
        );
        assert_eq!(
            edwards_curve_from_params(b"\x13\x0cedwards25519"),
            Some(OkpCurve::Ed25519)
        );
        // Ed448 (1.3.101.113), edwards448, and a P-256 OID are not Ed25519.
        assert_eq!(
            edwards_curve_from_params(&[0x06, 0x03, 0x2b, 0x65, 0x71]),
            None
        );
        assert_eq!(edwards_curve_from_params(b"\x13\x0aedwards448"), None);
        assert_eq!(edwards_curve_from_params(P256_PARAMS), None);
        assert_eq!(edwards_params(OkpCurve::Ed25519), Some(ED25519_PARAMS));

        let key = [5u8; 32];
        let mut der = vec![0x04, 0x20];
        der.extend_from_slice(&key);
        let ed = OkpCurve::Ed25519;
        assert_eq!(unwrap_edwards_point(&der, ed), Some(&key[..]));
        assert_eq!(unwrap_edwards_point(&key, ed), Some(&key[..]));
        assert_eq!(unwrap_edwards_point(&der[..33], ed), None);
        assert_eq!(unwrap_edwards_point(&key[..31], ed), None);
        // A 34-byte value that happens to start like an OCTET STRING of 32 bytes is one.
        let mut odd = vec![0x04, 0x20];
        odd.extend_from_slice(&[0u8; 32]);
        assert_eq!(unwrap_edwards_point(&odd, ed), Some(&[0u8; 32][..]));
    }
}
