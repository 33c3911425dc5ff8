//! Deleting a key: its private key, public key and certificate objects.

use std::fmt;

use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use hsmjwt_core::text::Untrusted;
use serde::Serialize;

use crate::access::TokenAccess;
use crate::context;
use crate::error::{Error, Result};
use crate::key;
use crate::uri::{ObjectType, Pkcs11Uri, hex};

/// Options for [`delete_key`].
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// The module and the PIN source, when the URI does not give them.
    pub access: TokenAccess,
}

/// The kind of a token object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ObjectKind {
    /// `CKO_PRIVATE_KEY`.
    PrivateKey,
    /// `CKO_PUBLIC_KEY`.
    PublicKey,
    /// `CKO_CERTIFICATE`.
    Certificate,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::PrivateKey => "private key",
            ObjectKind::PublicKey => "public key",
            ObjectKind::Certificate => "certificate",
        })
    }
}

/// One object of a key.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct KeyObject {
    /// What it is.
    pub kind: ObjectKind,
    /// `CKA_LABEL`.
    pub label: Option<String>,
    /// `CKA_ID`, lower-case hex.
    pub id: String,
    /// A URI naming it.
    pub uri: String,
    #[serde(skip)]
    raw_id: Vec<u8>,
    #[serde(skip)]
    handle: ObjectHandle,
}

/// The objects of one key on a token: its private key, public key and certificates.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct KeyObjects {
    /// The token label.
    pub token: String,
    /// The objects, private key first.
    pub objects: Vec<KeyObject>,
}

impl fmt::Display for KeyObjects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "token `{}`:", Untrusted(&self.token))?;
        for o in &self.objects {
            writeln!(
                f,
                "  {} `{}` id {}",
                o.kind,
                Untrusted(o.label.as_deref().unwrap_or("")),
                if o.id.is_empty() { "-" } else { &o.id }
            )?;
        }
        Ok(())
    }
}

/// What [`delete_key`] found and whether it deleted it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Deletion {
    /// The key's objects.
    #[serde(flatten)]
    pub found: KeyObjects,
    /// Whether they were destroyed (false when `confirm` said no).
    pub deleted: bool,
}

/// Deletes one key from the token the URI names: the private key the URI selects (by
/// `object` and/or `id`; one is required), and the public key and certificate objects with
/// its id (or, for a key without id, its label). A key whose private key is gone is found
/// by its public key, then by its certificate.
///
/// `confirm` is shown the objects first and decides: when it returns false nothing is
/// destroyed. The private key is destroyed first, so an interrupted deletion leaves at most
/// public objects, which a second call finds and removes.
///
/// # Errors
/// [`Error::NoKeyNamed`] for a URI without `object` and `id`; [`Error::InvalidUri`] for a
/// `type` other than `private`, `public` or `cert`; [`Error::KeyNotFound`] when nothing
/// matches; [`Error::AmbiguousKey`] when the URI matches more than one key, or when other
/// private keys share the key's id; the module, token and login errors of
/// [`Pkcs11Signer::open`](crate::Pkcs11Signer::open); [`Error::Pkcs11`] when a look-up or a
/// `C_DestroyObject` fails (the objects destroyed before it stay destroyed).
pub fn delete_key(
    uri: &Pkcs11Uri,
    options: &DeleteOptions,
    confirm: impl FnOnce(&KeyObjects) -> bool,
) -> Result<Deletion> {
    if uri.object().is_none() && uri.id().is_none() {
        return Err(Error::NoKeyNamed);
    }
    let classes: &[ObjectClass] = match uri.object_type() {
        None | Some(ObjectType::Private | ObjectType::Public | ObjectType::Cert) => &[
            ObjectClass::PRIVATE_KEY,
            ObjectClass::PUBLIC_KEY,
            ObjectClass::CERTIFICATE,
        ],
        Some(t) => {
            return Err(Error::uri(
                "type",
                format!("is `{t}`, but a key (private key, public key, certificate) is deleted"),
            ));
        }
    };
    let context::RwSession {
        module,
        token,
        session,
    } = context::open_rw_session(uri, &options.access)?;
    // No other look-up or creation of this process runs while the key is found and removed.
    let _creating = module.creating();

    // The key's own label and id, from the first class that has a match.
    let mut anchor = None;
    for class in classes {
        let found = find(
            &session,
            &token,
            key::template(*class, uri.object(), uri.id()),
        )?;
        match found.as_slice() {
            [] => continue,
            [one] => {
                anchor = Some(read(&session, &token, *one, *class)?);
                break;
            }
            many => {
                return Err(Error::AmbiguousKey {
                    what: plural(*class),
                    token,
                    searched: uri.describe_object(),
                    count: many.len(),
                });
            }
        }
    }
    let anchor = anchor.ok_or_else(|| Error::KeyNotFound {
        what: "key",
        token: token.clone(),
        searched: uri.describe_object(),
    })?;
    let id = anchor.raw_id.clone();
    let mut objects = Vec::new();
    // A key with neither id nor label has no partner objects to find: only itself.
    let alone = id.is_empty() && anchor.label.is_none();
    if alone {
        objects.push(anchor.clone());
    }
    for class in classes.iter().filter(|_| !alone) {
        let template = if id.is_empty() {
            // Without an id, only objects of the same label that have no id either.
            key::template(*class, anchor.label.as_deref(), None)
        } else {
            key::template(*class, None, Some(&id))
        };
        for handle in find(&session, &token, template)? {
            let object = read(&session, &token, handle, *class)?;
            if id.is_empty() && !object.id.is_empty() {
                continue;
            }
            objects.push(object);
        }
    }
    let privates = objects
        .iter()
        .filter(|o| o.kind == ObjectKind::PrivateKey)
        .count();
    if privates > 1 {
        return Err(Error::AmbiguousKey {
            what: "private keys",
            token,
            searched: if id.is_empty() {
                format!(
                    "label `{}` without id",
                    anchor.label.clone().unwrap_or_default()
                )
            } else {
                format!("id {}", anchor.id)
            },
            count: privates,
        });
    }
    let found = KeyObjects { token, objects };
    if !confirm(&found) {
        return Ok(Deletion {
            found,
            deleted: false,
        });
    }
    for object in &found.objects {
        tracing::info!(token = %Untrusted(&found.token), kind = %object.kind, id = %object.id, "deleting an object");
        session
            .destroy_object(object.handle)
            .map_err(|e| Error::pkcs11("C_DestroyObject", &found.token, e))?;
    }
    Ok(Deletion {
        found,
        deleted: true,
    })
}

fn plural(class: ObjectClass) -> &'static str {
    if class == ObjectClass::PRIVATE_KEY {
        "private keys"
    } else if class == ObjectClass::PUBLIC_KEY {
        "public keys"
    } else {
        "certificates"
    }
}

fn find(session: &Session, token: &str, template: Vec<Attribute>) -> Result<Vec<ObjectHandle>> {
    session
        .find_objects(&template)
        .map_err(|e| Error::pkcs11("C_FindObjects", token, e))
}

/// The label and id of an object.
fn read(
    session: &Session,
    token: &str,
    handle: ObjectHandle,
    class: ObjectClass,
) -> Result<KeyObject> {
    let (mut label, mut id) = (None, Vec::new());
    for a in key::attributes(
        session,
        token,
        handle,
        &[AttributeType::Label, AttributeType::Id],
    )? {
        match a {
            Attribute::Label(l) => label = Some(String::from_utf8_lossy(&l).into_owned()),
            Attribute::Id(i) => id = i,
            _ => {}
        }
    }
    let (kind, object_type) = if class == ObjectClass::PRIVATE_KEY {
        (ObjectKind::PrivateKey, ObjectType::Private)
    } else if class == ObjectClass::PUBLIC_KEY {
        (ObjectKind::PublicKey, ObjectType::Public)
    } else {
        (ObjectKind::Certificate, ObjectType::Cert)
    };
    let mut uri = Pkcs11Uri::new()
        .with_token(token)
        .with_object_type(object_type);
    if let Some(label) = &label {
        uri = uri.with_object(label.clone());
    }
    if !id.is_empty() {
        uri = uri.with_id(id.clone());
    }
    Ok(KeyObject {
        kind,
        label,
        id: hex(&id),
        uri: uri.to_string(),
        raw_id: id,
        handle,
    })
}
