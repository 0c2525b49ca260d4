//! Deletions: what ict owns and the script no longer declares, and old objects a replacement
//! deposed. Objects already gone from the cloud are forgotten from the state (and the plan
//! says so), without an API call. Servers go first: networks and SSH keys are deleted after
//! every server step, so no network is deleted while a server ict is deleting or detaching
//! still uses it.

use std::collections::BTreeSet;

use crate::provider::DomainId;
use crate::state::Address;

use super::super::step::{Action, Step, Work};
use super::{addr, Ctx};
use crate::state::Kind;

pub(super) fn plan(ctx: &mut Ctx<'_>) {
    let desired = ctx.input.desired;
    let declared_records: BTreeSet<&str> =
        desired.dns_records.iter().map(|r| r.id.as_str()).collect();
    let mut deletions: Vec<(Address, Vec<u64>, Option<&'static str>)> = Vec::new();
    for (address, id) in &ctx.owned {
        let declared = match address.kind() {
            Kind::Server => desired.servers.contains_key(address.name()),
            Kind::SshKey => desired.ssh_keys.contains_key(address.name()),
            Kind::Network => desired.networks.contains_key(address.name()),
            Kind::Image => desired.images.contains_key(address.name()),
            Kind::Pool => desired.pools.contains_key(address.name()),
            Kind::Volume => desired.volumes.contains_key(address.name()),
            Kind::DnsRecord => declared_records.contains(address.name()),
            // Zones are kept: deleting a zone would delete records ict does not own.
            _ => true,
        };
        if !declared {
            deletions.push((address.clone(), vec![*id], None));
        }
    }
    for (address, ids) in &ctx.deposed {
        let ids = ids.iter().copied().collect();
        deletions.push((address.clone(), ids, Some("left by a replacement")));
    }
    // Servers first, then what servers use: volumes, and pools after their volumes.
    deletions.sort_by_key(|(address, _, _)| match address.kind() {
        Kind::Server => 0,
        Kind::Pool => 2,
        _ => 1,
    });
    for (object, ids, deposed) in deletions {
        let mut step = delete(ctx, &object, &ids, deposed);
        if matches!(
            object.kind(),
            Kind::Network | Kind::SshKey | Kind::Volume | Kind::Image
        ) {
            step.after = ctx
                .steps
                .iter()
                .filter(|s| s.address.kind() == Kind::Server || is_deposed_server(&s.address))
                .map(|s| s.address.clone())
                .collect();
        }
        if object.kind() == Kind::Pool {
            // Every volume, image and server step first: the pool's volumes and images, and
            // servers' root volumes in it, go before it.
            step.after = ctx
                .steps
                .iter()
                .filter(|s| {
                    matches!(s.address.kind(), Kind::Volume | Kind::Server | Kind::Image)
                        || is_deposed_server(&s.address)
                })
                .map(|s| s.address.clone())
                .collect();
        }
        ctx.push(step);
    }
}

/// The step deleting `ids` of `object` (or forgetting the ones already gone).
fn delete(ctx: &Ctx<'_>, object: &Address, ids: &[u64], deposed: Option<&str>) -> Step {
    let mut live = Vec::new();
    let mut gone = Vec::new();
    let mut domain = None;
    for &id in ids {
        match find(ctx, object.kind(), id) {
            Found::Exists { domain: in_domain } => {
                domain = domain.or(in_domain);
                live.push(id);
            }
            Found::Gone => gone.push(id),
        }
    }
    let address = match deposed {
        Some(_) => addr(Kind::Deposed, &object.to_string()),
        None => object.clone(),
    };
    let list = |ids: &[u64]| {
        ids.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let reason = match (deposed, live.is_empty()) {
        (Some(why), false) => Some(format!("old object ID {} {why}", list(&live))),
        (Some(why), true) => Some(format!(
            "old object ID {} {why} is already gone: forgotten from the state",
            list(&gone)
        )),
        (None, true) => Some("already deleted outside ict: forgotten from the state".to_owned()),
        (None, false) => None,
    };
    Step {
        address,
        action: Action::Delete,
        reason,
        changes: vec![],
        after: vec![],
        work: Work::Delete {
            object: object.clone(),
            ids: live,
            gone,
            domain,
        },
    }
}

/// Whether an owned object is still in the cloud.
enum Found {
    /// It is; a DNS record's domain.
    Exists {
        domain: Option<DomainId>,
    },
    Gone,
}

fn find(ctx: &Ctx<'_>, kind: Kind, id: u64) -> Found {
    let observed = ctx.input.observed;
    let exists = match kind {
        Kind::Server => observed.servers.iter().any(|s| s.id.0 == id),
        Kind::Network => observed.networks.iter().any(|n| n.id.0 == id),
        Kind::SshKey => observed.ssh_keys.iter().any(|k| k.id.0 == id),
        Kind::Image => ctx.input.images.iter().any(|i| i.id.0 == id),
        Kind::Pool => observed.pools.iter().any(|p| p.id.0 == id),
        Kind::Volume => observed.volumes.iter().any(|v| v.id.0 == id),
        Kind::DnsRecord => {
            return observed
                .domains
                .iter()
                .find(|d| d.records.iter().any(|r| r.id.0 == id))
                .map_or(Found::Gone, |d| Found::Exists { domain: Some(d.id) });
        }
        // Unknown kinds are never deleted.
        _ => false,
    };
    if exists {
        Found::Exists { domain: None }
    } else {
        Found::Gone
    }
}

fn is_deposed_server(address: &Address) -> bool {
    address.kind() == Kind::Deposed && address.name().starts_with("server.")
}
