//! A declared private network that servers attach to.

use super::{FieldSpans, Span};

/// `network(name, #{ dc, dhcp })`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Network {
    pub name: String,
    /// Data centre tech name; servers on the network must be in the same one.
    pub dc: String,
    /// Whether 1cloud hands out addresses by DHCP.
    pub dhcp: bool,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub fields: FieldSpans,
}
