//! The JOSE header of a JWS (RFC 7515 section 4).

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::error::Error;
use crate::json;

/// Header member names registered by RFC 7515 (and `b64` from RFC 7797); these may not be
/// listed in `crit`.
pub const REGISTERED_HEADER_NAMES: &[&str] = &[
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit",
];

/// The typed members in the order [`Header::from_slots`] and [`FastHeader`] take them.
const SLOT_NAMES: [&str; 7] = ["alg", "typ", "kid", "cty", "x5t#S256", "x5c", "crit"];

/// The index of `name` in [`SLOT_NAMES`].
fn header_slot(name: &str) -> Option<usize> {
    Some(match name {
        "alg" => 0,
        "typ" => 1,
        "kid" => 2,
        "cty" => 3,
        "x5t#S256" => 4,
        "x5c" => 5,
        "crit" => 6,
        _ => return None,
    })
}

/// A JWS protected header.
///
/// Registered members are typed; any other member is kept in [`Header::extra`] in the order
/// it appeared. `jku`, `x5u` and `jwk` are kept as extra members and never acted upon: keys
/// are never fetched from or trusted because of a token.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// `alg`: the signature algorithm. When encoding, the signer's algorithm replaces it.
    pub alg: Algorithm,
    /// `typ`: the media type of the whole token, e.g. `JWT` or `oauth-authz-req+jwt`.
    pub typ: Option<String>,
    /// `kid`: an opaque key identifier.
    pub kid: Option<String>,
    /// `cty`: the media type of the payload.
    pub cty: Option<String>,
    /// `x5t#S256`: base64url SHA-256 thumbprint of the DER signing certificate.
    pub x5t_s256: Option<String>,
    /// `x5c`: the certificate chain, each standard (not url-safe) base64 DER.
    pub x5c: Option<Vec<String>>,
    /// `crit`: extension members the recipient must understand.
    pub crit: Option<Vec<String>>,
    /// Every other member.
    pub extra: Map<String, Value>,
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
        let fast = json::parse_fast(bytes, FastHeader).filter(|h| h.check_members().is_ok());
        match fast {
            Some(header) => Ok(header),
            None => json::parse_object(bytes, "header").and_then(Header::from_map),
        }
    }

    /// Builds a header from a parsed JSON object, with the same checks as [`Header::from_json`].
    ///
    /// # Errors
    /// See [`Header::from_json`].
    pub fn from_map(map: Map<String, Value>) -> Result<Self, Error> {
        let (slots, extra) = json::split_map(map, &SLOT_NAMES);
        Header::from_slots(slots, extra)
    }

    /// The checks of [`Header::from_json`] on the typed members, taken out of the object
    /// into slots (in the order of [`SLOT_NAMES`]); `extra` holds the others.
    fn from_slots(slots: [Option<Value>; 7], extra: Map<String, Value>) -> Result<Self, Error> {
        let bad = |name: &str, reason: &str| Error::InvalidHeader {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        let [alg, typ, kid, cty, x5t_s256, x5c, crit] = slots;
        let alg = match alg {
            None => return Err(bad("alg", "is missing")),
            Some(Value::String(s)) => s.parse::<Algorithm>()?,
            Some(_) => return Err(bad("alg", "must be a string")),
        };
        let s = |value: Option<Value>, name: &str| match value {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(bad(name, "must be a string")),
        };
        let strings = |value: Option<Value>, name: &str| match value {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(bad(name, "must be an array of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(bad(name, "must be an array of strings")),
        };
        let typ = s(typ, "typ")?;
        let kid = s(kid, "kid")?;
        let cty = s(cty, "cty")?;
        let x5t_s256 = s(x5t_s256, "x5t#S256")?;
        let x5c = strings(x5c, "x5c")?;
        let crit = strings(crit, "crit")?;
        let header = Header {
            alg,
            typ,
            kid,
            cty,
            x5t_s256,
            x5c,
            crit,
            extra,
        };
        header.check_members()?;
        Ok(header)
    }

    /// The checks across members, after each typed member has its type: `crit` (not
    /// empty, no registered name, no name twice, every name present) and `b64`.
    fn check_members(&self) -> Result<(), Error> {
        let bad = |name: &str, reason: &str| Error::InvalidHeader {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some(crit) = &self.crit {
            if crit.is_empty() {
                return Err(bad("crit", "must not be empty"));
            }
            for (i, name) in crit.iter().enumerate() {
                if REGISTERED_HEADER_NAMES.contains(&name.as_str()) {
                    return Err(bad(
                        "crit",
                        &format!("must not list registered member `{name}`"),
                    ));
                }
                if crit[..i].contains(name) {
                    return Err(bad("crit", &format!("lists `{name}` twice")));
                }
                // Registered names were refused above, so the others are all in `extra`.
                if !self.extra.contains_key(name) {
                    return Err(bad(
                        "crit",
                        &format!("lists `{name}`, which is not in the header"),
                    ));
                }
            }
        }
        match self.extra.get("b64") {
            None | Some(Value::Bool(true)) => Ok(()),
            Some(Value::Bool(false)) => Err(bad(
                "b64",
                "is false (unencoded payloads, RFC 7797, are not supported)",
            )),
            Some(_) => Err(bad("b64", "must be a boolean")),
        }
    }

    /// The header as a JSON object, registered members first.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("alg".into(), Value::String(self.alg.as_str().into()));
        let mut put = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                map.insert(name.into(), Value::String(v.clone()));
            }
        };
        put("typ", &self.typ);
        put("kid", &self.kid);
        put("cty", &self.cty);
        put("x5t#S256", &self.x5t_s256);
        if let Some(x5c) = &self.x5c {
            map.insert("x5c".into(), x5c.clone().into());
        }
        if let Some(crit) = &self.crit {
            map.insert("crit".into(), crit.clone().into());
        }
        for (k, v) in &self.extra {
            map.entry(k.clone()).or_insert_with(|| v.clone());
        }
        map
    }
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
        let h = self.header;
        let mut written: [&str; 7] = [""; 7];
        let mut n = 0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("alg", self.alg.as_str())?;
        written[n] = "alg";
        n += 1;
        for (name, value) in [
            ("typ", h.typ.as_deref()),
            ("kid", self.kid),
            ("cty", h.cty.as_deref()),
            ("x5t#S256", h.x5t_s256.as_deref()),
        ] {
            if let Some(v) = value {
                m.serialize_entry(name, v)?;
                written[n] = name;
                n += 1;
            }
        }
        for (name, value) in [("x5c", &h.x5c), ("crit", &h.crit)] {
            if let Some(v) = value {
                m.serialize_entry(name, v)?;
                written[n] = name;
                n += 1;
            }
        }
        for (k, v) in &h.extra {
            if !written[..n].contains(&k.as_str()) {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

impl Serialize for Header {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        HeaderOut {
            header: self,
            alg: self.alg,
            kid: self.kid.as_deref(),
        }
        .serialize(s)
    }
}

/// The fast path of [`Header::from_json`] (see [`json::parse_fast`]): typed members
/// straight into their fields, the others into `extra`; [`Header::check_members`] runs
/// after it. It refuses anything the general path ([`Header::from_map`]) rejects, which
/// then names the fault.
struct FastHeader;

impl<'de> serde::de::Visitor<'de> for FastHeader {
    type Value = Header;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
        let mut alg = None;
        let mut header = Header::new(Algorithm::RS256);
        let mut seen = json::Seen::default();
        while let Some(i) = json::next_typed(&mut map, header_slot, &mut seen, &mut header.extra)? {
            match i {
                0 => {
                    let name = map.next_value_seed(json::StringSeed)?;
                    alg = Some(name.parse::<Algorithm>().map_err(|_| json::refuse())?);
                }
                1 => header.typ = Some(map.next_value_seed(json::StringSeed)?),
                2 => header.kid = Some(map.next_value_seed(json::StringSeed)?),
                3 => header.cty = Some(map.next_value_seed(json::StringSeed)?),
                4 => header.x5t_s256 = Some(map.next_value_seed(json::StringSeed)?),
                5 => header.x5c = Some(map.next_value_seed(json::StringsSeed)?),
                6 => header.crit = Some(map.next_value_seed(json::StringsSeed)?),
                _ => return Err(json::refuse()),
            }
        }
        header.alg = alg.ok_or_else(json::refuse)?;
        Ok(header)
    }
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        Header::from_map(map).map_err(serde::de::Error::custom)
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
            let err = Header::from_json(json).expect_err(std::str::from_utf8(json).unwrap_or(""));
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
        .unwrap_or_else(|_| Header::new(Algorithm::ES256));
        h.extra.insert("typ".into(), "extra-typ".into());
        h.extra.insert("alg".into(), "shadowed".into());
        h.extra.insert("kid".into(), "shadowed".into());
        for h in [h.clone(), Header::new(Algorithm::RS256), h.with_typ("JWT")] {
            let direct = serde_json::to_string(&h).unwrap_or_default();
            let via_map = serde_json::to_string(&h.to_map()).unwrap_or_default();
            assert_eq!(direct, via_map);
        }
    }

    #[test]
    fn slot_names_match_header_slot() {
        for (i, name) in SLOT_NAMES.iter().enumerate() {
            assert_eq!(header_slot(name), Some(i));
        }
        for other in ["", "al", "ALG", "x5t", "x5u", "jwk", "b64"] {
            assert_eq!(header_slot(other), None);
        }
    }

    /// The one-pass parser gives exactly what the general parser followed by `from_map`
    /// gives: the same header, the same errors.
    #[test]
    fn fast_path_agrees_with_from_map() {
        for json in [
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
        ] {
            let fast = Header::from_json(json);
            let slow = json::parse_object(json, "header").and_then(Header::from_map);
            assert_eq!(
                format!("{fast:?}"),
                format!("{slow:?}"),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
    }

    #[test]
    fn set_routes_registered_names() {
        let mut h = Header::new(Algorithm::ES256);
        h.set("typ", "at+jwt".into()).ok();
        h.set("custom", serde_json::json!({"a":1})).ok();
        assert_eq!(h.typ.as_deref(), Some("at+jwt"));
        assert!(h.extra.contains_key("custom"));
        assert!(h.set("alg", "none".into()).is_err());
    }
}
