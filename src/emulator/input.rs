//! Tolerant request bodies, as the real API (ASP.NET model binding) accepts them: keys in any
//! case, unknown keys ignored, booleans and numbers as native JSON or as strings, JSON or
//! `application/x-www-form-urlencoded`. Handlers ask for a field by its canonical name and get a
//! typed value or a 400 that names the field. Text with control characters inside, and names
//! (of servers, networks, keys, domains, records) over 255 characters, are refused here, for
//! every route at once. Depends on `reply`.

use std::collections::HashMap;

use serde_json::Value;

use super::reply::ApiError;

/// A parsed request body: its top-level fields by lower-cased key.
#[derive(Debug, Default)]
pub(crate) struct Input {
    fields: HashMap<String, Value>,
}

/// Whether a body that is not JSON reads as `key=value` pairs joined by `&`.
fn looks_like_form(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    !text.starts_with(['{', '[', '"'])
        && text.split('&').all(|pair| {
            pair.split_once('=')
                .is_some_and(|(key, _)| !key.is_empty() && !key.contains([' ', '{', '"']))
        })
}

impl Input {
    /// Parses a body. An empty body is an empty object. Form bodies are recognised by their
    /// content type, or by their shape (`key=value&...`, not JSON) whatever the content type
    /// says: the published Python client (`onecloud`) sends form bodies labelled
    /// `application/json` and was published as working (docs/1cloud-api.md §1). Everything
    /// else is read as JSON.
    pub(crate) fn parse(body: &[u8], content_type: Option<&str>) -> Result<Input, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Input::default());
        }
        let is_form = content_type.is_some_and(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
        if is_form {
            return Ok(Input::from_form(&String::from_utf8_lossy(body)));
        }
        match serde_json::from_slice(body) {
            Ok(value) => Input::from_json(value),
            Err(_) if looks_like_form(body) => Ok(Input::from_form(&String::from_utf8_lossy(body))),
            Err(e) => Err(ApiError::bad_request(format!(
                "The request body is not valid JSON: {e}"
            ))),
        }
    }

    /// Wraps a JSON object.
    pub(crate) fn from_json(value: Value) -> Result<Input, ApiError> {
        let Value::Object(map) = value else {
            return Err(ApiError::bad_request(
                "The request body must be a JSON object.",
            ));
        };
        Ok(Input {
            fields: map
                .into_iter()
                .map(|(k, v)| (k.to_lowercase(), v))
                .collect(),
        })
    }

    fn from_form(body: &str) -> Input {
        let mut fields: HashMap<String, Value> = HashMap::new();
        for pair in body.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(key).to_lowercase();
            let key = key.trim_end_matches("[]").to_owned();
            let value = Value::String(percent_decode(value));
            match fields.get_mut(&key) {
                Some(Value::Array(items)) => items.push(value),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, value]);
                }
                None => {
                    fields.insert(key, value);
                }
            }
        }
        Input { fields }
    }

    /// The raw value of a field; JSON `null` counts as absent.
    fn raw(&self, key: &str) -> Option<&Value> {
        self.fields
            .get(&key.to_lowercase())
            .filter(|v| !v.is_null())
    }

    /// A text field; numbers are accepted and printed. Text with control characters inside
    /// (NUL, escape sequences; surrounding whitespace such as a key file's last newline is
    /// allowed) is refused, and so is a name longer than [`MAX_NAME`] characters.
    pub(crate) fn string(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::String(s)) => check_text(key, s).map(|()| Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(type_error(key, "a string", other)),
        }
    }

    /// A text field that must be present and not blank.
    pub(crate) fn required_string(&self, key: &str) -> Result<String, ApiError> {
        match self.string(key)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(missing(key)),
        }
    }

    /// A whole number: a JSON integer or a string holding one (`"3492"`).
    pub(crate) fn u64(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.raw(key) {
            None => Ok(None),
            Some(value) => scalar_u64(value)
                .map(Some)
                .ok_or_else(|| type_error(key, "a whole number", value)),
        }
    }

    /// A whole number that must be present.
    pub(crate) fn required_u64(&self, key: &str) -> Result<u64, ApiError> {
        self.u64(key)?.ok_or_else(|| missing(key))
    }

    /// A whole number that fits in 32 bits.
    pub(crate) fn u32(&self, key: &str) -> Result<Option<u32>, ApiError> {
        match self.u64(key)? {
            None => Ok(None),
            Some(n) => u32::try_from(n)
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("{key} is too large: {n}"))),
        }
    }

    /// A 32-bit whole number that must be present.
    pub(crate) fn required_u32(&self, key: &str) -> Result<u32, ApiError> {
        self.u32(key)?.ok_or_else(|| missing(key))
    }

    /// A boolean: `true`/`false` in any case, as JSON or a string, or 1/0.
    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        let Some(value) = self.raw(key) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => match n.as_u64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| type_error(key, "true or false", value))
    }

    /// A list of IDs: a JSON array of numbers or numeric strings, a single ID, or a
    /// comma-separated string. Absent means empty.
    pub(crate) fn id_list(&self, key: &str) -> Result<Vec<u64>, ApiError> {
        let bad = |v: &Value| type_error(key, "a list of whole numbers", v);
        match self.raw(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| scalar_u64(item).ok_or_else(|| bad(item)))
                .collect(),
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .map(|part| part.parse().map_err(|_| bad(&Value::String(s.clone()))))
                .collect(),
            Some(value) => scalar_u64(value).map(|n| vec![n]).ok_or_else(|| bad(value)),
        }
    }
}

/// The longest name accepted: of a server or network, an SSH key's title, a domain or a DNS
/// record's host name or target.
pub(crate) const MAX_NAME: usize = 255;

/// The fields that hold such names (lower case, as [`Input`] keeps keys).
const NAME_FIELDS: &[&str] = &["name", "title", "domainname", "hostname", "mnemonicname"];

/// Refuses control characters inside `text` and names over [`MAX_NAME`] characters.
fn check_text(key: &str, text: &str) -> Result<(), ApiError> {
    if let Some(c) = text.trim().chars().find(|c| c.is_control()) {
        return Err(ApiError::bad_request(format!(
            "The field {key} must not contain control characters (found U+{:04X}).",
            u32::from(c)
        )));
    }
    let length = text.chars().count();
    if length > MAX_NAME && NAME_FIELDS.contains(&key.to_lowercase().as_str()) {
        return Err(ApiError::bad_request(format!(
            "The field {key} must be at most {MAX_NAME} characters long, got {length}."
        )));
    }
    Ok(())
}

fn scalar_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn missing(key: &str) -> ApiError {
    ApiError::bad_request(format!("The field {key} is required."))
}

fn type_error(key: &str, expected: &str, got: &Value) -> ApiError {
    ApiError::bad_request(format!("The field {key} must be {expected}, got {got}."))
}

/// Decodes `%XX` escapes and `+` as space; invalid escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..=i + 2]).ok();
                if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input(value: Value) -> Input {
        Input::from_json(value).expect("an object")
    }

    #[test]
    fn keys_are_case_insensitive_and_unknown_keys_ignored() {
        let i = input(json!({"cpu": 2, "ImageId": "3492", "isHighPerfomance": true}));
        assert_eq!(i.u32("CPU").expect("ok"), Some(2));
        assert_eq!(i.u64("ImageID").expect("ok"), Some(3492));
        assert_eq!(i.bool("isHighPerformance").expect("ok"), None);
    }

    #[test]
    fn scalars_accept_strings_and_native_values() {
        let i = input(json!({
            "a": "true", "b": false, "c": "False", "d": 1, "e": "0",
            "n": "  42 ", "m": 7, "f": 3.0, "bad": "x", "neg": -1, "frac": 1.5, "nul": null
        }));
        let bools: Vec<_> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|k| i.bool(k).expect("a bool"))
            .collect();
        assert_eq!(
            bools,
            [
                Some(true),
                Some(false),
                Some(false),
                Some(true),
                Some(false)
            ]
        );
        assert_eq!(i.u64("n").expect("ok"), Some(42));
        assert_eq!(i.u32("M").expect("ok"), Some(7));
        assert_eq!(i.u64("f").expect("ok"), Some(3));
        assert_eq!(i.u64("nul").expect("ok"), None);
        for key in ["bad", "neg", "frac"] {
            let error = i.u64(key).expect_err(key);
            assert_eq!(error.status, 400);
            assert!(error.message.contains(key), "{}", error.message);
        }
        assert!(i.bool("bad").is_err());
        assert!(i.bool("n").is_err());
    }

    #[test]
    fn strings_and_required_fields() {
        let i = input(json!({"Name": "web", "blank": "  ", "num": 12, "obj": {}}));
        assert_eq!(i.required_string("name").expect("ok"), "web");
        assert_eq!(i.string("num").expect("ok").as_deref(), Some("12"));
        assert!(i.string("obj").is_err());
        let error = i.required_string("Blank").expect_err("blank");
        assert_eq!(error.message, "The field Blank is required.");
        assert!(i.required_u32("CPU").is_err());
        assert!(i.u32("num").is_ok());
    }

    #[test]
    fn names_with_control_characters_or_too_long_are_refused() {
        let long = "x".repeat(MAX_NAME + 1);
        let i = input(json!({
            "Name": "web\u{0}1", "Title": "k\u{1b}]0;t\u{7}", "HostName": long,
            "PublicKey": "ssh-ed25519 AAAA c\n", "Text": long, "ok": "сервер 1"
        }));
        let refused = |key: &str| i.string(key).expect_err(key).message;
        assert_eq!(
            refused("name"),
            "The field name must not contain control characters (found U+0000)."
        );
        assert_eq!(
            refused("Title"),
            "The field Title must not contain control characters (found U+001B)."
        );
        assert_eq!(
            refused("HostName"),
            "The field HostName must be at most 255 characters long, got 256."
        );
        assert!(i.string("PublicKey").is_ok(), "a trailing newline is fine");
        assert!(i.string("Text").is_ok(), "not a name: no name limit");
        assert_eq!(i.string("ok").expect("ok").as_deref(), Some("сервер 1"));
        let form =
            Input::parse(b"Name=a%00b", Some("application/x-www-form-urlencoded")).expect("form");
        assert!(form.required_string("Name").is_err());
    }

    #[test]
    fn id_lists_in_every_shape() {
        let i = input(json!({"a": [1, "2"], "b": "3, 4", "c": 5, "d": [1, "x"], "e": []}));
        assert_eq!(i.id_list("A").expect("ok"), [1, 2]);
        assert_eq!(i.id_list("b").expect("ok"), [3, 4]);
        assert_eq!(i.id_list("c").expect("ok"), [5]);
        assert!(i.id_list("d").is_err());
        assert!(i.id_list("e").expect("ok").is_empty());
        assert!(i.id_list("missing").expect("ok").is_empty());
    }

    #[test]
    fn bodies_json_form_and_errors() {
        let json_body = Input::parse(br#"{"NAME":"x"}"#, Some("application/json")).expect("ok");
        assert_eq!(json_body.string("name").expect("ok").as_deref(), Some("x"));
        assert_eq!(
            Input::parse(b"  ", None)
                .expect("empty")
                .string("name")
                .expect("ok"),
            None
        );
        assert_eq!(Input::parse(b"{", None).expect_err("bad json").status, 400);
        assert_eq!(Input::parse(b"[1]", None).expect_err("array").status, 400);
        let form = Input::parse(
            b"Name=my+web%21&CPU=2&SshKeys=1&SshKeys=2&x=%zz",
            Some("application/x-www-form-urlencoded; charset=utf-8"),
        )
        .expect("form");
        assert_eq!(form.string("name").expect("ok").as_deref(), Some("my web!"));
        assert_eq!(form.u32("cpu").expect("ok"), Some(2));
        assert_eq!(form.id_list("sshkeys").expect("ok"), [1, 2]);
        assert_eq!(form.string("x").expect("ok").as_deref(), Some("%zz"));
    }

    /// The `onecloud` Python client labels its form bodies `application/json`.
    #[test]
    fn a_form_body_labelled_json_is_read_as_a_form() {
        let form =
            Input::parse(b"Name=Nightly+web&ServerID=7", Some("application/json")).expect("form");
        assert_eq!(
            form.string("name").expect("ok").as_deref(),
            Some("Nightly web")
        );
        assert_eq!(form.u64("serverid").expect("ok"), Some(7));
        for not_json in [&b"Name"[..], b"{Name=x}", b"a b=c", b"=x"] {
            let error = Input::parse(not_json, Some("application/json")).expect_err("not JSON");
            assert_eq!(error.status, 400, "{}", String::from_utf8_lossy(not_json));
        }
    }
}
