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
        Header::from_map(json::parse_object(bytes, "header")?)
    }

    /// Builds a header from a parsed JSON object, with the same checks as [`Header::from_json`].
    ///
    /// # Errors
    /// See [`Header::from_json`].
    pub fn from_map(mut map: Map<String, Value>) -> Result<Self, Error> {
        let bad = |name: &str, reason: &str| Error::InvalidHeader {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        let alg = match map.get("alg") {
            None => return Err(bad("alg", "is missing")),
            Some(Value::String(s)) => s.parse::<Algorithm>()?,
            Some(_) => return Err(bad("alg", "must be a string")),
        };
        let s = |map: &Map<String, Value>, name: &str| {
            json::opt_string(map, name).map_err(|r| bad(name, r))
        };
        let typ = s(&map, "typ")?;
        let kid = s(&map, "kid")?;
        let cty = s(&map, "cty")?;
        let x5t_s256 = s(&map, "x5t#S256")?;
        let x5c = json::opt_string_array(&map, "x5c").map_err(|r| bad("x5c", r))?;
        let crit = json::opt_string_array(&map, "crit").map_err(|r| bad("crit", r))?;
        if let Some(crit) = &crit {
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
                if !map.contains_key(name) {
                    return Err(bad(
                        "crit",
                        &format!("lists `{name}`, which is not in the header"),
                    ));
                }
            }
        }
        match map.get("b64") {
            None | Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => {
                return Err(bad(
                    "b64",
                    "is false (unencoded payloads, RFC 7797, are not supported)",
                ));
            }
            Some(_) => return Err(bad("b64", "must be a boolean")),
        }
        for name in ["alg", "typ", "kid", "cty", "x5t#S256", "x5c", "crit"] {
            map.remove(name);
        }
        Ok(Header {
            alg,
            typ,
            kid,
            cty,
            x5t_s256,
            x5c,
            crit,
            extra: map,
        })
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

impl Serialize for Header {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let map = self.to_map();
        let mut m = s.serialize_map(Some(map.len()))?;
        for (k, v) in &map {
            m.serialize_entry(k, v)?;
        }
        m.end()
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
