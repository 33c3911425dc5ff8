//! Certificate objects on a token: storing a key's certificate beside it, and listing them.
//!
//! A certificate object belongs to a key by its `CKA_ID` (and carries the key's
//! `CKA_LABEL`), as `pkcs11-tool`, OpenSSL's PKCS#11 providers and browsers pair them.

use std::fmt;

use cryptoki::object::{Attribute, AttributeType, CertificateType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use hsmjwt_core::text::Untrusted;
use serde::Serialize;
use x509_cert::der::{Decode, Encode};

use crate::access::TokenAccess;
use crate::context;
use crate::error::{Error, Result};
use crate::key;
use crate::uri::{ObjectType, Pkcs11Uri, hex};

/// Options for [`store_certificate`].
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Replace a certificate object that already has the key's id (else that is an error).
    pub replace: bool,
    /// The module and the PIN source, when the URI does not give them.
    pub access: TokenAccess,
}

/// What [`store_certificate`] did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct StoredCertificate {
    /// The token label.
    pub token: String,
    /// The certificate's `CKA_LABEL`: the key's label.
    pub label: Option<String>,
    /// The certificate's `CKA_ID`, lower-case hex: the key's id.
    pub id: String,
    /// How many certificate objects with that id were replaced (0 or more).
    pub replaced: usize,
    /// A URI naming the certificate object.
    pub uri: String,
}

/// Stores the DER certificate `der` in the token as a certificate object of the private key
/// the URI names: `CKO_CERTIFICATE`, `CKC_X_509`, a token object, not private, with the
/// key's `CKA_ID` and `CKA_LABEL`, and `CKA_SUBJECT`, `CKA_ISSUER`, `CKA_SERIAL_NUMBER` and
/// `CKA_VALUE` from the certificate. The module and the PIN come as for
/// [`Pkcs11Signer::open`](crate::Pkcs11Signer::open) (a login is needed to find the private
/// key).
///
/// A certificate object with the key's id already there is an error, unless
/// [`StoreOptions::replace`]: then the new object is created first and the old ones are
/// destroyed after it. The certificate is not checked against the key: check it first (for
/// example with `hsmjwt_soft::Certificate::certifies`).
///
/// # Errors
/// [`Error::InvalidCertificate`] when `der` is not an X.509 certificate,
/// [`Error::InvalidRequest`] for a write-protected token or a key without `CKA_ID`,
/// [`Error::CertificateExists`], the module, token, login and key errors of
/// [`Pkcs11Signer::open`](crate::Pkcs11Signer::open), and [`Error::Pkcs11`] when creating
/// or destroying an object fails.
pub fn store_certificate(
    uri: &Pkcs11Uri,
    der: &[u8],
    options: &StoreOptions,
) -> Result<StoredCertificate> {
    let mut template = certificate_template(der)?;

    let context::RwSession {
        module,
        token: token_label,
        session,
    } = context::open_rw_session(uri, &options.access)?;
    // From the look-up of the key and of its certificates until the new object exists, no
    // other look-up or creation of this process runs (see `context`).
    let _creating = module.creating();
    let private = key::find_private_key(&session, &token_label, uri)?;
    let facts = key::describe(&session, &token_label, private)?;
    if facts.id.is_empty() {
        return Err(Error::InvalidRequest(format!(
            "the private key {} on token `{token_label}` has no CKA_ID, which pairs a certificate with its key",
            uri.describe_object()
        )));
    }
    let existing = session
        .find_objects(&key::template(
            ObjectClass::CERTIFICATE,
            None,
            Some(&facts.id),
        ))
        .map_err(|e| Error::pkcs11("C_FindObjects", &token_label, e))?;
    if !existing.is_empty() && !options.replace {
        return Err(Error::CertificateExists {
            token: token_label,
            id: hex(&facts.id),
        });
    }

    template.push(Attribute::Id(facts.id.clone()));
    if let Some(label) = &facts.label {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    tracing::info!(token = %token_label, id = %hex(&facts.id), "storing a certificate in the token");
    session
        .create_object(&template)
        .map_err(|e| Error::pkcs11("C_CreateObject", &token_label, e))?;
    for old in &existing {
        session
            .destroy_object(*old)
            .map_err(|e| Error::pkcs11("C_DestroyObject", &token_label, e))?;
    }
    Ok(StoredCertificate {
        uri: object_uri(&token_label, facts.label.as_deref(), &facts.id),
        token: token_label,
        label: facts.label,
        id: hex(&facts.id),
        replaced: existing.len(),
    })
}

/// The attributes of a token certificate object for the DER X.509 certificate `der`
/// (`CKO_CERTIFICATE`, `CKC_X_509`, a token object, not private, with `CKA_SUBJECT`,
/// `CKA_ISSUER`, `CKA_SERIAL_NUMBER` and `CKA_VALUE` from it), without label and id.
///
/// # Errors
/// [`Error::InvalidCertificate`] when `der` is not an X.509 certificate.
pub(crate) fn certificate_template(der: &[u8]) -> Result<Vec<Attribute>> {
    let cert = x509_cert::Certificate::from_der(der)
        .map_err(|e| Error::InvalidCertificate(Box::new(e)))?;
    let encode =
        |r: x509_cert::der::Result<Vec<u8>>| r.map_err(|e| Error::InvalidCertificate(Box::new(e)));
    let tbs = &cert.tbs_certificate;
    Ok(vec![
        Attribute::Class(ObjectClass::CERTIFICATE),
        Attribute::CertificateType(CertificateType::X_509),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Subject(encode(tbs.subject.to_der())?),
        Attribute::Issuer(encode(tbs.issuer.to_der())?),
        Attribute::SerialNumber(encode(tbs.serial_number.to_der())?),
        Attribute::Value(der.to_vec()),
    ])
}

/// One certificate object.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CertificateEntry {
    /// `CKA_LABEL`.
    pub label: Option<String>,
    /// `CKA_ID`, lower-case hex.
    pub id: String,
    /// The subject (RFC 4514), from `CKA_SUBJECT` or else the certificate, when readable.
    pub subject: Option<String>,
    /// A URI naming the certificate object.
    pub uri: String,
}

/// The X.509 certificate objects a session sees, sorted by label and id.
pub(crate) fn list_certificates(session: &Session, token: &str) -> Result<Vec<CertificateEntry>> {
    let handles = session
        .find_objects(&[
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::CertificateType(CertificateType::X_509),
        ])
        .map_err(|e| Error::pkcs11("C_FindObjects", token, e))?;
    let mut entries = handles
        .into_iter()
        .map(|handle| certificate_entry(session, token, handle))
        .collect::<Result<Vec<_>>>()?;
    entries.sort_by(|a, b| (&a.label, &a.id).cmp(&(&b.label, &b.id)));
    Ok(entries)
}

fn certificate_entry(
    session: &Session,
    token: &str,
    handle: ObjectHandle,
) -> Result<CertificateEntry> {
    let attrs = key::attributes(
        session,
        token,
        handle,
        &[
            AttributeType::Label,
            AttributeType::Id,
            AttributeType::Subject,
            AttributeType::Value,
        ],
    )?;
    let (mut label, mut id, mut subject, mut value) = (None, Vec::new(), None, None);
    for a in attrs {
        match a {
            Attribute::Label(l) => label = Some(String::from_utf8_lossy(&l).into_owned()),
            Attribute::Id(i) => id = i,
            Attribute::Subject(s) if !s.is_empty() => subject = Some(s),
            Attribute::Value(v) if !v.is_empty() => value = Some(v),
            _ => {}
        }
    }
    let subject = subject
        .and_then(|s| x509_cert::name::Name::from_der(&s).ok())
        .or_else(|| {
            let cert = x509_cert::Certificate::from_der(value.as_deref()?).ok()?;
            Some(cert.tbs_certificate.subject)
        })
        .map(|name| name.to_string());
    Ok(CertificateEntry {
        uri: object_uri(token, label.as_deref(), &id),
        label,
        id: hex(&id),
        subject,
    })
}

/// The URI of a certificate object: token, `type=cert`, label and id when there are.
fn object_uri(token: &str, label: Option<&str>, id: &[u8]) -> String {
    let mut uri = Pkcs11Uri::new()
        .with_token(token)
        .with_object_type(ObjectType::Cert);
    if let Some(label) = label {
        uri = uri.with_object(label);
    }
    if !id.is_empty() {
        uri = uri.with_id(id.to_vec());
    }
    uri.to_string()
}

impl fmt::Display for CertificateEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "    certificate `{}` id {}: {}",
            Untrusted(self.label.as_deref().unwrap_or("")),
            if self.id.is_empty() { "-" } else { &self.id },
            Untrusted(self.subject.as_deref().unwrap_or("(subject unreadable)")),
        )?;
        writeln!(f, "      {}", self.uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_a_certificate_is_refused_before_any_module_is_loaded() {
        let uri: Pkcs11Uri = "pkcs11:token=t;object=k?module-path=/nonexistent/module.so"
            .parse()
            .unwrap();
        for junk in [
            &b""[..],
            b"-----BEGIN CERTIFICATE-----",
            &[0x30, 0x03, 0x02, 0x01, 0x01],
        ] {
            assert!(matches!(
                store_certificate(&uri, junk, &StoreOptions::default()),
                Err(Error::InvalidCertificate(_))
            ));
        }
    }

    #[test]
    fn certificate_uris() {
        assert_eq!(
            object_uri("t", Some("signer"), &[1]),
            "pkcs11:token=t;object=signer;type=cert;id=%01"
        );
        assert_eq!(object_uri("t", None, &[]), "pkcs11:token=t;type=cert");
    }
}
