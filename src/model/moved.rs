//! `moved(from, to)` and `output(name, value)`: declarations about the script's own history
//! and about what it tells other tools, not cloud resources.
//!
//! A move renames a resource in the script without losing its cloud object: the plan rebinds
//! what the state owns under `from` to `to` (renaming the object in the cloud where 1cloud
//! allows it). An output is a value, computed after apply, that `ict output` prints. Depends
//! on nothing outside `model`.

use super::{Span, Value};

/// `moved("web-1", "shop-web-1")`: the resource once declared as `from` is now `to`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Move {
    /// `server`, `network`, `ssh_key` or `dns_record`, when the script said (a handle or
    /// `kind.name`); otherwise found from the declaration named `to`.
    pub kind: Option<String>,
    pub from: String,
    pub to: String,
    #[serde(skip)]
    pub span: Span,
}

/// `output("db_ip", db.private_ip)`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Output {
    pub name: String,
    pub value: Value,
    #[serde(skip)]
    pub span: Span,
}

impl Output {
    /// Whether the value holds a secret (shown as `(sensitive)` unless asked for by name).
    pub fn sensitive(&self) -> bool {
        self.value.has_secret()
    }
}
