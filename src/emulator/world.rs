//! Everything the emulated account holds, in one serializable value: servers, their action
//! history, networks, keys, DNS, pending tasks and the ID and IP counters. The state file is
//! this value as JSON. Handlers mutate it under one lock; tasks complete lazily through
//! [`World::advance`]. Depends on `types`, `tasks`, `events`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

use super::catalogue::Image;
use super::clock;
use super::events::{ServerEvent, ServerInfo};
use super::reply::ApiError;
use super::tasks::{Task, Work};
use super::types::{state, Action, Domain, Network, Server, SshKey};

/// The first address of the public IP pool; server `n` gets this plus `n`.
const IP_POOL_START: Ipv4Addr = Ipv4Addr::new(127, 1, 0, 10);
/// The last address of the pool (the end of 127.0.0.0/8).
const IP_POOL_END: Ipv4Addr = Ipv4Addr::new(127, 255, 255, 254);

/// The first server IP of an emulated account whose file is `state_file`: a loopback block
/// chosen from the path (127.2.0.10 to 127.251.199.10), so that two projects' emulators on one
/// machine give their servers (and their sshds) different addresses. Higher blocks are left
/// for emulators given an address of their own.
pub fn ip_base_for(state_file: &std::path::Path) -> Ipv4Addr {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::hash::DefaultHasher::new();
    state_file.hash(&mut hasher);
    let h = hasher.finish();
    let a = 2 + (h % 250) as u8;
    let b = ((h >> 16) % 200) as u8;
    Ipv4Addr::new(127, a, b, 10)
}
/// IDs start here, shared by every kind of object, so an ID of the wrong kind is a 404.
const FIRST_ID: u64 = 10_000;
/// The state file format; bumped on incompatible changes.
pub(crate) const FORMAT: u32 = 1;

/// The time of a request and when the work it starts is due.
#[derive(Debug, Clone, Copy)]
pub(crate) struct When {
    pub(crate) now: u64,
    pub(crate) due: u64,
}

/// The emulated account.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct World {
    pub(crate) format: u32,
    pub(crate) next_id: u64,
    /// How many public IPs were handed out so far (never reused).
    pub(crate) ips_used: u32,
    /// First address of the public pool (default 127.1.0.10). Emulators for different projects
    /// get different pools, so their servers' sshds do not collide on one machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ip_base: Option<Ipv4Addr>,
    pub(crate) servers: BTreeMap<u64, Server>,
    /// Per server, newest first.
    pub(crate) actions: BTreeMap<u64, Vec<Action>>,
    pub(crate) networks: BTreeMap<u64, Network>,
    pub(crate) ssh_keys: BTreeMap<u64, SshKey>,
    pub(crate) domains: BTreeMap<u64, Domain>,
    /// The account's own images (templates), by ID.
    #[serde(default)]
    pub(crate) images: BTreeMap<u64, Image>,
    /// Work that finishes at a due time, in no particular order.
    pub(crate) tasks: Vec<Task>,
    /// Events not yet handed to the hooks.
    #[serde(skip)]
    pub(crate) events: Vec<ServerEvent>,
}

impl Default for World {
    fn default() -> World {
        World {
            format: FORMAT,
            next_id: FIRST_ID,
            ips_used: 0,
            ip_base: None,
            servers: BTreeMap::new(),
            actions: BTreeMap::new(),
            networks: BTreeMap::new(),
            ssh_keys: BTreeMap::new(),
            domains: BTreeMap::new(),
            images: BTreeMap::new(),
            tasks: Vec::new(),
            events: Vec::new(),
        }
    }
}

impl World {
    /// A fresh ID, unique across every kind of object.
    pub(crate) fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The next unused public IP from the loopback pool.
    pub(crate) fn new_public_ip(&mut self) -> Result<Ipv4Addr, ApiError> {
        let ip = u32::from(self.ip_base.unwrap_or(IP_POOL_START))
            .checked_add(self.ips_used)
            .filter(|ip| *ip <= u32::from(IP_POOL_END))
            .ok_or_else(|| ApiError::internal("The emulator's public IP pool is exhausted."))?;
        self.ips_used += 1;
        Ok(Ipv4Addr::from(ip))
    }

    pub(crate) fn server(&self, id: u64) -> Result<&Server, ApiError> {
        self.servers.get(&id).ok_or_else(server_not_found)
    }

    pub(crate) fn server_mut(&mut self, id: u64) -> Result<&mut Server, ApiError> {
        self.servers.get_mut(&id).ok_or_else(server_not_found)
    }

    pub(crate) fn network(&self, id: u64) -> Result<&Network, ApiError> {
        self.networks
            .get(&id)
            .ok_or_else(|| ApiError::not_found("Network not found"))
    }

    /// Whether a task for this server is still running.
    pub(crate) fn server_busy(&self, server_id: u64) -> bool {
        self.tasks
            .iter()
            .any(|task| matches!(task.work, Work::Server { server_id: id, .. } if id == server_id))
    }

    /// Starts a server action: records it `InProgress` (newest first) and schedules its work.
    pub(crate) fn start_action(
        &mut self,
        server_id: u64,
        kind: &str,
        work: Work,
        when: When,
    ) -> Action {
        let action = Action {
            id: self.new_id(),
            kind: kind.to_owned(),
            state: state::IN_PROGRESS.to_owned(),
            start_date: clock::server_date(when.now),
            end_date: None,
        };
        self.actions
            .entry(server_id)
            .or_default()
            .insert(0, action.clone());
        self.tasks.push(Task {
            due_ms: when.due,
            seq: action.id,
            action_id: Some(action.id),
            work,
        });
        action
    }

    /// Schedules work that has no action of its own (networks, DNS).
    pub(crate) fn schedule(&mut self, seq: u64, work: Work, due: u64) {
        self.tasks.push(Task {
            due_ms: due,
            seq,
            action_id: None,
            work,
        });
    }

    /// Completes every task due at `now`, oldest first. Returns whether anything changed.
    pub(crate) fn advance(&mut self, now: u64) -> bool {
        if !self.tasks.iter().any(|task| task.due_ms <= now) {
            return false;
        }
        let (mut due, pending): (Vec<Task>, Vec<Task>) = std::mem::take(&mut self.tasks)
            .into_iter()
            .partition(|t| t.due_ms <= now);
        self.tasks = pending;
        due.sort_by_key(|task| (task.due_ms, task.seq));
        for task in due {
            self.complete(task, now);
        }
        true
    }

    fn complete(&mut self, task: Task, now: u64) {
        if let Some(action_id) = task.action_id {
            if let Work::Server { server_id, .. } = task.work {
                if let Some(action) = self
                    .actions
                    .get_mut(&server_id)
                    .and_then(|list| list.iter_mut().find(|a| a.id == action_id))
                {
                    state::COMPLETED.clone_into(&mut action.state);
                    action.end_date = Some(clock::server_date(now));
                }
            }
        }
        task.work.apply(self);
    }

    /// A fresh 8-character admin password.
    pub(crate) fn new_password() -> String {
        Alphanumeric.sample_string(&mut rand::rng(), 8)
    }

    /// What a hook needs to impersonate an Active server.
    pub(crate) fn server_info(server: &Server) -> Option<ServerInfo> {
        let ip = server.ip.parse().ok()?;
        Some(ServerInfo {
            id: server.id,
            name: server.name.clone(),
            ip,
            user: server.admin_user_name.clone().unwrap_or_default(),
            password: server.admin_password.clone().unwrap_or_default(),
            public_keys: server
                .linked_ssh_keys
                .iter()
                .map(|key| key.public_key.clone())
                .collect(),
            cpu: server.cpu,
            ram_mb: server.ram,
            disk_gb: server.hdd,
            created: super::clock::parse_server_date(&server.date_create).map_or(0, |ms| ms / 1000),
            template: None,
        })
    }

    /// Reports every Active server as restored (after loading a state file), each powered-off
    /// one followed by its `Power { on: false }`.
    pub(crate) fn announce_restored(&mut self) {
        let infos: Vec<(ServerInfo, bool)> = self
            .servers
            .values()
            .filter(|s| s.state == state::ACTIVE)
            .filter_map(|s| World::server_info(s).map(|info| (info, s.is_power_on)))
            .collect();
        for (server, on) in infos {
            let (id, ip) = (server.id, server.ip);
            self.events.push(ServerEvent::Active {
                server,
                restored: true,
            });
            if !on {
                self.events.push(ServerEvent::Power { id, ip, on: false });
            }
        }
    }
}

pub(crate) fn server_not_found() -> ApiError {
    ApiError::not_found("Server not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_ips_are_unique_and_ordered() {
        let mut world = World::default();
        let a = world.new_id();
        let b = world.new_id();
        assert!(b > a);
        let ips: Vec<_> = (0..3).map(|_| world.new_public_ip().expect("ip")).collect();
        assert_eq!(
            ips,
            [
                Ipv4Addr::new(127, 1, 0, 10),
                Ipv4Addr::new(127, 1, 0, 11),
                Ipv4Addr::new(127, 1, 0, 12)
            ]
        );
        world.ips_used = 246;
        assert_eq!(
            world.new_public_ip().expect("ip"),
            Ipv4Addr::new(127, 1, 1, 0)
        );
        world.ips_used = u32::from(IP_POOL_END) - u32::from(IP_POOL_START) + 1;
        assert_eq!(world.new_public_ip().expect_err("exhausted").status, 500);
    }

    #[test]
    fn passwords_are_eight_alphanumerics() {
        let password = World::new_password();
        assert_eq!(password.len(), 8);
        assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
