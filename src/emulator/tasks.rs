//! Background work of the emulated cloud: what a task changes when it completes. Tasks are
//! persisted with their due time, so a restarted emulator finishes them on schedule. Depends on
//! `world`, `types`, `events`, `catalogue`.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::events::{ServerEvent, ServerInfo};
use super::images;
use super::types::{state, LinkedNetwork, LinkedServer};
use super::world::World;

/// Work due at a time. `seq` orders tasks due at the same millisecond.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Task {
    pub(crate) due_ms: u64,
    pub(crate) seq: u64,
    /// The server action that completes with this task, if any.
    pub(crate) action_id: Option<u64>,
    pub(crate) work: Work,
}

/// What a task does when it completes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub(crate) enum Work {
    Server {
        server_id: u64,
        change: ServerChange,
    },
    NetworkReady {
        network_id: u64,
    },
    DomainReady {
        domain_id: u64,
    },
    RecordReady {
        domain_id: u64,
        record_id: u64,
    },
}

/// A change to a server that takes effect when its action completes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change")]
pub(crate) enum ServerChange {
    Create {
        ssh_keys: Vec<u64>,
        /// The image it is made from (0 in state files written before it was kept).
        #[serde(default)]
        image_id: u64,
    },
    Resize {
        cpu: u32,
        ram: u32,
        hdd: u32,
        hdd_type: String,
        high: bool,
    },
    Power {
        on: bool,
    },
    AddNetwork {
        network_id: u64,
    },
    RemoveNetwork {
        network_id: u64,
    },
    Rebuild {
        image_id: u64,
    },
}

/// The shared public network every Active server is linked to (docs/1cloud-api.md §3.3).
const PUBLIC_NETWORK_ID: u64 = 274;
const PUBLIC_NETWORK_NAME: &str = "Общая публичная сеть";

impl Work {
    /// Applies the work. Objects deleted in the meantime are skipped.
    pub(crate) fn apply(self, world: &mut World) {
        match self {
            Work::Server { server_id, change } => apply_server(world, server_id, change),
            Work::NetworkReady { network_id } => {
                if let Some(network) = world.networks.get_mut(&network_id) {
                    state::ACTIVE.clone_into(&mut network.state);
                }
            }
            Work::DomainReady { domain_id } => {
                if let Some(domain) = world.domains.get_mut(&domain_id) {
                    state::ACTIVE.clone_into(&mut domain.state);
                }
            }
            Work::RecordReady {
                domain_id,
                record_id,
            } => {
                if let Some(record) = world
                    .domains
                    .get_mut(&domain_id)
                    .and_then(|d| d.linked_records.iter_mut().find(|r| r.id == record_id))
                {
                    state::ACTIVE.clone_into(&mut record.state);
                }
            }
        }
    }
}

fn apply_server(world: &mut World, server_id: u64, change: ServerChange) {
    if !world.servers.contains_key(&server_id) {
        return;
    }
    match change {
        ServerChange::Create { ssh_keys, image_id } => {
            let template = template(world, image_id);
            activate(world, server_id, Some(&ssh_keys), template);
        }
        ServerChange::Rebuild { image_id } => {
            let template = template(world, image_id);
            if let (Some(image), Some(server)) = (
                images::find(world, image_id),
                world.servers.get_mut(&server_id),
            ) {
                server.image = image.name;
                server.image_family = image.family;
            }
            activate(world, server_id, None, template);
        }
        ServerChange::Resize {
            cpu,
            ram,
            hdd,
            hdd_type,
            high,
        } => {
            if let Some(server) = world.servers.get_mut(&server_id) {
                server.cpu = cpu;
                server.ram = ram;
                server.hdd = hdd;
                server.hdd_type = hdd_type;
                server.is_high_performance = high;
            }
            let info = world.servers.get(&server_id).and_then(World::server_info);
            if let Some(server) = info {
                world.events.push(ServerEvent::Resized { server });
            }
        }
        ServerChange::Power { on } => {
            if let Some(server) = world.servers.get_mut(&server_id) {
                server.is_power_on = on;
                if let Ok(ip) = server.ip.parse() {
                    world.events.push(ServerEvent::Power {
                        id: server_id,
                        ip,
                        on,
                    });
                }
            }
        }
        ServerChange::AddNetwork { network_id } => add_network(world, server_id, network_id),
        ServerChange::RemoveNetwork { network_id } => {
            if let Some(server) = world.servers.get_mut(&server_id) {
                server
                    .linked_networks
                    .retain(|l| l.network_id != network_id);
            }
            if let Some(network) = world.networks.get_mut(&network_id) {
                network.linked_servers.retain(|l| l.server_id != server_id);
            }
        }
    }
}

/// Create or rebuild finished: the server is Active and powered on, with fresh credentials.
/// A server that has no public IP yet gets the next one from the pool.
/// `image_id`, if it is one of the account's templates.
fn template(world: &World, image_id: u64) -> Option<u64> {
    world.images.contains_key(&image_id).then_some(image_id)
}

/// The server becomes Active: a public IP (once), its keys (at create), a fresh admin
/// password; its disk starts from `template` when it was made from one.
fn activate(world: &mut World, server_id: u64, ssh_keys: Option<&[u64]>, template: Option<u64>) {
    let needs_ip = world
        .servers
        .get(&server_id)
        .is_some_and(|s| s.ip.is_empty());
    let public = if needs_ip {
        let Ok(ip) = world.new_public_ip() else {
            tracing::error!(server_id, "public IP pool exhausted; the server stays New");
            return;
        };
        let link_id = world.new_id();
        Some(LinkedNetwork {
            link_id,
            network_id: PUBLIC_NETWORK_ID,
            link_state: state::ACTIVE.to_owned(),
            network_type: "PublicShared".to_owned(),
            network_name: PUBLIC_NETWORK_NAME.to_owned(),
            ip: ip.to_string(),
            mac: mac(link_id),
            mask: "255.255.0.0".to_owned(),
            gateway: "127.1.0.1".to_owned(),
            bandwidth: 10,
        })
    } else {
        None
    };
    let keys: Option<Vec<_>> = ssh_keys.map(|ids| {
        ids.iter()
            .filter_map(|id| world.ssh_keys.get(id).cloned())
            .collect()
    });
    let Some(server) = world.servers.get_mut(&server_id) else {
        return;
    };
    if let Some(link) = public {
        server.ip.clone_from(&link.ip);
        server.primary_network_ip.clone_from(&link.ip);
        server.linked_networks.insert(0, link);
    }
    if let Some(keys) = keys {
        server.linked_ssh_keys = keys;
    }
    state::ACTIVE.clone_into(&mut server.state);
    server.is_power_on = true;
    server.admin_user_name = Some("root".to_owned());
    server.admin_password = Some(World::new_password());
    server.host_name = Some(format!("vm{server_id}"));
    let info = world.servers.get(&server_id).and_then(World::server_info);
    if let Some(server) = info.map(|info| ServerInfo { template, ..info }) {
        world.events.push(ServerEvent::Active {
            server,
            restored: false,
        });
    }
}

fn add_network(world: &mut World, server_id: u64, network_id: u64) {
    let Some(network) = world.networks.get(&network_id) else {
        return;
    };
    let base = private_base(network_id);
    let used: Vec<&str> = network
        .linked_servers
        .iter()
        .map(|l| l.ip.as_str())
        .collect();
    let Some(ip) = (2..=254u8)
        .map(|host| Ipv4Addr::new(base[0], base[1], base[2], host).to_string())
        .find(|ip| !used.contains(&ip.as_str()))
    else {
        tracing::error!(network_id, "private network is full");
        return;
    };
    let (name, mask, gateway, bandwidth) = (
        network.name.clone(),
        network.mask.clone(),
        network.gateway.clone(),
        network.bandwidth,
    );
    let link_id = world.new_id();
    let mac = mac(link_id);
    if let Some(network) = world.networks.get_mut(&network_id) {
        network.linked_servers.push(LinkedServer {
            ip: ip.clone(),
            mac: mac.clone(),
            server_id,
        });
    }
    if let Some(server) = world.servers.get_mut(&server_id) {
        server.linked_networks.push(LinkedNetwork {
            link_id,
            network_id,
            link_state: state::ACTIVE.to_owned(),
            network_type: "Private".to_owned(),
            network_name: name,
            ip,
            mac,
            mask,
            gateway,
            bandwidth,
        });
    }
}

/// The /24 of a private network: 10.x.y.0, derived from its ID.
pub(crate) fn private_base(network_id: u64) -> [u8; 3] {
    [10, (network_id >> 8) as u8, network_id as u8]
}

/// A VMware-style MAC derived from a link ID.
fn mac(link_id: u64) -> String {
    let b = link_id.to_be_bytes();
    format!("00:50:56:{:02x}:{:02x}:{:02x}", b[5], b[6], b[7])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_subnets_derive_from_ids() {
        assert_eq!(mac(0x0102_0304), "00:50:56:02:03:04");
        assert_eq!(private_base(10_001), [10, 39, 17]);
    }

    #[test]
    fn tasks_round_trip_through_json() {
        let task = Task {
            due_ms: 5,
            seq: 7,
            action_id: Some(7),
            work: Work::Server {
                server_id: 3,
                change: ServerChange::Resize {
                    cpu: 2,
                    ram: 2048,
                    hdd: 40,
                    hdd_type: "SSD".to_owned(),
                    high: true,
                },
            },
        };
        let json = serde_json::to_string(&task).expect("serializes");
        assert_eq!(serde_json::from_str::<Task>(&json).expect("parses"), task);
    }
}
