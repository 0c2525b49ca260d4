//! Observed state: what the cloud says exists, as typed plain data. Built by the client from
//! the API's JSON (see `onecloud/wire.rs`), read by the reconciler, printed by `ict cloud`.
//! Field names are ict's (`snake_case`), not the API's.

use serde::Serialize;

use super::{
    ActionId, DomainId, ImageId, NetworkId, PoolId, RecordId, Secret, ServerId, SshKeyId, VolumeId,
};

/// Declares an enum of API state names with a catch-all for values this version does not know.
macro_rules! state_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A value this version of ict does not know, kept as the API spelled it.
            Other(String),
        }

        impl $name {
            /// Parses the API's spelling, case-insensitively.
            pub fn parse(text: &str) -> $name {
                $(if text.eq_ignore_ascii_case($text) {
                    return $name::$variant;
                })+
                $name::Other(text.to_owned())
            }

            /// The API's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(text) => text,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

state_enum!(
    /// Lifecycle state of a server (docs/1cloud-api.md §4).
    ServerState {
        /// Being created or rebuilt.
        New = "New",
        /// Created and usable.
        Active = "Active",
        /// Blocked because the balance went negative.
        Blocked = "Blocked",
        /// Not created for lack of money.
        NeedMoney = "NeedMoney",
    }
);

state_enum!(
    /// State of a server task.
    ActionState {
        /// Running.
        InProgress = "InProgress",
        /// Done.
        Completed = "Completed",
        /// Queued; what releases it is undocumented.
        Postponed = "Postponed",
    }
);

/// Everything in the account, from one bulk call per kind of object.
/// Which kinds of object [`super::Provider::observe`] reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kinds {
    pub servers: bool,
    pub networks: bool,
    pub ssh_keys: bool,
    pub dns: bool,
    /// Storage pools and their volumes (libvirt).
    pub storage: bool,
}

impl Kinds {
    /// Every kind.
    pub const ALL: Kinds = Kinds {
        servers: true,
        networks: true,
        ssh_keys: true,
        dns: true,
        storage: false,
    };
    /// Servers only (fleets, power, metrics).
    pub const SERVERS: Kinds = Kinds {
        servers: true,
        ..Kinds::NONE
    };
    /// Private networks only.
    pub const NETWORKS: Kinds = Kinds {
        networks: true,
        ..Kinds::NONE
    };
    /// SSH keys only.
    pub const SSH_KEYS: Kinds = Kinds {
        ssh_keys: true,
        ..Kinds::NONE
    };
    /// Storage pools and volumes only.
    pub const STORAGE: Kinds = Kinds {
        storage: true,
        ..Kinds::NONE
    };
    /// DNS domains and their records only.
    pub const DNS: Kinds = Kinds {
        dns: true,
        ..Kinds::NONE
    };
    /// Nothing.
    pub const NONE: Kinds = Kinds {
        servers: false,
        networks: false,
        ssh_keys: false,
        dns: false,
        storage: false,
    };
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Observed {
    pub servers: Vec<ObservedServer>,
    pub networks: Vec<ObservedNetwork>,
    pub ssh_keys: Vec<ObservedSshKey>,
    pub domains: Vec<ObservedDomain>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<ObservedPool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<ObservedVolume>,
}

/// A storage pool (libvirt).
#[derive(Debug, Clone, Serialize)]
pub struct ObservedPool {
    pub id: PoolId,
    pub name: String,
    /// `dir`, `netfs`, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
    pub active: bool,
    /// GB.
    pub capacity: u64,
    pub available: u64,
}

/// A storage volume (libvirt).
#[derive(Debug, Clone, Serialize)]
pub struct ObservedVolume {
    pub id: VolumeId,
    pub name: String,
    pub pool: PoolId,
    pub pool_name: String,
    /// GB.
    pub size: u32,
    pub format: String,
    /// The server it is a disk of (not its root disk), if any.
    pub attached_to: Option<ServerId>,
}

/// A server as the API reports it.
#[derive(Debug, Clone, Serialize)]
pub struct ObservedServer {
    pub id: ServerId,
    pub name: String,
    pub hostname: Option<String>,
    pub state: ServerState,
    pub power_on: bool,
    pub cpu: u32,
    /// MB.
    pub ram: u32,
    /// GB.
    pub disk: u32,
    /// `SSD` or `SAS` (as the API spells it).
    pub disk_type: String,
    /// The image's technical name, e.g. `Ubuntu20.04x64`.
    pub image: String,
    /// `Linux`, `Windows`, `Bsd`.
    pub image_family: Option<String>,
    pub high_performance: bool,
    /// Data centre tech name, e.g. `SdnSpb`.
    pub dc: String,
    /// External IPv4; `None` until assigned.
    pub ip: Option<String>,
    /// Address of the main interface; `None` until assigned.
    pub primary_ip: Option<String>,
    pub admin_user: Option<String>,
    pub admin_password: Option<Secret>,
    /// Every network link: the shared public one and private ones.
    pub links: Vec<ServerLink>,
    pub ssh_keys: Vec<SshKeyId>,
    /// As the API wrote it (ISO-8601).
    pub created: Option<String>,
}

impl Observed {
    /// The IDs of the servers named `name`.
    pub fn servers_named(&self, name: &str) -> Vec<u64> {
        self.servers
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.id.0)
            .collect()
    }

    /// The IDs of the private networks named `name`.
    pub fn networks_named(&self, name: &str) -> Vec<u64> {
        self.networks
            .iter()
            .filter(|n| n.name == name)
            .map(|n| n.id.0)
            .collect()
    }

    /// The IDs of the volumes named `name` in `pool`.
    pub fn volumes_named(&self, name: &str, pool: PoolId) -> Vec<u64> {
        self.volumes
            .iter()
            .filter(|v| v.name == name && v.pool == pool)
            .map(|v| v.id.0)
            .collect()
    }

    /// The IDs of the SSH keys titled `title`.
    pub fn ssh_keys_titled(&self, title: &str) -> Vec<u64> {
        self.ssh_keys
            .iter()
            .filter(|k| k.title == title)
            .map(|k| k.id.0)
            .collect()
    }

    /// The IDs of the DNS domains named `name` (case and a trailing dot do not matter).
    pub fn domains_named(&self, name: &str) -> Vec<u64> {
        self.domains
            .iter()
            .filter(|d| same_host(&d.name, name))
            .map(|d| d.id.0)
            .collect()
    }

    /// The domain named `name`, if any.
    pub fn domain(&self, name: &str) -> Option<&ObservedDomain> {
        self.domains.iter().find(|d| same_host(&d.name, name))
    }
}

/// Host names compare without case and without a trailing dot.
pub(crate) fn same_host(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

impl ObservedDomain {
    /// The IDs of the records of type `kind` and host `name` (relative, `@`, or fully
    /// qualified, with or without the trailing dot).
    pub fn records_named(&self, kind: &str, name: &str) -> Vec<u64> {
        self.records
            .iter()
            .filter(|r| {
                r.kind.eq_ignore_ascii_case(kind) && same_record_name(&r.name, name, &self.name)
            })
            .map(|r| r.id.0)
            .collect()
    }
}

/// Record names: `@`, empty and the zone itself all mean the apex; fully qualified names may
/// end with a dot; case does not matter.
pub(crate) fn same_record_name(a: &str, b: &str, zone: &str) -> bool {
    let zone = zone.trim_end_matches('.');
    let norm = |n: &str| {
        let n = n.trim_end_matches('.');
        if n.is_empty() || n == "@" || n.eq_ignore_ascii_case(zone) {
            "@".to_owned()
        } else {
            let lower = n.to_ascii_lowercase();
            let suffix = format!(".{}", zone.to_ascii_lowercase());
            lower
                .strip_suffix(&suffix)
                .map_or(lower.clone(), str::to_owned)
        }
    };
    norm(a) == norm(b)
}

impl ObservedServer {
    /// Links to private networks (everything but the shared public network).
    pub fn private_links(&self) -> impl Iterator<Item = &ServerLink> {
        self.links.iter().filter(|link| !link.is_public())
    }

    /// The link to `network`, if the server is attached to it.
    pub fn link_to(&self, network: NetworkId) -> Option<&ServerLink> {
        self.links.iter().find(|link| link.network_id == network)
    }
}

/// One of a server's network links (`LinkedNetworks`).
#[derive(Debug, Clone, Serialize)]
pub struct ServerLink {
    pub link_id: Option<u64>,
    pub network_id: NetworkId,
    pub network_name: Option<String>,
    /// `PublicShared` for the public network; private networks report their own type.
    pub network_type: Option<String>,
    pub state: Option<String>,
    pub ip: Option<String>,
    pub mac: Option<String>,
    pub mask: Option<String>,
    pub gateway: Option<String>,
    /// Mbit/s.
    pub bandwidth: Option<u32>,
}

impl ServerLink {
    /// Whether this is a link to a public network.
    pub fn is_public(&self) -> bool {
        self.network_type
            .as_deref()
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("public"))
    }
}

/// A server task (power, resize, network change, ...).
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub id: ActionId,
    pub server: ServerId,
    /// `Create`, `Resize`, `PowerOn`, `AddNetwork`, ...
    pub kind: String,
    pub state: ActionState,
    pub started: Option<String>,
    pub ended: Option<String>,
}

/// A private network.
#[derive(Debug, Clone, Serialize)]
pub struct ObservedNetwork {
    pub id: NetworkId,
    pub name: String,
    /// `New`, `Active`, `NeedMoney`.
    pub state: String,
    pub dc: Option<String>,
    pub dhcp: bool,
    pub mask: Option<String>,
    pub gateway: Option<String>,
    pub bandwidth: Option<u32>,
    /// Servers attached, with their address on this network.
    pub servers: Vec<NetworkMember>,
}

/// A server attached to a private network (`LinkedServers`).
#[derive(Debug, Clone, Serialize)]
pub struct NetworkMember {
    pub server: ServerId,
    pub ip: Option<String>,
    pub mac: Option<String>,
}

/// An uploaded SSH key.
#[derive(Debug, Clone, Serialize)]
pub struct ObservedSshKey {
    pub id: SshKeyId,
    pub title: String,
    pub public_key: String,
}

/// A DNS domain with its records.
#[derive(Debug, Clone, Serialize)]
pub struct ObservedDomain {
    pub id: DomainId,
    pub name: String,
    pub state: String,
    pub delegated: bool,
    pub records: Vec<ObservedRecord>,
}

/// A DNS record.
#[derive(Debug, Clone, Serialize)]
pub struct ObservedRecord {
    pub id: RecordId,
    pub domain: DomainId,
    /// `A`, `AAAA`, `CNAME`, `MX`, `TXT`, `NS`, `SRV`, as the API spells it.
    #[serde(rename = "type")]
    pub kind: String,
    /// Host part as the API reports it (`@` for the apex).
    pub name: String,
    /// Address, target host name or text (TXT quotes removed).
    pub value: String,
    pub ttl: Option<u32>,
    pub priority: Option<u32>,
    pub state: String,
}

/// An image of the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct Image {
    pub id: ImageId,
    /// Technical name, what [`ObservedServer::image`] shows.
    pub name: String,
    pub display_name: String,
    pub family: Option<String>,
    /// Smallest disk in GB, when given.
    pub min_disk: Option<u32>,
    /// Empty for images available everywhere.
    pub dc: Option<String>,
}

/// A data centre.
#[derive(Debug, Clone, Serialize)]
pub struct DcLocation {
    pub id: Option<u64>,
    /// Public name (`Xelent`); not unique.
    pub title: String,
    /// The value of `DCLocation` (`SdnSpb`).
    pub tech_title: String,
    pub short_title: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub low_pool: bool,
    pub high_pool: bool,
    pub backup: bool,
    pub ipv6: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_case_insensitively_and_keep_unknowns() {
        assert_eq!(ServerState::parse("active"), ServerState::Active);
        assert_eq!(ServerState::parse("NeedMoney"), ServerState::NeedMoney);
        assert_eq!(
            ServerState::parse("Migrating"),
            ServerState::Other("Migrating".to_owned())
        );
        assert_eq!(ActionState::parse("COMPLETED"), ActionState::Completed);
        assert_eq!(ActionState::parse("Failed").as_str(), "Failed");
    }
}
