//! JSON read without losing a byte: every value keeps the exact text it was sent or stored with
//! (a 30-digit number stays 30 digits, `1.10` stays `1.10`) and objects keep their order. The
//! request reader and the secret document both read JSON this way.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::validation::JsonType;

/// Parses JSON text, checking its syntax, into a value that borrows it.
pub fn parse(text: &str) -> Result<&RawValue, serde_json::Error> {
    serde_json::from_str(text)
}

/// The type of a value, from its first character.
pub fn json_type(value: &RawValue) -> JsonType {
    match value.get().trim_start().as_bytes().first() {
        Some(b'{') => JsonType::Object,
        Some(b'[') => JsonType::Array,
        Some(b'"') => JsonType::String,
        Some(b't' | b'f') => JsonType::Boolean,
        Some(b'n') => JsonType::Null,
        _ => JsonType::Number,
    }
}

/// The value of a JSON string; `None` for anything else.
pub fn string(value: &RawValue) -> Option<String> {
    if json_type(value) != JsonType::String {
        return None;
    }
    serde_json::from_str(value.get()).ok()
}

/// The fields of a JSON object, in order; `None` for anything else.
pub fn object(value: &RawValue) -> Option<Vec<(String, &RawValue)>> {
    if json_type(value) != JsonType::Object {
        return None;
    }
    serde_json::from_str::<Entries<'_>>(value.get())
        .ok()
        .map(|entries| entries.0)
}

/// The items of a JSON array; `None` for anything else.
pub fn array(value: &RawValue) -> Option<Vec<&RawValue>> {
    if json_type(value) != JsonType::Array {
        return None;
    }
    serde_json::from_str(value.get()).ok()
}

/// The last value of field `name` (as JSON parsers read a repeated name).
pub fn field<'a>(fields: &[(String, &'a RawValue)], name: &str) -> Option<&'a RawValue> {
    fields
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
}

/// An object's fields in order, borrowing their values.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }

            fn visit_seq<S: SeqAccess<'de>>(self, _: S) -> Result<Self::Value, S::Error> {
                Err(serde::de::Error::custom("not an object"))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_exact_text() {
        let text = r#"{"big": 123456789012345678901234567890, "ratio": 1.10, "b": 2, "b": 3}"#;
        let root = parse(text).expect("JSON");
        let fields = object(root).expect("an object");
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["big", "ratio", "b", "b"]);
        assert_eq!(fields[0].1.get(), "123456789012345678901234567890");
        assert_eq!(fields[1].1.get(), "1.10");
        assert_eq!(field(&fields, "b").map(RawValue::get), Some("3"));
    }

    #[test]
    fn types_strings_and_arrays() {
        let root = parse(r#"[null, true, "a\"b", -1e3, {}, []]"#).expect("JSON");
        let items = array(root).expect("an array");
        let types: Vec<JsonType> = items.iter().map(|v| json_type(v)).collect();
        assert_eq!(
            types,
            [
                JsonType::Null,
                JsonType::Boolean,
                JsonType::String,
                JsonType::Number,
                JsonType::Object,
                JsonType::Array
            ]
        );
        assert_eq!(string(items[2]).as_deref(), Some("a\"b"));
        assert_eq!(string(items[3]), None);
        assert!(object(items[5]).is_none());
        assert!(parse("{\"a\": ").is_err());
    }
}
