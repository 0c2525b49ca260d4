//! Private networks (docs/1cloud-api.md §2.5) and SSH keys (§2.4). A network is New until its task
//! completes. Depends on `world`, `input`, `catalogue`, `model::limits`.

use std::net::Ipv4Addr;

use crate::model::limits;

use super::catalogue;
use super::input::Input;
use super::reply::{ApiError, ApiResult, Reply};
use super::tasks::{private_base, Work};
use super::types::{state, Network, SshKey};
use super::world::{When, World};

pub(crate) fn list(world: &World) -> ApiResult {
    Reply::json(&world.networks.values().collect::<Vec<_>>())
}

pub(crate) fn get(world: &World, id: u64) -> ApiResult {
    Reply::json(world.network(id)?)
}

pub(crate) fn create(world: &mut World, input: &Input, when: When) -> ApiResult {
    let name = input.required_string("Name")?;
    let is_dhcp = input.bool("IsDHCP")?.unwrap_or(false);
    let dc = input
        .string("DCLocation")?
        .and_then(|name| catalogue::find_dc(&name))
        .or_else(|| catalogue::find_dc(limits::DEFAULT_DC))
        .ok_or_else(|| ApiError::internal("The default data centre is missing."))?;
    let id = world.new_id();
    let base = private_base(id);
    let network = Network {
        id,
        name,
        state: state::NEW.to_owned(),
        is_dhcp,
        dc_location: dc.tech_title.to_owned(),
        capacity: "256".to_owned(),
        kind: "Private".to_owned(),
        mask: "255.255.255.0".to_owned(),
        gateway: Ipv4Addr::new(base[0], base[1], base[2], 1).to_string(),
        bandwidth: 100,
        linked_servers: Vec::new(),
    };
    let reply = Reply::json(&network);
    world.networks.insert(id, network);
    world.schedule(id, Work::NetworkReady { network_id: id }, when.due);
    reply
}

pub(crate) fn rename(world: &mut World, id: u64, input: &Input) -> ApiResult {
    let name = input.required_string("Name")?;
    world.network(id)?;
    let mut renamed = None;
    if let Some(network) = world.networks.get_mut(&id) {
        network.name.clone_from(&name);
        renamed = Some(Reply::json(&*network));
    }
    for server in world.servers.values_mut() {
        for link in &mut server.linked_networks {
            if link.network_id == id {
                link.network_name.clone_from(&name);
            }
        }
    }
    renamed.unwrap_or_else(|| Err(ApiError::not_found("Network not found")))
}

pub(crate) fn delete(world: &mut World, id: u64) -> ApiResult {
    let network = world.network(id)?;
    if !network.linked_servers.is_empty() {
        let ids: Vec<String> = network
            .linked_servers
            .iter()
            .map(|l| l.server_id.to_string())
            .collect();
        return Err(ApiError::bad_request(format!(
            "Network {id} still has linked servers ({}); remove them first.",
            ids.join(", ")
        )));
    }
    world.networks.remove(&id);
    world
        .tasks
        .retain(|task| task.work != Work::NetworkReady { network_id: id });
    Ok(Reply::Empty)
}

pub(crate) fn list_keys(world: &World) -> ApiResult {
    Reply::json(&world.ssh_keys.values().collect::<Vec<_>>())
}

pub(crate) fn get_key(world: &World, id: u64) -> ApiResult {
    Reply::json(
        world
            .ssh_keys
            .get(&id)
            .ok_or_else(|| ApiError::not_found("SSH key not found"))?,
    )
}

pub(crate) fn create_key(world: &mut World, input: &Input) -> ApiResult {
    let title = input.required_string("Title")?;
    let public_key = input.required_string("PublicKey")?.trim().to_owned();
    if public_key.split_whitespace().count() < 2 {
        return Err(ApiError::bad_request(
            "PublicKey must be an OpenSSH public key such as 'ssh-ed25519 AAAA... comment'.",
        ));
    }
    let key = SshKey {
        id: world.new_id(),
        title,
        public_key,
        is_active: true,
    };
    let reply = Reply::json(&key);
    world.ssh_keys.insert(key.id, key);
    reply
}

pub(crate) fn delete_key(world: &mut World, id: u64) -> ApiResult {
    world
        .ssh_keys
        .remove(&id)
        .ok_or_else(|| ApiError::not_found("SSH key not found"))?;
    Ok(Reply::Empty)
}
