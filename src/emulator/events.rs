//! The hook point for what happens to emulated servers: `sshd` backs each one with a real
//! OpenSSH daemon on its loopback IP from these events, and `node_exporter` serves each one's
//! `/metrics` the same way. Depends on nothing.

use std::fmt;
use std::net::Ipv4Addr;

/// What a server looks like to a backend that wants to impersonate it.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub id: u64,
    pub name: String,
    /// The server's public IP: a unique loopback address (127.1.0.10, 127.1.0.11, ...).
    pub ip: Ipv4Addr,
    pub user: String,
    /// The admin password (a secret; not shown by `Debug`).
    pub password: String,
    /// The public keys of the server's `LinkedSshKeys`.
    pub public_keys: Vec<String>,
    /// vCPUs, RAM (MB) and disk (GB), as declared: the emulated `node_exporter` reports them.
    pub cpu: u32,
    pub ram_mb: u32,
    pub disk_gb: u32,
    /// When the server was created, Unix seconds (0 when unknown).
    pub created: u64,
    /// The account's template a new (or rebuilt) server's disk starts from; `None` for a
    /// public image (a fresh disk).
    pub template: Option<u64>,
}

impl fmt::Debug for ServerInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerInfo")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("ip", &self.ip)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("public_keys", &self.public_keys.len())
            .field("cpu", &self.cpu)
            .field("ram_mb", &self.ram_mb)
            .field("disk_gb", &self.disk_gb)
            .field("created", &self.created)
            .field("template", &self.template)
            .finish()
    }
}

/// A change in a server's life, reported to [`ServerHooks`] after the change is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// The server became Active (after create or rebuild), or was Active when the emulator
    /// started from a state file (`restored`; a restored server that is powered off is then
    /// reported with `Power { on: false }`).
    Active { server: ServerInfo, restored: bool },
    /// The server was powered on or off (reboots report `on: true`).
    Power { id: u64, ip: Ipv4Addr, on: bool },
    /// A resize finished: the server as it is now (CPU, RAM, disk). A running server gets the
    /// new size at its next boot, as a real one does.
    Resized { server: ServerInfo },
    /// The server was deleted; its IP is never handed out again.
    Deleted { id: u64, ip: Option<Ipv4Addr> },
    /// A template `image` was made of server `id`: its disk is copied as it is now.
    Imaged { id: u64, image: u64 },
    /// Template `image` was deleted.
    ImageDeleted { image: u64 },
}

/// Receives [`ServerEvent`]s. Called outside the emulator's lock, from the request or tick
/// task that caused the change; keep it quick (spawn for slow work).
pub trait ServerHooks: Send + Sync {
    fn on_event(&self, event: &ServerEvent);
}
