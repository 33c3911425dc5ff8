//! Importing a private key (and its public key and certificate) into the token.
//!
//! The key arrives as [`PrivateKeyMaterial`] (see `hsmjwt_soft::PrivateKey::material`) and
//! becomes token objects by `C_CreateObject`: a private key that is private, sensitive, not
//! extractable and may only sign, a public key that may only verify, and, when given, a
//! certificate object; all three with the URI's label and one id.

use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use hsmjwt_core::{PrivateKeyMaterial, PublicKeyParams, SecretParts};
use serde::Serialize;
use x509_cert::der::Encode;
use zeroize::Zeroize;

use crate::access::TokenAccess;
use crate::context;
use crate::error::{Error, Result};
use crate::key;
use crate::uri::{ObjectType, Pkcs11Uri, hex};

/// Options for [`import_key`].
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// A DER X.509 certificate of the key, stored beside it as a certificate object with
    /// the same label and id. It is not checked against the key here: check it first (for
    /// example with `hsmjwt_soft::Certificate::certifies`).
    pub certificate: Option<Vec<u8>>,
    /// The module and the PIN source, when the URI does not give them.
    pub access: TokenAccess,
}

impl ImportOptions {
    /// Stores this DER certificate beside the key.
    #[must_use]
    pub fn with_certificate(mut self, der: Vec<u8>) -> Self {
        self.certificate = Some(der);
        self
    }

    /// Sets the module and the PIN source used when the URI does not give them.
    #[must_use]
    pub fn with_access(mut self, access: TokenAccess) -> Self {
        self.access = access;
        self
    }
}

/// What [`import_key`] created.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ImportedKey {
    /// The token label.
    pub token: String,
    /// The label of the new objects.
    pub label: String,
    /// The id of the new objects, lower-case hex.
    pub id: String,
    /// Whether a certificate object was stored too.
    pub certificate: bool,
    /// A URI naming the new private key (token, object, id and `type=private`).
    pub uri: String,
    /// The new objects' id, raw.
    #[serde(skip)]
    pub id_bytes: Vec<u8>,
}

impl ImportedKey {
    /// A URI naming exactly the new private key: `base` (its module path and PIN source
    /// kept) with the token, label and id of the new objects and `type=private`.
    pub fn uri_from(&self, base: &Pkcs11Uri) -> Pkcs11Uri {
        base.clone()
            .with_token(self.token.clone())
            .with_object(self.label.clone())
            .with_id(self.id_bytes.clone())
            .with_object_type(ObjectType::Private)
    }
}

/// A template whose secret values are wiped when it is dropped.
struct Template(Vec<Attribute>);

impl Drop for Template {
    fn drop(&mut self) {
        for attribute in &mut self.0 {
            match attribute {
                Attribute::PrivateExponent(v)
                | Attribute::Prime1(v)
                | Attribute::Prime2(v)
                | Attribute::Exponent1(v)
                | Attribute::Exponent2(v)
                | Attribute::Coefficient(v)
                | Attribute::Value(v) => v.zeroize(),
                _ => {}
            }
        }
    }
}

/// Imports a private key into the token the URI names, with its public key object and,
/// when [`ImportOptions::certificate`] is given, its certificate object.
///
/// The URI's `object` (required) becomes the `CKA_LABEL` of every new object and its `id`
/// the `CKA_ID` (8 random bytes from the token when absent). The private key is a token
/// object, private, sensitive, not extractable, and may sign; the public key may verify;
/// as for generated keys, the other uses (decrypt, unwrap, derive; encrypt, wrap) are taken
/// away after creation where the module lets them be changed. After creating them, the key's public half is
/// read back from the token and compared with the material's; on any failure after the
/// first object was made, every object this call created is destroyed again.
///
/// Proving that the token signs with the imported key is left to the caller, who holds the
/// software key: sign a probe with a [`Pkcs11Signer`](crate::Pkcs11Signer) opened on
/// [`ImportedKey::uri_from`], verify it, and [`delete_key`](crate::delete_key) on failure.
///
/// # Errors
/// [`Error::InvalidUri`] without `object` or with a `type` other than `private`;
/// [`Error::InvalidCertificate`] when the certificate is not DER X.509; [`Error::KeyExists`]
/// when a key or certificate with that label or id is already there;
/// [`Error::ImportRefused`] when the token refuses to create the private key object (some
/// tokens accept only keys generated inside or imported wrapped); [`Error::ImportMismatch`]
/// when the token's public key is not the material's; the module, token and login errors of
/// [`Pkcs11Signer::open`](crate::Pkcs11Signer::open); [`Error::Pkcs11`] when another call
/// fails.
pub fn import_key(
    uri: &Pkcs11Uri,
    material: &PrivateKeyMaterial,
    options: &ImportOptions,
) -> Result<ImportedKey> {
    let label = uri.object().ok_or_else(|| {
        Error::uri(
            "object",
            "is required: it becomes the label of the imported key",
        )
    })?;
    if label.is_empty() {
        return Err(Error::uri(
            "object",
            "is empty: it becomes the label of the imported key",
        ));
    }
    if let Some(t) = uri.object_type()
        && t != ObjectType::Private
    {
        return Err(Error::uri(
            "type",
            format!("is `{t}`, but a private key is imported"),
        ));
    }
    let certificate = options
        .certificate
        .as_deref()
        .map(crate::objects::certificate_template)
        .transpose()?;

    let context::RwSession {
        module,
        token,
        session,
    } = context::open_rw_session(uri, &options.access)?;
    // From the check that the label and id are free until the new objects exist, no other
    // look-up or creation of this process runs (see `context`).
    let _creating = module.creating();

    let id = key::free_label_and_id(
        &session,
        &token,
        label,
        uri.id(),
        &[
            ObjectClass::PRIVATE_KEY,
            ObjectClass::PUBLIC_KEY,
            ObjectClass::CERTIFICATE,
        ],
    )?;

    let (private, public) = templates(material, label, &id)?;
    tracing::info!(token = %token, label, kind = %material.kind(), "importing a private key into the token");
    let private_handle = session
        .create_object(&private.0)
        .map_err(|e| Error::ImportRefused {
            token: token.clone(),
            source: Box::new(e),
        })?;
    drop(private);
    let mut created = vec![private_handle];
    let finished = (|| {
        let public_handle = session
            .create_object(&public.0)
            .map_err(|e| Error::pkcs11("C_CreateObject", &token, e))?;
        created.push(public_handle);
        if let Some(mut attributes) = certificate.clone() {
            attributes.push(Attribute::Label(label.as_bytes().to_vec()));
            attributes.push(Attribute::Id(id.clone()));
            created.push(
                session
                    .create_object(&attributes)
                    .map_err(|e| Error::pkcs11("C_CreateObject", &token, e))?,
            );
        }
        crate::keygen::restrict_uses(&session, &token, private_handle, public_handle);
        let facts = key::describe(&session, &token, private_handle)?;
        let stored = key::public_key(&session, &token, &facts)?;
        if !same_public_key(&stored, material.public()) {
            return Err(Error::ImportMismatch {
                token: token.clone(),
            });
        }
        Ok(())
    })();
    if let Err(e) = finished {
        destroy_all(&session, &token, &created);
        return Err(e);
    }
    let uri_text = Pkcs11Uri::new()
        .with_token(token.clone())
        .with_object(label)
        .with_id(id.clone())
        .with_object_type(ObjectType::Private)
        .to_string();
    Ok(ImportedKey {
        token,
        label: label.to_owned(),
        id: hex(&id),
        certificate: certificate.is_some(),
        uri: uri_text,
        id_bytes: id,
    })
}

/// Destroys what an unfinished import created, newest first; failures are logged only, the
/// import's own error is the one reported.
fn destroy_all(session: &Session, token: &str, created: &[ObjectHandle]) {
    for handle in created.iter().rev() {
        if let Err(e) = session.destroy_object(*handle) {
            tracing::warn!(token = %hsmjwt_core::text::Untrusted(token), error = %e, "cannot remove an object of an unfinished import");
        }
    }
}

/// The same public key, whatever leading zeros the token keeps on RSA integers.
fn same_public_key(a: &PublicKeyParams, b: &PublicKeyParams) -> bool {
    let trim = |v: &[u8]| -> Vec<u8> {
        let first = v.iter().position(|x| *x != 0).unwrap_or(v.len());
        v[first..].to_vec()
    };
    match (a, b) {
        (PublicKeyParams::Rsa { n: n1, e: e1 }, PublicKeyParams::Rsa { n: n2, e: e2 }) => {
            trim(n1) == trim(n2) && trim(e1) == trim(e2)
        }
        _ => a == b,
    }
}

/// The private and public key templates for `material`.
fn templates(
    material: &PrivateKeyMaterial,
    label: &str,
    id: &[u8],
) -> Result<(Template, Template)> {
    let common = |class: ObjectClass, key_type: KeyType, private: bool| {
        vec![
            Attribute::Class(class),
            Attribute::KeyType(key_type),
            Attribute::Token(true),
            Attribute::Private(private),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.to_vec()),
        ]
    };
    // Only what matters, as for generated keys (see `keygen`); the other uses are taken
    // away afterwards where the module lets them be changed.
    let private_uses = [
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
    ];
    let public_uses = [Attribute::Verify(true)];
    let point = |bytes: Vec<u8>| {
        x509_cert::der::asn1::OctetString::new(bytes)
            .and_then(|o| o.to_der())
            .map_err(|e| Error::UnsupportedKey(format!("cannot encode the public point: {e}")))
    };
    let unsupported =
        || Error::UnsupportedKey(format!("{} keys cannot be imported", material.kind()));
    let (mut private, mut public) = match (material.public(), material.secret()) {
        (
            PublicKeyParams::Rsa { n, e },
            SecretParts::Rsa {
                d,
                p,
                q,
                dp,
                dq,
                qi,
            },
        ) => {
            let mut private = common(ObjectClass::PRIVATE_KEY, KeyType::RSA, true);
            private.extend([
                Attribute::Modulus(n.clone()),
                Attribute::PublicExponent(e.clone()),
                Attribute::PrivateExponent(d.to_vec()),
                Attribute::Prime1(p.to_vec()),
                Attribute::Prime2(q.to_vec()),
                Attribute::Exponent1(dp.to_vec()),
                Attribute::Exponent2(dq.to_vec()),
                Attribute::Coefficient(qi.to_vec()),
            ]);
            let mut public = common(ObjectClass::PUBLIC_KEY, KeyType::RSA, false);
            public.extend([
                Attribute::Modulus(n.clone()),
                Attribute::PublicExponent(e.clone()),
            ]);
            (Template(private), Template(public))
        }
        (PublicKeyParams::Ec { crv, x, y }, SecretParts::Ec { d }) => {
            let params = key::ec_params(*crv).ok_or_else(unsupported)?;
            let mut private = common(ObjectClass::PRIVATE_KEY, KeyType::EC, true);
            private.extend([
                Attribute::EcParams(params.to_vec()),
                Attribute::Value(d.to_vec()),
            ]);
            let mut uncompressed = Vec::with_capacity(1 + x.len() + y.len());
            uncompressed.push(0x04);
            uncompressed.extend_from_slice(x);
            uncompressed.extend_from_slice(y);
            let mut public = common(ObjectClass::PUBLIC_KEY, KeyType::EC, false);
            public.extend([
                Attribute::EcParams(params.to_vec()),
                Attribute::EcPoint(point(uncompressed)?),
            ]);
            (Template(private), Template(public))
        }
        (PublicKeyParams::Okp { crv, x }, SecretParts::Okp { d }) => {
            let params = key::edwards_params(*crv).ok_or_else(unsupported)?;
            let mut private = common(ObjectClass::PRIVATE_KEY, KeyType::EC_EDWARDS, true);
            private.extend([
                Attribute::EcParams(params.to_vec()),
                Attribute::Value(d.to_vec()),
            ]);
            let mut public = common(ObjectClass::PUBLIC_KEY, KeyType::EC_EDWARDS, false);
            public.extend([
                Attribute::EcParams(params.to_vec()),
                Attribute::EcPoint(point(x.clone())?),
            ]);
            (Template(private), Template(public))
        }
        _ => return Err(unsupported()),
    };
    private.0.extend(private_uses);
    public.0.extend(public_uses);
    Ok((private, public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_integers_compare_without_leading_zeros() {
        let a = PublicKeyParams::Rsa {
            n: vec![0, 0xc1, 2],
            e: vec![1, 0, 1],
        };
        let b = PublicKeyParams::Rsa {
            n: vec![0xc1, 2],
            e: vec![0, 1, 0, 1],
        };
        let c = PublicKeyParams::Rsa {
            n: vec![0xc1, 3],
            e: vec![1, 0, 1],
        };
        assert!(same_public_key(&a, &b));
        assert!(!same_public_key(&a, &c));
    }
}
