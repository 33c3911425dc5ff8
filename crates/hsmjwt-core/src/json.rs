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

/// Runs `visitor` over `bytes` as one JSON object followed by nothing but whitespace:
/// the one-pass fast path of header and claims parsing, which reads the typed members
/// straight into their fields.
///
/// It answers `None` on any failure, and the caller then parses the same bytes with the
/// general parser ([`parse_object`] and the type's `from_map`), which names the fault. So
/// a fast path must accept only what the general path accepts, and build the same value;
/// any input outside what it handles it simply refuses. The `header_json` and
/// `claims_json` fuzz targets compare the two paths on every input.
pub(crate) fn parse_fast<'de, V: Visitor<'de>>(bytes: &'de [u8], visitor: V) -> Option<V::Value> {
    // JSON text is UTF-8 (RFC 8259 section 8.1): checking it once, in one pass, is faster
    // than the per-string checks of `from_slice`; invalid UTF-8 goes to the general path.
    let text = std::str::from_utf8(bytes).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = de.deserialize_map(visitor).ok()?;
    de.end().ok()?;
    Some(value)
}

/// The refusal of a fast path: the general parser will say what is wrong.
pub(crate) fn refuse<E: serde::de::Error>() -> E {
    E::custom("refused by the fast path")
}

/// A member name as the fast paths see it: one of the typed names (by its index in the
/// type's `SLOT_NAMES`) or any other, owned.
enum Name {
    /// The typed member with this index.
    Slot(usize),
    /// Any other name.
    Other(String),
}

/// Reads a member name; `slot` tells the index of a typed name (a `match`, which the
/// compiler turns into a few word compares, instead of a scan over the names).
struct NameSeed {
    slot: fn(&str) -> Option<usize>,
}

impl<'de> DeserializeSeed<'de> for NameSeed {
    type Value = Name;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Name, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for NameSeed {
    type Value = Name;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, v: &str) -> Result<Name, E> {
        Ok(match (self.slot)(v) {
            Some(i) => Name::Slot(i),
            None => Name::Other(v.to_owned()),
        })
    }

    fn visit_string<E>(self, v: String) -> Result<Name, E> {
        Ok(match (self.slot)(&v) {
            Some(i) => Name::Slot(i),
            None => Name::Other(v),
        })
    }
}

/// Typed members already seen by a fast path (at most 32 names), to refuse duplicates.
#[derive(Default)]
pub(crate) struct Seen(u32);

impl Seen {
    /// Marks slot `i`; refuses a slot seen before (or out of range).
    pub(crate) fn mark<E: serde::de::Error>(&mut self, i: usize) -> Result<(), E> {
        let bit = u32::try_from(i)
            .ok()
            .and_then(|i| 1u32.checked_shl(i))
            .ok_or_else(refuse)?;
        if self.0 & bit != 0 {
            return Err(refuse());
        }
        self.0 |= bit;
        Ok(())
    }
}

/// Reads members until the next typed one and answers its index (`None` at the end of the
/// object), refusing a typed member seen before; every other member goes into `rest`, with
/// its value. The caller reads the typed member's value.
pub(crate) fn next_typed<'de, A: MapAccess<'de>>(
    map: &mut A,
    slot: fn(&str) -> Option<usize>,
    seen: &mut Seen,
    rest: &mut Map<String, Value>,
) -> Result<Option<usize>, A::Error> {
    while let Some(name) = map.next_key_seed(NameSeed { slot })? {
        match name {
            Name::Other(name) => read_other(map, rest, name)?,
            Name::Slot(i) => {
                seen.mark(i)?;
                return Ok(Some(i));
            }
        }
    }
    Ok(None)
}

/// Reads the value of an untyped member into `rest` (strictly, duplicates refused at any
/// depth), refusing a name already there.
fn read_other<'de, A: MapAccess<'de>>(
    map: &mut A,
    rest: &mut Map<String, Value>,
    name: String,
) -> Result<(), A::Error> {
    // Room for a typical number of other members at once, instead of growing the map two
    // or three times.
    if rest.is_empty() {
        *rest = Map::with_capacity(8);
    }
    let unused = RefCell::new(None);
    match rest.entry(name) {
        Entry::Occupied(_) => Err(refuse()),
        Entry::Vacant(free) => {
            free.insert(map.next_value_seed(StrictSeed { duplicate: &unused })?);
            Ok(())
        }
    }
}

/// A string value, and nothing else (`null` included).
pub(crate) struct StringSeed;

impl<'de> DeserializeSeed<'de> for StringSeed {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for StringSeed {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
}

/// An array of strings, and nothing else.
pub(crate) struct StringsSeed;

impl<'de> DeserializeSeed<'de> for StringsSeed {
    type Value = Vec<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for StringsSeed {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
        while let Some(s) = seq.next_element_seed(StringSeed)? {
            out.push(s);
        }
        Ok(out)
    }
}

/// Takes the members named in `names` out of `map` into slots (slot `i` for `names[i]`),
/// keeping the others in their order: how the general path reads typed members.
pub(crate) fn split_map<const N: usize>(
    mut map: Map<String, Value>,
    names: &[&'static str; N],
) -> ([Option<Value>; N], Map<String, Value>) {
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
