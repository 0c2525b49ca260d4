//! Reading a declaration's options map field by field, with a positioned error for each
//! unknown field, wrong type or bad value — and the declared default when a field is absent.

use indexmap::IndexMap;
use rhai::{Dynamic, Map};

use super::handles::{self, Handle};
use super::value::{to_value, type_name};
use super::{Builder, Site};
use crate::model::{DidYouMean, FieldSpans, ModelError, NameRef, Span, Value};

/// The fields of one declaration call.
pub(crate) struct Fields<'a> {
    map: Map,
    site: &'a Site,
    builder: &'a mut Builder,
    pub(crate) spans: FieldSpans,
}

impl<'a> Fields<'a> {
    /// Starts reading `map`; every key not in `allowed` is reported at once, with a "did you
    /// mean" when a known field is close.
    pub(crate) fn new(
        decl: &'static str,
        allowed: &'static [&'static str],
        map: Map,
        site: &'a Site,
        builder: &'a mut Builder,
    ) -> Fields<'a> {
        let mut spans = FieldSpans::new();
        for key in map.keys() {
            let key = key.as_str();
            let at = site.key(key);
            if allowed.contains(&key) {
                spans.insert(key.to_owned(), at);
            } else {
                builder.error(ModelError::UnknownField {
                    decl,
                    field: key.to_owned(),
                    at,
                    suggestion: crate::model::suggest(key, allowed.iter().copied()),
                    allowed,
                });
            }
        }
        Fields {
            map,
            site,
            builder,
            spans,
        }
    }

    /// Where field `key` was written (or the call).
    pub(crate) fn span(&self, key: &str) -> Span {
        self.spans.get(key).copied().unwrap_or(self.site.call)
    }

    fn take(&mut self, key: &str) -> Option<Dynamic> {
        self.map.remove(key).filter(|v| !v.is_unit())
    }

    fn wrong(&mut self, key: &str, expected: &'static str, found: &Dynamic) {
        let at = self.span(key);
        self.builder.error(ModelError::WrongType {
            field: key.to_owned(),
            expected,
            found: type_name(found),
            at,
        });
    }

    /// Records a problem with the value of `key`.
    pub(crate) fn invalid(&mut self, key: &str, message: String, help: Option<String>) {
        let at = self.span(key);
        self.builder.error(ModelError::InvalidValue {
            field: key.to_owned(),
            message,
            help,
            at,
        });
    }

    /// Records a limit violation for `key`.
    pub(crate) fn limit(&mut self, key: &str, message: String) {
        let at = self.span(key);
        self.builder.error(ModelError::Limit {
            field: key.to_owned(),
            message,
            at,
        });
    }

    /// Whether the field was given.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_unit())
    }

    /// A non-negative integer that fits in `u32`.
    pub(crate) fn uint(&mut self, key: &str, default: u32) -> u32 {
        let Some(v) = self.take(key) else {
            return default;
        };
        if let Ok(i) = v.as_int() {
            u32::try_from(i).unwrap_or_else(|_| {
                self.invalid(
                    key,
                    format!("`{key}` must be a positive whole number, got {i}"),
                    None,
                );
                default
            })
        } else {
            self.wrong(key, "a whole number", &v);
            default
        }
    }

    pub(crate) fn bool(&mut self, key: &str, default: bool) -> bool {
        let Some(v) = self.take(key) else {
            return default;
        };
        v.as_bool().unwrap_or_else(|_| {
            self.wrong(key, "true or false", &v);
            default
        })
    }

    pub(crate) fn string(&mut self, key: &str) -> Option<String> {
        let v = self.take(key)?;
        if v.is_string() {
            Some(v.to_string())
        } else {
            self.wrong(key, "a string", &v);
            None
        }
    }

    /// One of `choices` (case-insensitive); returns the index of the choice.
    pub(crate) fn choice(&mut self, key: &str, choices: &[&str], default: usize) -> usize {
        let Some(s) = self.string(key) else {
            return default;
        };
        if let Some(i) = choices.iter().position(|c| c.eq_ignore_ascii_case(&s)) {
            return i;
        }
        let hint = DidYouMean::new(&s, choices.iter().copied()).listed("choose one of");
        self.invalid(
            key,
            format!("`{key}` must be one of {}, got \"{s}\"", choices.join(", ")),
            Some(hint.to_string()),
        );
        default
    }

    /// A list of references to declarations of kind `H`, each given by name or by handle.
    pub(crate) fn refs<H: Handle>(&mut self, key: &str) -> Vec<NameRef> {
        let Some(v) = self.take(key) else {
            return Vec::new();
        };
        let items = one_or_many(v);
        let key_span = self.span(key);
        let mut out = Vec::new();
        for item in items {
            if let Some(name) = handles::name_of::<H>(&item) {
                out.push(NameRef {
                    name,
                    span: key_span,
                });
            } else if item.is_string() {
                let name = item.to_string();
                let span = self.site.string(&name, key_span);
                out.push(NameRef { name, span });
            } else {
                self.wrong(key, expected_ref::<H>(), &item);
            }
        }
        out
    }

    /// A list of strings.
    pub(crate) fn strings(&mut self, key: &str) -> Vec<String> {
        let Some(v) = self.take(key) else {
            return Vec::new();
        };
        let items = one_or_many(v);
        let mut out = Vec::new();
        for item in items {
            if item.is_string() {
                out.push(item.to_string());
            } else {
                self.wrong(key, "a list of strings", &item);
            }
        }
        out
    }

    /// A map of free-form values (Ansible variables).
    pub(crate) fn vars(&mut self, key: &str) -> IndexMap<String, Value> {
        let Some(v) = self.take(key) else {
            return IndexMap::new();
        };
        match to_value(&v) {
            Ok(Value::Map(map)) => map,
            Ok(_) => {
                self.wrong(key, "a map like #{ name: value }", &v);
                IndexMap::new()
            }
            Err(type_name) => {
                self.invalid(key, format!("`{key}` cannot hold a {type_name}"), None);
                IndexMap::new()
            }
        }
    }

    /// Any value (a DNS record's value, for instance).
    pub(crate) fn value(&mut self, key: &str) -> Option<Value> {
        let v = self.take(key)?;
        match to_value(&v) {
            Ok(value) => Some(value),
            Err(type_name) => {
                self.invalid(key, format!("`{key}` cannot hold a {type_name}"), None);
                None
            }
        }
    }

    /// The raw value, for fields that accept several shapes.
    pub(crate) fn raw(&mut self, key: &str) -> Option<Dynamic> {
        self.take(key)
    }

    /// Records a wrong type for a field read with [`Fields::raw`].
    pub(crate) fn wrong_type(&mut self, key: &str, expected: &'static str, found: &Dynamic) {
        self.wrong(key, expected, found);
    }

    /// The builder, for declarations that need more than fields.
    pub(crate) fn builder(&mut self) -> &mut Builder {
        self.builder
    }
}

/// The items of a list, or a single value as a list of one (fields accept either).
pub(crate) fn one_or_many(v: Dynamic) -> Vec<Dynamic> {
    if v.is_array() {
        v.cast::<rhai::Array>()
    } else {
        vec![v]
    }
}

fn expected_ref<H: Handle>() -> &'static str {
    match H::KIND {
        "server" => "a server name or a Server",
        "ssh_key" => "an ssh key name or an SshKey",
        "network" => "a network name or a Network",
        "group" => "a group name or a Group",
        _ => "a name",
    }
}
