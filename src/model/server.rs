//! A declared server: the size, image and placement 1cloud needs, plus what Ansible needs.

use indexmap::IndexMap;

use super::{FieldSpans, NameRef, Span, Value};

/// Disk type of a 1cloud server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DiskType {
    #[serde(rename = "SSD")]
    Ssd,
    #[serde(rename = "SAS")]
    Sas,
}

impl DiskType {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DiskType::Ssd => "SSD",
            DiskType::Sas => "SAS",
        }
    }
}

/// Whether and how a declared server takes over one that already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Adopt {
    /// Create it (the default).
    #[default]
    No,
    /// `adopt: true`: the one existing server of this name that ict does not own.
    ByName,
    /// `adopt: 12345`: the server with this cloud ID.
    ById(u64),
}

impl Adopt {
    /// Whether the declaration adopts at all.
    pub fn any(self) -> bool {
        self != Adopt::No
    }
}

/// Desired power state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Power {
    On,
    Off,
}

/// An image, by technical name (`Ubuntu20.04x64`) or catalogue ID.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum ImageRef {
    Name(String),
    Id(u32),
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageRef::Name(name) => f.write_str(name),
            ImageRef::Id(id) => write!(f, "{id}"),
        }
    }
}

/// How `ict metrics`/`ict top` reach a server's `node_exporter` (the `metrics` option of
/// `server(...)`, e.g. `metrics: #{ via: "http", port: 9100 }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MetricsSource {
    pub via: MetricsVia,
    /// The exporter's TCP port (on the server's loopback over SSH, or its public IP over HTTP).
    pub port: u16,
}

impl Default for MetricsSource {
    fn default() -> Self {
        Self {
            via: MetricsVia::Ssh,
            port: defaults::METRICS_PORT,
        }
    }
}

impl MetricsSource {
    /// Whether this is the default (SSH tunnel to port 9100), left out of JSON output.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// The path to a server's `node_exporter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricsVia {
    /// A direct-tcpip tunnel over SSH to `127.0.0.1:port` on the server: the exporter needs no
    /// public port.
    Ssh,
    /// Plain HTTP to `http://<public ip>:port/metrics`.
    Http,
}

/// Defaults of `server(...)`, documented in docs/language.md.
pub mod defaults {
    pub const CPU: u32 = 1;
    pub const RAM_MB: u32 = 1024;
    pub const DISK_GB: u32 = 20;
    pub const IMAGE: &str = "Ubuntu20.04x64";
    pub const USER: &str = "root";
    pub const METRICS_PORT: u16 = 9100;
}

/// `server(name, #{...})`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Server {
    pub name: String,
    pub cpu: u32,
    /// MB.
    pub ram: u32,
    /// GB.
    pub disk: u32,
    pub disk_type: DiskType,
    pub image: ImageRef,
    /// Data centre tech name (`SdnSpb`).
    pub dc: String,
    pub high_performance: bool,
    /// Backup period in days, or `None` for no backups.
    pub backup: Option<u32>,
    pub groups: Vec<NameRef>,
    pub ssh_keys: Vec<NameRef>,
    pub networks: Vec<NameRef>,
    pub depends_on: Vec<NameRef>,
    /// Host variables for Ansible.
    pub vars: IndexMap<String, Value>,
    pub power: Power,
    /// Never delete or replace.
    pub protect: bool,
    /// Take over an existing server of this name instead of creating one.
    pub adopt: Adopt,
    /// The login user for SSH and Ansible.
    pub user: String,
    /// Where `ict metrics` finds the server's `node_exporter`.
    #[serde(skip_serializing_if = "MetricsSource::is_default")]
    pub metrics: MetricsSource,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub fields: FieldSpans,
}
