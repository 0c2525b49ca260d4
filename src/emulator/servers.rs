//! Server routes (docs/1cloud-api.md §2.1, §2.2): list, get, create, resize, delete, actions and
//! rebuild. Requests are validated against `model::limits` and the catalogue; changes take effect
//! when their action completes (see `tasks`). Depends on `world`, `input`, `catalogue`,
//! `model::limits`.

use crate::model::limits;

use super::catalogue::{self, Dc};
use super::clock;
use super::events::ServerEvent;
use super::images;
use super::input::Input;
use super::reply::{ApiError, ApiResult, Reply};
use super::tasks::{ServerChange, Work};
use super::types::{state, Server};
use super::world::{When, World};

pub(crate) fn list(world: &World) -> ApiResult {
    Reply::json(&world.servers.values().collect::<Vec<_>>())
}

pub(crate) fn get(world: &World, id: u64) -> ApiResult {
    Reply::json(world.server(id)?)
}

pub(crate) fn create(world: &mut World, input: &Input, when: When) -> ApiResult {
    let name = input.required_string("Name")?;
    let cpu = input.required_u32("CPU")?;
    let ram = input.required_u32("RAM")?;
    let hdd = input.required_u32("HDD")?;
    let image_id = input.required_u64("ImageID")?;
    let image = images::find(world, image_id).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Image {image_id} not found; GET /image lists the images."
        ))
    })?;
    let hdd_type = hdd_type(input.string("HDDType")?.as_deref().unwrap_or("SAS"))?;
    let high = input.bool("isHighPerformance")?.unwrap_or(false);
    // Unknown or missing data centres fall back to the default one, as the real API does.
    let dc = input
        .string("DCLocation")?
        .and_then(|name| catalogue::find_dc(&name))
        .or_else(|| catalogue::find_dc(limits::DEFAULT_DC))
        .ok_or_else(|| ApiError::internal("The default data centre is missing."))?;
    check_pool(dc, high)?;
    check_size(cpu, ram, hdd, image.is_windows())?;
    check_template_disk(&image, hdd)?;
    check_backup(input)?;
    let ssh_keys = input.id_list("SshKeys")?;
    if let Some(missing) = ssh_keys.iter().find(|id| !world.ssh_keys.contains_key(id)) {
        return Err(ApiError::bad_request(format!(
            "SSH key {missing} not found."
        )));
    }
    let id = world.new_id();
    let server = Server {
        id,
        name,
        host_name: None,
        state: state::NEW.to_owned(),
        is_power_on: false,
        cpu,
        ram,
        hdd,
        ip: String::new(),
        admin_user_name: None,
        admin_password: None,
        image: image.name.clone(),
        is_high_performance: high,
        hdd_type,
        primary_network_ip: String::new(),
        linked_networks: Vec::new(),
        dc_location: dc.tech_title.to_owned(),
        image_family: image.family.clone(),
        linked_ssh_keys: Vec::new(),
        date_create: clock::server_date(when.now),
    };
    let reply = Reply::json(&server);
    world.servers.insert(id, server);
    let work = Work::Server {
        server_id: id,
        change: ServerChange::Create { ssh_keys, image_id },
    };
    world.start_action(id, "Create", work, when);
    reply
}

pub(crate) fn resize(world: &mut World, id: u64, input: &Input, when: When) -> ApiResult {
    let server = ready(world, id)?;
    let cpu = input.u32("CPU")?.unwrap_or(server.cpu);
    let ram = input.u32("RAM")?.unwrap_or(server.ram);
    let hdd = input.u32("HDD")?.unwrap_or(server.hdd);
    let hdd_type = match input.string("HDDType")? {
        Some(t) => hdd_type(&t)?,
        None => server.hdd_type.clone(),
    };
    let high = input
        .bool("isHighPerformance")?
        .unwrap_or(server.is_high_performance);
    if hdd < server.hdd {
        return Err(ApiError::bad_request(format!(
            "HDD cannot be reduced: server {id} has {} GB and the request asks for {hdd} GB. \
             Disks can only grow.",
            server.hdd
        )));
    }
    let dc = catalogue::find_dc(&server.dc_location)
        .ok_or_else(|| ApiError::internal("The server's data centre is unknown."))?;
    check_pool(dc, high)?;
    check_size(cpu, ram, hdd, server.image_family == "Windows")?;
    let change = ServerChange::Resize {
        cpu,
        ram,
        hdd,
        hdd_type,
        high,
    };
    let work = Work::Server {
        server_id: id,
        change,
    };
    Reply::json(&world.start_action(id, "Resize", work, when))
}

pub(crate) fn delete(world: &mut World, id: u64) -> ApiResult {
    let server = world
        .servers
        .remove(&id)
        .ok_or_else(super::world::server_not_found)?;
    world.actions.remove(&id);
    world
        .tasks
        .retain(|task| !matches!(task.work, Work::Server { server_id, .. } if server_id == id));
    for network in world.networks.values_mut() {
        network.linked_servers.retain(|link| link.server_id != id);
    }
    world.events.push(ServerEvent::Deleted {
        id,
        ip: server.ip.parse().ok(),
    });
    Ok(Reply::Empty)
}

pub(crate) fn actions(world: &World, id: u64) -> ApiResult {
    world.server(id)?;
    Reply::json(world.actions.get(&id).map_or(&[][..], Vec::as_slice))
}

pub(crate) fn action(world: &World, id: u64, action_id: u64) -> ApiResult {
    world.server(id)?;
    let action = world
        .actions
        .get(&id)
        .and_then(|list| list.iter().find(|a| a.id == action_id))
        .ok_or_else(|| ApiError::not_found("Action not found"))?;
    Reply::json(action)
}

/// The power and network actions of docs/1cloud-api.md §2.2.
pub(crate) fn start(world: &mut World, id: u64, input: &Input, when: When) -> ApiResult {
    let server = ready(world, id)?;
    let requested = input.required_string("Type")?;
    let (kind, change) = match requested.trim().to_ascii_lowercase().as_str() {
        "poweron" => ("PowerOn", ServerChange::Power { on: true }),
        "poweroff" => ("PowerOff", ServerChange::Power { on: false }),
        "shutdownguestos" => ("ShutDownGuestOS", ServerChange::Power { on: false }),
        "powerreboot" => ("PowerReboot", ServerChange::Power { on: true }),
        "rebootguestos" => ("RebootGuestOS", ServerChange::Power { on: true }),
        "addnetwork" | "removenetwork" => {
            let network_id = input.required_u64("NetworkID")?;
            let network = world
                .network(network_id)
                .map_err(|_| ApiError::bad_request(format!("Network {network_id} not found.")))?;
            let linked = server
                .linked_networks
                .iter()
                .any(|l| l.network_id == network_id);
            if requested.eq_ignore_ascii_case("addnetwork") {
                if linked {
                    return Err(ApiError::bad_request(format!(
                        "Server {id} is already linked to network {network_id}."
                    )));
                }
                if network.state != state::ACTIVE {
                    return Err(ApiError::bad_request(format!(
                        "Network {network_id} is not Active yet (State {}).",
                        network.state
                    )));
                }
                if network.dc_location != server.dc_location {
                    return Err(ApiError::bad_request(format!(
                        "Network {network_id} is in {} and server {id} in {}.",
                        network.dc_location, server.dc_location
                    )));
                }
                ("AddNetwork", ServerChange::AddNetwork { network_id })
            } else {
                if !linked {
                    return Err(ApiError::bad_request(format!(
                        "Server {id} is not linked to network {network_id}."
                    )));
                }
                ("RemoveNetwork", ServerChange::RemoveNetwork { network_id })
            }
        }
        _ => {
            return Err(ApiError::bad_request(format!(
                "Unknown action Type '{requested}'; expected one of PowerOn, PowerOff, \
                 ShutDownGuestOS, PowerReboot, RebootGuestOS, AddNetwork, RemoveNetwork."
            )))
        }
    };
    let work = Work::Server {
        server_id: id,
        change,
    };
    Reply::json(&world.start_action(id, kind, work, when))
}

pub(crate) fn rebuild(world: &mut World, id: u64, input: &Input, when: When) -> ApiResult {
    let server = ready(world, id)?;
    let image_id = input.required_u64("ImageId")?;
    let image = images::find(world, image_id)
        .ok_or_else(|| ApiError::bad_request(format!("Image {image_id} not found.")))?;
    check_size(server.cpu, server.ram, server.hdd, image.is_windows())?;
    check_template_disk(&image, server.hdd)?;
    let work = Work::Server {
        server_id: id,
        change: ServerChange::Rebuild { image_id },
    };
    world.start_action(id, "Rebuild", work, when);
    let server = world.server_mut(id)?;
    state::NEW.clone_into(&mut server.state);
    let was_on = std::mem::replace(&mut server.is_power_on, false);
    let reply = Reply::json(&*server);
    // The machine goes down while its disk is reinstalled (Active brings it back, fresh).
    if let (true, Ok(ip)) = (was_on, server.ip.parse()) {
        world.events.push(ServerEvent::Power { id, ip, on: false });
    }
    reply
}

/// A server made from a template needs at least the template's disk.
fn check_template_disk(image: &images::Found, hdd: u32) -> Result<(), ApiError> {
    if image.template && hdd < image.hdd {
        return Err(ApiError::bad_request(format!(
            "HDD must be at least {} GB for image {}, got {hdd} GB.",
            image.hdd, image.name
        )));
    }
    Ok(())
}

/// The server, if it exists, is Active and has no task running.
fn ready(world: &World, id: u64) -> Result<&Server, ApiError> {
    let server = world.server(id)?;
    if world.server_busy(id) {
        return Err(ApiError::bad_request(format!(
            "Server {id} has a task in progress; wait until it completes."
        )));
    }
    if server.state != state::ACTIVE {
        return Err(ApiError::bad_request(format!(
            "Server {id} is not Active (State {}).",
            server.state
        )));
    }
    Ok(server)
}

fn hdd_type(requested: &str) -> Result<String, ApiError> {
    limits::DISK_TYPES
        .iter()
        .find(|t| t.eq_ignore_ascii_case(requested.trim()))
        .map(|t| (*t).to_owned())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "HDDType must be one of {}, got '{requested}'.",
                limits::DISK_TYPES.join(", ")
            ))
        })
}

fn check_pool(dc: &Dc, high: bool) -> Result<(), ApiError> {
    let (allowed, pool) = if high {
        (dc.is_enable_high_pool, "high-performance")
    } else {
        (dc.is_enable_low_pool, "base")
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Data centre {} has no {pool} pool; set isHighPerformance to {}.",
            dc.tech_title, !high
        )))
    }
}

fn check_size(cpu: u32, ram: u32, hdd: u32, windows: bool) -> Result<(), ApiError> {
    let problems = limits::check_server(cpu, ram, hdd, windows);
    if problems.is_empty() {
        return Ok(());
    }
    let messages: Vec<String> = problems.into_iter().map(|(_, message)| message).collect();
    let family = if windows { " (Windows image)" } else { "" };
    Err(ApiError::bad_request(format!(
        "Invalid server size{family}: {}.",
        messages.join("; ")
    )))
}

fn check_backup(input: &Input) -> Result<(), ApiError> {
    let active = input.bool("isBackupActive")?.unwrap_or(false);
    let period = input.u32("BackupPeriod")?;
    match period {
        Some(days) if limits::BACKUP_PERIODS_DAYS.contains(&days) => Ok(()),
        None | Some(0) if !active => Ok(()),
        _ => Err(ApiError::bad_request(format!(
            "BackupPeriod must be one of {:?} days when backups are active, got {}.",
            limits::BACKUP_PERIODS_DAYS,
            period.map_or_else(|| "nothing".to_owned(), |d| d.to_string())
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::{json, Value};

    use super::*;

    #[test]
    fn thousands_of_servers_activate_and_list_in_one_pass() {
        // Enough to cross many /24 blocks of addresses; the 10,000-server figures are
        // scripts/bench-reconcile.sh's.
        const N: usize = 3_000;
        let mut world = World::default();
        let input = Input::from_json(json!({
            "Name": "n", "CPU": 1, "RAM": 512, "HDD": 10, "ImageID": 3492
        }))
        .expect("object");
        let when = When { now: 0, due: 5 };
        for _ in 0..N {
            create(&mut world, &input, when).expect("created");
        }
        assert!(!world.advance(4), "nothing is due before its time");
        assert!(world.advance(5));
        let Ok(Reply::Json(bytes)) = list(&world) else {
            panic!("list failed")
        };
        let servers: Vec<Value> = serde_json::from_slice(&bytes).expect("JSON array");
        assert_eq!(servers.len(), N);
        assert!(servers.iter().all(|s| s["State"] == "Active"));
        let ips: HashSet<&str> = servers.iter().filter_map(|s| s["IP"].as_str()).collect();
        assert_eq!(ips.len(), N, "every IP is unique");
        assert_eq!(world.events.len(), N, "one Active event per server");
    }
}
