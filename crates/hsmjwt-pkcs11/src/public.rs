//! [`public_key`]: the public half of a key, read without logging in when it can be.

use cryptoki::object::{Attribute, AttributeType, CertificateType, KeyType, ObjectClass};
use cryptoki::session::Session;
use hsmjwt_core::Jwk;

use crate::access::TokenAccess;
use crate::context::{self, TokenRef};
use crate::error::{Error, Result};
use crate::key::{self, KeyFacts};
use crate::uri::{ObjectType, Pkcs11Uri};

/// Reads the public key the URI names, as a JWK with only its key material (no `kid`,
/// `alg` or `use`), logging in only when the URI asks for the private key.
///
/// Which object is read depends on the URI's `type`:
/// - `type=public`: the one public key object that the URI's `object` and `id` select;
///   when none does, the one X.509 certificate object with the URI's `id` (without an
///   `id`, with its `object` label), and the certificate's key. No login, no PIN.
/// - `type=cert`: the one X.509 certificate object the URI selects. No login, no PIN.
/// - `type=private`: the one private key the URI selects, after logging in as
///   [`Pkcs11Signer::open`](crate::Pkcs11Signer::open) does (a PIN callback is told it
///   may ask a human), its public half read from its attributes or from its public key
///   object.
/// - no `type`: as `type=private` when the token needs no login, is already logged in,
///   or a PIN is at hand without asking anyone (the URI's `pin-value` or `pin-source`, a
///   [`PinSource::Value`](crate::PinSource::Value) or
///   [`PinSource::File`](crate::PinSource::File), or a callback asked with
///   [`PinRequest::may_prompt`](crate::PinRequest::may_prompt) false); otherwise, or when
///   no private key matches, as `type=public`. Nobody is asked for a PIN to read a public
///   key.
///
/// The module comes from the URI's `module-path`, else [`TokenAccess::module`]. More than
/// one matching object is refused ([`Error::AmbiguousKey`]): add `object=` or `id=`. The
/// certificate's validity and signature are not checked: it only carries the key.
///
/// ```no_run
/// use hsmjwt_pkcs11::{Pkcs11Uri, TokenAccess, public_key};
///
/// // A verifying host: the URI `hsm list` prints for the public object, no PIN anywhere.
/// let uri: Pkcs11Uri = "pkcs11:token=jwt;object=signer;type=public;id=%01".parse()?;
/// let access = TokenAccess::new().with_module("/usr/lib/softhsm/libsofthsm2.so");
/// let jwk = public_key(&uri, &access)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// - the module and token errors of [`Pkcs11Signer::open`](crate::Pkcs11Signer::open);
/// - [`Error::InvalidUri`] for a `type` that names no key (`secret-key`, `data`);
/// - [`Error::KeyNotFound`], [`Error::AmbiguousKey`];
/// - for the private key, the PIN and login errors of `Pkcs11Signer::open`;
/// - [`Error::UnsupportedKey`] for a key or certificate this library cannot use (a
///   certificate that is not X.509 DER, another key type or curve), [`Error::PublicKey`]
///   for RSA keys under 2048 bits;
/// - [`Error::Pkcs11`] when the library fails.
pub fn public_key(uri: &Pkcs11Uri, access: &TokenAccess) -> Result<Jwk> {
    let object_type = uri.object_type();
    if let Some(t @ (ObjectType::SecretKey | ObjectType::Data)) = object_type {
        return Err(Error::uri(
            "type",
            format!("is `{t}`, which names no public key (use `public`, `cert` or `private`)"),
        ));
    }
    let module = context::shared_module(access.module_for(Some(uri))?)?;
    let _looking_up = module.looking_up();
    let token = context::find_token(&module.ctx, uri)?;
    let label = token.label().to_owned();
    let session = module
        .ctx
        .open_ro_session(token.slot)
        .map_err(|e| Error::pkcs11("C_OpenSession", &label, e))?;
    let facts = match object_type {
        Some(ObjectType::Cert) => certificate(&session, &label, uri.object(), uri.id())?,
        Some(ObjectType::Public) => public_object(&session, &label, uri)?,
        Some(_) => {
            context::ensure_login(&session, &token, uri, access)?;
            private_key(&session, &label, uri)?
        }
        None if may_log_in(&session, &token, uri, access)? => {
            match private_key(&session, &label, uri) {
                Err(Error::KeyNotFound { .. }) => public_object(&session, &label, uri)?,
                other => other?,
            }
        }
        None => public_object(&session, &label, uri)?,
    };
    let params = key::public_key(&session, &label, &facts)?;
    tracing::debug!(token = %label, key = %uri.describe_object(), "PKCS#11 public key read");
    Ok(Jwk::new(params))
}

/// Whether private keys can be seen without asking anyone for a PIN: the token needs no
/// login, is logged in, or a PIN at hand logs in (a wrong one is an error).
fn may_log_in(
    session: &Session,
    token: &TokenRef,
    uri: &Pkcs11Uri,
    access: &TokenAccess,
) -> Result<bool> {
    let label = token.label();
    if !token.info.login_required() || context::is_logged_in(session, label)? {
        return Ok(true);
    }
    if token.info.user_pin_locked() {
        return Ok(false);
    }
    match access.pin_for(uri, label, false)? {
        Some(pin) => context::login(session, label, Some(&pin)).map(|()| true),
        None => Ok(false),
    }
}

/// The facts of the one private key the URI selects.
fn private_key(session: &Session, token: &str, uri: &Pkcs11Uri) -> Result<KeyFacts> {
    let handle = key::find_private_key(session, token, uri)?;
    key::describe(session, token, handle)
}

/// The facts of the one public key object the URI selects, else of the certificate with
/// its id (or label).
fn public_object(session: &Session, token: &str, uri: &Pkcs11Uri) -> Result<KeyFacts> {
    let found = session
        .find_objects(&key::template(
            ObjectClass::PUBLIC_KEY,
            uri.object(),
            uri.id(),
        ))
        .map_err(|e| Error::pkcs11("C_FindObjects", token, e))?;
    match found.as_slice() {
        [one] => key::describe(session, token, *one),
        [] => {
            // The certificate of a key pair often shares only the id with its keys.
            let label = if uri.id().is_some() {
                None
            } else {
                uri.object()
            };
            certificate(session, token, label, uri.id()).map_err(|e| match e {
                Error::KeyNotFound { token, .. } => Error::KeyNotFound {
                    what: "public key or certificate",
                    token,
                    searched: uri.describe_object(),
                },
                other => other,
            })
        }
        many => Err(Error::AmbiguousKey {
            what: "public keys",
            token: token.to_owned(),
            searched: uri.describe_object(),
            count: many.len(),
        }),
    }
}

/// The key of the one X.509 certificate object with `label` and `id`, as [`KeyFacts`].
fn certificate(
    session: &Session,
    token: &str,
    label: Option<&str>,
    id: Option<&[u8]>,
) -> Result<KeyFacts> {
    let mut template = key::template(ObjectClass::CERTIFICATE, label, id);
    template.push(Attribute::CertificateType(CertificateType::X_509));
    let searched = || {
        let uri = Pkcs11Uri::new();
        let uri = match label {
            Some(l) => uri.with_object(l),
            None => uri,
        };
        match id {
            Some(id) => uri.with_id(id.to_vec()),
            None => uri,
        }
        .describe_object()
    };
    let found = session
        .find_objects(&template)
        .map_err(|e| Error::pkcs11("C_FindObjects", token, e))?;
    let handle = match found.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::KeyNotFound {
                what: "certificate",
                token: token.to_owned(),
                searched: searched(),
            });
        }
        many => {
            return Err(Error::AmbiguousKey {
                what: "certificates",
                token: token.to_owned(),
                searched: searched(),
                count: many.len(),
            });
        }
    };
    let attrs = key::attributes(
        session,
        token,
        handle,
        &[
            AttributeType::Value,
            AttributeType::Label,
            AttributeType::Id,
        ],
    )?;
    let mut der = None;
    let mut facts = KeyFacts::default();
    for a in attrs {
        match a {
            Attribute::Value(v) => der = Some(v),
            Attribute::Label(l) => facts.label = Some(String::from_utf8_lossy(&l).into_owned()),
            Attribute::Id(i) => facts.id = i,
            _ => {}
        }
    }
    let der = der.ok_or_else(|| {
        Error::UnsupportedKey(format!(
            "the certificate with {} on token `{token}` has no CKA_VALUE",
            searched()
        ))
    })?;
    certificate_key(&der, &mut facts).map_err(|why| {
        Error::UnsupportedKey(format!(
            "the certificate with {} on token `{token}` {why}",
            searched()
        ))
    })?;
    Ok(facts)
}

/// Fills `facts` with the key of the DER X.509 certificate `der`; on failure, says why
/// (to follow "the certificate ...").
fn certificate_key(der: &[u8], facts: &mut KeyFacts) -> std::result::Result<(), String> {
    let cert = match x509_parser::parse_x509_certificate(der) {
        Ok(([], cert)) => cert,
        _ => return Err("is not an X.509 certificate in DER".to_owned()),
    };
    spki_key(cert.public_key(), facts)
}

/// The key of a DER SubjectPublicKeyInfo (`CKA_PUBLIC_KEY_INFO`), as [`KeyFacts`]; on
/// failure, says why.
pub(crate) fn spki_facts(der: &[u8]) -> std::result::Result<KeyFacts, String> {
    use x509_parser::prelude::FromDer;
    let spki = match x509_parser::x509::SubjectPublicKeyInfo::from_der(der) {
        Ok(([], spki)) => spki,
        _ => return Err("is not a DER SubjectPublicKeyInfo".to_owned()),
    };
    let mut facts = KeyFacts::default();
    spki_key(&spki, &mut facts)?;
    Ok(facts)
}

/// The key of the one X.509 certificate object with `id`, when there is exactly one and it
/// carries a usable key; `None` otherwise.
///
/// # Errors
/// [`Error::Pkcs11`] when the look-up itself fails.
pub(crate) fn certificate_of(
    session: &Session,
    token: &str,
    id: &[u8],
) -> Result<Option<KeyFacts>> {
    match certificate(session, token, None, Some(id)) {
        Ok(facts) => Ok(Some(facts)),
        Err(Error::KeyNotFound { .. } | Error::AmbiguousKey { .. } | Error::UnsupportedKey(_)) => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Fills `facts` with the key of a SubjectPublicKeyInfo.
fn spki_key(
    spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
    facts: &mut KeyFacts,
) -> std::result::Result<(), String> {
    use x509_parser::public_key::PublicKey;
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            facts.key_type = Some(KeyType::RSA);
            facts.modulus = Some(rsa.modulus.to_vec());
            facts.exponent = Some(rsa.exponent.to_vec());
        }
        Ok(PublicKey::EC(point)) => {
            facts.key_type = Some(KeyType::EC);
            let oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .ok_or_else(|| "has an EC key without a named curve".to_owned())?;
            let content = oid.as_bytes();
            let len = u8::try_from(content.len()).map_err(|_| "names an unknown curve")?;
            facts.ec_params = Some([&[0x06, len][..], content].concat());
            facts.ec_point = Some(point.data().to_vec());
        }
        Ok(_) if spki.algorithm.algorithm.to_id_string() == "1.3.101.112" => {
            // Ed25519 (RFC 8410): the key bits are the 32-byte public key.
            facts.key_type = Some(KeyType::EC_EDWARDS);
            facts.ec_params = Some(key::ED25519_PARAMS.to_vec());
            facts.ec_point = Some(spki.subject_public_key.data.to_vec());
        }
        Ok(_) => return Err("holds a key that is neither RSA, EC nor Ed25519".to_owned()),
        Err(_) => return Err("has a malformed public key".to_owned()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_that_carry_no_usable_key_say_why() {
        let mut facts = KeyFacts::default();
        assert_eq!(
            certificate_key(b"not DER", &mut facts),
            Err("is not an X.509 certificate in DER".to_owned())
        );
        assert_eq!(facts.kind(), None);
    }
}
