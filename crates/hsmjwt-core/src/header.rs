//! The JOSE header of a JWS (RFC 7515 section 4).

use serde::de::MapAccess;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::error::Error;
use crate::member::{self, Field, MemberValue, MemberVisitor, Members, WriteMember};
use crate::text::Untrusted;

/// Header member names registered by RFC 7515 (and `b64` from RFC 7797); these may not be
/// listed in `crit`.
pub const REGISTERED_HEADER_NAMES: &[&str] = &[
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit",
];

member::typed_members! {
    /// A JWS protected header.
    ///
    /// Registered members are typed; any other member is kept in [`Header::extra`] in the
    /// order it appeared. `jku`, `x5u` and `jwk` are kept as extra members and never acted
    /// upon: keys are never fetched from or trusted because of a token.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Header {
        /// `alg`: the signature algorithm. When encoding, the signer's algorithm replaces it.
        "alg" => pub alg: Algorithm,
        /// `typ`: the media type of the whole token, e.g. `JWT` or `oauth-authz-req+jwt`.
        "typ" => pub typ: Option<String>,
        /// `kid`: an opaque key identifier.
        "kid" => pub kid: Option<String>,
        /// `cty`: the media type of the payload.
        "cty" => pub cty: Option<String>,
        /// `x5t#S256`: base64url SHA-256 thumbprint of the DER signing certificate.
        "x5t#S256" => pub x5t_s256: Option<String>,
        /// `x5c`: the certificate chain, each standard (not url-safe) base64 DER.
        "x5c" => pub x5c: Option<Vec<String>>,
        /// `crit`: extension members the recipient must understand.
        "crit" => pub crit: Option<Vec<String>>,
    }
    /// Every other member.
    extra;
    slot: HeaderSlot,
    invalid: invalid,
    first: alg,
    check: Header::check_members,
    problems: extension_problems_in,
}

/// The error for header member `name`.
fn invalid(name: &str, reason: &str) -> Error {
    Error::InvalidHeader {
        name: name.to_owned(),
        reason: reason.to_owned(),
    }
}

/// `alg`: a supported algorithm's name.
impl MemberValue for Algorithm {
    fn read_fast<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        String::read_fast(map)?
            .parse()
            .map_err(|_| member::refuse())
    }

    fn from_value(value: Value, invalid: impl Fn(&str) -> Error) -> Result<Self, Error> {
        match value {
            Value::String(s) => s.parse(),
            _ => Err(invalid("must be a string")),
        }
    }
}

impl WriteMember for Algorithm {
    fn to_value(&self) -> Value {
        Value::String(self.as_str().into())
    }

    fn write<M: SerializeMap>(&self, name: &'static str, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry(name, self.as_str())
    }
}

/// `alg` is required.
impl Field for Algorithm {
    type Value = Algorithm;

    fn absent() -> Option<Self> {
        None
    }

    fn present(value: Algorithm) -> Self {
        value
    }

    fn get(&self) -> Option<&Algorithm> {
        Some(self)
    }
}

impl Header {
    /// A header with only `alg`.
    pub fn new(alg: Algorithm) -> Self {
        Header {
            alg,
            typ: None,
            kid: None,
            cty: None,
            x5t_s256: None,
            x5c: None,
            crit: None,
            extra: Map::new(),
        }
    }

    /// A header with `alg` and `typ: "JWT"`.
    pub fn jwt(alg: Algorithm) -> Self {
        Header::new(alg).with_typ("JWT")
    }

    /// Sets `typ`.
    #[must_use]
    pub fn with_typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// Sets `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets one member by name. Registered names go to their typed field and are checked;
    /// others go to [`Header::extra`].
    ///
    /// # Errors
    /// Fails when a registered member has the wrong type or value (for example `alg: "none"`).
    pub fn set(&mut self, name: &str, value: Value) -> Result<(), Error> {
        let mut map = self.to_map();
        map.insert(name.to_owned(), value);
        *self = Header::from_map(map)?;
        Ok(())
    }

    /// Parses a header from JSON bytes, strictly: duplicate names, wrong types, `none`,
    /// malformed `crit` and `b64: false` are errors.
    ///
    /// # Errors
    /// See [`Error`]; each rejection names the member at fault.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        member::from_json(bytes, "header")
    }

    /// Builds a header from a parsed JSON object, with the same checks as [`Header::from_json`].
    ///
    /// # Errors
    /// See [`Header::from_json`].
    pub fn from_map(map: Map<String, Value>) -> Result<Self, Error> {
        member::from_map(map)
    }

    /// The checks across members, after each typed member has its type: the first fault
    /// [`extension_problems`] finds.
    fn check_members(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        extension_problems(self.crit.as_deref(), &self.extra, &mut problems);
        match problems.into_iter().next() {
            Some(first) => Err(first),
            None => Ok(()),
        }
    }

    /// The header as a JSON object, registered members first.
    pub fn to_map(&self) -> Map<String, Value> {
        member::to_map(self)
    }
}

/// The checks across members, each fault pushed to `out` in this order: `crit` (not empty,
/// no registered name, no name twice, every name present) and `b64`. `members` holds the
/// members that are not typed (it may hold the typed ones too: no name `crit` may list is
/// typed).
fn extension_problems(crit: Option<&[String]>, members: &Map<String, Value>, out: &mut Vec<Error>) {
    let bad = invalid;
    if let Some(crit) = crit {
        if crit.is_empty() {
            out.push(bad("crit", "must not be empty"));
        }
        for (i, name) in crit.iter().enumerate() {
            let name_shown = Untrusted(name);
            if REGISTERED_HEADER_NAMES.contains(&name.as_str()) {
                out.push(bad(
                    "crit",
                    &format!("must not list registered member `{name_shown}`"),
                ));
            } else if crit[..i].contains(name) {
                out.push(bad("crit", &format!("lists `{name_shown}` twice")));
            } else if !members.contains_key(name) {
                // Registered names were refused above, so the others are all in `members`.
                out.push(bad(
                    "crit",
                    &format!("lists `{name_shown}`, which is not in the header"),
                ));
            }
        }
    }
    match members.get("b64") {
        None | Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => out.push(bad(
            "b64",
            "is false (unencoded payloads, RFC 7797, are not supported)",
        )),
        Some(_) => out.push(bad("b64", "must be a boolean")),
    }
}

/// [`extension_problems`] on a header's JSON object, with `crit` when it is a list of
/// strings (a `crit` of another type is a fault of its own, found with the typed members).
fn extension_problems_in(map: &Map<String, Value>, out: &mut Vec<Error>) {
    let crit = member::from_slot::<Option<Vec<String>>>(map.get("crit").cloned(), "crit", invalid)
        .ok()
        .flatten();
    extension_problems(crit.as_deref(), map, out);
}

impl Header {
    /// Appends the header as compact JSON with `alg` and `kid` given by the signer, without
    /// copying it: what [`crate::encode`] signs.
    pub(crate) fn write_json_with(
        &self,
        out: &mut Vec<u8>,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<(), serde_json::Error> {
        serde_json::to_writer(
            out,
            &HeaderOut {
                header: self,
                alg,
                kid,
            },
        )
    }
}

/// A header with `alg` and `kid` replaced, serialised straight from the fields: the same
/// members in the same order as [`Header::to_map`] (registered members first, then the
/// extra members whose names were not already written), without building the map.
struct HeaderOut<'a> {
    header: &'a Header,
    alg: Algorithm,
    kid: Option<&'a str>,
}

impl Serialize for HeaderOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        member::serialize(self.header, s, |writer| {
            self.header.visit(&mut Replace {
                inner: writer,
                alg: self.alg,
                kid: self.kid,
            })
        })
    }
}

/// Shows the typed members to `inner` with `alg` and `kid` replaced.
struct Replace<'a, V> {
    inner: &'a mut V,
    alg: Algorithm,
    kid: Option<&'a str>,
}

impl<V: MemberVisitor> MemberVisitor for Replace<'_, V> {
    type Error = V::Error;

    fn member<T: WriteMember + ?Sized>(
        &mut self,
        name: &'static str,
        value: Option<&T>,
    ) -> Result<(), V::Error> {
        match name {
            "alg" => self.inner.member(name, Some(&self.alg)),
            "kid" => self.inner.member(name, self.kid),
            _ => self.inner.member(name, value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_members_are_checked() {
        assert!(Header::from_json(br#"{"alg":"RS256","kid":"k","typ":"JWT","x":1}"#).is_ok());
        for (json, name) in [
            (&br#"{"typ":"JWT"}"#[..], "alg"),
            (br#"{"alg":"none"}"#, ""),
            (br#"{"alg":"HS256"}"#, ""),
            (br#"{"alg":7}"#, "alg"),
            (br#"{"alg":"RS256","kid":1}"#, "kid"),
            (br#"{"alg":"RS256","kid":null}"#, "kid"),
            (br#"{"alg":"RS256","x5c":"abc"}"#, "x5c"),
            (br#"{"alg":"RS256","crit":[]}"#, "crit"),
            (br#"{"alg":"RS256","crit":["kid"],"kid":"a"}"#, "crit"),
            (br#"{"alg":"RS256","crit":["exp"]}"#, "crit"),
            (br#"{"alg":"RS256","crit":["b64"],"b64":false}"#, "b64"),
        ] {
            let err = Header::from_json(json).expect_err(std::str::from_utf8(json).unwrap());
            match err {
                Error::InvalidHeader { name: n, .. } => assert_eq!(n, name),
                Error::UnsupportedAlgorithm(_) => assert_eq!(name, ""),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Serialising from the fields gives exactly the JSON of `to_map`, also when `extra`
    /// holds registered names (set directly, bypassing the checks).
    #[test]
    fn serialize_matches_to_map() {
        let mut h = Header::from_json(
            br#"{"alg":"PS256","z":1,"kid":"k","x5c":["AA"],"crit":["z"],"cty":"c"}"#,
        )
        .unwrap();
        h.extra.insert("typ".into(), "extra-typ".into());
        h.extra.insert("alg".into(), "shadowed".into());
        h.extra.insert("kid".into(), "shadowed".into());
        for (h, expected) in [
            (
                h.clone(),
                r#"{"alg":"PS256","kid":"k","cty":"c","x5c":["AA"],"crit":["z"],"z":1,"typ":"extra-typ"}"#,
            ),
            (Header::new(Algorithm::RS256), r#"{"alg":"RS256"}"#),
            (
                h.with_typ("JWT"),
                r#"{"alg":"PS256","typ":"JWT","kid":"k","cty":"c","x5c":["AA"],"crit":["z"],"z":1}"#,
            ),
        ] {
            let direct = serde_json::to_string(&h).unwrap();
            let via_map = serde_json::to_string(&h.to_map()).unwrap();
            assert_eq!(direct, expected);
            assert_eq!(via_map, expected);
        }
    }

    /// What `encode` signs: the signer's `alg` and `kid` in their places, an extra member
    /// of a typed name written only when the typed member is not.
    #[test]
    fn write_json_with_replaces_alg_and_kid() {
        let mut h = Header::jwt(Algorithm::RS256).with_kid("old");
        h.x5t_s256 = Some("t".into());
        h.extra.insert("kid".into(), "shadowed".into());
        h.extra.insert("z".into(), 1.into());
        for (kid, expected) in [
            (
                Some("new"),
                r#"{"alg":"ES256","typ":"JWT","kid":"new","x5t#S256":"t","z":1}"#,
            ),
            (
                None,
                r#"{"alg":"ES256","typ":"JWT","x5t#S256":"t","kid":"shadowed","z":1}"#,
            ),
        ] {
            let mut out = Vec::new();
            h.write_json_with(&mut out, Algorithm::ES256, kid).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    #[test]
    fn names_match_slots() {
        assert_eq!(
            Header::NAMES,
            ["alg", "typ", "kid", "cty", "x5t#S256", "x5c", "crit"]
        );
        for (i, name) in Header::NAMES.iter().enumerate() {
            let slot = Header::slot(name).unwrap();
            assert_eq!(Header::index(slot), i);
        }
        for other in ["", "al", "ALG", "x5t", "x5u", "jwk", "b64"] {
            assert_eq!(Header::slot(other), None);
        }
    }

    /// The one-pass parser gives exactly what the general parser followed by `from_map`
    /// gives: the same header, the same errors.
    #[test]
    fn fast_path_agrees_with_from_map() {
        let inputs: &[&[u8]] = &[
            &br#"{"alg":"RS256","z":1,"kid":"k","crit":["z"],"x5c":["a"],"b64":true}"#[..],
            br#"{"alg":"RS256","alg":"RS256"}"#,
            br#"{"alg":"RS256","crit":["q"]}"#,
            br#"{"alg":"RS256","crit":["q"],"q":{"a":1,"a":1}}"#,
            br#"{"alg":"none","kid":5}"#,
            br#"{"kid":5}"#,
            br#"{"alg":"RS256","b64":false}"#,
            br#"{"alg":"RS256"}{}"#,
            b"[]",
            br#"{"\u0061lg":"ES256"}"#,
            br#"{"alg":"HS256"}"#,
            br#"{"alg":null}"#,
            br#"{"alg":"RS256","crit":[]}"#,
            br#"{"alg":"RS256","crit":["kid"]}"#,
            br#"{"alg":"RS256","crit":["q","q"],"q":1}"#,
            br#"{"alg":"RS256","crit":"q","q":1}"#,
            br#"{"alg":"RS256","crit":[1]}"#,
            br#"{"alg":"RS256","x5c":["a",null]}"#,
            br#"{"alg":"RS256","x5c":[]}"#,
            br#"{"alg":"RS256","b64":"no"}"#,
            br#"{"alg":"RS256","b64":true,"b64":true}"#,
            br#"{"alg":"RS256","typ":"JWT","cty":"JWT","x5t#S256":"t","kid":""}"#,
            br#"{"typ":"JWT","alg":"ES384","typ":"JWT"}"#,
            b"{\"alg\":\"RS256\",\"kid\":\"\xc3\"}",
        ];
        // (inputs, of which parsed): every input was tried, and both kinds occur.
        assert_eq!(member::paths_agree::<Header>(inputs, "header"), (24, 4));
    }

    #[test]
    fn set_routes_registered_names() {
        let mut h = Header::new(Algorithm::ES256);
        h.set("typ", "at+jwt".into()).unwrap();
        h.set("custom", serde_json::json!({"a":1})).unwrap();
        assert_eq!(h.typ.as_deref(), Some("at+jwt"));
        assert_eq!(h.extra.get("custom"), Some(&serde_json::json!({"a":1})));
        assert!(h.extra.get("typ").is_none());
        assert!(matches!(
            h.set("alg", "none".into()),
            Err(Error::UnsupportedAlgorithm(a)) if a == "none"
        ));
        assert!(matches!(
            h.set("kid", 5.into()),
            Err(Error::InvalidHeader { name, .. }) if name == "kid"
        ));
        assert_eq!(h.alg, Algorithm::ES256);
        assert_eq!(h.kid, None);
    }
}
