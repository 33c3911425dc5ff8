//! The typed members of [`Header`](crate::Header) and [`Claims`](crate::Claims).
//!
//! Each type names its typed members once, in a [`typed_members!`] list: name, field and
//! type. The list generates the struct and drives everything that reads or writes the
//! members:
//!
//! - the one-pass fast path ([`from_json`] through [`parse_fast`]), which reads the typed
//!   members straight into their fields and refuses anything it does not accept;
//! - the general path ([`from_map`]), which takes the typed members out of a strictly
//!   parsed object and names the fault;
//! - setting one member by name, and both serialisations (`to_map` and `Serialize`, the
//!   same members in the same order).
//!
//! How one member's value is read and written is its type's: [`MemberValue`] and
//! [`WriteMember`], implemented here for strings and arrays of strings and next to the
//! other types (`Algorithm` in `header.rs`, `Audience` and `NumericDate` in `claims.rs`).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde_json::map::Entry;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::json;

/// A typed member's value: how the two parsers read it.
pub(crate) trait MemberValue: WriteMember + Sized {
    /// Reads the value on the fast path. Any error refuses the input (the general path
    /// then names the fault), so it accepts only what [`MemberValue::from_value`] accepts,
    /// and gives the same value.
    fn read_fast<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error>;

    /// Takes the value on the general path; a value of the wrong type or out of range is
    /// `invalid(reason)`.
    fn from_value(value: Value, invalid: impl Fn(&str) -> Error) -> Result<Self, Error>;
}

/// A typed member's value: how it is written.
pub(crate) trait WriteMember {
    /// The value as JSON (for `to_map`).
    fn to_value(&self) -> Value;

    /// Writes the member `name` with this value (for `Serialize`, without a `Value`).
    fn write<M: SerializeMap>(&self, name: &'static str, m: &mut M) -> Result<(), M::Error>;
}

/// A field of a typed member: `Option<T>` for an optional member, `T` itself for a
/// required one.
pub(crate) trait Field: Sized {
    /// The member's value.
    type Value: MemberValue;

    /// The field when the member is absent; `None` when the member is required.
    fn absent() -> Option<Self>;

    /// The field for a present member.
    fn present(value: Self::Value) -> Self;

    /// The member's value, when present.
    fn get(&self) -> Option<&Self::Value>;

    /// The field after a fast-path pass that found `value`; `None` (refused) when a
    /// required member is absent.
    fn finish(value: Option<Self::Value>) -> Option<Self> {
        match value {
            Some(v) => Some(Self::present(v)),
            None => Self::absent(),
        }
    }
}

impl<T: MemberValue> Field for Option<T> {
    type Value = T;

    fn absent() -> Option<Self> {
        Some(None)
    }

    fn present(value: T) -> Self {
        Some(value)
    }

    fn get(&self) -> Option<&T> {
        self.as_ref()
    }
}

/// The general path for one member: its value taken out of the object (`None` when
/// absent) checked and turned into the field; faults are `invalid(name, reason)`.
pub(crate) fn from_slot<F: Field>(
    value: Option<Value>,
    name: &str,
    invalid: fn(&str, &str) -> Error,
) -> Result<F, Error> {
    match value {
        None => F::absent().ok_or_else(|| invalid(name, "is missing")),
        Some(v) => F::Value::from_value(v, |reason| invalid(name, reason)).map(F::present),
    }
}

/// What [`typed_members!`] generates for a type, and the type's own rules.
pub(crate) trait Members: Sized {
    /// The typed members, one variant each, in the order of the list.
    type Slot: Copy;

    /// The typed members' names, in the order of the list.
    const NAMES: &'static [&'static str];

    /// The typed member named `name` (a `match`, which the compiler turns into a few word
    /// compares, instead of a scan over the names).
    fn slot(name: &str) -> Option<Self::Slot>;

    /// The position of `slot` in the list.
    fn index(slot: Self::Slot) -> usize;

    /// The fast path over one JSON object (see [`parse_fast`]).
    fn read_fast<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;

    /// The general path: the typed members' checks on a parsed object.
    fn from_object(map: Map<String, Value>) -> Result<Self, Error>;

    /// Sets the typed member `slot` from a JSON value, with the checks of the general
    /// path.
    fn set_member(&mut self, slot: Self::Slot, value: Value) -> Result<(), Error>;

    /// Calls `visitor` with each typed member in the order of the list.
    fn visit<V: MemberVisitor>(&self, visitor: &mut V) -> Result<(), V::Error>;

    /// The members that are not typed.
    fn other_members(&self) -> &Map<String, Value>;

    /// The checks across members, after each typed member has its type.
    fn check(&self) -> Result<(), Error>;

    /// Every fault the general path finds in the members of `map`, not only the first:
    /// each typed member checked as [`from_slot`] checks it, in the order of the checks,
    /// then the checks across members as far as they can be made. For inspection
    /// ([`problems`]).
    fn problems(map: &Map<String, Value>, out: &mut Vec<Error>);
}

/// Sees the typed members of a value, in the order of the list ([`Members::visit`]).
pub(crate) trait MemberVisitor {
    /// What stops the visit.
    type Error;

    /// One typed member, `None` when absent.
    fn member<T: WriteMember + ?Sized>(
        &mut self,
        name: &'static str,
        value: Option<&T>,
    ) -> Result<(), Self::Error>;
}

/// Parses `bytes` (one JSON object) strictly into `T`: the fast path first, then, for any
/// input it refuses, the general path, which names the fault. `what` names the object in
/// errors ("header", "payload").
///
/// # Errors
/// As [`json::parse_object`] and [`from_map`].
pub(crate) fn from_json<T: Members>(bytes: &[u8], what: &'static str) -> Result<T, Error> {
    match parse_fast(bytes, Fast::<T>(PhantomData)).filter(|t| t.check().is_ok()) {
        Some(value) => Ok(value),
        None => json::parse_object(bytes, what).and_then(from_map),
    }
}

/// Every fault of the members of `map` that the general path ([`from_map`]) would refuse,
/// by the same rules; empty when it accepts them. See [`Members::problems`].
pub(crate) fn problems<T: Members>(map: &Map<String, Value>) -> Vec<Error> {
    let mut out = Vec::new();
    T::problems(map, &mut out);
    out
}

/// The general path: `T` from a parsed JSON object, every check named.
///
/// # Errors
/// A typed member of the wrong type or value, a required one missing, or a failed check
/// across members.
pub(crate) fn from_map<T: Members>(map: Map<String, Value>) -> Result<T, Error> {
    let value = T::from_object(map)?;
    value.check()?;
    Ok(value)
}

/// The order in which the general path checks the typed members, which decides the
/// error of an object with several faults: `first`, then the others in the order of the
/// list.
pub(crate) fn check_order<S: Copy>(all: &[S], first: usize) -> impl Iterator<Item = S> + '_ {
    all.get(first)
        .into_iter()
        .chain(
            all.iter()
                .enumerate()
                .filter(move |(i, _)| *i != first)
                .map(|(_, s)| s),
        )
        .copied()
}

/// The members of `value` as a JSON object: typed members first, then the extra members
/// whose names are not already there.
pub(crate) fn to_map<T: Members>(value: &T) -> Map<String, Value> {
    /// Puts each present member into the map.
    struct Collect(Map<String, Value>);

    impl MemberVisitor for Collect {
        type Error = std::convert::Infallible;

        fn member<V: WriteMember + ?Sized>(
            &mut self,
            name: &'static str,
            value: Option<&V>,
        ) -> Result<(), Self::Error> {
            if let Some(v) = value {
                self.0.insert(name.into(), v.to_value());
            }
            Ok(())
        }
    }

    let mut collect = Collect(Map::new());
    match value.visit(&mut collect) {
        Ok(()) => {}
        Err(never) => match never {},
    }
    let mut map = collect.0;
    for (k, v) in value.other_members() {
        map.entry(k.clone()).or_insert_with(|| v.clone());
    }
    map
}

/// Writes each present member to a serialiser's map, noting which it wrote.
pub(crate) struct Writer<'m, M> {
    m: &'m mut M,
    /// Bit `i` set: the `i`th member of the list was written.
    written: u64,
    /// The position in the list of the next member.
    next: u32,
}

impl<M: SerializeMap> MemberVisitor for Writer<'_, M> {
    type Error = M::Error;

    fn member<T: WriteMember + ?Sized>(
        &mut self,
        name: &'static str,
        value: Option<&T>,
    ) -> Result<(), M::Error> {
        if let Some(v) = value {
            v.write(name, self.m)?;
            self.written |= 1u64.checked_shl(self.next).unwrap_or(0);
        }
        self.next += 1;
        Ok(())
    }
}

/// Serialises `value` straight from its fields, as the JSON object of [`to_map`] (typed
/// members first, then the extra members whose names were not already written) without
/// building the map. `visit` shows the typed members to the writer: `value.visit`, or a
/// visitor in between that replaces some.
pub(crate) fn serialize<T, S, F>(value: &T, s: S, visit: F) -> Result<S::Ok, S::Error>
where
    T: Members,
    S: Serializer,
    F: FnOnce(&mut Writer<'_, S::SerializeMap>) -> Result<(), S::Error>,
{
    let mut m = s.serialize_map(None)?;
    let mut writer = Writer {
        m: &mut m,
        written: 0,
        next: 0,
    };
    visit(&mut writer)?;
    let written = writer.written;
    for (k, v) in value.other_members() {
        let shadowed = T::slot(k).is_some_and(|slot| {
            let bit = u32::try_from(T::index(slot))
                .ok()
                .and_then(|i| 1u64.checked_shl(i))
                .unwrap_or(0);
            written & bit != 0
        });
        if !shadowed {
            m.serialize_entry(k, v)?;
        }
    }
    m.end()
}

/// The fast path's visitor for `T`.
struct Fast<T>(PhantomData<T>);

impl<'de, T: Members> Visitor<'de> for Fast<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::read_fast(map)
    }
}

/// Runs `visitor` over `bytes` as one JSON object followed by nothing but whitespace:
/// the one-pass fast path of header and claims parsing, which reads the typed members
/// straight into their fields.
///
/// It answers `None` on any failure, and the caller then parses the same bytes with the
/// general parser ([`json::parse_object`] and [`from_map`]), which names the fault. So
/// a fast path must accept only what the general path accepts, and build the same value;
/// any input outside what it handles it simply refuses. The `header_json` and
/// `claims_json` fuzz targets compare the two paths on every input.
fn parse_fast<'de, V: Visitor<'de>>(bytes: &'de [u8], visitor: V) -> Option<V::Value> {
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

/// A member name as the fast path sees it: one of the typed names or any other, owned.
enum Name<S> {
    /// A typed member.
    Slot(S),
    /// Any other name.
    Other(String),
}

/// Reads a member name, telling the typed ones by [`Members::slot`].
struct NameSeed<T>(PhantomData<T>);

impl<'de, T: Members> DeserializeSeed<'de> for NameSeed<T> {
    type Value = Name<T::Slot>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<T: Members> Visitor<'_> for NameSeed<T> {
    type Value = Name<T::Slot>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    // `serde_json` hands over names as `&str` only (borrowed or from its scratch buffer).
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(match T::slot(v) {
            Some(slot) => Name::Slot(slot),
            None => Name::Other(v.to_owned()),
        })
    }
}

/// Typed members already seen by a fast path (at most 32), to refuse duplicates.
#[derive(Default)]
pub(crate) struct Seen(u32);

impl Seen {
    /// Marks member `i`; refuses a member seen before (or out of range).
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

/// Reads members until the next typed one and answers it (`None` at the end of the
/// object), refusing a typed member seen before; every other member goes into `rest`,
/// with its value. The caller reads the typed member's value.
pub(crate) fn next_typed<'de, T: Members, A: MapAccess<'de>>(
    map: &mut A,
    seen: &mut Seen,
    rest: &mut Map<String, Value>,
) -> Result<Option<T::Slot>, A::Error> {
    while let Some(name) = map.next_key_seed(NameSeed::<T>(PhantomData))? {
        match name {
            Name::Other(name) => read_other(map, rest, name)?,
            Name::Slot(slot) => {
                seen.mark(T::index(slot))?;
                return Ok(Some(slot));
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
    match rest.entry(name) {
        Entry::Occupied(_) => Err(refuse()),
        Entry::Vacant(free) => {
            free.insert(map.next_value_seed(json::StrictSeed::refusing())?);
            Ok(())
        }
    }
}

/// A [`DeserializeSeed`] for a visitor that takes whatever JSON value comes
/// (`deserialize_any`).
pub(crate) struct AnySeed<V>(pub(crate) V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for AnySeed<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_any(self.0)
    }
}

/// A string value, and nothing else (`null` included).
struct StringSeed;

impl<'de> DeserializeSeed<'de> for StringSeed {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for StringSeed {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    // `serde_json` hands over strings as `&str` only (borrowed or from its scratch buffer).
    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
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

/// A string member; `null` is the wrong type, not absence.
impl MemberValue for String {
    fn read_fast<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        map.next_value_seed(StringSeed)
    }

    fn from_value(value: Value, invalid: impl Fn(&str) -> Error) -> Result<Self, Error> {
        match value {
            Value::String(s) => Ok(s),
            _ => Err(invalid("must be a string")),
        }
    }
}

impl WriteMember for str {
    fn to_value(&self) -> Value {
        Value::String(self.to_owned())
    }

    fn write<M: SerializeMap>(&self, name: &'static str, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry(name, self)
    }
}

impl WriteMember for String {
    fn to_value(&self) -> Value {
        self.as_str().to_value()
    }

    fn write<M: SerializeMap>(&self, name: &'static str, m: &mut M) -> Result<(), M::Error> {
        self.as_str().write(name, m)
    }
}

/// Takes an array of strings, or `invalid(reason)` for anything else (an item that is not
/// a string included).
pub(crate) fn strings_from_value(
    value: Value,
    invalid: impl Fn(&str) -> Error,
    reason: &str,
) -> Result<Vec<String>, Error> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(invalid(reason)),
            })
            .collect(),
        _ => Err(invalid(reason)),
    }
}

/// An array-of-strings member.
impl MemberValue for Vec<String> {
    fn read_fast<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        map.next_value_seed(StringsSeed)
    }

    fn from_value(value: Value, invalid: impl Fn(&str) -> Error) -> Result<Self, Error> {
        strings_from_value(value, invalid, "must be an array of strings")
    }
}

impl WriteMember for Vec<String> {
    fn to_value(&self) -> Value {
        self.clone().into()
    }

    fn write<M: SerializeMap>(&self, name: &'static str, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry(name, self)
    }
}

/// Declares a type with typed JSON members and an `extra` map for the others, from one
/// list: each member's doc, JSON name, field and field type (`Option<T>` for an optional
/// member, `T` for a required one, where `T: MemberValue`). It generates the struct, an
/// enum `$slot` of the members, the [`Members`] implementation (the fast and general
/// parsers, setting a member, and the visit that both serialisations use), `Serialize`
/// and `Deserialize`.
///
/// After the struct: the doc and name of the map of other members (`extra`); `invalid`, the
/// function that makes the error for a member at fault; `first`, the member the general
/// path checks first; `check`, the checks across members; `problems`, the same checks made
/// on a JSON object, each fault pushed (for [`Members::problems`]).
macro_rules! typed_members {
    (
        $(#[$meta:meta])*
        pub struct $ty:ident {
            $(
                $(#[$field_meta:meta])*
                $name:literal => pub $field:ident: $field_ty:ty,
            )*
        }
        $(#[$extra_meta:meta])*
        $extra:ident;
        slot: $slot:ident,
        invalid: $invalid:path,
        first: $first:ident,
        check: $check:expr,
        problems: $problems:expr $(,)?
    ) => {
        $(#[$meta])*
        pub struct $ty {
            $(
                $(#[$field_meta])*
                pub $field: $field_ty,
            )*
            $(#[$extra_meta])*
            pub $extra: serde_json::Map<String, serde_json::Value>,
        }

        /// The typed members, in the order of the list.
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum $slot {
            $(
                #[doc = concat!("`", $name, "`")]
                $field,
            )*
        }

        impl $crate::member::Members for $ty {
            type Slot = $slot;

            const NAMES: &'static [&'static str] = &[$($name),*];

            fn slot(name: &str) -> Option<$slot> {
                match name {
                    $($name => Some($slot::$field),)*
                    _ => None,
                }
            }

            fn index(slot: $slot) -> usize {
                slot as usize
            }

            fn read_fast<'de, A: serde::de::MapAccess<'de>>(
                mut map: A,
            ) -> Result<Self, A::Error> {
                use $crate::member::{Field, MemberValue};
                $(
                    let mut $field: Option<<$field_ty as Field>::Value> = None;
                )*
                let mut $extra = serde_json::Map::new();
                let mut seen = $crate::member::Seen::default();
                while let Some(slot) =
                    $crate::member::next_typed::<Self, A>(&mut map, &mut seen, &mut $extra)?
                {
                    match slot {
                        $($slot::$field => $field = Some(MemberValue::read_fast(&mut map)?),)*
                    }
                }
                Ok($ty {
                    $(
                        $field: <$field_ty as Field>::finish($field)
                            .ok_or_else($crate::member::refuse)?,
                    )*
                    $extra,
                })
            }

            fn from_object(
                mut map: serde_json::Map<String, serde_json::Value>,
            ) -> Result<Self, $crate::error::Error> {
                let mut slots = [$(map.shift_remove($name)),*];
                $(
                    let mut $field: Option<$field_ty> = None;
                )*
                let all = [$($slot::$field),*];
                for slot in $crate::member::check_order(&all, $slot::$first as usize) {
                    let value = slots[slot as usize].take();
                    match slot {
                        $(
                            $slot::$field => {
                                $field = Some($crate::member::from_slot(value, $name, $invalid)?);
                            }
                        )*
                    }
                }
                Ok($ty {
                    $(
                        $field: match $field {
                            Some(v) => v,
                            None => return Err($invalid($name, "is missing")),
                        },
                    )*
                    $extra: map,
                })
            }

            fn set_member(
                &mut self,
                slot: $slot,
                value: serde_json::Value,
            ) -> Result<(), $crate::error::Error> {
                match slot {
                    $(
                        $slot::$field => {
                            self.$field = $crate::member::from_slot(Some(value), $name, $invalid)?;
                        }
                    )*
                }
                Ok(())
            }

            fn visit<V: $crate::member::MemberVisitor>(
                &self,
                visitor: &mut V,
            ) -> Result<(), V::Error> {
                use $crate::member::Field;
                $(visitor.member($name, Field::get(&self.$field))?;)*
                Ok(())
            }

            fn other_members(&self) -> &serde_json::Map<String, serde_json::Value> {
                &self.$extra
            }

            fn check(&self) -> Result<(), $crate::error::Error> {
                let check: fn(&Self) -> Result<(), $crate::error::Error> = $check;
                check(self)
            }

            fn problems(
                map: &serde_json::Map<String, serde_json::Value>,
                out: &mut Vec<$crate::error::Error>,
            ) {
                let all = [$($slot::$field),*];
                for slot in $crate::member::check_order(&all, $slot::$first as usize) {
                    let checked = match slot {
                        $(
                            $slot::$field => $crate::member::from_slot::<$field_ty>(
                                map.get($name).cloned(),
                                $name,
                                $invalid,
                            )
                            .map(drop),
                        )*
                    };
                    out.extend(checked.err());
                }
                let across: fn(
                    &serde_json::Map<String, serde_json::Value>,
                    &mut Vec<$crate::error::Error>,
                ) = $problems;
                across(map, out);
            }
        }

        /// Serialised straight from the fields: the same members in the same order as
        /// `to_map` (typed members first, then the extra members whose names were not
        /// already written), without building the map.
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::member::serialize(self, s, |writer| {
                    $crate::member::Members::visit(self, writer)
                })
            }
        }

        /// With the checks of the general path (`from_map`).
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let map: serde_json::Map<String, serde_json::Value> =
                    serde::Deserialize::deserialize(d)?;
                $crate::member::from_map(map).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use typed_members;

/// Checks that the fast path and the general path agree on each input: [`from_json`] gives
/// exactly what [`json::parse_object`] and [`from_map`] give (the same value, the same
/// error), and the fast path itself accepts exactly what the general path accepts. Answers
/// how many inputs were tried and how many of them parsed.
#[cfg(test)]
pub(crate) fn paths_agree<T: Members + PartialEq + fmt::Debug>(
    inputs: &[&[u8]],
    what: &'static str,
) -> (usize, usize) {
    let (mut tried, mut parsed) = (0, 0);
    for &input in inputs {
        let text = String::from_utf8_lossy(input);
        let both = from_json::<T>(input, what);
        let general = json::parse_object(input, what).and_then(from_map::<T>);
        assert_eq!(format!("{both:?}"), format!("{general:?}"), "{text}");
        match parse_fast(input, Fast::<T>(PhantomData)).filter(|t| t.check().is_ok()) {
            Some(fast) => {
                assert_eq!(Some(&fast), general.as_ref().ok(), "{text}");
                parsed += 1;
            }
            None => assert!(general.is_err(), "the fast path refused {text}"),
        }
        tried += 1;
    }
    (tried, parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_order_puts_first_first() {
        let all = [0, 1, 2, 3];
        assert_eq!(check_order(&all, 0).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(check_order(&all, 2).collect::<Vec<_>>(), [2, 0, 1, 3]);
        assert_eq!(check_order(&all, 3).collect::<Vec<_>>(), [3, 0, 1, 2]);
    }
}
