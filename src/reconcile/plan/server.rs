//! Servers: create, adopt, wait for one still being created, resize, attach and detach
//! networks, set power, or replace (create the new server first, delete the old one last).

use std::collections::BTreeSet;

use crate::model::{self, Adopt, ModelError, Power, Server};
use crate::provider::{Image, NetworkId, ObservedServer, ServerId, ServerSize, ServerState};
use crate::state::Address;

use super::super::step::{Action, Change, NewServer, Ref, Step, Work};
use super::{addr, change, Ctx};
use crate::state::Kind;

pub(super) fn plan(ctx: &mut Ctx<'_>) {
    let desired = ctx.input.desired;
    for server in desired.servers.values() {
        let image = ctx.image(server);
        let placed = ctx.placement(server);
        let (Some(image), true) = (image, placed) else {
            continue;
        };
        let address = addr(Kind::Server, &server.name);
        let Ok(existing) = existing(ctx, server, &address) else {
            continue;
        };
        let step = match existing {
            None => create(ctx, server, &image, address),
            Some((current, adopt)) => {
                match converge(ctx, server, &image, current, adopt, address) {
                    Some(step) => step,
                    None => continue,
                }
            }
        };
        ctx.push(step);
    }
}

/// The server ict owns (or takes over in this plan) for this declaration, and whether it is
/// taken over now. `Err` when the plan cannot say (an error is recorded).
fn existing<'a>(
    ctx: &mut Ctx<'a>,
    server: &Server,
    address: &Address,
) -> Result<Option<(&'a ObservedServer, bool)>, ()> {
    let servers = &ctx.input.observed.servers;
    if let Some(id) = ctx.owned(address) {
        let taken_over = !ctx.in_state(address);
        return Ok(servers
            .iter()
            .find(|s| s.id.0 == id)
            .map(|s| (s, taken_over)));
    }
    let at = server.fields.get("adopt").copied().unwrap_or(server.span);
    match server.adopt {
        Adopt::No => return Ok(None),
        Adopt::ById(id) => {
            let Some(found) = servers.iter().find(|s| s.id.0 == id) else {
                ctx.errors.push(ModelError::InvalidValue {
                    field: "adopt".into(),
                    message: format!("no server with ID {id} in the account"),
                    help: Some("`ict cloud servers` lists the servers and their IDs".into()),
                    at,
                });
                return Err(());
            };
            if ctx.is_owned(Kind::Server, id) {
                let owner = ctx
                    .input
                    .state
                    .find_by_id(Kind::Server, id)
                    .map_or_else(|| "another declaration".to_owned(), |(a, _)| a.to_string());
                ctx.errors.push(ModelError::InvalidValue {
                    field: "adopt".into(),
                    message: format!("server ID {id} is already managed by ict as {owner}"),
                    help: Some(
                        "a server can be owned under one name only; use `moved(...)` to rename"
                            .into(),
                    ),
                    at,
                });
                return Err(());
            }
            ctx.owned.insert(address.clone(), id);
            return Ok(Some((found, true)));
        }
        Adopt::ByName => {}
    }
    let found: Vec<&ObservedServer> = servers
        .iter()
        .filter(|s| s.name == server.name && !ctx.is_owned(Kind::Server, s.id.0))
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => {
            ctx.owned.insert(address.clone(), one.id.0);
            Ok(Some((*one, true)))
        }
        many => {
            ctx.errors.push(ModelError::Ambiguous {
                message: format!(
                    "{} servers named `{}` exist; ict cannot tell which one to adopt",
                    many.len(),
                    server.name
                ),
                candidates: many
                    .iter()
                    .map(|s| {
                        format!(
                            "  candidate: ID {}, created {}, {} CPU / {} MB / {} GB",
                            s.id,
                            s.created.as_deref().unwrap_or("(date unknown)"),
                            s.cpu,
                            s.ram,
                            s.disk
                        )
                    })
                    .collect(),
                help: "adopt the one you mean by its ID (`adopt: 12345`), or rename the others \
                       in the 1cloud panel"
                    .into(),
                at,
            });
            Err(())
        }
    }
}

/// What must finish before this server's step: new keys and networks it uses, the servers it
/// depends on.
fn dependencies(ctx: &Ctx<'_>, server: &Server) -> Vec<Address> {
    let mut after: Vec<Address> = Vec::new();
    for a in server
        .ssh_keys
        .iter()
        .map(|k| addr(Kind::SshKey, &k.name))
        .chain(server.networks.iter().map(|n| addr(Kind::Network, &n.name)))
    {
        if ctx.pending.contains(&a) {
            after.push(a);
        }
    }
    if let Some((_, Ref::Address(image))) = ctx.server_image(server) {
        after.push(image);
    }
    after.extend(
        server
            .depends_on
            .iter()
            .map(|d| addr(Kind::Server, &d.name)),
    );
    after
}

fn size(server: &Server) -> ServerSize {
    ServerSize {
        cpu: server.cpu,
        ram: server.ram,
        disk: server.disk,
        disk_type: server.disk_type,
        high_performance: server.high_performance,
    }
}

fn new_server(ctx: &Ctx<'_>, server: &Server, image: &Image) -> NewServer {
    NewServer {
        name: server.name.clone(),
        size: size(server),
        image: ctx
            .server_image(server)
            .map_or(Ref::Id(image.id), |(_, image)| image),
        image_name: image.name.clone(),
        dc: server.dc.clone(),
        backup_days: server.backup,
        // libvirt keeps no keys: they go into the server's seed, with no key to upload first.
        ssh_keys: if ctx.input.desired.on_libvirt() {
            Vec::new()
        } else {
            server
                .ssh_keys
                .iter()
                .map(|k| ctx.ssh_key_ref(&k.name))
                .collect()
        },
        authorized_keys: server
            .ssh_keys
            .iter()
            .filter_map(|k| ctx.input.desired.ssh_keys.get(&k.name))
            .map(|k| k.public_key.clone())
            .collect(),
    }
}

fn attach_all(ctx: &Ctx<'_>, server: &Server) -> Vec<Ref<NetworkId>> {
    server
        .networks
        .iter()
        .map(|n| ctx.network_ref(&n.name))
        .collect()
}

/// The work of creating a server: new, or the replacement of `replaced` (deleted last).
fn creating(
    ctx: &Ctx<'_>,
    server: &Server,
    image: &Image,
    (replaced, adopt): (Option<ServerId>, bool),
) -> Work {
    Work::Server {
        existing: replaced,
        adopt,
        wait: false,
        create: Some(new_server(ctx, server, image)),
        resize: None,
        attach: attach_all(ctx, server),
        detach: vec![],
        power: (server.power == Power::Off).then_some(false),
        retire: replaced.into_iter().collect(),
    }
}

/// A server that does not exist (yet, or any more).
fn create(ctx: &Ctx<'_>, server: &Server, image: &Image, address: Address) -> Step {
    let reason = ctx
        .owned(&address)
        .map(|_| "deleted outside ict".to_owned());
    let mut changes = new_server_changes(server, &image.name);
    changes.push(change("ip", None, model::KNOWN_AFTER_APPLY.into(), false));
    Step {
        after: dependencies(ctx, server),
        address,
        action: Action::Create,
        reason,
        changes,
        work: creating(ctx, server, image, (None, false)),
    }
}

/// A server that exists: the step that brings it in line, if any.
fn converge(
    ctx: &mut Ctx<'_>,
    server: &Server,
    image: &Image,
    current: &ObservedServer,
    adopt: bool,
    address: Address,
) -> Option<Step> {
    let adopt_reason = || match server.adopt {
        Adopt::ById(id) => format!("adopted by ID {id}"),
        Adopt::ByName => "adopted by name".to_owned(),
        Adopt::No => "created by an interrupted run".to_owned(),
    };
    // Being created, or in a state no change can be made in: wait until it is active, then
    // do what the declaration asks of an active server (its networks, size and power); a
    // power state seen while it is being created means nothing yet.
    if current.state != ServerState::Active {
        let reason = if current.state == ServerState::New {
            "being created: apply waits until it is active".to_owned()
        } else {
            format!("state {}: apply waits until it is active", current.state)
        };
        let reason = if adopt {
            format!("{}; {reason}", adopt_reason())
        } else {
            reason
        };
        let mut changes = vec![change(
            "state",
            Some(current.state.to_string()),
            "Active".into(),
            false,
        )];
        let sized = size_changes(current, server);
        let resize = (!sized.is_empty() && current.disk <= server.disk).then(|| size(server));
        if resize.is_some() {
            changes.extend(sized);
        }
        let (attach, detach) = networks(ctx, server, current, &mut changes);
        let power = (server.power == Power::Off).then_some(false);
        if power.is_some() {
            changes.push(change("power", None, "off".into(), false));
        }
        return Some(Step {
            after: dependencies(ctx, server),
            reason: Some(reason),
            changes,
            action: if adopt { Action::Adopt } else { Action::Update },
            address,
            work: Work::Server {
                existing: Some(current.id),
                adopt,
                wait: true,
                create: None,
                resize,
                attach,
                detach,
                power,
                retire: vec![],
            },
        });
    }

    let image_changed = !current.image.eq_ignore_ascii_case(&image.name);
    let dc_changed = !current.dc.eq_ignore_ascii_case(&server.dc);
    let forced = ctx.input.replace.iter().any(|r| r == &server.name);
    if image_changed || dc_changed || forced {
        return replace(
            ctx,
            server,
            image,
            current,
            adopt,
            address,
            (image_changed, dc_changed),
        );
    }

    if current.disk > server.disk {
        ctx.errors.push(ModelError::Limit {
            field: "disk".into(),
            message: format!(
                "server `{}` has a {} GB disk; 1cloud cannot shrink it to {} GB",
                server.name, current.disk, server.disk
            ),
            at: server.fields.get("disk").copied().unwrap_or(server.span),
        });
        return None;
    }
    let mut changes = size_changes(current, server);
    let resize = (!changes.is_empty()).then(|| size(server));
    let (attach, detach) = networks(ctx, server, current, &mut changes);
    let desired_power = server.power == Power::On;
    let power = (current.power_on != desired_power).then_some(desired_power);
    if let Some(on) = power {
        changes.push(change(
            "power",
            Some(on_off(current.power_on)),
            on_off(on),
            false,
        ));
    }
    if changes.is_empty() && !adopt {
        return None;
    }
    Some(Step {
        after: dependencies(ctx, server),
        action: if adopt { Action::Adopt } else { Action::Update },
        reason: adopt.then(adopt_reason),
        changes,
        address,
        work: Work::Server {
            existing: Some(current.id),
            adopt,
            wait: false,
            create: None,
            resize,
            attach,
            detach,
            power,
            retire: vec![],
        },
    })
}

/// Image or data centre changed, or `--replace`: a new server, then the old one deleted.
fn replace(
    ctx: &mut Ctx<'_>,
    server: &Server,
    image: &Image,
    current: &ObservedServer,
    adopt: bool,
    address: Address,
    (image_changed, dc_changed): (bool, bool),
) -> Option<Step> {
    let reason = if image_changed {
        "image changed"
    } else if dc_changed {
        "data centre changed"
    } else {
        "--replace"
    };
    if server.protect {
        let field = if image_changed {
            "image"
        } else if dc_changed {
            "dc"
        } else {
            "protect"
        };
        ctx.errors.push(ModelError::InvalidValue {
            field: field.into(),
            message: format!(
                "server `{}` is protected and would be replaced ({reason})",
                server.name
            ),
            help: Some(
                "remove `protect: true` first if you really want a new server; its disk will be lost"
                    .into(),
            ),
            at: server.fields.get(field).copied().unwrap_or(server.span),
        });
        return None;
    }
    let mut changes = vec![];
    if image_changed {
        changes.push(change(
            "image",
            Some(current.image.clone()),
            image.name.clone(),
            true,
        ));
    }
    if dc_changed {
        changes.push(change(
            "dc",
            Some(current.dc.clone()),
            server.dc.clone(),
            true,
        ));
    }
    changes.push(change(
        "ip",
        current.ip.clone(),
        model::KNOWN_AFTER_APPLY.into(),
        false,
    ));
    Some(Step {
        after: dependencies(ctx, server),
        action: Action::Replace,
        reason: Some(format!(
            "{reason}; the new server is created before the old one (ID {}) is deleted",
            current.id
        )),
        changes,
        work: creating(ctx, server, image, (Some(current.id), adopt)),
        address,
    })
}

fn size_changes(current: &ObservedServer, server: &Server) -> Vec<Change> {
    let pairs = [
        ("cpu", current.cpu.to_string(), server.cpu.to_string()),
        ("ram", current.ram.to_string(), server.ram.to_string()),
        ("disk", current.disk.to_string(), server.disk.to_string()),
        (
            "disk_type",
            current.disk_type.to_ascii_uppercase(),
            server.disk_type.as_str().to_owned(),
        ),
        (
            "high_performance",
            current.high_performance.to_string(),
            server.high_performance.to_string(),
        ),
    ];
    pairs
        .into_iter()
        .filter(|(_, before, after)| before != after)
        .map(|(attr, before, after)| change(attr, Some(before), after, false))
        .collect()
}

/// Networks to attach (declared, missing) and detach (owned by ict, no longer declared;
/// networks ict does not own are left alone).
fn networks(
    ctx: &Ctx<'_>,
    server: &Server,
    current: &ObservedServer,
    changes: &mut Vec<Change>,
) -> (Vec<Ref<NetworkId>>, Vec<NetworkId>) {
    let linked: BTreeSet<u64> = current.private_links().map(|l| l.network_id.0).collect();
    let mut attach = Vec::new();
    for n in &server.networks {
        match ctx.network_ref(&n.name) {
            Ref::Id(id) if linked.contains(&id.0) => {}
            r => {
                changes.push(change("networks", None, format!("+ {}", n.name), false));
                attach.push(r);
            }
        }
    }
    let declared: BTreeSet<u64> = server
        .networks
        .iter()
        .filter_map(|n| ctx.owned(&addr(Kind::Network, &n.name)))
        .collect();
    let mut detach = Vec::new();
    for id in linked.difference(&declared) {
        if let Some(a) = ctx.owner(Kind::Network, *id) {
            changes.push(change(
                "networks",
                Some(a.name().to_owned()),
                format!("- {}", a.name()),
                false,
            ));
            detach.push(NetworkId(*id));
        }
    }
    (attach, detach)
}

fn on_off(on: bool) -> String {
    if on { "on" } else { "off" }.to_owned()
}

/// The attributes of a server to be created.
fn new_server_changes(server: &Server, image: &str) -> Vec<Change> {
    let mut changes = vec![
        change("cpu", None, server.cpu.to_string(), false),
        change("ram", None, format!("{} MB", server.ram), false),
        change(
            "disk",
            None,
            format!("{} GB {}", server.disk, server.disk_type.as_str()),
            false,
        ),
        change("image", None, image.to_owned(), false),
        change("dc", None, server.dc.clone(), false),
    ];
    if server.high_performance {
        changes.push(change("high_performance", None, "true".into(), false));
    }
    if let Some(days) = server.backup {
        changes.push(change("backup", None, format!("every {days} days"), false));
    }
    if !server.networks.is_empty() {
        let names: Vec<&str> = server.networks.iter().map(|n| n.name.as_str()).collect();
        changes.push(change("networks", None, names.join(", "), false));
    }
    if server.power == Power::Off {
        changes.push(change("power", None, "off".into(), false));
    }
    changes
}
