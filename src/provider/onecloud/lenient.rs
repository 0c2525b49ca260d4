//! Tolerant JSON decoding for the 1cloud API (docs/1cloud-api.md §1, §3, §9).
//!
//! The API is ASP.NET-flavoured: `PascalCase` keys, but clients and emulators vary the casing
//! (`IsHighPerformance`, `isHighPerformance`, `DcLocation`), numbers and booleans sometimes
//! arrive as strings, and "not set yet" is `null` or `""` depending on the field. So
//! [`from_slice`] first folds every object key in the JSON text to lowercase without `_`/`-`
//! (one pass over the bytes, no parsing), then decodes the wire structs in a single serde pass;
//! they name their fields in the folded form and use the `deserialize_with` helpers below for
//! scalars. Unknown keys are ignored. A 10,000-server list decodes in one pass, without an
//! intermediate `serde_json::Value` tree.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, Error as _, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Parses `bytes` (empty means `null`) and decodes `T` from it with folded keys.
pub(super) fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_value(Value::Null);
    }
    serde_json::from_slice(&fold_keys(bytes))
}

/// The folded form of a key: `IsHighPerformance`, `is_high_performance` → `ishighperformance`.
pub(super) fn fold(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// `json` with every object key folded like [`fold`] (ASCII letters only: the API's keys are
/// ASCII). A string is a key when the next character after it, past whitespace, is `:`. Escapes
/// are copied as they are (folding cannot break them: escape letters are lowercase or hex
/// digits). Invalid JSON passes through for serde to report.
fn fold_keys(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    let mut i = 0;
    while let Some(&byte) = json.get(i) {
        out.push(byte);
        i += 1;
        if byte != b'"' {
            continue;
        }
        let start = out.len();
        while let Some(&c) = json.get(i) {
            if c == b'"' {
                break;
            }
            out.push(c);
            i += 1;
            if c == b'\\' {
                if let Some(&escaped) = json.get(i) {
                    out.push(escaped);
                    i += 1;
                }
            }
        }
        let after = json[i.min(json.len())..]
            .iter()
            .skip(1)
            .find(|c| !c.is_ascii_whitespace());
        if after == Some(&b':') {
            fold_in_place(&mut out, start);
        }
        if i < json.len() {
            out.push(b'"');
            i += 1;
        }
    }
    out
}

/// Folds `out[start..]` in place: drops `_` and `-`, lowercases ASCII letters.
fn fold_in_place(out: &mut Vec<u8>, start: usize) {
    let mut write = start;
    for read in start..out.len() {
        let c = out[read];
        if c != b'_' && c != b'-' {
            out[write] = c.to_ascii_lowercase();
            write += 1;
        }
    }
    out.truncate(write);
}

fn number_from(value: &Value) -> Result<Option<u64>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1.8e19)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or_else(|| format!("expected a non-negative integer, got {n}")),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("expected an integer, got the string {s:?}")),
        other => Err(format!("expected an integer, got {other}")),
    }
}

/// A required ID: an integer or a string of digits.
pub(super) fn id<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    number_from(&Value::deserialize(d)?)
        .map_err(D::Error::custom)?
        .ok_or_else(|| D::Error::custom("the ID is missing (null or empty)"))
}

/// An optional integer: `null` and `""` are `None`.
pub(super) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    number_from(&Value::deserialize(d)?).map_err(D::Error::custom)
}

/// An optional 32-bit integer: `null` and `""` are `None`.
pub(super) fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match opt_u64(d)? {
        None => Ok(None),
        Some(n) => u32::try_from(n).map(Some).map_err(D::Error::custom),
    }
}

/// An integer where `null` and `""` mean 0 (use with `#[serde(default)]`).
pub(super) fn u64_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(opt_u64(d)?.unwrap_or(0))
}

/// A 32-bit integer where `null` and `""` mean 0 (use with `#[serde(default)]`).
pub(super) fn u32_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    Ok(opt_u32(d)?.unwrap_or(0))
}

/// A boolean given as `true`, `"true"`, `"True"`, `1`, `"1"`, `"yes"`...; `null`/`""` are false.
pub(super) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(b),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "" | "false" | "0" | "no" | "off" => Ok(false),
            "true" | "1" | "yes" | "on" => Ok(true),
            _ => Err(D::Error::custom(format!("expected a boolean, got {s:?}"))),
        },
        other => Err(D::Error::custom(format!("expected a boolean, got {other}"))),
    }
}

/// Optional text: `null` and `""` are `None`; numbers and booleans become their text.
pub(super) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(D::Error::custom(format!("expected text, got {other}"))),
    }
}

/// Text where `null` means `""` (use with `#[serde(default)]`).
pub(super) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_text(d)?.unwrap_or_default())
}

/// A list: `null` is empty, a lone object is a list of one.
pub(super) fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct List<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for List<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list, an object or null")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(items)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<T>, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(|item| vec![item])
        }
    }

    d.deserialize_any(List(PhantomData))
}

/// A list of IDs given as integers, strings, or objects with an `ID` (as `LinkedSshKeys` may be).
pub(super) fn id_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    let items = match Value::deserialize(d)? {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        let id = match &item {
            Value::Object(map) => map.get("id").map_or(Ok(None), number_from),
            other => number_from(other),
        }
        .map_err(D::Error::custom)?;
        ids.extend(id);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[serde(deserialize_with = "id")]
        id: u64,
        #[serde(default, deserialize_with = "flag")]
        ishighperformance: bool,
        #[serde(default, deserialize_with = "opt_text")]
        hostname: Option<String>,
        #[serde(default, deserialize_with = "u32_or_zero")]
        cpu: u32,
        #[serde(default, deserialize_with = "id_list")]
        linkedsshkeys: Vec<u64>,
        #[serde(default, deserialize_with = "list")]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    struct Item {
        #[serde(default, deserialize_with = "text")]
        name: String,
    }

    fn decode(json: &str) -> Result<Sample, serde_json::Error> {
        from_slice(json.as_bytes())
    }

    #[test]
    fn keys_fold_to_one_form() {
        assert_eq!(fold("IsHighPerformance"), "ishighperformance");
        assert_eq!(fold("is_high_performance"), "ishighperformance");
        assert_eq!(fold("DCLocation"), "dclocation");
        assert_eq!(fold("ID"), "id");
    }

    #[test]
    fn any_casing_strings_for_numbers_and_nulls() {
        let s = decode(
            r#"{"Id":"42","isHighPerformance":"True","HostName":"","CPU":"4",
                "LinkedSshKeys":[1,"2",{"ID":3}],"Items":{"NAME":"x"},"Extra":{"a":1}}"#,
        )
        .unwrap();
        assert_eq!(s.id, 42);
        assert!(s.ishighperformance);
        assert_eq!(s.hostname, None);
        assert_eq!(s.cpu, 4);
        assert_eq!(s.linkedsshkeys, [1, 2, 3]);
        assert_eq!(s.items.len(), 1);
        assert_eq!(s.items[0].name, "x");

        let s =
            decode(r#"{"id":7,"cpu":null,"hostname":null,"items":null,"is_high_performance":0}"#)
                .unwrap();
        assert_eq!((s.id, s.cpu, s.ishighperformance), (7, 0, false));
        assert!(s.items.is_empty());
        assert_eq!(decode(r#"{"ID":2.0,"CPU":2.0}"#).unwrap().cpu, 2);
    }

    #[test]
    fn bad_values_are_errors_not_zeroes() {
        assert!(decode(r#"{"ID":"abc"}"#).is_err());
        assert!(decode(r#"{"ID":1,"CPU":"four"}"#).is_err());
        assert!(decode(r#"{"ID":1,"IsHighPerformance":"maybe"}"#).is_err());
        assert!(decode(r#"{"ID":null}"#).is_err());
        assert!(decode(r#"{"Name":"no id"}"#).is_err());
        assert!(decode(r#"{"ID":-1}"#).is_err());
    }

    #[test]
    fn only_keys_are_folded_in_the_text() {
        let folded = |json: &str| String::from_utf8(fold_keys(json.as_bytes())).unwrap();
        assert_eq!(
            folded(r#"{"Host_Name" : "My-Host", "Tags":["A_B","C"], "X":{"Dc-Location":"SPb"}}"#),
            r#"{"hostname" : "My-Host", "tags":["A_B","C"], "x":{"dclocation":"SPb"}}"#
        );
        // Escaped quotes and backslashes stay inside their string; a value ending in `:` text
        // is not a key.
        assert_eq!(
            folded(r#"{"Na\"me":"a\":B","K\\_Y":"x:", "Z":"\u00C9"}"#),
            r#"{"na\"me":"a\":B","k\\y":"x:", "z":"\u00C9"}"#
        );
        assert_eq!(folded(r#"{"Open"#), r#"{"Open"#);
        assert_eq!(folded(r#""Lone":"#), r#""lone":"#);
    }

    #[test]
    fn decodes_like_the_parsed_value() {
        let json =
            r#"[{"ID":1,"Items":[{"Name":"a"},{"NAME":"b"}]},{"id":"2","items":{"name":"c"}}]"#;
        let direct: Vec<Sample> = from_slice(json.as_bytes()).unwrap();
        let names: Vec<Vec<&str>> = direct
            .iter()
            .map(|s| s.items.iter().map(|i| i.name.as_str()).collect())
            .collect();
        assert_eq!(names, [vec!["a", "b"], vec!["c"]]);
        let value: Value = from_slice(json.as_bytes()).unwrap();
        assert_eq!(value[1]["items"]["name"], "c");
    }

    #[test]
    fn empty_body_is_null() {
        let value: Option<Item> = from_slice(b"  ").unwrap();
        assert!(value.is_none());
    }
}
