//! Strict JSON object parsing: duplicate member names are rejected at every depth.
//!
//! `serde_json` keeps the last of two members with the same name; JOSE (RFC 7515 section
//! 4, RFC 8725) asks for rejection, because two parsers may otherwise disagree on which
//! value counts.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Value};

use crate::error::Error;

/// Parses `bytes` as one JSON object, rejecting duplicate member names anywhere inside it.
///
/// # Errors
/// [`Error::InvalidJson`] for malformed JSON or trailing data, [`Error::DuplicateMember`]
/// for a repeated name, [`Error::NotAnObject`] when the top level is not an object.
pub fn parse_object(bytes: &[u8], what: &'static str) -> Result<Map<String, Value>, Error> {
    match parse_value(bytes, what)? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::NotAnObject { what }),
    }
}

/// Parses `bytes` as one JSON value, rejecting duplicate member names at any depth: the
/// rules of [`parse_object`], for any value.
///
/// # Errors
/// [`Error::InvalidJson`] for malformed JSON or trailing data, [`Error::DuplicateMember`]
/// for a repeated name.
pub(crate) fn parse_value(bytes: &[u8], what: &'static str) -> Result<Value, Error> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictSeed {
        duplicate: Some(&duplicate),
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    parsed.map_err(|source| match duplicate.into_inner() {
        Some(name) => Error::DuplicateMember { what, name },
        None => Error::InvalidJson {
            what,
            source: Box::new(source),
        },
    })
}

/// Any JSON value, with duplicate member names refused at every depth; the first repeated
/// name is kept in `duplicate`, when given.
#[derive(Clone, Copy)]
pub(crate) struct StrictSeed<'a> {
    duplicate: Option<&'a RefCell<Option<String>>>,
}

impl StrictSeed<'static> {
    /// Refuses duplicate names without keeping them (the fast paths refuse, and the general
    /// path names the fault).
    pub(crate) fn refusing() -> Self {
        StrictSeed { duplicate: None }
    }
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // One lookup per member: the entry is either taken or free.
            match out.entry(key) {
                Entry::Occupied(taken) => {
                    let key = taken.key().clone();
                    let msg = format!("duplicate member `{key}`");
                    if let Some(duplicate) = self.duplicate {
                        *duplicate.borrow_mut() = Some(key);
                    }
                    return Err(serde::de::Error::custom(msg));
                }
                Entry::Vacant(free) => {
                    free.insert(map.next_value_seed(self)?);
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// Reads an optional string member; `null` is treated as a type error, not as absence.
pub(crate) fn opt_string(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, &'static str> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err("must be a string"),
    }
}

/// Reads an optional array-of-strings member.
pub(crate) fn opt_string_array(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<String>>, &'static str> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or("must be an array of strings")
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err("must be an array of strings"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_rejected_at_any_depth() {
        assert!(matches!(
            parse_object(br#"{"a":1,"a":2}"#, "header"),
            Err(Error::DuplicateMember { name, .. }) if name == "a"
        ));
        assert!(matches!(
            parse_object(br#"{"a":{"b":1,"b":1}}"#, "payload"),
            Err(Error::DuplicateMember { name, .. }) if name == "b"
        ));
        assert!(matches!(
            parse_object(br#"{"a":[{"c":1,"c":1}]}"#, "payload"),
            Err(Error::DuplicateMember { .. })
        ));
    }

    #[test]
    fn trailing_data_and_non_objects() {
        assert!(matches!(
            parse_object(br#"{"a":1} x"#, "header"),
            Err(Error::InvalidJson { .. })
        ));
        assert!(matches!(
            parse_object(b"[1]", "header"),
            Err(Error::NotAnObject { .. })
        ));
        assert!(parse_object(br#" {"a":[1,2.5,null,true,"x"]} "#, "header").is_ok());
    }
}
