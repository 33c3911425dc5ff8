//! The JWT claims set (RFC 7519 section 4).

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::json;
use crate::time::NumericDate;

/// Names of the registered claims that [`Claims`] types.
pub const REGISTERED_CLAIM_NAMES: &[&str] = &["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// The registered claims in the order [`Claims::from_slots`] and [`FastClaims`] take them.
const SLOT_NAMES: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// The index of `name` in [`SLOT_NAMES`].
fn claim_slot(name: &str) -> Option<usize> {
    Some(match name {
        "iss" => 0,
        "sub" => 1,
        "aud" => 2,
        "exp" => 3,
        "nbf" => 4,
        "iat" => 5,
        "jti" => 6,
        _ => return None,
    })
}

/// The `aud` claim: one string or an array of strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// A single audience, serialised as a string.
    One(String),
    /// Several audiences, serialised as an array.
    Many(Vec<String>),
}

impl Audience {
    /// The audiences as a slice-like iterator.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let slice: &[String] = match self {
            Audience::One(s) => std::slice::from_ref(s),
            Audience::Many(v) => v,
        };
        slice.iter().map(String::as_str)
    }

    /// Whether `aud` is among the audiences.
    pub fn contains(&self, aud: &str) -> bool {
        self.iter().any(|a| a == aud)
    }

    /// The audiences as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

impl From<&str> for Audience {
    fn from(s: &str) -> Self {
        Audience::One(s.to_owned())
    }
}

impl From<String> for Audience {
    fn from(s: String) -> Self {
        Audience::One(s)
    }
}

impl From<Vec<String>> for Audience {
    /// One element becomes [`Audience::One`], otherwise [`Audience::Many`].
    fn from(mut v: Vec<String>) -> Self {
        if v.len() == 1 {
            Audience::One(v.remove(0))
        } else {
            Audience::Many(v)
        }
    }
}

/// A JWT claims set. Registered claims are typed; others live in [`Claims::extra`].
///
/// Parsing is strict: a registered claim of the wrong JSON type is an error, never treated
/// as absent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Claims {
    /// `iss`: issuer.
    pub iss: Option<String>,
    /// `sub`: subject.
    pub sub: Option<String>,
    /// `aud`: audience(s).
    pub aud: Option<Audience>,
    /// `exp`: expiration time.
    pub exp: Option<NumericDate>,
    /// `nbf`: not before.
    pub nbf: Option<NumericDate>,
    /// `iat`: issued at.
    pub iat: Option<NumericDate>,
    /// `jti`: unique token id.
    pub jti: Option<String>,
    /// Every other claim, in the order it appeared or was added.
    pub extra: Map<String, Value>,
}

impl Claims {
    /// An empty claims set.
    pub fn new() -> Self {
        Claims::default()
    }

    /// Sets `iss`.
    #[must_use]
    pub fn with_issuer(mut self, iss: impl Into<String>) -> Self {
        self.iss = Some(iss.into());
        self
    }

    /// Sets `sub`.
    #[must_use]
    pub fn with_subject(mut self, sub: impl Into<String>) -> Self {
        self.sub = Some(sub.into());
        self
    }

    /// Sets `aud`.
    #[must_use]
    pub fn with_audience(mut self, aud: impl Into<Audience>) -> Self {
        self.aud = Some(aud.into());
        self
    }

    /// Sets `exp`.
    #[must_use]
    pub fn with_expiry(mut self, exp: NumericDate) -> Self {
        self.exp = Some(exp);
        self
    }

    /// Sets `nbf`.
    #[must_use]
    pub fn with_not_before(mut self, nbf: NumericDate) -> Self {
        self.nbf = Some(nbf);
        self
    }

    /// Sets `iat`.
    #[must_use]
    pub fn with_issued_at(mut self, iat: NumericDate) -> Self {
        self.iat = Some(iat);
        self
    }

    /// Sets `jti`.
    #[must_use]
    pub fn with_jwt_id(mut self, jti: impl Into<String>) -> Self {
        self.jti = Some(jti.into());
        self
    }

    /// Sets `iat` to `now` and `exp` to `now + ttl`.
    #[must_use]
    pub fn with_lifetime(mut self, now: NumericDate, ttl: std::time::Duration) -> Self {
        self.iat = Some(now);
        self.exp = Some(now.saturating_add(ttl));
        self
    }

    /// Adds or replaces a claim by name, checking registered claims' types.
    ///
    /// # Errors
    /// Fails when a registered claim gets a value of the wrong type (for example `exp` as a
    /// string).
    pub fn with_claim(mut self, name: &str, value: impl Into<Value>) -> Result<Self, Error> {
        self.set(name, value.into())?;
        Ok(self)
    }

    /// Adds or replaces a claim by name; see [`Claims::with_claim`].
    ///
    /// # Errors
    /// Fails when a registered claim gets a value of the wrong type.
    pub fn set(&mut self, name: &str, value: Value) -> Result<(), Error> {
        if REGISTERED_CLAIM_NAMES.contains(&name) {
            let mut map = Map::new();
            map.insert(name.to_owned(), value);
            let parsed = Claims::from_map(map)?;
            match name {
                "iss" => self.iss = parsed.iss,
                "sub" => self.sub = parsed.sub,
                "aud" => self.aud = parsed.aud,
                "exp" => self.exp = parsed.exp,
                "nbf" => self.nbf = parsed.nbf,
                "iat" => self.iat = parsed.iat,
                _ => self.jti = parsed.jti,
            }
        } else {
            self.extra.insert(name.to_owned(), value);
        }
        Ok(())
    }

    /// Parses claims from JSON bytes, strictly (duplicates and wrong types are errors).
    ///
    /// # Errors
    /// See [`Error`]; each rejection names the claim at fault.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        match json::parse_fast(bytes, FastClaims) {
            Some(claims) => Ok(claims),
            None => json::parse_object(bytes, "payload").and_then(Claims::from_map),
        }
    }

    /// Builds claims from a JSON object with the checks of [`Claims::from_json`].
    ///
    /// # Errors
    /// See [`Claims::from_json`].
    pub fn from_map(map: Map<String, Value>) -> Result<Self, Error> {
        let (slots, extra) = json::split_map(map, &SLOT_NAMES);
        Claims::from_slots(slots, extra)
    }

    /// The checks of [`Claims::from_json`] on the registered claims, taken out of the
    /// object into slots (in the order of [`SLOT_NAMES`]); `extra` holds the others.
    fn from_slots(slots: [Option<Value>; 7], extra: Map<String, Value>) -> Result<Self, Error> {
        let bad = |name: &str, reason: &str| Error::InvalidClaim {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        let [iss, sub, aud, exp, nbf, iat, jti] = slots;
        let s = |value: Option<Value>, name: &str| match value {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(bad(name, "must be a string")),
        };
        let date = |value: Option<Value>, name: &str| -> Result<Option<NumericDate>, Error> {
            match value {
                None => Ok(None),
                Some(Value::Number(n)) => {
                    if let Some(i) = n.as_i64() {
                        Ok(Some(NumericDate::from_unix(i)))
                    } else if let Some(f) = n.as_f64() {
                        // i64::MAX as f64 rounds up to 2^63, so compare strictly below it.
                        if f.is_finite() && (-9.2e18..9.2e18).contains(&f) {
                            #[allow(clippy::cast_possible_truncation)]
                            Ok(Some(NumericDate::from_unix(f.floor() as i64)))
                        } else {
                            Err(bad(name, "is out of range"))
                        }
                    } else {
                        Err(bad(name, "is out of range"))
                    }
                }
                Some(_) => Err(bad(name, "must be a number (NumericDate)")),
            }
        };
        // The order of the checks decides which error a token with several faults gets:
        // `aud` first, then the others in the order of the struct.
        let aud = match aud {
            None => None,
            Some(Value::String(s)) => Some(Audience::One(s)),
            Some(Value::Array(items)) => Some(Audience::Many(
                items
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s),
                        _ => Err(bad("aud", "must be a string or an array of strings")),
                    })
                    .collect::<Result<_, _>>()?,
            )),
            Some(_) => return Err(bad("aud", "must be a string or an array of strings")),
        };
        Ok(Claims {
            iss: s(iss, "iss")?,
            sub: s(sub, "sub")?,
            aud,
            exp: date(exp, "exp")?,
            nbf: date(nbf, "nbf")?,
            iat: date(iat, "iat")?,
            jti: s(jti, "jti")?,
            extra,
        })
    }

    /// The claims as a JSON object, registered claims first.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        if let Some(v) = &self.iss {
            map.insert("iss".into(), v.clone().into());
        }
        if let Some(v) = &self.sub {
            map.insert("sub".into(), v.clone().into());
        }
        match &self.aud {
            Some(Audience::One(a)) => {
                map.insert("aud".into(), a.clone().into());
            }
            Some(Audience::Many(a)) => {
                map.insert("aud".into(), a.clone().into());
            }
            None => {}
        }
        for (name, v) in [("exp", self.exp), ("nbf", self.nbf), ("iat", self.iat)] {
            if let Some(v) = v {
                map.insert(name.into(), v.as_unix().into());
            }
        }
        if let Some(v) = &self.jti {
            map.insert("jti".into(), v.clone().into());
        }
        for (k, v) in &self.extra {
            map.entry(k.clone()).or_insert_with(|| v.clone());
        }
        map
    }

    /// Serialises the claims as compact JSON.
    ///
    /// # Errors
    /// Fails only if an extra claim cannot be serialised (never for values built from JSON).
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(256);
        serde_json::to_writer(&mut out, self)
            .map(|()| out)
            .map_err(|source| Error::Serialize {
                what: "claims",
                source,
            })
    }
}

/// Serialised straight from the fields: the same members in the same order as
/// [`Claims::to_map`] (registered claims first, then the extra claims whose names were not
/// already written), without building the map.
impl Serialize for Claims {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut written: [&str; 7] = [""; 7];
        let mut n = 0;
        let mut m = s.serialize_map(None)?;
        for (name, value) in [("iss", &self.iss), ("sub", &self.sub)] {
            if let Some(v) = value {
                m.serialize_entry(name, v)?;
                written[n] = name;
                n += 1;
            }
        }
        if let Some(aud) = &self.aud {
            match aud {
                Audience::One(a) => m.serialize_entry("aud", a)?,
                Audience::Many(a) => m.serialize_entry("aud", a)?,
            }
            written[n] = "aud";
            n += 1;
        }
        for (name, value) in [("exp", self.exp), ("nbf", self.nbf), ("iat", self.iat)] {
            if let Some(v) = value {
                m.serialize_entry(name, &v.as_unix())?;
                written[n] = name;
                n += 1;
            }
        }
        if let Some(v) = &self.jti {
            m.serialize_entry("jti", v)?;
            written[n] = "jti";
            n += 1;
        }
        for (k, v) in &self.extra {
            if !written[..n].contains(&k.as_str()) {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

/// The fast path of [`Claims::from_json`] (see [`json::parse_fast`]): registered claims
/// straight into their fields, the others into `extra`. It refuses anything the general
/// path ([`Claims::from_map`]) rejects, which then names the fault.
struct FastClaims;

impl<'de> serde::de::Visitor<'de> for FastClaims {
    type Value = Claims;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Claims, A::Error> {
        let mut claims = Claims::default();
        let mut seen = json::Seen::default();
        while let Some(i) = json::next_typed(&mut map, claim_slot, &mut seen, &mut claims.extra)? {
            match i {
                0 => claims.iss = Some(map.next_value_seed(json::StringSeed)?),
                1 => claims.sub = Some(map.next_value_seed(json::StringSeed)?),
                2 => claims.aud = Some(map.next_value_seed(FastAudience)?),
                3 => claims.exp = Some(map.next_value_seed(FastDate)?),
                4 => claims.nbf = Some(map.next_value_seed(FastDate)?),
                5 => claims.iat = Some(map.next_value_seed(FastDate)?),
                6 => claims.jti = Some(map.next_value_seed(json::StringSeed)?),
                _ => return Err(json::refuse()),
            }
        }
        Ok(claims)
    }
}

/// `aud` on the fast path: a string or an array of strings.
struct FastAudience;

impl<'de> serde::de::DeserializeSeed<'de> for FastAudience {
    type Value = Audience;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Audience, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for FastAudience {
    type Value = Audience;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or an array of strings")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Audience, E> {
        Ok(Audience::One(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Audience, E> {
        Ok(Audience::One(v))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Audience, A::Error> {
        serde::de::Visitor::visit_seq(json::StringsSeed, seq).map(Audience::Many)
    }
}

/// A NumericDate on the fast path, read as [`Claims::from_slots`] reads it: an integer
/// that fits `i64`, or a finite fraction within about ±9.2e18 seconds, rounded down.
struct FastDate;

impl<'de> serde::de::DeserializeSeed<'de> for FastDate {
    type Value = NumericDate;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<NumericDate, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for FastDate {
    type Value = NumericDate;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a NumericDate")
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<NumericDate, E> {
        Ok(NumericDate::from_unix(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<NumericDate, E> {
        i64::try_from(v)
            .map(NumericDate::from_unix)
            .map_err(|_| json::refuse())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<NumericDate, E> {
        if v.is_finite() && (-9.2e18..9.2e18).contains(&v) {
            #[allow(clippy::cast_possible_truncation)]
            Ok(NumericDate::from_unix(v.floor() as i64))
        } else {
            Err(json::refuse())
        }
    }
}

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        Claims::from_map(map).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_are_errors_not_absent() {
        for (json, name) in [
            (&br#"{"exp":"1700000000"}"#[..], "exp"),
            (br#"{"nbf":true}"#, "nbf"),
            (br#"{"iat":null}"#, "iat"),
            (br#"{"aud":5}"#, "aud"),
            (br#"{"aud":["a",5]}"#, "aud"),
            (br#"{"iss":["a"]}"#, "iss"),
            (br#"{"sub":1}"#, "sub"),
            (br#"{"jti":{}}"#, "jti"),
            (br#"{"exp":1e300}"#, "exp"),
        ] {
            match Claims::from_json(json) {
                Err(Error::InvalidClaim { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{}: {other:?}", String::from_utf8_lossy(json)),
            }
        }
    }

    #[test]
    fn round_trip_keeps_extras() {
        let c = Claims::from_json(br#"{"iss":"a","aud":["x","y"],"exp":10.7,"n":{"k":[1]}}"#)
            .unwrap_or_default();
        assert_eq!(c.exp, Some(NumericDate::from_unix(10)));
        assert_eq!(c.aud, Some(Audience::Many(vec!["x".into(), "y".into()])));
        let again = Claims::from_json(&c.to_json().unwrap_or_default()).unwrap_or_default();
        assert_eq!(c, again);
    }

    /// Serialising from the fields gives exactly the JSON of `to_map`, also when `extra`
    /// holds registered names (set directly, bypassing the checks).
    #[test]
    fn serialize_matches_to_map() {
        let mut c = Claims::from_json(
            br#"{"x":1,"iss":"a","aud":["x","y"],"exp":-5,"iat":7,"jti":"j","n":{"k":[1]}}"#,
        )
        .unwrap_or_default();
        c.extra.insert("sub".into(), Value::from("extra-sub"));
        c.extra.insert("iss".into(), Value::from("shadowed"));
        for c in [c.clone(), Claims::new(), c.with_audience("one")] {
            let direct = c.to_json().unwrap_or_default();
            let via_map = serde_json::to_vec(&c.to_map()).unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(&direct),
                String::from_utf8_lossy(&via_map)
            );
        }
    }

    #[test]
    fn slot_names_match_claim_slot() {
        for (i, name) in SLOT_NAMES.iter().enumerate() {
            assert_eq!(claim_slot(name), Some(i));
        }
        for other in ["", "is", "isss", "ISS", "alg", "scope"] {
            assert_eq!(claim_slot(other), None);
        }
    }

    /// The one-pass parser gives exactly what the general parser followed by `from_map`
    /// gives: the same claims, the same errors.
    #[test]
    fn fast_path_agrees_with_from_map() {
        for json in [
            &br#"{"iss":"a","x":1,"aud":["x"],"y":{"k":[1,{"z":null}]},"exp":1.5}"#[..],
            br#"{"iss":"a","iss":"b"}"#,
            br#"{"x":1,"x":2}"#,
            br#"{"x":{"k":1,"k":2},"exp":"late"}"#,
            br#"{"exp":"late","x":{"k":1,"k":2}}"#,
            br#"{"aud":7,"iss":8}"#,
            br#"{"iss":8,"aud":7}"#,
            br#"{"a":1} x"#,
            br#"[{"a":1,"a":2}]"#,
            b"[1]",
            b"17",
            b"",
            br#"{"a":"\u00e9\"","\u0069ss":"escaped name"}"#,
            br#"{"iss":"a","#,
            br#"{"exp":9223372036854775807,"nbf":-9223372036854775808,"iat":0}"#,
            br#"{"exp":9223372036854775808}"#,
            br#"{"exp":18446744073709551615}"#,
            br#"{"exp":1e400}"#,
            br#"{"exp":-0.0,"nbf":-1.5,"iat":9.1e18}"#,
            br#"{"exp":9.3e18}"#,
            br#"{"exp":-9.3e18}"#,
            br#"{"exp":null}"#,
            br#"{"iss":null}"#,
            br#"{"aud":[]}"#,
            br#"{"aud":["a",1]}"#,
            br#"{"aud":[["a"]]}"#,
            br#"{"aud":{"a":1}}"#,
            br#"{"jti":"a","sub":"b","sub":"c"}"#,
            b"{\"iss\":\"\xff\"}",
            b"{\"x\xff\":1}",
            br#" { "iss" : "a" , "x" : [ ] } "#,
            br#"{"x5c":1,"alg":"none"}"#,
        ] {
            let fast = Claims::from_json(json);
            let slow = json::parse_object(json, "payload").and_then(Claims::from_map);
            assert_eq!(
                format!("{fast:?}"),
                format!("{slow:?}"),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
    }

    #[test]
    fn set_checks_registered_types() {
        assert!(Claims::new().with_claim("exp", "soon").is_err());
        let c = Claims::new().with_claim("exp", 5).unwrap_or_default();
        assert_eq!(c.exp, Some(NumericDate::from_unix(5)));
    }
}
