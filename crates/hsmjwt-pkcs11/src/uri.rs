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
use zeroize::Zeroizing;

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
    const ALL: [ObjectType; 5] = [
        ObjectType::Private,
        ObjectType::Public,
        ObjectType::Cert,
        ObjectType::SecretKey,
        ObjectType::Data,
    ];

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
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The part of a URI an attribute belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Before `?`, separated by `;`: what to select.
    Path,
    /// After `?`, separated by `&`: how to reach it.
    Query,
}

/// What an attribute's value is: how it is parsed, checked, stored and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// UTF-8 text, matched exactly.
    Text,
    /// Text that is a version `M` or `M.m`, each number at most 255.
    Version,
    /// A decimal number (`u64`).
    Number,
    /// Bytes, printed as `%XX` each.
    Bytes,
    /// An object class ([`ObjectType`]).
    Type,
    /// A file path, not empty.
    Path,
    /// A file path, given as a path or a local `file:` URI (`pin-source`).
    PinFile,
    /// A secret: kept in a [`SecretString`], never printed.
    Secret,
}

/// What an attribute selects or says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The PKCS#11 library (`C_GetInfo`).
    Library,
    /// The slot (`C_GetSlotInfo`).
    Slot,
    /// The token (`C_GetTokenInfo`).
    Token,
    /// The object on the token.
    Object,
    /// The module to load.
    Module,
    /// The user PIN.
    Pin,
}

/// One attribute of [`ATTRIBUTES`].
#[derive(Debug)]
struct Spec {
    name: &'static str,
    part: Part,
    kind: Kind,
    role: Role,
}

/// Declares [`Attr`] and [`ATTRIBUTES`] from one list, so that an attribute's position in the
/// table is its `Attr` value.
macro_rules! attributes {
    ($($attr:ident: $name:literal, $part:ident, $kind:ident, $role:ident;)*) => {
        /// An attribute, by its position in [`ATTRIBUTES`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Attr { $($attr),* }

        /// Every attribute this crate reads and writes, in the order a URI is printed.
        const ATTRIBUTES: &[Spec] = &[$(Spec {
            name: $name,
            part: Part::$part,
            kind: Kind::$kind,
            role: Role::$role,
        }),*];
    };
}

// The one list of RFC 7512 attributes: name, part, kind of value, role.
attributes! {
    LibraryManufacturer: "library-manufacturer", Path, Text, Library;
    LibraryDescription: "library-description", Path, Text, Library;
    LibraryVersion: "library-version", Path, Version, Library;
    SlotManufacturer: "slot-manufacturer", Path, Text, Slot;
    SlotDescription: "slot-description", Path, Text, Slot;
    Manufacturer: "manufacturer", Path, Text, Token;
    Model: "model", Path, Text, Token;
    Serial: "serial", Path, Text, Token;
    Token: "token", Path, Text, Token;
    Object: "object", Path, Text, Object;
    SlotId: "slot-id", Path, Number, Slot;
    Type: "type", Path, Type, Object;
    Id: "id", Path, Bytes, Object;
    ModulePath: "module-path", Query, Path, Module;
    PinSource: "pin-source", Query, PinFile, Pin;
    PinValue: "pin-value", Query, Secret, Pin;
}

/// Attributes RFC 7512 defines that this crate does not take, and why.
const UNSUPPORTED: &[(&str, Part, &str)] = &[(
    "module-name",
    Part::Query,
    "is not supported: give the module's file with `module-path=`",
)];

/// How many attributes there are.
const COUNT: usize = ATTRIBUTES.len();

/// Characters RFC 7512 allows unencoded in every attribute value besides the unreserved ones.
const RES_AVAIL: &[u8] = b":[]@!$'()*+,=";

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
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

impl Part {
    /// What stands between two attributes of this part.
    fn separator(self) -> &'static str {
        match self {
            Part::Path => ";",
            Part::Query => "&",
        }
    }

    fn other(self) -> Part {
        match self {
            Part::Path => Part::Query,
            Part::Query => Part::Path,
        }
    }

    /// Whether RFC 7512 allows byte `b` unencoded in a value of this part.
    fn allows(self, b: u8) -> bool {
        is_unreserved(b)
            || RES_AVAIL.contains(&b)
            || match self {
                Part::Path => b == b'&',
                Part::Query => matches!(b, b'/' | b'?' | b'|'),
            }
    }

    /// What printing encodes in a value of this part.
    fn encoded(self) -> &'static AsciiSet {
        match self {
            Part::Path => PATH_ENCODE,
            Part::Query => QUERY_ENCODE,
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Path => "path",
            Part::Query => "query",
        })
    }
}

/// An attribute's value, of its [`Kind`].
#[derive(Clone)]
enum Value {
    Text(String),
    Number(u64),
    Bytes(Vec<u8>),
    Type(ObjectType),
    Path(PathBuf),
    Secret(SecretString),
}

impl PartialEq for Value {
    /// Equal values of the same kind; secrets are compared, never shown.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Text(a), Value::Text(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::Type(a), Value::Type(b)) => a == b,
            (Value::Path(a), Value::Path(b)) => a == b,
            (Value::Secret(a), Value::Secret(b)) => a.expose_secret() == b.expose_secret(),
            _ => false,
        }
    }
}

impl Eq for Value {}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) => s.fmt(f),
            Value::Number(n) => n.fmt(f),
            Value::Bytes(b) => f.write_str(&hex(b)),
            Value::Type(t) => t.fmt(f),
            Value::Path(p) => p.fmt(f),
            Value::Secret(_) => f.write_str("<redacted>"),
        }
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
/// [`Debug`](fmt::Debug): the PIN is never printed. Two URIs are equal when every attribute
/// is, the PIN included (compared, never shown).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// The value of each attribute of [`ATTRIBUTES`], at its position.
    values: [Option<Value>; COUNT],
}

/// Decodes a percent-encoded value of `part`, checking that every other byte is allowed.
fn percent_decode(name: &str, value: &str, part: Part) -> Result<Vec<u8>, Error> {
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
        } else if part.allows(b) {
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

/// Whether a `pin-source` path would read as a URI of another scheme (`fil:e`, `file:x`) or
/// as a command (`|pinentry`): such a path must be given, and is printed, as a `file:` URI.
fn reads_as_uri(path: &str) -> bool {
    path.starts_with('|')
        || (path.contains(':') && !path.starts_with('/') && !path.starts_with('.'))
}

/// The path a `pin-source` value names: a local `file:` URI or a plain path.
fn pin_file(name: &str, s: String) -> Result<PathBuf, Error> {
    let path = if let Some(rest) = s.strip_prefix("file://") {
        // `file:///run/pin` (empty authority) or `file://localhost/run/pin`.
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        if !rest.starts_with('/') {
            return Err(Error::uri(name, format!("names a remote file: {s:?}")));
        }
        rest.to_owned()
    } else if let Some(rest) = s.strip_prefix("file:") {
        rest.to_owned()
    } else if reads_as_uri(&s) {
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
    Ok(PathBuf::from(path))
}

impl Spec {
    /// Parses a raw (percent-encoded) value of this attribute.
    fn decode(&self, raw: &str) -> Result<Value, Error> {
        let name = self.name;
        let bytes = percent_decode(name, raw, self.part).map_err(|e| match self.kind {
            // A PIN's characters are not repeated, not even the one at fault.
            Kind::Secret => Error::uri(
                name,
                "has a character that must be percent-encoded, or a bad percent-encoding",
            ),
            _ => e,
        })?;
        let not_utf8 = || Error::uri(name, "is not UTF-8 after percent-decoding");
        match self.kind {
            Kind::Bytes => return Ok(Value::Bytes(bytes)),
            Kind::Secret => {
                let pin = Zeroizing::new(bytes);
                let pin = std::str::from_utf8(&pin).map_err(|_| not_utf8())?;
                return Ok(Value::Secret(SecretString::from(pin)));
            }
            _ => {}
        }
        let s = String::from_utf8(bytes).map_err(|_| not_utf8())?;
        Ok(match self.kind {
            Kind::Version => {
                let (maj, min) = s.split_once('.').unwrap_or((s.as_str(), "0"));
                if maj.parse::<u8>().is_err() || min.parse::<u8>().is_err() {
                    return Err(Error::uri(
                        name,
                        format!("is not a version `M` or `M.m`: {s:?}"),
                    ));
                }
                Value::Text(s)
            }
            Kind::Number => {
                let n = (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| s.parse::<u64>().ok())
                    .flatten()
                    .ok_or_else(|| Error::uri(name, format!("is not a decimal number: {s:?}")))?;
                Value::Number(n)
            }
            Kind::Type => Value::Type(ObjectType::parse(&s).ok_or_else(|| {
                Error::uri(
                    name,
                    format!(
                        "has the unknown value {s:?} (known: {})",
                        ObjectType::ALL.map(ObjectType::as_str).join(", ")
                    ),
                )
            })?),
            Kind::Path if s.is_empty() => return Err(Error::uri(name, "is empty")),
            Kind::Path => Value::Path(PathBuf::from(s)),
            Kind::PinFile => Value::Path(pin_file(name, s)?),
            // Bytes and secrets were returned above.
            Kind::Text | Kind::Bytes | Kind::Secret => Value::Text(s),
        })
    }

    /// Prints a value of this attribute, percent-encoded (a secret as `<redacted>`).
    fn encode(&self, value: &Value, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match value {
            Value::Text(s) => write!(f, "{}", utf8_percent_encode(s, self.part.encoded())),
            Value::Number(n) => write!(f, "{n}"),
            Value::Bytes(bytes) => bytes.iter().try_for_each(|b| write!(f, "%{b:02X}")),
            Value::Type(t) => f.write_str(t.as_str()),
            Value::Path(p) => {
                let path = p.to_string_lossy();
                // Printed so that it parses back to the same path.
                if self.kind == Kind::PinFile && reads_as_uri(&path) {
                    f.write_str("file:")?;
                }
                write!(f, "{}", utf8_percent_encode(&path, self.part.encoded()))
            }
            Value::Secret(_) => f.write_str("<redacted>"),
        }
    }
}

/// The error for an attribute `name` this crate does not take in `part`.
fn unknown(part: Part, name: &str) -> Error {
    if let Some((_, _, reason)) = UNSUPPORTED
        .iter()
        .find(|(n, p, _)| *n == name && *p == part)
    {
        return Error::uri(name, *reason);
    }
    let other = part.other();
    let belongs_there = ATTRIBUTES
        .iter()
        .map(|s| (s.name, s.part))
        .chain(UNSUPPORTED.iter().map(|(n, p, _)| (*n, *p)))
        .any(|(n, p)| n == name && p == other);
    let hint = if belongs_there {
        let place = match other {
            Part::Path => "before `?`",
            Part::Query => "after `?`",
        };
        format!(" in the {part} (it belongs in the {other}, {place})")
    } else {
        String::new()
    };
    let known: Vec<&str> = ATTRIBUTES
        .iter()
        .filter(|s| s.part == part)
        .map(|s| s.name)
        .collect();
    Error::uri(
        name,
        format!(
            "is not a known {part} attribute{hint} (known: {})",
            known.join(", ")
        ),
    )
}

impl Pkcs11Uri {
    /// An empty URI (`pkcs11:`), which matches every token and object.
    pub fn new() -> Self {
        Self::default()
    }

    fn get(&self, attr: Attr) -> Option<&Value> {
        self.values.get(attr as usize)?.as_ref()
    }

    fn text(&self, attr: Attr) -> Option<&str> {
        match self.get(attr)? {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    fn path(&self, attr: Attr) -> Option<&Path> {
        match self.get(attr)? {
            Value::Path(p) => Some(p),
            _ => None,
        }
    }

    /// The attributes that are set, in table order.
    fn present(&self) -> impl Iterator<Item = (&'static Spec, &Value)> {
        ATTRIBUTES
            .iter()
            .zip(&self.values)
            .filter_map(|(spec, value)| Some((spec, value.as_ref()?)))
    }

    #[must_use]
    fn with(mut self, attr: Attr, value: Option<Value>) -> Self {
        if let Some(slot) = self.values.get_mut(attr as usize) {
            *slot = value;
        }
        self
    }

    /// `token`: the token label.
    pub fn token(&self) -> Option<&str> {
        self.text(Attr::Token)
    }

    /// `manufacturer`: the token manufacturer.
    pub fn manufacturer(&self) -> Option<&str> {
        self.text(Attr::Manufacturer)
    }

    /// `serial`: the token serial number.
    pub fn serial(&self) -> Option<&str> {
        self.text(Attr::Serial)
    }

    /// `model`: the token model.
    pub fn model(&self) -> Option<&str> {
        self.text(Attr::Model)
    }

    /// `library-manufacturer`.
    pub fn library_manufacturer(&self) -> Option<&str> {
        self.text(Attr::LibraryManufacturer)
    }

    /// `library-description`.
    pub fn library_description(&self) -> Option<&str> {
        self.text(Attr::LibraryDescription)
    }

    /// `library-version`, as written (`M` or `M.m`).
    pub fn library_version(&self) -> Option<&str> {
        self.text(Attr::LibraryVersion)
    }

    /// `slot-manufacturer`.
    pub fn slot_manufacturer(&self) -> Option<&str> {
        self.text(Attr::SlotManufacturer)
    }

    /// `slot-description`.
    pub fn slot_description(&self) -> Option<&str> {
        self.text(Attr::SlotDescription)
    }

    /// `slot-id`: the slot number.
    pub fn slot_id(&self) -> Option<u64> {
        match self.get(Attr::SlotId)? {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// `object`: the object label (`CKA_LABEL`).
    pub fn object(&self) -> Option<&str> {
        self.text(Attr::Object)
    }

    /// `id`: the object id (`CKA_ID`), decoded bytes.
    pub fn id(&self) -> Option<&[u8]> {
        match self.get(Attr::Id)? {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// `type`: the object class.
    pub fn object_type(&self) -> Option<ObjectType> {
        match self.get(Attr::Type)? {
            Value::Type(t) => Some(*t),
            _ => None,
        }
    }

    /// `module-path`: the PKCS#11 module to load.
    pub fn module_path(&self) -> Option<&Path> {
        self.path(Attr::ModulePath)
    }

    /// `pin-source`: the file holding the PIN.
    pub fn pin_source(&self) -> Option<&Path> {
        self.path(Attr::PinSource)
    }

    /// `pin-value`: the PIN itself.
    pub fn pin_value(&self) -> Option<&SecretString> {
        match self.get(Attr::PinValue)? {
            Value::Secret(pin) => Some(pin),
            _ => None,
        }
    }

    /// Sets `token`.
    #[must_use]
    pub fn with_token(self, label: impl Into<String>) -> Self {
        self.with(Attr::Token, Some(Value::Text(label.into())))
    }

    /// Sets `slot-id`.
    #[must_use]
    pub fn with_slot_id(self, slot_id: u64) -> Self {
        self.with(Attr::SlotId, Some(Value::Number(slot_id)))
    }

    /// Sets `object` (the label).
    #[must_use]
    pub fn with_object(self, label: impl Into<String>) -> Self {
        self.with(Attr::Object, Some(Value::Text(label.into())))
    }

    /// Sets `id`.
    #[must_use]
    pub fn with_id(self, id: impl Into<Vec<u8>>) -> Self {
        self.with(Attr::Id, Some(Value::Bytes(id.into())))
    }

    /// Sets `type`.
    #[must_use]
    pub fn with_object_type(self, object_type: ObjectType) -> Self {
        self.with(Attr::Type, Some(Value::Type(object_type)))
    }

    /// Sets `module-path`.
    #[must_use]
    pub fn with_module_path(self, path: impl Into<PathBuf>) -> Self {
        self.with(Attr::ModulePath, Some(Value::Path(path.into())))
    }

    /// Sets `pin-value`, replacing any `pin-source`.
    #[must_use]
    pub fn with_pin_value(self, pin: SecretString) -> Self {
        self.with(Attr::PinSource, None)
            .with(Attr::PinValue, Some(Value::Secret(pin)))
    }

    /// Sets `pin-source`, replacing any `pin-value`.
    #[must_use]
    pub fn with_pin_source(self, path: impl Into<PathBuf>) -> Self {
        self.with(Attr::PinValue, None)
            .with(Attr::PinSource, Some(Value::Path(path.into())))
    }

    /// A copy with only the token-selecting attributes and `module-path` (no object, id,
    /// type or PIN), for naming a token.
    pub fn token_only(&self) -> Self {
        let mut uri = self.clone();
        for (spec, value) in ATTRIBUTES.iter().zip(&mut uri.values) {
            if matches!(spec.role, Role::Object | Role::Pin) {
                *value = None;
            }
        }
        uri
    }

    /// Whether every text attribute of `have` that the URI sets has that value.
    fn texts_match(&self, have: &[(Attr, &str)]) -> bool {
        have.iter()
            .all(|(attr, have)| self.text(*attr).is_none_or(|want| want == *have))
    }

    /// Whether the URI's token attributes (label, manufacturer, serial, model) match.
    pub(crate) fn token_matches(
        &self,
        label: &str,
        manufacturer: &str,
        serial: &str,
        model: &str,
    ) -> bool {
        self.texts_match(&[
            (Attr::Token, label),
            (Attr::Manufacturer, manufacturer),
            (Attr::Serial, serial),
            (Attr::Model, model),
        ])
    }

    /// Whether the slot attributes match.
    pub(crate) fn slot_matches(&self, id: u64, description: &str, manufacturer: &str) -> bool {
        self.slot_id().is_none_or(|s| s == id)
            && self.texts_match(&[
                (Attr::SlotDescription, description),
                (Attr::SlotManufacturer, manufacturer),
            ])
    }

    /// Whether the library attributes match.
    pub(crate) fn library_matches(
        &self,
        manufacturer: &str,
        description: &str,
        major: u8,
        minor: u8,
    ) -> bool {
        let version_ok = self.library_version().is_none_or(|v| {
            let (maj, min) = v.split_once('.').unwrap_or((v, "0"));
            maj.parse::<u8>().ok() == Some(major) && min.parse::<u8>().ok() == Some(minor)
        });
        version_ok
            && self.texts_match(&[
                (Attr::LibraryManufacturer, manufacturer),
                (Attr::LibraryDescription, description),
            ])
    }

    /// A short description of the token-selecting attributes, for error messages.
    pub(crate) fn describe_token(&self) -> String {
        let parts: Vec<String> = self
            .present()
            .filter(|(spec, _)| matches!(spec.role, Role::Library | Role::Slot | Role::Token))
            .filter_map(|(spec, value)| match value {
                Value::Text(s) => Some(format!("{} `{s}`", spec.name)),
                Value::Number(n) => Some(format!("{} {n}", spec.name)),
                _ => None,
            })
            .collect();
        if parts.is_empty() {
            "any token".to_owned()
        } else {
            parts.join(", ")
        }
    }

    /// A short description of the object-selecting attributes, for error messages.
    pub(crate) fn describe_object(&self) -> String {
        let mut parts = Vec::new();
        if let Some(label) = self.object() {
            parts.push(format!("label `{label}`"));
        }
        if let Some(id) = self.id() {
            parts.push(format!("id {}", hex(id)));
        }
        if parts.is_empty() {
            "any label or id".to_owned()
        } else {
            parts.join(", ")
        }
    }

    /// Parses one `name=value` attribute of `part`.
    fn parse_attribute(&mut self, part: Part, attr: &str) -> Result<(), Error> {
        let Some((name, raw)) = attr.split_once('=') else {
            return Err(if attr.is_empty() {
                let stray = match part {
                    Part::Path => "`;`",
                    Part::Query => "`&` or `?`",
                };
                Error::InvalidUri {
                    attribute: None,
                    reason: format!("has an empty {part} attribute (a stray {stray})"),
                }
            } else {
                Error::uri(attr, "has no `=value`")
            });
        };
        let (spec, slot) = ATTRIBUTES
            .iter()
            .zip(&mut self.values)
            .find(|(spec, _)| spec.name == name && spec.part == part)
            .ok_or_else(|| unknown(part, name))?;
        let value = spec.decode(raw)?;
        if slot.is_some() {
            return Err(Error::uri(name, "appears twice"));
        }
        *slot = Some(value);
        Ok(())
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
        let parts = [
            (Part::Path, (!path.is_empty()).then_some(path)),
            (Part::Query, query),
        ];
        for (part, text) in parts {
            for attr in text.into_iter().flat_map(|t| t.split(part.separator())) {
                uri.parse_attribute(part, attr)?;
            }
        }
        if uri.pin_value().is_some() && uri.pin_source().is_some() {
            return Err(Error::uri(
                "pin-source",
                "is given together with `pin-value`; give only one",
            ));
        }
        Ok(uri)
    }
}

/// Lower-case hex of `bytes`, as listings show ids.
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
        for (part, first) in [(Part::Path, ""), (Part::Query, "?")] {
            let mut sep = first;
            for (spec, value) in self.present().filter(|(spec, _)| spec.part == part) {
                write!(f, "{sep}{}=", spec.name)?;
                spec.encode(value, f)?;
                sep = part.separator();
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Pkcs11Uri");
        for (spec, value) in self.present() {
            d.field(spec.name, value);
        }
        d.finish()
    }
}

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

    #[test]
    fn every_attribute_of_the_table_parses_prints_and_compares() -> Result<(), Error> {
        let sample = |kind: Kind| match kind {
            Kind::Text => "a%20b",
            Kind::Version => "2.40",
            Kind::Number => "7",
            Kind::Bytes => "%01%FF",
            Kind::Type => "public",
            Kind::Path => "/lib/m.so",
            Kind::PinFile => "/run/pin",
            Kind::Secret => "1234",
        };
        let mut path = Vec::new();
        let mut query = Vec::new();
        for spec in ATTRIBUTES {
            // `pin-value` and `pin-source` exclude each other: the secret is checked below.
            if spec.kind == Kind::Secret {
                continue;
            }
            let attr = format!("{}={}", spec.name, sample(spec.kind));
            match spec.part {
                Part::Path => path.push(attr),
                Part::Query => query.push(attr),
            }
        }
        let text = format!("pkcs11:{}?{}", path.join(";"), query.join("&"));
        let uri = parse(&text)?;
        assert_eq!(uri.present().count(), ATTRIBUTES.len() - 1);
        assert_eq!(uri.to_string(), text, "printed in table order, as written");
        assert_eq!(parse(&uri.to_string())?, uri);
        assert_eq!(uri.token(), Some("a b"));
        assert_eq!(uri.library_version(), Some("2.40"));
        assert_eq!(uri.slot_id(), Some(7));
        assert_eq!(uri.object_type(), Some(ObjectType::Public));
        // Each attribute twice is refused, by name.
        for attr in path.iter().chain(&query) {
            let name = attr.split_once('=').map(|(n, _)| n);
            let (part, sep) = if path.contains(attr) {
                ("", ";")
            } else {
                ("?", "&")
            };
            let twice = format!("pkcs11:{part}{attr}{sep}{attr}");
            assert_eq!(attribute_of(&twice).as_deref(), name, "{twice}");
        }
        // Every attribute is compared.
        for spec in ATTRIBUTES {
            let mut other = uri.clone();
            for (s, value) in ATTRIBUTES.iter().zip(&mut other.values) {
                if s.name == spec.name {
                    *value = None;
                }
            }
            assert!(spec.kind == Kind::Secret || other != uri, "{}", spec.name);
        }
        let with_pin = parse("pkcs11:?pin-value=1234")?;
        assert_ne!(with_pin, parse("pkcs11:?pin-value=1235")?);
        assert_eq!(with_pin, parse("pkcs11:?pin-value=12%334")?);
        Ok(())
    }

    #[test]
    fn a_malformed_pin_value_is_not_repeated() {
        for uri in [
            "pkcs11:?pin-value=pin\"4711",
            "pkcs11:?pin-value=pin%zz4711",
        ] {
            let e = parse(uri).err().map(|e| e.to_string()).unwrap_or_default();
            assert_eq!(
                e,
                "invalid PKCS#11 URI: attribute `pin-value` has a character that must be \
                 percent-encoded, or a bad percent-encoding"
            );
        }
    }

    #[test]
    fn misplaced_and_unsupported_attributes_say_where_they_belong() {
        let reason = |s: &str| match parse(s) {
            Err(Error::InvalidUri { reason, .. }) => reason,
            other => panic!("{s}: {other:?}"),
        };
        assert!(reason("pkcs11:pin-source=/p").contains("belongs in the query, after `?`"));
        assert!(reason("pkcs11:module-name=softhsm").contains("belongs in the query"));
        assert!(reason("pkcs11:?serial=1").contains("belongs in the path, before `?`"));
        assert!(reason("pkcs11:?module-name=softhsm").contains("not supported"));
        let unknown = reason("pkcs11:tokn=a");
        assert!(
            unknown.contains("known: library-manufacturer")
                && unknown.contains("token")
                && !unknown.contains("module-path"),
            "{unknown}"
        );
        assert!(reason("pkcs11:;").contains("stray `;`"));
        assert!(reason("pkcs11:?&").contains("stray `&` or `?`"));
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
            .prop_map(|(token, object, slot_id, id, ty, module, serial)| {
                let text = |s: Option<String>| s.map(Value::Text);
                Pkcs11Uri::new()
                    .with(Attr::Token, text(token))
                    .with(Attr::Object, text(object))
                    .with(Attr::SlotId, slot_id.map(Value::Number))
                    .with(Attr::Id, id.map(Value::Bytes))
                    .with(Attr::Type, ty.map(Value::Type))
                    .with(Attr::ModulePath, module.map(|m| Value::Path(m.into())))
                    .with(Attr::Serial, text(serial))
            })
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
