//! The JWT claims set (RFC 7519 section 4).

use serde::de::MapAccess;
use serde::ser::SerializeMap;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::member::{self, AnySeed, MemberValue, Members, WriteMember};
use crate::time::NumericDate;

/// Names of the registered claims that [`Claims`] types.
pub const REGISTERED_CLAIM_NAMES: &[&str] = <Claims as Members>::NAMES;

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

member::typed_members! {
    /// A JWT claims set. Registered claims are typed; others live in [`Claims::extra`].
    ///
    /// Parsing is strict: a registered claim of the wrong JSON type is an error, never
    /// treated as absent.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct Claims {
        /// `iss`: issuer.
        "iss" => pub iss: Option<String>,
        /// `sub`: subject.
        "sub" => pub sub: Option<String>,
        /// `aud`: audience(s).
        "aud" => pub aud: Option<Audience>,
        /// `exp`: expiration time.
        "exp" => pub exp: Option<NumericDate>,
        /// `nbf`: not before.
        "nbf" => pub nbf: Option<NumericDate>,
        /// `iat`: issued at.
        "iat" => pub iat: Option<NumericDate>,
        /// `jti`: unique token id.
        "jti" => pub jti: Option<String>,
    }
    /// Every other claim, in the order it appeared or was added.
    extra;
    slot: ClaimSlot,
    invalid: invalid,
    // The order of the checks decides which error a token with several faults gets:
    // `aud` first, then the others in the order of the list.
    first: aud,
    check: |_| Ok(()),
    problems: |_, _| {},
}

/// The error for claim `name`.
fn invalid(name: &str, reason: &str) -> Error {
    Error::InvalidClaim {
        name: name.to_owned(),
        reason: reason.to_owned(),
    }
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
        match Claims::slot(name) {
            Some(slot) => self.set_member(slot, value),
            None => {
                self.extra.insert(name.to_owned(), value);
                Ok(())
            }
        }
    }

    /// Parses claims from JSON bytes, strictly (duplicates and wrong types are errors).
    ///
    /// # Errors
    /// See [`Error`]; each rejection names the claim at fault.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        member::from_json(bytes, "payload")
    }

    /// Builds claims from a JSON object with the checks of [`Claims::from_json`].
    ///
    /// # Errors
    /// See [`Claims::from_json`].
    pub fn from_map(map: Map<String, Value>) -> Result<Self, Error> {
        member::from_map(map)
    }

    /// The claims as a JSON object, registered claims first.
    pub fn to_map(&self) -> Map<String, Value> {
        member::to_map(self)
    }

    /// Serialises the claims as compact JSON.
    ///
    /// # Errors
    /// Fails only if an extra claim cannot be serialised (never for values built from JSON).
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(256);
        serde_json::to_writer(&mut out, self)
            .map(|()| out)
            .map_err(Error::serialize("claims"))
    }
}

/// `aud`: a string or an array of strings.
impl MemberValue for Audience {
    fn read_fast<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        map.next_value_seed(AnySeed(FastAudience))
    }

    fn from_value(value: Value, invalid: impl Fn(&str) -> Error) -> Result<Self, Error> {
        match value {
            Value::String(s) => Ok(Audience::One(s)),
            other => member::strings_from_value(
                other,
                invalid,
                "must be a string or an array of strings",
            )
            .map(Audience::Many),
        }
    }
}

impl WriteMember for Audience {
    fn to_value(&self) -> Value {
        match self {
            Audience::One(a) => a.to_value(),
            Audience::Many(a) => a.to_value(),
        }
    }

    fn write<M: SerializeMap>(&self, name: &'static str, m: &mut M) -> Result<(), M::Error> {
        match self {
            Audience::One(a) => a.write(name, m),
            Audience::Many(a) => a.write(name, m),
        }
    }
}

/// `aud` on the fast path: a string or an array of strings.
struct FastAudience;

impl<'de> serde::de::Visitor<'de> for FastAudience {
    type Value = Audience;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or an array of strings")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Audience, E> {
        Ok(Audience::One(v.to_owned()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Audience, A::Error> {
        serde::de::Visitor::visit_seq(member::StringsSeed, seq).map(Audience::Many)
    }
}

/// A NumericDate from a JSON number that is not an `i64`: a finite fraction within about
/// ±9.2e18 seconds, rounded down.
fn date_from_f64(f: f64) -> Option<NumericDate> {
    // i64::MAX as f64 rounds up to 2^63, so compare strictly below it.
    if f.is_finite() && (-9.2e18..9.2e18).contains(&f) {
        #[allow(clippy::cast_possible_truncation)]
        Some(NumericDate::from_unix(f.floor() as i64))
    } else {
        None
    }
}

/// A NumericDate: an integer that fits `i64`, or a fraction as [`date_from_f64`] reads it.
impl MemberValue for NumericDate {
    fn read_fast<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        map.next_value_seed(AnySeed(FastDate))
    }

    fn from_value(value: Value, invalid: impl Fn(&str) -> Error) -> Result<Self, Error> {
        match value {
            Value::Number(n) => match n.as_i64() {
                Some(i) => Ok(NumericDate::from_unix(i)),
                None => n
                    .as_f64()
                    .and_then(date_from_f64)
                    .ok_or_else(|| invalid("is out of range")),
            },
            _ => Err(invalid("must be a number (NumericDate)")),
        }
    }
}

impl WriteMember for NumericDate {
    fn to_value(&self) -> Value {
        self.as_unix().into()
    }

    fn write<M: SerializeMap>(&self, name: &'static str, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry(name, &self.as_unix())
    }
}

/// A NumericDate on the fast path, read as [`NumericDate::from_value`] reads it.
struct FastDate;

impl serde::de::Visitor<'_> for FastDate {
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
            .map_err(|_| member::refuse())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<NumericDate, E> {
        date_from_f64(v).ok_or_else(member::refuse)
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
        let c =
            Claims::from_json(br#"{"iss":"a","aud":["x","y"],"exp":10.7,"n":{"k":[1]}}"#).unwrap();
        assert_eq!(c.exp, Some(NumericDate::from_unix(10)));
        assert_eq!(c.aud, Some(Audience::Many(vec!["x".into(), "y".into()])));
        assert_eq!(c.extra.get("n"), Some(&serde_json::json!({"k":[1]})));
        let again = Claims::from_json(&c.to_json().unwrap()).unwrap();
        assert_eq!(c, again);
    }

    /// Serialising from the fields gives exactly the JSON of `to_map`, also when `extra`
    /// holds registered names (set directly, bypassing the checks).
    #[test]
    fn serialize_matches_to_map() {
        let mut c = Claims::from_json(
            br#"{"x":1,"iss":"a","aud":["x","y"],"exp":-5,"iat":7,"jti":"j","n":{"k":[1]}}"#,
        )
        .unwrap();
        c.extra.insert("sub".into(), Value::from("extra-sub"));
        c.extra.insert("iss".into(), Value::from("shadowed"));
        for (c, expected) in [
            (
                c.clone(),
                r#"{"iss":"a","aud":["x","y"],"exp":-5,"iat":7,"jti":"j","x":1,"n":{"k":[1]},"sub":"extra-sub"}"#,
            ),
            (Claims::new(), "{}"),
            (
                c.with_audience("one")
                    .with_not_before(NumericDate::from_unix(3)),
                r#"{"iss":"a","aud":"one","exp":-5,"nbf":3,"iat":7,"jti":"j","x":1,"n":{"k":[1]},"sub":"extra-sub"}"#,
            ),
        ] {
            let direct = c.to_json().unwrap();
            let via_map = serde_json::to_vec(&c.to_map()).unwrap();
            assert_eq!(String::from_utf8(direct).unwrap(), expected);
            assert_eq!(String::from_utf8(via_map).unwrap(), expected);
        }
    }

    #[test]
    fn names_match_slots() {
        assert_eq!(
            REGISTERED_CLAIM_NAMES,
            ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"]
        );
        for (i, name) in Claims::NAMES.iter().enumerate() {
            let slot = Claims::slot(name).unwrap();
            assert_eq!(Claims::index(slot), i);
        }
        for other in ["", "is", "isss", "ISS", "alg", "scope"] {
            assert_eq!(Claims::slot(other), None);
        }
    }

    /// With several claims at fault, `aud` is named first, then the others in the order of
    /// the list, wherever they stand in the object.
    #[test]
    fn the_first_fault_named_is_aud_then_list_order() {
        for (json, name) in [
            (&br#"{"iss":8,"aud":7}"#[..], "aud"),
            (br#"{"aud":7,"iss":8}"#, "aud"),
            (br#"{"jti":1,"exp":"x","sub":2}"#, "sub"),
            (br#"{"jti":1,"exp":"x"}"#, "exp"),
        ] {
            match Claims::from_json(json) {
                Err(Error::InvalidClaim { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{}: {other:?}", String::from_utf8_lossy(json)),
            }
        }
    }

    /// The one-pass parser gives exactly what the general parser followed by `from_map`
    /// gives: the same claims, the same errors.
    #[test]
    fn fast_path_agrees_with_from_map() {
        let inputs: &[&[u8]] = &[
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
        ];
        // (inputs, of which parsed): every input was tried, and both kinds occur.
        assert_eq!(member::paths_agree::<Claims>(inputs, "payload"), (32, 7));
    }

    #[test]
    fn set_checks_registered_types() {
        assert!(matches!(
            Claims::new().with_claim("exp", "soon"),
            Err(Error::InvalidClaim { name, .. }) if name == "exp"
        ));
        let c = Claims::new().with_claim("exp", 5).unwrap();
        assert_eq!(c.exp, Some(NumericDate::from_unix(5)));
        let c = c.with_claim("aud", vec!["a", "b"]).unwrap();
        assert_eq!(c.aud, Some(Audience::Many(vec!["a".into(), "b".into()])));
        let c = c.with_claim("scope", "read").unwrap();
        assert_eq!(c.extra.get("scope"), Some(&Value::from("read")));
        assert!(c.extra.get("exp").is_none() && c.extra.get("aud").is_none());
    }
}
