//! The 1cloud API objects as the emulator stores and prints them: `PascalCase` JSON exactly as
//! described in docs/1cloud-api.md §3. The same types are persisted in the state file, so every
//! field here is visible to clients. Depends on serde only.

use serde::{Deserialize, Serialize};

/// A server (docs/1cloud-api.md §3.2), the 20 fields of a real answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Server {
    #[serde(rename = "ID")]
    pub(crate) id: u64,
    #[serde(rename = "Name")]
    pub(crate) name: String,
    #[serde(rename = "HostName")]
    pub(crate) host_name: Option<String>,
    #[serde(rename = "State")]
    pub(crate) state: String,
    #[serde(rename = "IsPowerOn")]
    pub(crate) is_power_on: bool,
    #[serde(rename = "CPU")]
    pub(crate) cpu: u32,
    #[serde(rename = "RAM")]
    pub(crate) ram: u32,
    #[serde(rename = "HDD")]
    pub(crate) hdd: u32,
    #[serde(rename = "IP")]
    pub(crate) ip: String,
    #[serde(rename = "AdminUserName")]
    pub(crate) admin_user_name: Option<String>,
    #[serde(rename = "AdminPassword")]
    pub(crate) admin_password: Option<String>,
    #[serde(rename = "Image")]
    pub(crate) image: String,
    #[serde(rename = "IsHighPerformance")]
    pub(crate) is_high_performance: bool,
    #[serde(rename = "HDDType")]
    pub(crate) hdd_type: String,
    #[serde(rename = "PrimaryNetworkIp")]
    pub(crate) primary_network_ip: String,
    #[serde(rename = "LinkedNetworks")]
    pub(crate) linked_networks: Vec<LinkedNetwork>,
    #[serde(rename = "DCLocation")]
    pub(crate) dc_location: String,
    #[serde(rename = "ImageFamily")]
    pub(crate) image_family: String,
    #[serde(rename = "LinkedSshKeys")]
    pub(crate) linked_ssh_keys: Vec<SshKey>,
    #[serde(rename = "DateCreate")]
    pub(crate) date_create: String,
}

/// A server's link to a network (docs/1cloud-api.md §3.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LinkedNetwork {
    #[serde(rename = "LinkID")]
    pub(crate) link_id: u64,
    #[serde(rename = "NetworkID")]
    pub(crate) network_id: u64,
    #[serde(rename = "LinkState")]
    pub(crate) link_state: String,
    #[serde(rename = "NetworkType")]
    pub(crate) network_type: String,
    #[serde(rename = "NetworkName")]
    pub(crate) network_name: String,
    #[serde(rename = "IP")]
    pub(crate) ip: String,
    #[serde(rename = "MAC")]
    pub(crate) mac: String,
    #[serde(rename = "Mask")]
    pub(crate) mask: String,
    #[serde(rename = "Gateway")]
    pub(crate) gateway: String,
    #[serde(rename = "Bandwidth")]
    pub(crate) bandwidth: u32,
}

/// A server task (docs/1cloud-api.md §3.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Action {
    #[serde(rename = "ID")]
    pub(crate) id: u64,
    #[serde(rename = "Type")]
    pub(crate) kind: String,
    #[serde(rename = "State")]
    pub(crate) state: String,
    #[serde(rename = "StartDate")]
    pub(crate) start_date: String,
    #[serde(rename = "EndDate")]
    pub(crate) end_date: Option<String>,
}

/// A private network (docs/1cloud-api.md §3.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Network {
    #[serde(rename = "ID")]
    pub(crate) id: u64,
    #[serde(rename = "Name")]
    pub(crate) name: String,
    #[serde(rename = "State")]
    pub(crate) state: String,
    #[serde(rename = "IsDHCP")]
    pub(crate) is_dhcp: bool,
    #[serde(rename = "DCLocation")]
    pub(crate) dc_location: String,
    #[serde(rename = "NetworkCapacity")]
    pub(crate) capacity: String,
    #[serde(rename = "Type")]
    pub(crate) kind: String,
    #[serde(rename = "Mask")]
    pub(crate) mask: String,
    #[serde(rename = "Gateway")]
    pub(crate) gateway: String,
    #[serde(rename = "Bandwidth")]
    pub(crate) bandwidth: u32,
    #[serde(rename = "LinkedServers")]
    pub(crate) linked_servers: Vec<LinkedServer>,
}

/// A server attached to a private network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LinkedServer {
    #[serde(rename = "IP")]
    pub(crate) ip: String,
    #[serde(rename = "MAC")]
    pub(crate) mac: String,
    #[serde(rename = "ServerID")]
    pub(crate) server_id: u64,
}

/// An SSH public key (docs/1cloud-api.md §3.8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SshKey {
    #[serde(rename = "ID")]
    pub(crate) id: u64,
    #[serde(rename = "Title")]
    pub(crate) title: String,
    #[serde(rename = "PublicKey")]
    pub(crate) public_key: String,
    #[serde(rename = "IsActive")]
    pub(crate) is_active: bool,
}

/// A DNS domain with its records (docs/1cloud-api.md §3.9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Domain {
    #[serde(rename = "ID")]
    pub(crate) id: u64,
    #[serde(rename = "Name")]
    pub(crate) name: String,
    #[serde(rename = "TechName")]
    pub(crate) tech_name: String,
    #[serde(rename = "State")]
    pub(crate) state: String,
    #[serde(rename = "DateCreate")]
    pub(crate) date_create: String,
    #[serde(rename = "IsDelegate")]
    pub(crate) is_delegate: bool,
    #[serde(rename = "LinkedRecords")]
    pub(crate) linked_records: Vec<Record>,
}

/// A DNS record (docs/1cloud-api.md §3.9). Fields that do not apply to the record's type are null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    #[serde(rename = "ID")]
    pub(crate) id: u64,
    #[serde(rename = "TypeRecord")]
    pub(crate) kind: String,
    #[serde(rename = "IP")]
    pub(crate) ip: Option<String>,
    #[serde(rename = "HostName")]
    pub(crate) host_name: String,
    #[serde(rename = "Priority")]
    pub(crate) priority: Option<String>,
    #[serde(rename = "Text")]
    pub(crate) text: Option<String>,
    #[serde(rename = "MnemonicName")]
    pub(crate) mnemonic_name: Option<String>,
    #[serde(rename = "ExtHostName")]
    pub(crate) ext_host_name: Option<String>,
    #[serde(rename = "TTL")]
    pub(crate) ttl: u32,
    #[serde(rename = "State")]
    pub(crate) state: String,
    #[serde(rename = "DateCreate")]
    pub(crate) date_create: String,
    #[serde(rename = "CanonicalDescription")]
    pub(crate) canonical_description: String,
}

/// Object and task states used by the emulator.
pub(crate) mod state {
    pub(crate) const NEW: &str = "New";
    pub(crate) const ACTIVE: &str = "Active";
    pub(crate) const IN_PROGRESS: &str = "InProgress";
    pub(crate) const COMPLETED: &str = "Completed";
}
