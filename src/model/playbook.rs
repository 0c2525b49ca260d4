//! A declared Ansible playbook, run in declaration order against a host pattern.

use indexmap::IndexMap;

use super::{FieldSpans, Span, Value};

/// `playbook(path, #{ hosts, vars, tags, separate })`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Playbook {
    /// A short name: the file stem, unique among playbooks.
    pub name: String,
    /// The path as written in the script.
    pub path: String,
    /// The path resolved against the script's folder (or `stdlib:...` for built-in ones).
    #[serde(skip)]
    pub resolved: std::path::PathBuf,
    /// Ansible host pattern (`web`, `web-*`, `web:!web-3`).
    pub hosts: String,
    pub vars: IndexMap<String, Value>,
    pub tags: Vec<String>,
    /// Run in an `ansible-playbook` of its own (its vars as extra vars, its hosts as `--limit`)
    /// rather than in the one all the others share.
    pub separate: bool,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub fields: FieldSpans,
}
