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
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictSeed {
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::NotAnObject { what }),
        Err(source) => match duplicate.into_inner() {
            Some(name) => Err(Error::DuplicateMember { what, name }),
            None => Err(Error::InvalidJson { what, source }),
        },
    }
}

#[derive(Clone, Copy)]
struct StrictSeed<'a> {
    duplicate: &'a RefCell<Option<String>>,
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
                    *self.duplicate.borrow_mut() = Some(key);
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

/// An object split by [`parse_object_split`] or [`split_map`]: the named members' values in
/// slots, and the other members in document order.
pub(crate) type Split<const N: usize> = ([Option<Value>; N], Map<String, Value>);

/// Parses `bytes` as one JSON object like [`parse_object`], taking the members named in
/// `names` out into slots (slot `i` for `names[i]`) and keeping every other member, in
/// document order, in the map.
///
/// This is the fast path of header and claims parsing: the named members are neither
/// hashed into the map nor looked up and removed again, and their names are not
/// allocated. It accepts exactly what [`parse_object`] accepts, and on any failure it
/// returns the error [`parse_object`] gives for the same bytes.
///
/// # Errors
/// As [`parse_object`].
pub(crate) fn parse_object_split<const N: usize>(
    bytes: &[u8],
    what: &'static str,
    names: &[&'static str; N],
) -> Result<Split<N>, Error> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = de
        .deserialize_map(SplitVisitor {
            names,
            strict: StrictSeed {
                duplicate: &duplicate,
            },
        })
        .and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(split) => Ok(split),
        // Failures are rare: let the general parser name them, exactly as it always has.
        Err(fast) => match parse_object(bytes, what) {
            Err(e) => Err(e),
            Ok(_) => Err(Error::InvalidJson { what, source: fast }),
        },
    }
}

/// A member name: one of the slot names (by index) or any other, owned.
enum Name {
    Slot(usize),
    Other(String),
}

struct NameSeed<'n, const N: usize> {
    names: &'n [&'static str; N],
}

impl<'de, const N: usize> DeserializeSeed<'de> for NameSeed<'_, N> {
    type Value = Name;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Name, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for NameSeed<'_, N> {
    type Value = Name;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, v: &str) -> Result<Name, E> {
        Ok(match self.names.iter().position(|n| *n == v) {
            Some(i) => Name::Slot(i),
            None => Name::Other(v.to_owned()),
        })
    }

    fn visit_string<E>(self, v: String) -> Result<Name, E> {
        Ok(match self.names.iter().position(|n| *n == v) {
            Some(i) => Name::Slot(i),
            None => Name::Other(v),
        })
    }
}

struct SplitVisitor<'n, 'a, const N: usize> {
    names: &'n [&'static str; N],
    strict: StrictSeed<'a>,
}

impl<'de, const N: usize> Visitor<'de> for SplitVisitor<'_, '_, N> {
    type Value = Split<N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut slots: [Option<Value>; N] = std::array::from_fn(|_| None);
        let mut rest = Map::new();
        let duplicate = || serde::de::Error::custom("duplicate member");
        while let Some(name) = map.next_key_seed(NameSeed { names: self.names })? {
            match name {
                Name::Slot(i) => {
                    let slot = slots.get_mut(i).ok_or_else(duplicate)?;
                    if slot.is_some() {
                        return Err(duplicate());
                    }
                    *slot = Some(map.next_value_seed(self.strict)?);
                }
                Name::Other(key) => {
                    // Room for a typical number of other members at once, instead of
                    // growing the map two or three times.
                    if rest.is_empty() {
                        rest = Map::with_capacity(8);
                    }
                    match rest.entry(key) {
                        Entry::Occupied(_) => return Err(duplicate()),
                        Entry::Vacant(free) => {
                            free.insert(map.next_value_seed(self.strict)?);
                        }
                    }
                }
            }
        }
        Ok((slots, rest))
    }
}

/// Takes the members named in `names` out of `map` into slots, keeping the order of the
/// others: the slow-path counterpart of [`parse_object_split`], for maps built elsewhere.
pub(crate) fn split_map<const N: usize>(
    mut map: Map<String, Value>,
    names: &[&'static str; N],
) -> Split<N> {
    let slots = names.map(|name| map.shift_remove(name));
    (slots, map)
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
