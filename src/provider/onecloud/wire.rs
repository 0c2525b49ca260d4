//! The 1cloud API's JSON objects as they arrive (docs/1cloud-api.md §3), and their conversion into
//! the observed types of `provider`. Field names are the folded keys of `lenient` (lowercase, no
//! `_`), so `DCLocation`, `dcLocation` and `dc_location` all land in `dclocation`. Every field but
//! the ID is optional on the wire; unknown fields are ignored.

use serde::Deserialize;

use super::lenient;
use crate::provider::{
    Action, ActionId, ActionState, DcLocation, DomainId, Image, ImageId, NetworkId, NetworkMember,
    ObservedDomain, ObservedNetwork, ObservedRecord, ObservedServer, ObservedSshKey, RecordId,
    Secret, ServerId, ServerLink, ServerState, SshKeyId,
};

/// `GET /server`, `GET /server/{id}`, `POST /server` (docs/1cloud-api.md §3.2).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct WireServer {
    #[serde(deserialize_with = "lenient::id")]
    pub(super) id: u64,
    #[serde(default, deserialize_with = "lenient::text")]
    pub(super) name: String,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    hostname: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub(super) state: String,
    #[serde(default, rename = "ispoweron", deserialize_with = "lenient::flag")]
    pub(super) is_power_on: bool,
    #[serde(default, deserialize_with = "lenient::u32_or_zero")]
    cpu: u32,
    #[serde(default, deserialize_with = "lenient::u32_or_zero")]
    ram: u32,
    #[serde(default, deserialize_with = "lenient::u32_or_zero")]
    hdd: u32,
    #[serde(default, rename = "hddtype", deserialize_with = "lenient::text")]
    hdd_type: String,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    ip: Option<String>,
    #[serde(
        default,
        rename = "adminusername",
        deserialize_with = "lenient::opt_text"
    )]
    admin_user_name: Option<String>,
    #[serde(
        default,
        rename = "adminpassword",
        deserialize_with = "lenient::opt_text"
    )]
    admin_password: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    image: String,
    #[serde(
        default,
        rename = "imagefamily",
        deserialize_with = "lenient::opt_text"
    )]
    image_family: Option<String>,
    #[serde(
        default,
        rename = "ishighperformance",
        deserialize_with = "lenient::flag"
    )]
    is_high_performance: bool,
    #[serde(
        default,
        rename = "primarynetworkip",
        deserialize_with = "lenient::opt_text"
    )]
    primary_network_ip: Option<String>,
    #[serde(default, rename = "dclocation", deserialize_with = "lenient::text")]
    dc_location: String,
    #[serde(default, rename = "linkednetworks", deserialize_with = "lenient::list")]
    pub(super) linked_networks: Vec<WireLink>,
    #[serde(
        default,
        rename = "linkedsshkeys",
        deserialize_with = "lenient::id_list"
    )]
    linked_ssh_keys: Vec<u64>,
    #[serde(default, rename = "datecreate", deserialize_with = "lenient::opt_text")]
    date_create: Option<String>,
}

/// An element of `LinkedNetworks` (docs/1cloud-api.md §3.3).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct WireLink {
    #[serde(default, rename = "linkid", deserialize_with = "lenient::opt_u64")]
    link_id: Option<u64>,
    #[serde(
        default,
        rename = "networkid",
        deserialize_with = "lenient::u64_or_zero"
    )]
    pub(super) network_id: u64,
    #[serde(default, rename = "linkstate", deserialize_with = "lenient::opt_text")]
    link_state: Option<String>,
    #[serde(
        default,
        rename = "networktype",
        deserialize_with = "lenient::opt_text"
    )]
    network_type: Option<String>,
    #[serde(
        default,
        rename = "networkname",
        deserialize_with = "lenient::opt_text"
    )]
    network_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    ip: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    mac: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    mask: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    gateway: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u32")]
    bandwidth: Option<u32>,
}

/// A server task (docs/1cloud-api.md §3.4).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct WireAction {
    #[serde(deserialize_with = "lenient::id")]
    pub(super) id: u64,
    #[serde(default, rename = "type", deserialize_with = "lenient::text")]
    pub(super) kind: String,
    #[serde(default, deserialize_with = "lenient::text")]
    pub(super) state: String,
    #[serde(default, rename = "startdate", deserialize_with = "lenient::opt_text")]
    start_date: Option<String>,
    #[serde(default, rename = "enddate", deserialize_with = "lenient::opt_text")]
    end_date: Option<String>,
}

/// A private network (docs/1cloud-api.md §3.7).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct WireNetwork {
    #[serde(deserialize_with = "lenient::id")]
    pub(super) id: u64,
    #[serde(default, deserialize_with = "lenient::text")]
    pub(super) name: String,
    #[serde(default, deserialize_with = "lenient::text")]
    pub(super) state: String,
    #[serde(default, rename = "dclocation", deserialize_with = "lenient::opt_text")]
    dc_location: Option<String>,
    #[serde(default, rename = "isdhcp", deserialize_with = "lenient::flag")]
    is_dhcp: bool,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    mask: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    gateway: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u32")]
    bandwidth: Option<u32>,
    #[serde(default, rename = "linkedservers", deserialize_with = "lenient::list")]
    linked_servers: Vec<WireMember>,
}

/// An element of a network's `LinkedServers`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct WireMember {
    #[serde(
        default,
        rename = "serverid",
        deserialize_with = "lenient::u64_or_zero"
    )]
    server_id: u64,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    ip: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    mac: Option<String>,
}

/// An SSH key (docs/1cloud-api.md §3.8).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct WireSshKey {
    #[serde(deserialize_with = "lenient::id")]
    pub(super) id: u64,
    #[serde(default, deserialize_with = "lenient::text")]
    pub(super) title: String,
    #[serde(default, rename = "publickey", deserialize_with = "lenient::text")]
    public_key: String,
}

/// A DNS domain (docs/1cloud-api.md §3.9).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct WireDomain {
    #[serde(deserialize_with = "lenient::id")]
    pub(super) id: u64,
    #[serde(default, deserialize_with = "lenient::text")]
    pub(super) name: String,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    state: Option<String>,
    #[serde(default, rename = "isdelegate", deserialize_with = "lenient::flag")]
    is_delegate: bool,
    #[serde(default, rename = "linkedrecords", deserialize_with = "lenient::list")]
    pub(super) linked_records: Vec<WireRecord>,
}

/// A DNS record (docs/1cloud-api.md §3.9).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct WireRecord {
    #[serde(deserialize_with = "lenient::id")]
    pub(super) id: u64,
    #[serde(default, rename = "typerecord", deserialize_with = "lenient::text")]
    pub(super) type_record: String,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    ip: Option<String>,
    #[serde(default, rename = "hostname", deserialize_with = "lenient::opt_text")]
    host_name: Option<String>,
    #[serde(
        default,
        rename = "exthostname",
        deserialize_with = "lenient::opt_text"
    )]
    ext_host_name: Option<String>,
    #[serde(
        default,
        rename = "mnemonicname",
        deserialize_with = "lenient::opt_text"
    )]
    mnemonic_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    target: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u32")]
    priority: Option<u32>,
    #[serde(default, deserialize_with = "lenient::opt_u32")]
    ttl: Option<u32>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    state: Option<String>,
}

/// An image (docs/1cloud-api.md §3.6).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct WireImage {
    #[serde(deserialize_with = "lenient::id")]
    id: u64,
    #[serde(default, deserialize_with = "lenient::text")]
    name: String,
    #[serde(default, rename = "displayname", deserialize_with = "lenient::text")]
    display_name: String,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    family: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u32")]
    hdd: Option<u32>,
    #[serde(default, rename = "dclocation", deserialize_with = "lenient::opt_text")]
    dc_location: Option<String>,
}

impl WireImage {
    pub(super) fn id(&self) -> u64 {
        self.id
    }

    /// Whether the image's technical or display name is `name`.
    pub(super) fn named(&self, name: &str) -> bool {
        self.name == name || self.display_name == name
    }
}

/// A data centre (docs/1cloud-api.md §3.5).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct WireDc {
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    id: Option<u64>,
    #[serde(default, deserialize_with = "lenient::text")]
    title: String,
    #[serde(default, rename = "techtitle", deserialize_with = "lenient::text")]
    tech_title: String,
    #[serde(default, rename = "shorttitle", deserialize_with = "lenient::opt_text")]
    short_title: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    country: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    city: Option<String>,
    #[serde(
        default,
        rename = "isenablelowpool",
        deserialize_with = "lenient::flag"
    )]
    low_pool: bool,
    #[serde(
        default,
        rename = "isenablehighpool",
        deserialize_with = "lenient::flag"
    )]
    high_pool: bool,
    #[serde(default, rename = "isenablebackup", deserialize_with = "lenient::flag")]
    backup: bool,
    #[serde(default, rename = "isenableipv6", deserialize_with = "lenient::flag")]
    ipv6: bool,
}

impl From<WireServer> for ObservedServer {
    fn from(w: WireServer) -> ObservedServer {
        ObservedServer {
            id: ServerId(w.id),
            name: w.name,
            hostname: w.hostname,
            state: ServerState::parse(&w.state),
            power_on: w.is_power_on,
            cpu: w.cpu,
            ram: w.ram,
            disk: w.hdd,
            disk_type: w.hdd_type,
            image: w.image,
            image_family: w.image_family,
            high_performance: w.is_high_performance,
            dc: w.dc_location,
            ip: w.ip,
            primary_ip: w.primary_network_ip,
            admin_user: w.admin_user_name,
            admin_password: w.admin_password.map(Secret::new),
            links: w
                .linked_networks
                .into_iter()
                .map(ServerLink::from)
                .collect(),
            ssh_keys: w.linked_ssh_keys.into_iter().map(SshKeyId).collect(),
            created: w.date_create,
        }
    }
}

impl From<WireLink> for ServerLink {
    fn from(w: WireLink) -> ServerLink {
        ServerLink {
            link_id: w.link_id,
            network_id: NetworkId(w.network_id),
            network_name: w.network_name,
            network_type: w.network_type,
            state: w.link_state,
            ip: w.ip,
            mac: w.mac,
            mask: w.mask,
            gateway: w.gateway,
            bandwidth: w.bandwidth,
        }
    }
}

impl WireAction {
    /// The observed action of `server`.
    pub(super) fn observed(self, server: ServerId) -> Action {
        Action {
            id: ActionId(self.id),
            server,
            state: ActionState::parse(&self.state),
            kind: self.kind,
            started: self.start_date,
            ended: self.end_date,
        }
    }
}

impl From<WireNetwork> for ObservedNetwork {
    fn from(w: WireNetwork) -> ObservedNetwork {
        ObservedNetwork {
            id: NetworkId(w.id),
            name: w.name,
            state: w.state,
            dc: w.dc_location,
            dhcp: w.is_dhcp,
            mask: w.mask,
            gateway: w.gateway,
            bandwidth: w.bandwidth,
            servers: w
                .linked_servers
                .into_iter()
                .map(|m| NetworkMember {
                    server: ServerId(m.server_id),
                    ip: m.ip,
                    mac: m.mac,
                })
                .collect(),
        }
    }
}

impl From<WireSshKey> for ObservedSshKey {
    fn from(w: WireSshKey) -> ObservedSshKey {
        ObservedSshKey {
            id: SshKeyId(w.id),
            title: w.title,
            public_key: w.public_key,
        }
    }
}

impl From<WireDomain> for ObservedDomain {
    fn from(w: WireDomain) -> ObservedDomain {
        let domain = DomainId(w.id);
        ObservedDomain {
            id: domain,
            name: w.name,
            // DNS clients map a null state to New.
            state: w.state.unwrap_or_else(|| "New".to_owned()),
            delegated: w.is_delegate,
            records: w
                .linked_records
                .into_iter()
                .map(|r| r.observed(domain))
                .collect(),
        }
    }
}

impl WireRecord {
    /// The record's value, by type: address, target host or (unquoted) text.
    /// The record's host name as returned (`@` when absent).
    pub(super) fn host_name(&self) -> String {
        self.host_name.clone().unwrap_or_else(|| "@".to_owned())
    }

    pub(super) fn value(&self) -> String {
        let value = match self.type_record.to_ascii_uppercase().as_str() {
            "A" | "AAAA" => self.ip.as_ref(),
            "CNAME" => self.mnemonic_name.as_ref(),
            "MX" | "NS" => self.ext_host_name.as_ref(),
            "TXT" => return self.text.as_deref().map(unquote_txt).unwrap_or_default(),
            "SRV" => self.target.as_ref(),
            _ => None,
        };
        value
            .or(self.ip.as_ref())
            .or(self.text.as_ref())
            .cloned()
            .unwrap_or_default()
    }

    /// The observed record of `domain`.
    pub(super) fn observed(self, domain: DomainId) -> ObservedRecord {
        ObservedRecord {
            id: RecordId(self.id),
            domain,
            value: self.value(),
            kind: self.type_record.to_ascii_uppercase(),
            name: self.host_name.unwrap_or_else(|| "@".to_owned()),
            ttl: self.ttl,
            priority: self.priority,
            state: self.state.unwrap_or_else(|| "New".to_owned()),
        }
    }
}

/// TXT text as 1cloud may return it (`"\"value\" "`) without the quotes and trailing space.
pub(super) fn unquote_txt(text: &str) -> String {
    let trimmed = text.trim();
    trimmed
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(trimmed)
        .to_owned()
}

impl From<WireImage> for Image {
    fn from(w: WireImage) -> Image {
        Image {
            id: ImageId(w.id),
            name: w.name,
            display_name: w.display_name,
            family: w.family,
            min_disk: w.hdd.filter(|gb| *gb > 0),
            dc: w.dc_location,
        }
    }
}

impl From<WireDc> for DcLocation {
    fn from(w: WireDc) -> DcLocation {
        DcLocation {
            id: w.id,
            title: w.title,
            tech_title: w.tech_title,
            short_title: w.short_title,
            country: w.country,
            city: w.city,
            low_pool: w.low_pool,
            high_pool: w.high_pool,
            backup: w.backup,
            ipv6: w.ipv6,
        }
    }
}
