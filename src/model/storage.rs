//! Declared storage on libvirt: pools (a directory, or an NFS export mounted by libvirt) and the
//! volumes in them, which can be attached to the script's servers. Pure data.

use super::{FieldSpans, NameRef, Span};

/// `pool(name, #{ type, path, source_host, source_path })`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pool {
    pub name: String,
    /// `dir` or `netfs`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where the pool's volumes are (for `netfs`, where the export is mounted).
    pub path: String,
    /// `netfs`: the NFS server and the exported folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub fields: FieldSpans,
}

/// `volume(name, #{ pool, size, format, attach_to })`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Volume {
    pub name: String,
    /// The declared pool it is in.
    pub pool: NameRef,
    /// GB.
    pub size: u32,
    /// `qcow2` or `raw`.
    pub format: String,
    /// The declared server it is attached to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach_to: Option<NameRef>,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub fields: FieldSpans,
}
