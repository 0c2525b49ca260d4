//! The desired-state model: declarations recorded by scripts, validation and the graph.
//!
//! A script run produces one [`Desired`]: every declared server, key, network, group, playbook
//! and DNS record, in declaration order (`IndexMap`), each with the [`Span`] of the call that
//! declared it. [`validate`] checks what one declaration cannot check alone (references,
//! patterns, cycles) and [`Graph`] orders everything for the later stages.
//!
//! Pure: depends on no other ict module and performs no I/O.

pub mod alert;
mod backend;
mod dns;
mod error;
mod graph;
mod group;
mod image;
pub mod limits;
mod moved;
mod network;
pub mod pattern;
pub mod pipeline;
mod playbook;
mod provider;
pub mod schedule;
mod server;
mod span;
mod ssh_key;
mod storage;
mod suggest;
mod validate;
mod value;

pub use alert::{Alert, Notify, Severity};
pub use backend::{Backend, BackendKind};
pub use dns::{DnsRecord, RecordType};
pub use error::ModelError;
pub use graph::{Edge, EdgeKind, Graph, Node};
pub use group::Group;
pub use image::{Image, ImageSource};
pub use moved::{Move, Output};
pub use network::Network;
pub use pipeline::{Pipeline, PipelineEnv, Preset, Sandbox, Stage};
pub use playbook::Playbook;
pub use provider::{on_host, Provider, ProviderKind};
pub use schedule::Schedule;
pub use server::{defaults, Adopt, DiskType, ImageRef, MetricsSource, MetricsVia, Power, Server};
pub use span::{SourceFile, SourceId, Sources, Span};
pub use ssh_key::SshKey;
pub use storage::{Pool, Volume};
pub use suggest::{choices, suggest, unknown_name, DidYouMean, UnknownName};
pub use validate::validate;
pub use value::{secret_token, Part, Placeholder, Style, Value, KNOWN_AFTER_APPLY, SENSITIVE};

use indexmap::IndexMap;

/// Where each field of a declaration was written (when it could be found in the source).
pub type FieldSpans = IndexMap<String, Span>;

/// A reference by name to another declaration, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRef {
    pub name: String,
    pub span: Span,
}

impl serde::Serialize for NameRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name)
    }
}

/// The environments a script declares with `environments(...)`.
#[derive(Debug, Clone)]
pub struct Environments {
    pub names: Vec<String>,
    pub span: Span,
}

impl Environments {
    /// What an environment name may be (the rule [`Environments::valid_name`] checks).
    pub const NAME_RULE: &'static str =
        "use letters, digits, `-`, `_` and `.` (not only dots), at most 64 characters";

    /// Whether `name` can name an environment: its state lives in the folder `.ict/<name>/`.
    pub fn valid_name(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 64
            && name.chars().any(|c| c != '.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    }
}

/// Everything a script declares, for one environment.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// The selected environment.
    pub env: String,
    /// The declared environments, if the script declares any.
    pub environments: Option<Environments>,
    /// Where the state is kept, if not in `.ict/<env>/` (`backend(...)`).
    pub backend: Option<Backend>,
    /// The cloud the environment lives on, if the script says (`provider(...)`).
    pub provider: Option<Provider>,
    pub servers: IndexMap<String, Server>,
    pub ssh_keys: IndexMap<String, SshKey>,
    /// Images made from the script's servers (names are unique).
    pub images: IndexMap<String, Image>,
    /// Storage pools and volumes (libvirt; names are unique).
    pub pools: IndexMap<String, Pool>,
    pub volumes: IndexMap<String, Volume>,
    pub networks: IndexMap<String, Network>,
    pub groups: IndexMap<String, Group>,
    pub playbooks: Vec<Playbook>,
    pub dns_records: Vec<DnsRecord>,
    /// Alert rules for `ict watch` (names are unique).
    pub alerts: IndexMap<String, Alert>,
    /// Deploy pipelines (names are unique).
    pub pipelines: IndexMap<String, Pipeline>,
    /// Schedules `ict watch` keeps (names are unique).
    pub schedules: IndexMap<String, Schedule>,
    /// Resources renamed in the script whose cloud objects are kept (`moved(from, to)`).
    pub moves: Vec<Move>,
    /// Values printed after apply and by `ict output` (names are unique).
    pub outputs: IndexMap<String, Output>,
}

impl Desired {
    /// Whether the environment lives on libvirt (see [`on_host`]).
    pub fn on_libvirt(&self) -> bool {
        self.provider
            .as_ref()
            .is_some_and(|p| p.kind == ProviderKind::Libvirt)
    }

    /// An empty model for environment `env`.
    pub fn new(env: &str) -> Desired {
        Desired {
            env: env.to_owned(),
            ..Desired::default()
        }
    }

    /// Adds an output; a second output of the same name is an error naming both places.
    pub fn add_output(&mut self, output: Output) -> Result<(), ModelError> {
        if let Some(first) = self.outputs.get(&output.name) {
            return Err(ModelError::Duplicate {
                kind: "output",
                name: output.name.clone(),
                at: output.span,
                first: first.span,
                first_kind: "output",
            });
        }
        self.outputs.insert(output.name.clone(), output);
        Ok(())
    }

    /// Adds a server; a second server of the same name is an error naming both places.
    pub fn add_server(&mut self, server: Server) -> Result<(), ModelError> {
        insert_unique(
            &mut self.servers,
            server.name.clone(),
            server,
            "server",
            |s| s.span,
        )
    }

    /// Adds an SSH key (names are unique).
    pub fn add_ssh_key(&mut self, key: SshKey) -> Result<(), ModelError> {
        insert_unique(&mut self.ssh_keys, key.name.clone(), key, "ssh key", |k| {
            k.span
        })
    }

    /// Adds an image (names are unique).
    pub fn add_pool(&mut self, pool: Pool) -> Result<(), ModelError> {
        insert_unique(&mut self.pools, pool.name.clone(), pool, "pool", |p| p.span)
    }

    pub fn add_volume(&mut self, volume: Volume) -> Result<(), ModelError> {
        insert_unique(
            &mut self.volumes,
            volume.name.clone(),
            volume,
            "volume",
            |v| v.span,
        )
    }

    pub fn add_image(&mut self, image: Image) -> Result<(), ModelError> {
        insert_unique(&mut self.images, image.name.clone(), image, "image", |i| {
            i.span
        })
    }

    /// Adds a private network (names are unique).
    pub fn add_network(&mut self, network: Network) -> Result<(), ModelError> {
        insert_unique(
            &mut self.networks,
            network.name.clone(),
            network,
            "network",
            |n| n.span,
        )
    }

    /// Adds a group (names are unique; `validate` checks they differ from server names).
    pub fn add_group(&mut self, group: Group) -> Result<(), ModelError> {
        insert_unique(&mut self.groups, group.name.clone(), group, "group", |g| {
            g.span
        })
    }

    /// Adds a playbook (short names are unique).
    pub fn add_playbook(&mut self, playbook: Playbook) -> Result<(), ModelError> {
        if let Some(first) = self.playbooks.iter().find(|p| p.name == playbook.name) {
            return Err(ModelError::Duplicate {
                kind: "playbook",
                name: playbook.name,
                at: playbook.span,
                first: first.span,
                first_kind: "playbook",
            });
        }
        self.playbooks.push(playbook);
        Ok(())
    }

    /// Adds a DNS record; the same name, type and value twice is an error.
    pub fn add_dns_record(&mut self, mut record: DnsRecord) -> Result<(), ModelError> {
        let base = format!("{}/{}", record.fqdn(), record.rtype.as_str());
        let same: Vec<&DnsRecord> = self
            .dns_records
            .iter()
            .filter(|r| r.fqdn() == record.fqdn() && r.rtype == record.rtype)
            .collect();
        if let Some(first) = same.iter().find(|r| r.value == record.value) {
            return Err(ModelError::Duplicate {
                kind: "DNS record",
                name: format!("{base} {}", record.value.display(Style::References)),
                at: record.span,
                first: first.span,
                first_kind: "DNS record",
            });
        }
        record.id = if same.is_empty() {
            base
        } else {
            format!("{base}#{}", same.len() + 1)
        };
        self.dns_records.push(record);
        Ok(())
    }

    /// Adds an alert rule (names are unique).
    pub fn add_alert(&mut self, alert: Alert) -> Result<(), ModelError> {
        insert_unique(&mut self.alerts, alert.name.clone(), alert, "alert", |a| {
            a.span
        })
    }

    /// Adds a deploy pipeline (names are unique).
    pub fn add_pipeline(&mut self, pipeline: Pipeline) -> Result<(), ModelError> {
        insert_unique(
            &mut self.pipelines,
            pipeline.name.clone(),
            pipeline,
            "pipeline",
            |p| p.span,
        )
    }

    /// Adds a schedule (names are unique).
    pub fn add_schedule(&mut self, schedule: Schedule) -> Result<(), ModelError> {
        insert_unique(
            &mut self.schedules,
            schedule.name.clone(),
            schedule,
            "schedule",
            |s| s.span,
        )
    }

    /// The addresses (`kind.name`) of the declared cloud resources, as plans name them: servers,
    /// SSH keys, networks, images and DNS records.
    pub fn addresses(&self) -> Vec<String> {
        let servers = self.servers.keys().map(|n| format!("server.{n}"));
        let keys = self.ssh_keys.keys().map(|n| format!("ssh_key.{n}"));
        let networks = self.networks.keys().map(|n| format!("network.{n}"));
        let images = self.images.keys().map(|n| format!("image.{n}"));
        let records = self
            .dns_records
            .iter()
            .map(|r| format!("dns_record.{}", r.id));
        servers
            .chain(keys)
            .chain(networks)
            .chain(images)
            .chain(records)
            .collect()
    }

    /// Number of declared resources of every kind.
    pub fn len(&self) -> usize {
        self.servers.len()
            + self.ssh_keys.len()
            + self.networks.len()
            + self.images.len()
            + self.playbooks.len()
            + self.dns_records.len()
    }

    /// Whether nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.len() == 0 && self.groups.is_empty()
    }
}

fn insert_unique<T>(
    map: &mut IndexMap<String, T>,
    name: String,
    item: T,
    kind: &'static str,
    span: impl Fn(&T) -> Span,
) -> Result<(), ModelError> {
    if let Some(first) = map.get(&name) {
        return Err(ModelError::Duplicate {
            kind,
            name,
            at: span(&item),
            first: span(first),
            first_kind: kind,
        });
    }
    map.insert(name, item);
    Ok(())
}

/// Serializes a duration as whole seconds (the JSON shape of `during:` and `poll:`).
fn serialize_seconds<S: serde::Serializer>(
    d: &std::time::Duration,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}
