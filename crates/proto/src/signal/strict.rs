//! A JSON value that refuses duplicate object keys, at any depth.
//!
//! `serde_json::Value` keeps the last of two equal keys, so `{"type":"pause","type":"x"}` would
//! be read as `x` by the server while a log reader, a proxy or another parser may see `pause`.
//! Signalling frames are decoded through [`StrictValue`] instead: a duplicate key is a malformed
//! frame (`error` 4001, "duplicate key `type`"). Everything else is exactly `Value`'s reading
//! (same numbers, same strings, same recursion limit of `serde_json`).

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// A [`Value`] read without accepting duplicate keys.
pub(crate) struct StrictValue(pub(crate) Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // serde_json never produces a non-finite number from text; Null as `Value` does.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
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

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        StrictValue::deserialize(d).map(|v| v.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
            }
            let StrictValue(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Value, String> {
        serde_json::from_str::<StrictValue>(text)
            .map(|v| v.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_what_value_reads() {
        for text in [
            r#"{"a":[1,-2,3.5,1e300,"x\u00e9",null,true,{"b":{}}],"c":18446744073709551615}"#,
            "[]",
            "\"s\"",
            "0",
        ] {
            let want: Value = serde_json::from_str(text).unwrap();
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        let e = parse(r#"{"type":"pause","type":"destroyAllBreakOutSession"}"#).unwrap_err();
        assert!(e.starts_with("duplicate key `type`"), "{e}");
        let e = parse(r#"{"id":1,"x":[{"a":1,"a":2}]}"#).unwrap_err();
        assert!(e.starts_with("duplicate key `a`"), "{e}");
        // The same key in different objects is fine.
        assert!(parse(r#"{"a":{"a":1},"b":{"a":2}}"#).is_ok());
    }

    #[test]
    fn keys_equal_after_unescaping_are_duplicates() {
        let e = parse(r#"{"type":"pause","t\u0079pe":"destroyAllBreakOutSession"}"#).unwrap_err();
        assert!(e.starts_with("duplicate key `type`"), "{e}");
    }
}
