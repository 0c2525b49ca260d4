//! A declared Ansible group: servers join it with `groups: [...]`; it can nest other groups.

use indexmap::IndexMap;

use super::{FieldSpans, NameRef, Span, Value};

/// `group(name, #{ vars, children })`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Group {
    pub name: String,
    pub vars: IndexMap<String, Value>,
    pub children: Vec<NameRef>,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub fields: FieldSpans,
}
