//! Conversion of script values (`rhai::Dynamic`) into model [`Value`]s.

use indexmap::IndexMap;
use rhai::Dynamic;

use super::handles;
use crate::model::Value;

/// Converts a script value; `Err` names the type that has no model equivalent (a function
/// pointer, say).
pub(crate) fn to_value(value: &Dynamic) -> Result<Value, String> {
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::Int(i));
    }
    if let Ok(f) = value.as_float() {
        return Ok(Value::Float(f));
    }
    if value.is_string() || value.is_char() {
        return Ok(Value::from_script_string(&value.to_string()));
    }
    if let Some(array) = value.read_lock::<rhai::Array>() {
        return array
            .iter()
            .map(to_value)
            .collect::<Result<_, _>>()
            .map(Value::List);
    }
    if let Some(map) = value.read_lock::<rhai::Map>() {
        let mut out = IndexMap::new();
        for (k, v) in map.iter() {
            out.insert(k.to_string(), to_value(v)?);
        }
        return Ok(Value::Map(out));
    }
    handles::any_handle(value).ok_or_else(|| value.type_name().to_owned())
}

/// A script type name for messages (`string`, `integer`, `map`, ...).
pub(crate) fn type_name(value: &Dynamic) -> String {
    match value.type_name() {
        "string" | "char" => "a string".into(),
        "i64" => "an integer".into(),
        "f64" => "a number".into(),
        "bool" => "a boolean".into(),
        "array" => "an array".into(),
        "map" => "a map".into(),
        "()" => "nothing (`()`)".into(),
        other => {
            let short = other.rsplit("::").next().unwrap_or(other);
            format!("a {}", short.strip_suffix("Handle").unwrap_or(short))
        }
    }
}
