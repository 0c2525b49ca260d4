//! Storage pools and volumes (libvirt): a pool is made when missing (its place cannot change: a
//! pool somewhere else would leave its volumes behind); a volume is made in its pool, grows but
//! never shrinks, and is attached to the server the script names (detached from any other),
//! after that server and its pool exist. Deleting what is no longer declared is `delete.rs`'s.

use super::super::step::{Action, Step, Work};
use super::{addr, change, Ctx};
use crate::model::{ModelError, Pool, Volume};
use crate::provider::{ObservedVolume, PoolSpec, ServerId, VolumeId};
use crate::state::{Address, Kind};

pub(super) fn plan(ctx: &mut Ctx<'_>) {
    for pool in ctx.input.desired.pools.values() {
        plan_pool(ctx, pool);
    }
    // A new server's root volume may go to a pool made in this apply.
    let new_pools: Vec<Address> = ctx
        .steps
        .iter()
        .filter(|s| matches!(s.work, Work::CreatePool { .. }))
        .map(|s| s.address.clone())
        .collect();
    for step in &mut ctx.steps {
        if matches!(
            step.work,
            Work::Server {
                create: Some(_),
                ..
            }
        ) {
            step.after.extend(new_pools.iter().cloned());
        }
    }
    for volume in ctx.input.desired.volumes.values() {
        plan_volume(ctx, volume);
    }
}

fn plan_pool(ctx: &mut Ctx<'_>, pool: &Pool) {
    let address = addr(Kind::Pool, &pool.name);
    let owned = ctx.owned(&address);
    let existing = owned.and_then(|id| ctx.input.observed.pools.iter().find(|p| p.id.0 == id));
    if let Some(existing) = existing {
        if existing.path.trim_end_matches('/') != pool.path.trim_end_matches('/') {
            ctx.errors.push(ModelError::InvalidValue {
                field: "path".into(),
                message: format!(
                    "pool `{}` is at {}; a pool cannot move (its volumes would stay behind)",
                    pool.name, existing.path
                ),
                help: Some(
                    "declare a pool with another name at the new path and move the volumes to it"
                        .into(),
                ),
                at: pool.fields.get("path").copied().unwrap_or(pool.span),
            });
        }
        return;
    }
    let mut changes = vec![
        change("type", None, pool.kind.clone(), false),
        change("path", None, pool.path.clone(), false),
    ];
    if let (Some(host), Some(path)) = (&pool.source_host, &pool.source_path) {
        changes.push(change("source", None, format!("{host}:{path}"), false));
    }
    ctx.push(Step {
        reason: owned.map(|_| "deleted outside ict".to_owned()),
        action: Action::Create,
        changes,
        after: vec![],
        work: Work::CreatePool {
            spec: PoolSpec {
                name: pool.name.clone(),
                kind: pool.kind.clone(),
                path: pool.path.clone(),
                source_host: pool.source_host.clone(),
                source_path: pool.source_path.clone(),
            },
        },
        address,
    });
}

fn plan_volume(ctx: &mut Ctx<'_>, volume: &Volume) {
    let address = addr(Kind::Volume, &volume.name);
    let pool = addr(Kind::Pool, &volume.pool.name);
    let server = volume
        .attach_to
        .as_ref()
        .map(|s| addr(Kind::Server, &s.name));
    let after: Vec<Address> = [Some(&pool), server.as_ref()]
        .into_iter()
        .flatten()
        .filter(|a| being_made(ctx, a))
        .cloned()
        .collect();
    let owned = ctx.owned(&address);
    let existing = owned.and_then(|id| ctx.input.observed.volumes.iter().find(|v| v.id.0 == id));
    let Some(existing) = existing else {
        let mut changes = vec![
            change("pool", None, volume.pool.name.clone(), false),
            change("size", None, format!("{} GB", volume.size), false),
            change("format", None, volume.format.clone(), false),
        ];
        if let Some(server) = &volume.attach_to {
            changes.push(change("attach_to", None, server.name.clone(), false));
        }
        let step = Step {
            reason: owned.map(|_| "deleted outside ict".to_owned()),
            action: Action::Create,
            changes,
            after,
            work: Work::CreateVolume {
                name: volume.name.clone(),
                pool: ctx.reference(&pool),
                pool_name: volume.pool.name.clone(),
                size: volume.size,
                format: volume.format.clone(),
                attach: server.as_ref().map(|s| ctx.reference(s)),
            },
            address,
        };
        ctx.push(step);
        return;
    };
    if let Some(step) = change_volume(ctx, volume, existing, server.as_ref(), address, after) {
        ctx.push(step);
    }
}

/// Whether this plan makes the object at `address` (a create, or a replacement's new one).
fn being_made(ctx: &Ctx<'_>, address: &Address) -> bool {
    ctx.steps.iter().any(|s| {
        s.address == *address
            && matches!(
                s.work,
                Work::CreatePool { .. }
                    | Work::Server {
                        create: Some(_),
                        ..
                    }
            )
    })
}

/// The step bringing an existing volume in line: grown, attached where declared.
fn change_volume(
    ctx: &mut Ctx<'_>,
    volume: &Volume,
    existing: &ObservedVolume,
    server: Option<&Address>,
    address: Address,
    after: Vec<Address>,
) -> Option<Step> {
    let at = |field: &str| volume.fields.get(field).copied().unwrap_or(volume.span);
    if volume.size < existing.size {
        ctx.errors.push(ModelError::InvalidValue {
            field: "size".into(),
            message: format!(
                "volume `{}` is {} GB; a volume only grows",
                volume.name, existing.size
            ),
            help: Some(format!("set `size: {}` or more", existing.size)),
            at: at("size"),
        });
        return None;
    }
    if volume.format != existing.format {
        ctx.errors.push(ModelError::InvalidValue {
            field: "format".into(),
            message: format!(
                "volume `{}` is {}; its format cannot change in place",
                volume.name, existing.format
            ),
            help: Some("declare a new volume in the other format and copy the data".into()),
            at: at("format"),
        });
        return None;
    }
    let mut changes = Vec::new();
    let grow = (volume.size > existing.size).then(|| {
        changes.push(change(
            "size",
            Some(format!("{} GB", existing.size)),
            format!("{} GB", volume.size),
            false,
        ));
        volume.size
    });
    // Attached where declared: the declared server's ID, once it exists and is not being
    // made (or made again) in this plan.
    let wanted = server.map(|s| (s, ctx.owned(s).filter(|_| !being_made(ctx, s))));
    let (detach, attach) = match (wanted, existing.attached_to) {
        (None, None) => (None, None),
        (None, Some(now)) => (Some(now), None),
        (Some((_, Some(id))), Some(now)) if now.0 == id => (None, None),
        (Some((s, _)), now) => (now, Some(ctx.reference(s))),
    };
    if detach.is_some() || attach.is_some() {
        let name = |id: ServerId| {
            ctx.input
                .observed
                .servers
                .iter()
                .find(|s| s.id == id)
                .map_or_else(|| format!("ID {id}"), |s| s.name.clone())
        };
        changes.push(change(
            "attach_to",
            Some(detach.map_or_else(|| "(none)".to_owned(), name)),
            volume
                .attach_to
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), |s| s.name.clone()),
            false,
        ));
    }
    if changes.is_empty() {
        return None;
    }
    Some(Step {
        address,
        action: Action::Update,
        reason: None,
        changes,
        after,
        work: Work::ChangeVolume {
            id: VolumeId(existing.id.0),
            grow,
            detach,
            attach,
        },
    })
}
