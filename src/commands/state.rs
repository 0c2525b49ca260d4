//! `ict state forget | mv | import`: change what ict owns without changing the cloud. Each
//! takes the environment's lock and commits at once.

use std::fmt::Write as _;
use std::path::Path;

use super::{locked, Error};
use crate::app::{hosts, Project};
use crate::config::Config;
use crate::exit::ExitCode;
use crate::provider::{Kinds, Provider as _};
use crate::state::Address;
use crate::state::Kind;
use crate::ui::Ui;

/// `ict state forget`: stops managing objects without touching the cloud.
pub(super) fn forget(
    config: &Config,
    ui: &Ui,
    script: &Path,
    names: &[String],
) -> Result<ExitCode, Error> {
    let mut store = locked(
        ui,
        &crate::app::Project::new(config, script),
        "state forget",
    )?;
    let mut addresses = Vec::new();
    for name in names {
        match resolve_address(store.state(), name) {
            Ok(address) => addresses.push(address),
            Err(e) => {
                let _ = store.close();
                return Err(e);
            }
        }
    }
    let result = store.commit(|state| {
        Ok(addresses
            .iter()
            .map(|a| (a.clone(), state.abandon(a)))
            .collect::<Vec<_>>())
    });
    let closed = store.close();
    for (address, dropped) in result? {
        ui.out(&crate::ui::state::forgotten(&address, &dropped));
    }
    closed?;
    Ok(ExitCode::Success)
}

/// The address `name` means: an address the state knows, or the one known address with that
/// name.
fn resolve_address(state: &crate::state::State, name: &str) -> Result<Address, Error> {
    let known = state.addresses();
    if let Ok(address) = name.parse::<Address>() {
        if known.contains(&address) {
            return Ok(address);
        }
    }
    let by_name: Vec<&&Address> = known.iter().filter(|a| a.name() == name).collect();
    match by_name.as_slice() {
        [one] => Ok((**one).clone()),
        [] => {
            let all: Vec<String> = known.iter().map(ToString::to_string).collect();
            let hint = crate::model::DidYouMean::new(name, all.iter().map(String::as_str))
                .listed("known")
                .when_empty("known: nothing");
            Err(Error::NotInState {
                name: name.to_owned(),
                hint: hint.to_string(),
            })
        }
        many => Err(Error::AmbiguousName {
            name: name.to_owned(),
            matches: many
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// `ict state mv`: rebinds `from` to `to` (what `moved(...)` does).
pub(super) fn mv(
    config: &Config,
    ui: &Ui,
    script: &Path,
    (from, to): (&str, &str),
) -> Result<ExitCode, Error> {
    let mut store = locked(ui, &crate::app::Project::new(config, script), "state mv")?;
    let result = resolve_address(store.state(), from).and_then(|from| {
        let to = match to.parse::<Address>() {
            Ok(address) if address.kind() == from.kind() => address,
            Ok(address) => return Err(Error::MoveChangesKind { from, to: address }),
            Err(_) => Address::new(from.kind(), to).map_err(|error| Error::NotAName {
                name: to.to_owned(),
                what: "name",
                error,
            })?,
        };
        if store.state().resource(&to).is_some() {
            return Err(Error::AlreadyOwned { address: to });
        }
        let id = store.state().resource(&from).map(|r| r.id);
        store.commit(|state| Ok(state.rename(&from, &to)))?;
        Ok((from, to, id))
    });
    let closed = store.close();
    let (from, to, id) = result?;
    closed?;
    ui.out(&format!(
        "Moved {from} to {to}{}: the cloud object is kept.\n",
        id.map(|id| format!(" (ID {id})")).unwrap_or_default()
    ));
    Ok(ExitCode::Success)
}

/// `ict state import`: takes over the cloud object `id` under `name`.
pub(super) fn import(
    config: &Config,
    ui: &Ui,
    script: &Path,
    (name, id): (&str, u64),
) -> Result<ExitCode, Error> {
    let (project, pending, evaluated) = super::open(config, ui, script)?;
    let desired = &evaluated.desired;
    let address = if let Ok(address) = name.parse::<Address>() {
        address
    } else {
        {
            let kinds = [
                (Kind::Server, desired.servers.contains_key(name)),
                (Kind::Network, desired.networks.contains_key(name)),
                (Kind::SshKey, desired.ssh_keys.contains_key(name)),
            ];
            let found: Vec<Kind> = kinds.iter().filter(|(_, y)| *y).map(|(k, _)| *k).collect();
            match found.as_slice() {
                [kind] => Address::new(*kind, name).map_err(|error| Error::NotAName {
                    name: name.to_owned(),
                    what: "name",
                    error,
                })?,
                [] => {
                    return Err(Error::NotDeclared {
                        name: name.to_owned(),
                    })
                }
                _ => {
                    return Err(Error::SeveralKinds {
                        name: name.to_owned(),
                    })
                }
            }
        }
    };
    let kinds = match address.kind() {
        Kind::Server => Kinds::SERVERS,
        Kind::Network => Kinds::NETWORKS,
        Kind::SshKey => Kinds::SSH_KEYS,
        other => {
            return Err(Error::NotImportable {
                kind: other.to_string(),
            })
        }
    };
    let runtime = crate::app::runtime()?;
    let observed = runtime.block_on(async {
        let conn = pending.connect().await?;
        let observed = conn.client.observe(kinds).await;
        conn.close().await;
        Ok::<_, Error>(observed?)
    })?;
    let found = match address.kind() {
        Kind::Server => observed
            .servers
            .iter()
            .find(|s| s.id.0 == id)
            .map(|s| s.name.clone()),
        Kind::Network => observed
            .networks
            .iter()
            .find(|n| n.id.0 == id)
            .map(|n| n.name.clone()),
        _ => observed
            .ssh_keys
            .iter()
            .find(|k| k.id.0 == id)
            .map(|k| k.title.clone()),
    };
    let Some(cloud_name) = found else {
        return Err(Error::NoSuchId {
            kind: address.kind().to_string(),
            id,
        });
    };
    let mut store = locked(ui, &project, "state import")?;
    let taken = store
        .state()
        .find_by_id(address.kind(), id)
        .map(|(a, _)| a.clone())
        .or_else(|| store.state().resource(&address).map(|_| address.clone()));
    let result = match taken {
        Some(owner) => Err(Error::AlreadyOwned { address: owner }),
        None => store
            .commit(|state| {
                state.record_adopted(&address, id, serde_json::json!({ "adopted": true }));
                Ok(())
            })
            .map_err(Error::from),
    };
    let closed = store.close();
    result?;
    closed?;
    ui.out(&format!(
        "Imported {} \"{cloud_name}\" (ID {id}) as {address}. Nothing changed in the cloud; `ict plan` shows what making it match the script would change.\n",
        address.kind()
    ));
    Ok(ExitCode::Success)
}

/// `ict state forget-host-key FILE NAME`.
pub(super) fn forget_host_key(
    config: &Config,
    ui: &Ui,
    script: &Path,
    name: &str,
) -> Result<ExitCode, Error> {
    let project = Project::new(config, script);
    let store = locked(ui, &project, "state forget-host-key")?;
    let forgotten = hosts::forget_host_key(store, name)?;
    let mut text = format!(
        "Forgot the host key of {name} ({}); the next connection pins the key it presents.\n",
        forgotten.key.fingerprint
    );
    let path = forgotten.known_hosts.display();
    if forgotten.removed {
        let _ = writeln!(text, "Removed it from {path}.");
    } else if forgotten.shared {
        let _ = writeln!(
            text,
            "Another server is pinned with the same key: {path} is rewritten at the next `ict \
             exec` or `ict run`."
        );
    }
    ui.out(&text);
    Ok(ExitCode::Success)
}

/// `ict state migrate`: moves the state from `.ict/<env>/` into the declared backend, or back
/// with `to_local`.
pub(super) fn migrate(
    config: &Config,
    ui: &Ui,
    script: &Path,
    to_local: bool,
) -> Result<ExitCode, Error> {
    let project = Project::new(config, script);
    let moved = project.migrate(to_local)?;
    ui.out(&crate::ui::state::migrated(&moved));
    Ok(ExitCode::Success)
}
