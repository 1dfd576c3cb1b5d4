//! One JSON object's members, borrowed from its text: the reader for JSON that must be
//! valid by `serde_json`'s rules.
//!
//! Owns walking the object: names are borrowed from the line (copied only when they hold
//! escapes), each member's value is read as the caller's type `V`, and nothing else is
//! built (no `serde_json::Value`, no map). Does not own what a value means: the
//! `journalctl -o json` decoder (`source::stream::json`) reads values as the bytes of a
//! journal field, the server's JSON records (`parse::sigil`) as text or numbers.
//!
//! What it accepts is exactly what `serde_json::from_slice::<serde_json::Value>` accepts
//! as an object (same parser, same escapes, same nesting limit), so a caller can fall back
//! to that `Value` path, or replace it, without changing which lines are refused. Members
//! come in the order they appear, a repeated name each time; [`Object::last`] gives the
//! value `serde_json::Map` would keep.
//!
//! Not used for cloudflared's lines (`parse::cloudflared::json`): those need raw values
//! whose decoding is deferred, leniency on numbers, and where a value ends inside a torn
//! line that is not JSON as a whole, none of which serde offers.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

/// The members of one JSON object, in the order they appear.
pub(crate) struct Object<'a, V>(pub(crate) Vec<(Cow<'a, str>, V)>);

impl<'a, V: Deserialize<'a>> Object<'a, V> {
    /// Parses `text`; `None` when it is not one JSON object (outer whitespace allowed).
    pub(crate) fn parse(text: &'a [u8]) -> Option<Self> {
        serde_json::from_slice(text).ok()
    }
}

impl<V> Object<'_, V> {
    /// The value of the last member named `name` (the one `serde_json::Map` keeps).
    pub(crate) fn last(&self, name: &str) -> Option<&V> {
        self.0.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Object<'de, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

struct ObjectVisitor<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for ObjectVisitor<V> {
    type Value = Object<'de, V>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(32));
        while let Some(Name(name)) = map.next_key()? {
            let value: V = map.next_value()?;
            members.push((name, value));
        }
        Ok(Object(members))
    }
}

/// A member name, borrowed unless it has escapes.
pub(crate) struct Name<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(NameVisitor)
    }
}

struct NameVisitor;

impl<'de> Visitor<'de> for NameVisitor {
    type Value = Name<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Name(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Name(Cow::Owned(v.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which texts are one object: what `serde_json::Value` says, for well-formed,
    /// malformed and hostile lines alike (escapes, surrogates, nesting past serde's limit).
    #[test]
    fn accepts_exactly_what_serde_values_accept_as_an_object() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        let nested_ok = format!("{{\"a\":{}1{}}}", "[".repeat(100), "]".repeat(100));
        let lines = [
            r#"{"a":"1","b":2,"a":"3"}"#,
            r#" {"E\u0041SC":"x"} "#,
            "{}",
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\q"}"#,
            r#"{"a":01}"#,
            r#"{"a":1} x"#,
            r#"{"a":"1""#,
            "[1,2]",
            "\"str\"",
            "42",
            "{\"a\":\"raw\u{1}control\"}",
            r#"{"a":{"b":[1,{"c":null}]}}"#,
            &deep,
            &nested_ok,
        ];
        for line in lines {
            let by_value = matches!(
                serde_json::from_str::<serde_json::Value>(line),
                Ok(serde_json::Value::Object(_))
            );
            let by_object = Object::<serde_json::Value>::parse(line.as_bytes()).is_some();
            assert_eq!(by_object, by_value, "{line}");
        }
    }

    /// Names are borrowed unless escaped; every member is kept in order, and `last` is the
    /// value a `serde_json::Map` keeps for a repeated name.
    #[test]
    fn members_in_order_and_the_last_of_a_repeated_name() {
        let line = br#"{"a":1,"b\u0041":2,"a":3}"#;
        let object = Object::<u64>::parse(line).unwrap();
        let names: Vec<_> = object.0.iter().map(|(n, _)| n.as_ref()).collect();
        assert_eq!(names, ["a", "bA", "a"]);
        assert!(matches!(object.0[0].0, Cow::Borrowed(_)));
        assert!(matches!(object.0[1].0, Cow::Owned(_)));
        assert_eq!(object.last("a"), Some(&3));
        assert_eq!(object.last("c"), None);
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(line).unwrap();
        assert_eq!(map["a"], 3);
    }
}
