//! The fleet and its keys: the fleet of declared servers with the addresses the
//! cloud gave them, the SSH identity to log in with, and host keys pinned in the state and in a
//! `known_hosts` file ict maintains for Ansible (DESIGN decision 7).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Error;
use crate::model::{Desired, Placeholder};
use crate::provider::Observed;
use crate::ssh::{self, Auth, KnownHosts, PinnedKeys, PublicKey, Target};
use crate::state::Kind;
use crate::state::{Address, HostKey, State, StateDir, Store};

/// One declared server and where to reach it.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub address: Address,
    pub id: Option<u64>,
    /// Public IP, once the server exists.
    pub ip: Option<String>,
    /// Private IPs by network name.
    pub private_ips: Vec<(String, String)>,
    pub user: String,
    pub power_on: bool,
    /// ict owns it, but the cloud no longer shows it.
    pub deleted: bool,
    /// It has network interfaces: an address may still come (libvirt: DHCP after boot).
    pub interfaces: bool,
}

impl Host {
    /// Why the server cannot be reached at all, if it cannot: not created yet, or deleted
    /// outside ict.
    pub fn absence(&self) -> Option<&'static str> {
        if self.id.is_some() {
            None
        } else if self.deleted {
            Some("deleted outside ict (run `ict apply` to create it again)")
        } else {
            Some("not created yet (run `ict apply`)")
        }
    }

    /// Why the server has no address to reach: [`Host::absence`], or no address yet.
    pub fn no_address(&self) -> &'static str {
        match self.absence() {
            Some(why) => why,
            None if !self.interfaces && self.ip.is_none() => {
                "has no network interface (on libvirt: declare its `networks`, or the provider's `network`)"
            }
            None => "has no public IP yet",
        }
    }

    /// Whether an address may still come: it exists, runs, has an interface and no address.
    pub fn awaits_address(&self) -> bool {
        self.absence().is_none() && self.power_on && self.ip.is_none() && self.interfaces
    }

    pub fn target(&self) -> Option<Target> {
        self.ip
            .as_ref()
            .map(|ip| Target::new(self.name.clone(), ip.clone(), 22, self.user.clone()))
    }
}

/// The declared servers, in declaration order, with what the cloud reports about them.
pub fn fleet(desired: &Desired, state: &State, observed: &Observed) -> Vec<Host> {
    let by_id: std::collections::HashMap<u64, &crate::provider::ObservedServer> =
        observed.servers.iter().map(|s| (s.id.0, s)).collect();
    desired
        .servers
        .values()
        .map(|server| {
            let address = Address::new(Kind::Server, &server.name)
                .unwrap_or_else(|_| unreachable!("server names are valid addresses"));
            let id = state.resource(&address).map(|r| r.id);
            let found = id.and_then(|id| by_id.get(&id).copied());
            let private_ips = found
                .map(|s| {
                    s.private_links()
                        .filter_map(|l| {
                            let net = state
                                .find_by_id(Kind::Network, l.network_id.0)
                                .map(|(a, _)| a.name().to_owned())?;
                            Some((net, l.ip.clone()?))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Host {
                name: server.name.clone(),
                address,
                id: found.map(|s| s.id.0),
                ip: found.and_then(|s| s.ip.clone()),
                private_ips,
                user: server.user.clone(),
                power_on: found.is_some_and(|s| s.power_on),
                deleted: id.is_some() && found.is_none(),
                interfaces: found.is_some_and(|s| !s.links.is_empty()),
            }
        })
        .collect()
}

/// Resolves placeholders (`server.web-1.ip`, `server.db-1.private_ip`, `server.x.id`) from the fleet.
pub fn resolver(fleet: &[Host]) -> impl Fn(&Placeholder) -> Option<String> + '_ {
    move |p: &Placeholder| {
        let host = fleet
            .iter()
            .find(|h| p.kind == "server" && h.name == p.name)?;
        match p.attr.as_str() {
            "ip" => host.ip.clone(),
            "private_ip" => host.private_ips.first().map(|(_, ip)| ip.clone()),
            "id" => host.id.map(|id| id.to_string()),
            _ => None,
        }
    }
}

/// The private key file to log in with: `--identity`, else `ICT_SSH_KEY`, else the private half
/// of a declared `public_key_file` (`keys/deploy.pub` → `keys/deploy`), else `~/.ssh/id_ed25519`,
/// `id_ecdsa` or `id_rsa` — unless an ssh agent is running, which is used before the home keys.
pub fn identity_file(identity: Option<&Path>, desired: &Desired, script: &Path) -> Option<PathBuf> {
    explicit_identity(identity)
        .or_else(|| declared_identity(desired, script))
        .or_else(home_identity)
}

/// `--identity`, else `ICT_SSH_KEY`.
fn explicit_identity(identity: Option<&Path>) -> Option<PathBuf> {
    identity
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("ICT_SSH_KEY").map(PathBuf::from))
}

/// The private half of a `public_key_file` the script declares, if it sits next to it.
fn declared_identity(desired: &Desired, script: &Path) -> Option<PathBuf> {
    let dir = script.parent().unwrap_or(Path::new(""));
    desired
        .ssh_keys
        .values()
        .filter_map(|key| key.public_key_file.as_deref()?.strip_suffix(".pub"))
        .map(|stem| dir.join(stem))
        .find(|private| private.is_file())
}

/// `~/.ssh/id_ed25519`, `id_ecdsa` or `id_rsa`, unless an ssh agent runs (it comes first).
fn home_identity() -> Option<PathBuf> {
    if std::env::var_os("SSH_AUTH_SOCK").is_some() {
        return None;
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|n| home.join(".ssh").join(n))
        .find(|p| p.is_file())
}

/// How to authenticate: the identity file above, or the ssh agent.
pub fn auth(identity: Option<&Path>, desired: &Desired, script: &Path) -> Result<Auth, Error> {
    auth_from(identity_file(identity, desired, script))
}

/// How to authenticate when no script is involved (`ict exec --hosts`): `--identity`, else
/// `ICT_SSH_KEY`, else the ssh agent, else the home keys.
pub fn auth_without_script(identity: Option<&Path>) -> Result<Auth, Error> {
    auth_from(explicit_identity(identity).or_else(home_identity))
}

fn auth_from(file: Option<PathBuf>) -> Result<Auth, Error> {
    if let Some(path) = file {
        return Ok(Auth::key_file(&path)?);
    }
    if std::env::var_os("SSH_AUTH_SOCK").is_some() {
        return Ok(Auth::agent()?);
    }
    Err(Error::NoSshKey)
}

/// Host keys pinned in the state, keyed as `ssh` expects (`ip` for port 22).
pub fn pins(state: &State, fleet: &[Host]) -> Arc<PinnedKeys> {
    let pins = fleet.iter().filter_map(|h| {
        let key = state.host_key(&h.address)?;
        let public = PublicKey::from_openssh(&format!("{} {}", key.algorithm, key.key)).ok()?;
        Some((h.target()?.known_hosts_name(), public))
    });
    Arc::new(PinnedKeys::with_pins(pins))
}

/// The `known_hosts` file ict maintains for Ansible's OpenSSH: `.ict/<env>/known_hosts`.
pub fn known_hosts_file(dir: &StateDir) -> PathBuf {
    dir.path().join("known_hosts")
}

/// Saves keys pinned on first contact into the state and rewrites the `known_hosts` file.
pub fn save_pins(store: &mut Store, pins: &PinnedKeys, fleet: &[Host]) -> Result<(), Error> {
    let new = pins.newly_pinned();
    if !new.is_empty() {
        store.commit(|state| {
            for (host, key) in &new {
                if let Some(h) = fleet
                    .iter()
                    .find(|h| h.target().is_some_and(|t| t.known_hosts_name() == *host))
                {
                    let text = key.to_openssh().unwrap_or_default();
                    let mut parts = text.split_whitespace();
                    let (algorithm, blob) = (
                        parts.next().unwrap_or_default(),
                        parts.next().unwrap_or_default(),
                    );
                    state.check_host_key(
                        &h.address,
                        HostKey::new(algorithm, blob, &ssh::fingerprint(key)),
                    );
                }
            }
            Ok(())
        })?;
    }
    let path = known_hosts_file(store.dir());
    pins.write_known_hosts(&path)
        .map_err(|error| Error::Write {
            what: path.display().to_string(),
            error,
        })?;
    Ok(())
}

/// A pinned host key forgotten by [`forget_host_key`].
pub struct Forgotten {
    pub key: HostKey,
    /// ict's `known_hosts` file.
    pub known_hosts: PathBuf,
    /// Whether its lines were removed from that file now.
    pub removed: bool,
    /// Whether another server is pinned with the same key (its lines stay until the file is
    /// next rewritten from the state).
    pub shared: bool,
}

/// `ict state forget-host-key`: drops server `name`'s pinned key from the state (under the
/// state lock) and then its lines from the `known_hosts` file (each write atomic; a crash in
/// between leaves a line that the next pin rewrites anyway). Lines are found by the forgotten
/// key; when another server is pinned with the same key (a cloned image), they stay until the
/// next `ict exec` or `ict run` rewrites the file from the state.
pub fn forget_host_key(mut store: Store, name: &str) -> Result<Forgotten, Error> {
    let address = Address::new(Kind::Server, name).map_err(|error| Error::NotAName {
        name: name.to_owned(),
        what: "server name",
        error,
    })?;
    let result = store.commit(|state| Ok(state.forget_host_key(&address)));
    let forgotten = match result {
        Ok(Some(key)) => key,
        Ok(None) => {
            let pinned: Vec<String> = store
                .state()
                .host_keys()
                .filter(|(a, _)| a.kind() == Kind::Server)
                .map(|(a, _)| a.name().to_owned())
                .collect();
            let env = store.dir().env().to_owned();
            let _ = store.close();
            let known = if pinned.is_empty() {
                "no server has a pinned key yet".to_owned()
            } else {
                format!("pinned: {}", pinned.join(", "))
            };
            return Err(Error::NoPinnedKey {
                name: name.to_owned(),
                env,
                pinned: known,
            });
        }
        Err(e) => {
            let _ = store.close();
            return Err(e.into());
        }
    };
    let shared = store
        .state()
        .host_keys()
        .any(|(_, k)| k.same_key(&forgotten));
    let path = known_hosts_file(store.dir());
    let rewritten = if shared {
        Ok(false)
    } else {
        remove_known_hosts_key(&path, &forgotten)
    };
    store.close()?;
    let removed = rewritten.map_err(|error| Error::Write {
        what: path.display().to_string(),
        error,
    })?;
    Ok(Forgotten {
        key: forgotten,
        known_hosts: path,
        removed,
        shared,
    })
}

/// Rewrites ict's `known_hosts` without the entries of `key`; false when it had none.
fn remove_known_hosts_key(path: &Path, key: &HostKey) -> std::io::Result<bool> {
    let Ok(forgotten) = PublicKey::from_openssh(&format!("{} {}", key.algorithm, key.key)) else {
        return Ok(false);
    };
    let file = KnownHosts::load_or_empty(path)?;
    let entries = file.plain_entries();
    let kept: Vec<(String, PublicKey)> = entries
        .iter()
        .filter(|(_, k)| k.key_data() != forgotten.key_data())
        .cloned()
        .collect();
    if kept.len() == entries.len() {
        return Ok(false);
    }
    crate::atomic::atomic_write(path, ssh::render_known_hosts(&kept).as_bytes(), 0o600)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(id: Option<u64>, ip: Option<&str>, power_on: bool, interfaces: bool) -> Host {
        Host {
            name: "vm".to_owned(),
            address: Address::new(Kind::Server, "vm").expect("address"),
            id,
            ip: ip.map(str::to_owned),
            private_ips: Vec::new(),
            user: "root".to_owned(),
            power_on,
            deleted: false,
            interfaces,
        }
    }

    #[test]
    fn only_a_running_server_with_an_interface_and_no_address_awaits_one() {
        assert!(host(Some(1), None, true, true).awaits_address());
        assert!(!host(Some(1), Some("10.1.2.3"), true, true).awaits_address());
        assert!(!host(Some(1), None, false, true).awaits_address());
        assert!(!host(Some(1), None, true, false).awaits_address());
        assert!(!host(None, None, true, true).awaits_address());
        assert_eq!(
            host(Some(1), None, true, false).no_address(),
            "has no network interface (on libvirt: declare its `networks`, or the provider's `network`)"
        );
        assert_eq!(
            host(Some(1), None, true, true).no_address(),
            "has no public IP yet"
        );
        assert_eq!(
            host(None, None, true, true).no_address(),
            "not created yet (run `ict apply`)"
        );
    }
}
