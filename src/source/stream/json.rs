//! One `journalctl -o json` line's fields, read without building a `serde_json::Value`.
//!
//! Owns the fast path of JSON decoding: what a journal field's value is as bytes. The
//! object itself is walked by the crate's one serde-based object reader (`crate::json`:
//! names borrowed from the line, copied only when they hold escapes); here string values
//! are borrowed too, numbers are formatted only when a field needs their text, and a
//! binary field's bytes go straight into one vector. Does not own what a field means
//! (`fields::EntryBuilder`) or what a bad line is reported as: a line this path does not
//! take (not an object, not JSON) goes to the `Value` path in `stream/decode.rs`, which
//! words the warning.
//!
//! `EntryBuilder` ends up with exactly what the `Value` path gives it
//! ([`Fields::read_in_value_order`]): fields in name order, a repeated name's last value,
//! and the same bytes for every value shape (see `json_value_bytes` there). Objects,
//! which journalctl never writes as values, are read as a `Value`, so nesting limits are
//! the same too.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::json::{Name, Object};
use crate::source::fields::is_read;

/// One field as read: its name, and its value.
type Field<'a> = (Cow<'a, str>, Value<'a>);

/// The fields of one JSON object, in the order they appear.
pub(super) struct Fields<'a>(Vec<Field<'a>>);

impl<'a> Fields<'a> {
    /// Parses `line`; `None` when it is not one JSON object (the caller's `Value` path
    /// then says why).
    pub(super) fn parse(line: &'a [u8]) -> Option<Fields<'a>> {
        Object::parse(line).map(|object| Fields(object.0))
    }

    /// `(name, bytes)` as iterating a `serde_json::Map` would give them: sorted by name,
    /// a repeated name once with its last value; fields without bytes (`null`, objects)
    /// are left out.
    ///
    /// Only the fields `EntryBuilder` reads are given, plus, when none of those has bytes,
    /// the first other field that does: that is all adding every field would change (the
    /// others only mark the record as not empty). Sorting ~10 names instead of ~28 is most
    /// of what this path saves over sorting them all.
    pub(super) fn read_in_value_order(self) -> impl Iterator<Item = (Cow<'a, str>, Cow<'a, [u8]>)> {
        let (read, other): (Vec<Field<'a>>, Vec<Field<'a>>) = self
            .0
            .into_iter()
            .partition(|(name, _)| is_read(name.as_bytes()));
        let mut read: Vec<_> = in_value_order(read).collect();
        if read.is_empty() {
            read.extend(in_value_order(other).take(1));
        }
        read.into_iter()
    }
}

/// `fields` sorted by name (stable: among equal names the last one read stays last), each
/// name once with its last value, those without bytes left out.
fn in_value_order(
    mut fields: Vec<Field<'_>>,
) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, [u8]>)> {
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    let mut fields = fields.into_iter().peekable();
    std::iter::from_fn(move || loop {
        let (name, value) = fields.next()?;
        if fields.peek().is_some_and(|(next, _)| *next == name) {
            continue;
        }
        if let Some(value) = value.bytes() {
            return Some((name, value));
        }
    })
}

/// One value, reduced to what `json_value_bytes` needs of it.
enum Value<'a> {
    Text(Cow<'a, [u8]>),
    /// Numbers keep their kind: an array of numbers is binary data, and a number's text is
    /// made only when it is a field's own value.
    Unsigned(u64),
    Negative(i64),
    Float(f64),
    /// `null`, an object, or an array with no bytes in it.
    Nothing,
}

impl<'a> Value<'a> {
    /// The bytes `json_value_bytes` gives for this value.
    fn bytes(self) -> Option<Cow<'a, [u8]>> {
        let number = |n: serde_json::Number| Some(Cow::Owned(n.to_string().into_bytes()));
        match self {
            Value::Text(t) => Some(t),
            Value::Unsigned(n) => number(n.into()),
            Value::Negative(n) => number(n.into()),
            Value::Float(f) => serde_json::Number::from_f64(f).and_then(number),
            Value::Nothing => None,
        }
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Value::Text(Cow::Borrowed(v.as_bytes())))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Value::Text(Cow::Owned(v.as_bytes().to_vec())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Value::Unsigned(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Value::Negative(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        let text: &'static [u8] = if v { b"true" } else { b"false" };
        Ok(Value::Text(Cow::Borrowed(text)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Value::Nothing)
    }

    /// Read whole as a `serde_json::Value` (journalctl never writes one), so that what
    /// it accepts, nesting included, is what the `Value` path accepts.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Name, serde_json::Value>()?.is_some() {}
        Ok(Value::Nothing)
    }

    /// All numbers: binary data, one byte per number that is an integer 0..=255 (others
    /// are dropped). Otherwise a repeated field: the first item that has bytes.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut binary = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut is_binary = true;
        let mut first = None;
        while let Some(item) = seq.next_element::<Value>()? {
            match item {
                Value::Unsigned(n) => binary.extend(u8::try_from(n).ok()),
                Value::Negative(_) | Value::Float(_) => {}
                Value::Text(_) | Value::Nothing => is_binary = false,
            }
            if first.is_none() {
                first = item.bytes();
            }
        }
        Ok(if is_binary {
            Value::Text(Cow::Owned(binary))
        } else {
            first.map_or(Value::Nothing, Value::Text)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the `Value` path gives for `line`.
    fn by_value(line: &str) -> Option<Vec<(String, Vec<u8>)>> {
        let serde_json::Value::Object(map) = serde_json::from_str(line).ok()? else {
            return None;
        };
        let mut out = Vec::new();
        for (name, value) in &map {
            let mut bytes = Vec::new();
            if super::super::decode::json_value_bytes(value, &mut bytes) {
                out.push((name.clone(), bytes));
            }
        }
        Some(out)
    }

    fn by_fields(line: &str) -> Option<Vec<(String, Vec<u8>)>> {
        let fields = Fields::parse(line.as_bytes())?;
        Some(
            in_value_order(fields.0)
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// What the fast path hands `EntryBuilder`: the read fields of the `Value` path, in
    /// its order, or the first other field when there are none.
    #[test]
    fn hands_on_the_read_fields_in_value_order() {
        let lines = [
            r#"{"_CMDLINE":"x","MESSAGE":"m","_UID":"0","_COMM":"c","MESSAGE":"n","A":"1"}"#,
            r#"{"_UID":null,"B":null,"A":"1","A":null,"C":"2"}"#,
            r#"{"B":null,"A":null}"#,
        ];
        for line in lines {
            let all = by_value(line).unwrap();
            let mut expected: Vec<_> = all
                .iter()
                .filter(|(n, _)| is_read(n.as_bytes()))
                .cloned()
                .collect();
            if expected.is_empty() {
                expected.extend(all.first().cloned());
            }
            let got: Vec<_> = Fields::parse(line.as_bytes())
                .unwrap()
                .read_in_value_order()
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(got, expected, "{line}");
        }
    }

    #[test]
    fn gives_what_the_value_path_gives() {
        let lines = [
            r#"{"MESSAGE":"plain","_PID":"5","__REALTIME_TIMESTAMP":"10"}"#,
            r#"{"B":"1","A":"2","B":"3","C":null,"C":"4","D":"5","D":null}"#,
            r#"{"MESSAGE":[104,105,0,255],"X":[],"Y":[1,-1,256,1.5,2.0,3]}"#,
            r#"{"R":["0","1000"],"S":[null,"x"],"T":[[1,2],"x"],"U":[null,{}],"V":[[],"y"]}"#,
            r#"{"N":7,"M":-3,"F":1.25,"G":1e3,"H":18446744073709551616,"I":true,"J":false}"#,
            r#"{"W":[1,"a"],"Z":[-1,"a"],"Q":[1.5,null],"O":{"a":[1,{"b":2}]},"P":[{"a":1},3]}"#,
            r#"{"E\u0041SC":"a\"b\\c\u00e9\n","":"empty name","K":"\ud83d\ude00"}"#,
            "{}",
            r#"{"A":"1"} "#,
        ];
        // Nesting up to serde's limit, as an object and as arrays of numbers.
        let deep_object = format!(
            r#"{{"A":"1","O":{}1{}}}"#,
            "{\"k\":".repeat(100),
            "}".repeat(100)
        );
        let deep_array = format!(r#"{{"A":"1","L":{}1{}}}"#, "[".repeat(100), "]".repeat(100));
        for line in lines.iter().copied().chain([&*deep_object, &*deep_array]) {
            assert_eq!(by_fields(line), by_value(line), "{line}");
            assert!(by_fields(line).is_some(), "{line}");
        }
    }

    #[test]
    fn leaves_what_is_not_one_object_to_the_value_path() {
        for line in [
            "[1,2]",
            "\"str\"",
            "42",
            "null",
            "{not json",
            r#"{"A":"1"} x"#,
            r#"{"A":"\ud800"}"#,
            r#"{"A":"1""#,
        ] {
            assert!(by_fields(line).is_none(), "{line}");
        }
        // Past serde's nesting limit, in a value the fast path reads and in one it drops.
        for open in ["[", "{\"k\":"] {
            let close = if open == "[" { "]" } else { "}" };
            let line = format!(r#"{{"A":{}1{}}}"#, open.repeat(200), close.repeat(200));
            assert!(by_value(&line).is_none(), "{line}");
            assert!(by_fields(&line).is_none(), "{line}");
        }
    }
}
