//! PKCS#11 URIs (RFC 7512): parsing, matching and redacted display.
//!
//! ```
//! use hsmjwt_pkcs11::Pkcs11Uri;
//!
//! let uri: Pkcs11Uri = "pkcs11:token=jwt;object=rsa-key;id=%01%02;type=private\
//!     ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234".parse()?;
//! assert_eq!(uri.token(), Some("jwt"));
//! assert_eq!(uri.id(), Some(&[1u8, 2][..]));
//! // The PIN never shows.
//! assert!(!uri.to_string().contains("1234"));
//! # Ok::<(), hsmjwt_pkcs11::Error>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;

/// The URI scheme with its colon.
const SCHEME: &str = "pkcs11:";

/// Whether `s` is a PKCS#11 URI, that is whether it starts with `pkcs11:` (the scheme is
/// matched case-insensitively, as RFC 3986 asks).
pub fn is_pkcs11_uri(s: &str) -> bool {
    s.get(..SCHEME.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(SCHEME))
}

/// The object class named by a URI's `type` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectType {
    /// `type=private`: a private key.
    Private,
    /// `type=public`: a public key.
    Public,
    /// `type=cert`: a certificate.
    Cert,
    /// `type=secret-key`: a secret (symmetric) key.
    SecretKey,
    /// `type=data`: a data object.
    Data,
}

impl ObjectType {
    /// The URI spelling, for example `"private"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Private => "private",
            ObjectType::Public => "public",
            ObjectType::Cert => "cert",
            ObjectType::SecretKey => "secret-key",
            ObjectType::Data => "data",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "private" => ObjectType::Private,
            "public" => ObjectType::Public,
            "cert" => ObjectType::Cert,
            "secret-key" => ObjectType::SecretKey,
            "data" => ObjectType::Data,
            _ => return None,
        })
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed PKCS#11 URI (RFC 7512).
///
/// Path attributes select the token and the object: `token`, `manufacturer`, `serial`,
/// `model`, `slot-id`, `slot-description`, `slot-manufacturer`, `library-manufacturer`,
/// `library-description`, `library-version`, `object` (the label), `id` (bytes) and `type`.
/// Query attributes say how to reach it: `module-path`, `pin-value` and `pin-source` (a
/// `file:` URI or a plain path).
///
/// [`Display`](fmt::Display) prints the canonical URI with `pin-value` redacted, and so does
/// [`Debug`](fmt::Debug): the PIN is never printed.
#[derive(Clone, Default)]
pub struct Pkcs11Uri {
    token: Option<String>,
    manufacturer: Option<String>,
    serial: Option<String>,
    model: Option<String>,
    library_manufacturer: Option<String>,
    library_description: Option<String>,
    library_version: Option<String>,
    slot_manufacturer: Option<String>,
    slot_description: Option<String>,
    slot_id: Option<u64>,
    object: Option<String>,
    id: Option<Vec<u8>>,
    object_type: Option<ObjectType>,
    module_path: Option<PathBuf>,
    pin_value: Option<SecretString>,
    pin_source: Option<PathBuf>,
}

/// Characters RFC 7512 allows unencoded in every attribute value besides the unreserved ones.
const RES_AVAIL: &[u8] = b":[]@!$'()*+,=";

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn allowed_in_path(b: u8) -> bool {
    is_unreserved(b) || RES_AVAIL.contains(&b) || b == b'&'
}

fn allowed_in_query(b: u8) -> bool {
    is_unreserved(b) || RES_AVAIL.contains(&b) || matches!(b, b'/' | b'?' | b'|')
}

/// What [`fmt::Display`] percent-encodes in path values: all but unreserved and `:@!$'()*+,`.
const PATH_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b'@')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',');

/// What [`fmt::Display`] percent-encodes in query values: as in paths, but `/` stays.
const QUERY_ENCODE: &AsciiSet = &PATH_ENCODE.remove(b'/');

/// Decodes a percent-encoded value, checking that every other byte is allowed.
fn percent_decode(name: &str, value: &str, allowed: fn(u8) -> bool) -> Result<Vec<u8>, Error> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).and_then(|h| (*h as char).to_digit(16));
            match (hex(i + 1), hex(i + 2)) {
                // Two hex digits are below 256.
                (Some(hi), Some(lo)) => out.push(u8::try_from(hi * 16 + lo).unwrap_or(0)),
                _ => {
                    return Err(Error::uri(
                        name,
                        format!(
                            "has a bad percent-encoding at byte {i} (expected `%` and two hex digits)"
                        ),
                    ));
                }
            }
            i += 3;
        } else if allowed(b) {
            out.push(b);
            i += 1;
        } else {
            let shown = value.get(i..).and_then(|r| r.chars().next()).unwrap_or('?');
            return Err(Error::uri(
                name,
                format!("has the character {shown:?}, which must be percent-encoded"),
            ));
        }
    }
    Ok(out)
}

fn text(name: &str, bytes: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|_| Error::uri(name, "is not UTF-8 after percent-decoding"))
}

fn set<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), Error> {
    if slot.is_some() {
        return Err(Error::uri(name, "appears twice"));
    }
    *slot = Some(value);
    Ok(())
}

impl Pkcs11Uri {
    /// An empty URI (`pkcs11:`), which matches every token and object.
    pub fn new() -> Self {
        Self::default()
    }

    /// `token`: the token label.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// `manufacturer`: the token manufacturer.
    pub fn manufacturer(&self) -> Option<&str> {
        self.manufacturer.as_deref()
    }

    /// `serial`: the token serial number.
    pub fn serial(&self) -> Option<&str> {
        self.serial.as_deref()
    }

    /// `model`: the token model.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// `library-manufacturer`.
    pub fn library_manufacturer(&self) -> Option<&str> {
        self.library_manufacturer.as_deref()
    }

    /// `library-description`.
    pub fn library_description(&self) -> Option<&str> {
        self.library_description.as_deref()
    }

    /// `library-version`, as written (`M` or `M.m`).
    pub fn library_version(&self) -> Option<&str> {
        self.library_version.as_deref()
    }

    /// `slot-manufacturer`.
    pub fn slot_manufacturer(&self) -> Option<&str> {
        self.slot_manufacturer.as_deref()
    }

    /// `slot-description`.
    pub fn slot_description(&self) -> Option<&str> {
        self.slot_description.as_deref()
    }

    /// `slot-id`: the slot number.
    pub fn slot_id(&self) -> Option<u64> {
        self.slot_id
    }

    /// `object`: the object label (`CKA_LABEL`).
    pub fn object(&self) -> Option<&str> {
        self.object.as_deref()
    }

    /// `id`: the object id (`CKA_ID`), decoded bytes.
    pub fn id(&self) -> Option<&[u8]> {
        self.id.as_deref()
    }

    /// `type`: the object class.
    pub fn object_type(&self) -> Option<ObjectType> {
        self.object_type
    }

    /// `module-path`: the PKCS#11 module to load.
    pub fn module_path(&self) -> Option<&Path> {
        self.module_path.as_deref()
    }

    /// `pin-source`: the file holding the PIN.
    pub fn pin_source(&self) -> Option<&Path> {
        self.pin_source.as_deref()
    }

    /// `pin-value`: the PIN itself.
    pub fn pin_value(&self) -> Option<&SecretString> {
        self.pin_value.as_ref()
    }

    /// Sets `token`.
    #[must_use]
    pub fn with_token(mut self, label: impl Into<String>) -> Self {
        self.token = Some(label.into());
        self
    }

    /// Sets `slot-id`.
    #[must_use]
    pub fn with_slot_id(mut self, slot_id: u64) -> Self {
        self.slot_id = Some(slot_id);
        self
    }

    /// Sets `object` (the label).
    #[must_use]
    pub fn with_object(mut self, label: impl Into<String>) -> Self {
        self.object = Some(label.into());
        self
    }

    /// Sets `id`.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<Vec<u8>>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets `type`.
    #[must_use]
    pub fn with_object_type(mut self, object_type: ObjectType) -> Self {
        self.object_type = Some(object_type);
        self
    }

    /// Sets `module-path`.
    #[must_use]
    pub fn with_module_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.module_path = Some(path.into());
        self
    }

    /// Sets `pin-value`, replacing any `pin-source`.
    #[must_use]
    pub fn with_pin_value(mut self, pin: SecretString) -> Self {
        self.pin_value = Some(pin);
        self.pin_source = None;
        self
    }

    /// Sets `pin-source`, replacing any `pin-value`.
    #[must_use]
    pub fn with_pin_source(mut self, path: impl Into<PathBuf>) -> Self {
        self.pin_source = Some(path.into());
        self.pin_value = None;
        self
    }

    /// A copy with only the token-selecting attributes (no object, id, type or PIN), for
    /// naming a token.
    pub fn token_only(&self) -> Self {
        Pkcs11Uri {
            object: None,
            id: None,
            object_type: None,
            pin_value: None,
            pin_source: None,
            ..self.clone()
        }
    }

    /// Whether the URI says anything about the token's own fields (token label,
    /// manufacturer, serial, model).
    pub(crate) fn token_matches(
        &self,
        label: &str,
        manufacturer: &str,
        serial: &str,
        model: &str,
    ) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        eq(&self.token, label)
            && eq(&self.manufacturer, manufacturer)
            && eq(&self.serial, serial)
            && eq(&self.model, model)
    }

    /// Whether the slot attributes match.
    pub(crate) fn slot_matches(&self, id: u64, description: &str, manufacturer: &str) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        self.slot_id.is_none_or(|s| s == id)
            && eq(&self.slot_description, description)
            && eq(&self.slot_manufacturer, manufacturer)
    }

    /// Whether the library attributes match.
    pub(crate) fn library_matches(
        &self,
        manufacturer: &str,
        description: &str,
        major: u8,
        minor: u8,
    ) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        let version_ok = self.library_version.as_deref().is_none_or(|v| {
            let (maj, min) = v.split_once('.').unwrap_or((v, "0"));
            maj.parse::<u8>().ok() == Some(major) && min.parse::<u8>().ok() == Some(minor)
        });
        eq(&self.library_manufacturer, manufacturer)
            && eq(&self.library_description, description)
            && version_ok
    }

    /// A short description of the token-selecting attributes, for error messages.
    pub(crate) fn describe_token(&self) -> String {
        let mut parts = Vec::new();
        let mut push = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                parts.push(format!("{name} `{v}`"));
            }
        };
        push("token", &self.token);
        push("manufacturer", &self.manufacturer);
        push("serial", &self.serial);
        push("model", &self.model);
        push("slot-description", &self.slot_description);
        push("slot-manufacturer", &self.slot_manufacturer);
        push("library-manufacturer", &self.library_manufacturer);
        push("library-description", &self.library_description);
        push("library-version", &self.library_version);
        if let Some(id) = self.slot_id {
            parts.push(format!("slot-id {id}"));
        }
        if parts.is_empty() {
            "any token".to_owned()
        } else {
            parts.join(", ")
        }
    }

    /// A short description of the object-selecting attributes, for error messages.
    pub(crate) fn describe_object(&self) -> String {
        let mut parts = Vec::new();
        if let Some(label) = &self.object {
            parts.push(format!("label `{label}`"));
        }
        if let Some(id) = &self.id {
            parts.push(format!("id {}", hex(id)));
        }
        if parts.is_empty() {
            "any label or id".to_owned()
        } else {
            parts.join(", ")
        }
    }

    fn parse_path_attribute(&mut self, attr: &str) -> Result<(), Error> {
        let Some((name, raw)) = attr.split_once('=') else {
            return Err(if attr.is_empty() {
                Error::InvalidUri {
                    attribute: None,
                    reason: "has an empty path attribute (a stray `;`)".into(),
                }
            } else {
                Error::uri(attr, "has no `=value`")
            });
        };
        let known = [
            "token",
            "manufacturer",
            "serial",
            "model",
            "library-manufacturer",
            "library-description",
            "library-version",
            "slot-manufacturer",
            "slot-description",
            "slot-id",
            "object",
            "id",
            "type",
        ];
        if !known.contains(&name) {
            let hint = if ["module-path", "module-name", "pin-value", "pin-source"].contains(&name)
            {
                " in the path (it belongs in the query, after `?`)"
            } else {
                ""
            };
            return Err(Error::uri(
                name,
                format!(
                    "is not a known path attribute{hint} (known: {})",
                    known.join(", ")
                ),
            ));
        }
        let bytes = percent_decode(name, raw, allowed_in_path)?;
        match name {
            "id" => set(&mut self.id, name, bytes),
            "slot-id" => {
                let s = text(name, bytes)?;
                let id = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                    s.parse::<u64>().ok()
                } else {
                    None
                };
                let id = id.ok_or_else(|| {
                    Error::uri(name, format!("is not a decimal slot number: {s:?}"))
                })?;
                set(&mut self.slot_id, name, id)
            }
            "type" => {
                let s = text(name, bytes)?;
                let t = ObjectType::parse(&s).ok_or_else(|| {
                    Error::uri(
                        name,
                        format!("has the unknown value {s:?} (known: private, public, cert, secret-key, data)"),
                    )
                })?;
                set(&mut self.object_type, name, t)
            }
            "library-version" => {
                let s = text(name, bytes)?;
                let valid = {
                    let (maj, min) = s.split_once('.').unwrap_or((s.as_str(), "0"));
                    maj.parse::<u8>().is_ok() && min.parse::<u8>().is_ok()
                };
                if !valid {
                    return Err(Error::uri(
                        name,
                        format!("is not a version `M` or `M.m`: {s:?}"),
                    ));
                }
                set(&mut self.library_version, name, s)
            }
            _ => {
                let s = text(name, bytes)?;
                let slot = match name {
                    "token" => &mut self.token,
                    "manufacturer" => &mut self.manufacturer,
                    "serial" => &mut self.serial,
                    "model" => &mut self.model,
                    "library-manufacturer" => &mut self.library_manufacturer,
                    "library-description" => &mut self.library_description,
                    "slot-manufacturer" => &mut self.slot_manufacturer,
                    "slot-description" => &mut self.slot_description,
                    _ => &mut self.object,
                };
                set(slot, name, s)
            }
        }
    }

    fn parse_query_attribute(&mut self, attr: &str) -> Result<(), Error> {
        let Some((name, raw)) = attr.split_once('=') else {
            return Err(if attr.is_empty() {
                Error::InvalidUri {
                    attribute: None,
                    reason: "has an empty query attribute (a stray `&` or `?`)".into(),
                }
            } else {
                Error::uri(attr, "has no `=value`")
            });
        };
        match name {
            "module-path" | "pin-value" | "pin-source" => {}
            "module-name" => {
                return Err(Error::uri(
                    name,
                    "is not supported: give the module's file with `module-path=`",
                ));
            }
            _ => {
                let hint = if [
                    "token",
                    "manufacturer",
                    "serial",
                    "model",
                    "slot-id",
                    "object",
                    "id",
                    "type",
                ]
                .contains(&name)
                {
                    " in the query (it belongs in the path, before `?`)"
                } else {
                    ""
                };
                return Err(Error::uri(
                    name,
                    format!(
                        "is not a known query attribute{hint} (known: module-path, pin-value, pin-source)"
                    ),
                ));
            }
        }
        let bytes = percent_decode(name, raw, allowed_in_query)?;
        match name {
            "pin-value" => {
                let pin = zeroize::Zeroizing::new(bytes);
                let pin = std::str::from_utf8(&pin)
                    .map_err(|_| Error::uri(name, "is not UTF-8 after percent-decoding"))?;
                if self.pin_value.is_some() {
                    return Err(Error::uri(name, "appears twice"));
                }
                self.pin_value = Some(SecretString::from(pin));
                Ok(())
            }
            "pin-source" => {
                let s = text(name, bytes)?;
                let path = if let Some(rest) = s.strip_prefix("file://") {
                    // `file:///run/pin` (empty authority) or `file://localhost/run/pin`.
                    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
                    if !rest.starts_with('/') {
                        return Err(Error::uri(name, format!("names a remote file: {s:?}")));
                    }
                    rest.to_owned()
                } else if let Some(rest) = s.strip_prefix("file:") {
                    rest.to_owned()
                } else if s.starts_with('|')
                    || (s.contains(':') && !s.starts_with('/') && !s.starts_with('.'))
                {
                    return Err(Error::uri(
                        name,
                        format!("must be a `file:` URI or a path: {s:?}"),
                    ));
                } else {
                    s
                };
                if path.is_empty() {
                    return Err(Error::uri(name, "is empty"));
                }
                set(&mut self.pin_source, name, PathBuf::from(path))
            }
            _ => {
                let s = text(name, bytes)?;
                if s.is_empty() {
                    return Err(Error::uri(name, "is empty"));
                }
                set(&mut self.module_path, name, PathBuf::from(s))
            }
        }
    }
}

impl FromStr for Pkcs11Uri {
    type Err = Error;

    /// Parses a PKCS#11 URI strictly: unknown, duplicate or malformed attributes are errors
    /// that name the attribute.
    fn from_str(s: &str) -> Result<Self, Error> {
        if !is_pkcs11_uri(s) {
            return Err(Error::InvalidUri {
                attribute: None,
                reason: "does not start with `pkcs11:`".into(),
            });
        }
        let rest = s.get(SCHEME.len()..).unwrap_or_default();
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut uri = Pkcs11Uri::default();
        if !path.is_empty() {
            for attr in path.split(';') {
                uri.parse_path_attribute(attr)?;
            }
        }
        if let Some(query) = query {
            for attr in query.split('&') {
                uri.parse_query_attribute(attr)?;
            }
        }
        if uri.pin_value.is_some() && uri.pin_source.is_some() {
            return Err(Error::uri(
                "pin-source",
                "is given together with `pin-value`; give only one",
            ));
        }
        Ok(uri)
    }
}

/// Lower-case hex of `bytes`, as `hsmjwt hsm list` shows ids.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl fmt::Display for Pkcs11Uri {
    /// The canonical URI, with `pin-value` printed as `<redacted>` (which does not parse
    /// back: a redacted URI cannot be used by mistake).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SCHEME)?;
        let mut sep = "";
        let mut path = |f: &mut fmt::Formatter<'_>, name: &str, value: &str| -> fmt::Result {
            write!(f, "{sep}{name}={}", utf8_percent_encode(value, PATH_ENCODE))?;
            sep = ";";
            Ok(())
        };
        let texts = [
            ("library-manufacturer", &self.library_manufacturer),
            ("library-description", &self.library_description),
            ("library-version", &self.library_version),
            ("slot-manufacturer", &self.slot_manufacturer),
            ("slot-description", &self.slot_description),
            ("manufacturer", &self.manufacturer),
            ("model", &self.model),
            ("serial", &self.serial),
            ("token", &self.token),
            ("object", &self.object),
        ];
        for (name, value) in texts {
            if let Some(v) = value {
                path(f, name, v)?;
            }
        }
        if let Some(id) = self.slot_id {
            path(f, "slot-id", &id.to_string())?;
        }
        if let Some(t) = self.object_type {
            path(f, "type", t.as_str())?;
        }
        if let Some(id) = &self.id {
            write!(f, "{sep}id=")?;
            for b in id {
                write!(f, "%{b:02X}")?;
            }
        }
        let mut sep = "?";
        if let Some(m) = &self.module_path {
            write!(
                f,
                "{sep}module-path={}",
                utf8_percent_encode(&m.to_string_lossy(), QUERY_ENCODE)
            )?;
            sep = "&";
        }
        if let Some(p) = &self.pin_source {
            let path = p.to_string_lossy();
            // A path that would read as a URI (`fil:e`, `file:x`, `|cmd`) is written as a
            // `file:` URI, so that the printed URI parses back to the same path.
            let prefix = if path.starts_with("file:")
                || path.starts_with('|')
                || (path.contains(':') && !path.starts_with('/') && !path.starts_with('.'))
            {
                "file:"
            } else {
                ""
            };
            write!(
                f,
                "{sep}pin-source={prefix}{}",
                utf8_percent_encode(&path, QUERY_ENCODE)
            )?;
            sep = "&";
        }
        if self.pin_value.is_some() {
            write!(f, "{sep}pin-value=<redacted>")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Pkcs11Uri");
        let texts = [
            ("token", &self.token),
            ("manufacturer", &self.manufacturer),
            ("serial", &self.serial),
            ("model", &self.model),
            ("library_manufacturer", &self.library_manufacturer),
            ("library_description", &self.library_description),
            ("library_version", &self.library_version),
            ("slot_manufacturer", &self.slot_manufacturer),
            ("slot_description", &self.slot_description),
            ("object", &self.object),
        ];
        for (name, value) in texts {
            if let Some(v) = value {
                d.field(name, v);
            }
        }
        if let Some(v) = &self.slot_id {
            d.field("slot_id", v);
        }
        if let Some(v) = &self.id {
            d.field("id", &hex(v));
        }
        if let Some(v) = &self.object_type {
            d.field("object_type", v);
        }
        if let Some(v) = &self.module_path {
            d.field("module_path", v);
        }
        if let Some(v) = &self.pin_source {
            d.field("pin_source", v);
        }
        if self.pin_value.is_some() {
            d.field("pin_value", &format_args!("<redacted>"));
        }
        d.finish()
    }
}

impl PartialEq for Pkcs11Uri {
    /// Equal when every attribute is equal, the PIN included (compared, never shown).
    fn eq(&self, other: &Self) -> bool {
        let pin = |u: &Pkcs11Uri| u.pin_value.as_ref().map(|p| p.expose_secret().to_owned());
        self.token == other.token
            && self.manufacturer == other.manufacturer
            && self.serial == other.serial
            && self.model == other.model
            && self.library_manufacturer == other.library_manufacturer
            && self.library_description == other.library_description
            && self.library_version == other.library_version
            && self.slot_manufacturer == other.slot_manufacturer
            && self.slot_description == other.slot_description
            && self.slot_id == other.slot_id
            && self.object == other.object
            && self.id == other.id
            && self.object_type == other.object_type
            && self.module_path == other.module_path
            && self.pin_source == other.pin_source
            && pin(self).map(zeroize::Zeroizing::new) == pin(other).map(zeroize::Zeroizing::new)
    }
}

impl Eq for Pkcs11Uri {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Result<Pkcs11Uri, Error> {
        s.parse()
    }

    fn attribute_of(s: &str) -> Option<String> {
        match parse(s) {
            Err(Error::InvalidUri { attribute, .. }) => attribute,
            other => panic!("{s}: expected an invalid URI error, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_rfc_examples_and_ours() -> Result<(), Error> {
        let u = parse(
            "pkcs11:token=jwt-test;object=rsa-key;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin",
        )?;
        assert_eq!(u.token(), Some("jwt-test"));
        assert_eq!(u.object(), Some("rsa-key"));
        assert_eq!(u.object_type(), Some(ObjectType::Private));
        assert_eq!(
            u.module_path(),
            Some(Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        assert_eq!(u.pin_source(), Some(Path::new("/run/pin")));

        let u = parse(
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin",
        )?;
        assert_eq!(u.token(), Some("The Software PKCS#11 Softtoken"));
        assert_eq!(u.manufacturer(), Some("Snake Oil, Inc."));
        assert_eq!(u.serial(), Some(""));
        assert_eq!(
            u.id(),
            Some(&[0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91][..])
        );

        let u = parse("pkcs11:slot-description=Sun%20Metaslot;library-version=1.2;slot-id=7")?;
        assert_eq!(u.slot_id(), Some(7));
        assert_eq!(u.library_version(), Some("1.2"));

        assert_eq!(parse("pkcs11:")?, Pkcs11Uri::new());
        assert_eq!(parse("PKCS11:token=a")?.token(), Some("a"));
        assert_eq!(
            parse("pkcs11:?pin-source=/run/pin")?.pin_source(),
            Some(Path::new("/run/pin"))
        );
        assert_eq!(
            parse("pkcs11:?pin-source=file:///run/pin")?.pin_source(),
            Some(Path::new("/run/pin"))
        );
        Ok(())
    }

    #[test]
    fn errors_name_the_attribute() {
        assert_eq!(attribute_of("pkcs11:tokn=a"), Some("tokn".into()));
        assert_eq!(attribute_of("pkcs11:token=a;token=b"), Some("token".into()));
        assert_eq!(attribute_of("pkcs11:id=%zz"), Some("id".into()));
        assert_eq!(attribute_of("pkcs11:id=%4"), Some("id".into()));
        assert_eq!(attribute_of("pkcs11:slot-id=abc"), Some("slot-id".into()));
        assert_eq!(attribute_of("pkcs11:slot-id=-1"), Some("slot-id".into()));
        assert_eq!(
            attribute_of("pkcs11:slot-id=99999999999999999999999"),
            Some("slot-id".into())
        );
        assert_eq!(attribute_of("pkcs11:type=key"), Some("type".into()));
        assert_eq!(attribute_of("pkcs11:object=a b"), Some("object".into()));
        assert_eq!(attribute_of("pkcs11:object=%FF"), Some("object".into()));
        assert_eq!(attribute_of("pkcs11:token=a?foo=b"), Some("foo".into()));
        assert_eq!(
            attribute_of("pkcs11:module-path=/x"),
            Some("module-path".into())
        );
        assert_eq!(attribute_of("pkcs11:?token=a"), Some("token".into()));
        assert_eq!(
            attribute_of("pkcs11:?pin-value=1&pin-value=2"),
            Some("pin-value".into())
        );
        assert_eq!(
            attribute_of("pkcs11:?pin-value=1&pin-source=/p"),
            Some("pin-source".into())
        );
        assert_eq!(
            attribute_of("pkcs11:?pin-source=%7Cpinentry"),
            Some("pin-source".into())
        );
        assert_eq!(attribute_of("pkcs11:token"), Some("token".into()));
        assert_eq!(attribute_of("pkcs11:token=a#frag"), Some("token".into()));
        assert_eq!(attribute_of("pkcs11:token=a;"), None);
        assert_eq!(attribute_of("pkcs12:token=a"), None);
        assert_eq!(attribute_of(""), None);
        let msg = parse("pkcs11:tokn=a")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("`tokn`"), "{msg}");
    }

    #[test]
    fn display_redacts_the_pin_and_round_trips() -> Result<(), Error> {
        let u = parse(
            "pkcs11:token=a%20b;id=%01%FF;object=k;type=private?module-path=/m%20x.so&pin-value=s3cr%65t",
        )?;
        assert_eq!(
            u.pin_value()
                .map(|p| p.expose_secret().to_owned())
                .as_deref(),
            Some("s3cret")
        );
        let shown = u.to_string();
        assert_eq!(
            shown,
            "pkcs11:token=a%20b;object=k;type=private;id=%01%FF?module-path=/m%20x.so&pin-value=<redacted>"
        );
        let debug = format!("{u:?}");
        assert!(
            !shown.contains("s3cret") && !debug.contains("s3cret"),
            "{debug}"
        );
        assert!(debug.contains("<redacted>"));
        // A redacted URI does not parse back, so it cannot be used by mistake.
        assert!(parse(&shown).is_err());
        let without_pin = u.clone().with_pin_source("/run/pin");
        assert_eq!(parse(&without_pin.to_string())?, without_pin);
        Ok(())
    }

    fn arb_text() -> impl Strategy<Value = String> {
        "[ -~\u{e9}\u{263a}]{0,12}"
    }

    fn arb_uri() -> impl Strategy<Value = Pkcs11Uri> {
        (
            proptest::option::of(arb_text()),
            proptest::option::of(arb_text()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10)),
            proptest::option::of(prop_oneof![
                Just(ObjectType::Private),
                Just(ObjectType::Public),
                Just(ObjectType::Cert)
            ]),
            proptest::option::of("/[a-z/ .]{1,20}"),
            proptest::option::of(arb_text()),
        )
            .prop_map(
                |(token, object, slot_id, id, ty, module, serial)| Pkcs11Uri {
                    token,
                    object,
                    slot_id,
                    id,
                    object_type: ty,
                    module_path: module.map(PathBuf::from),
                    serial,
                    ..Pkcs11Uri::default()
                },
            )
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,80}") {
            let _ = parse(&s);
        }

        #[test]
        fn parsing_uri_like_input_never_panics(s in "pkcs11:[a-z=;?&%0-9A-F/:.-]{0,60}") {
            let _ = parse(&s);
        }

        #[test]
        fn display_round_trips(u in arb_uri()) {
            let s = u.to_string();
            let back = parse(&s);
            prop_assert!(back.is_ok(), "{s}: {back:?}");
            prop_assert_eq!(back.ok(), Some(u));
        }
    }
}
