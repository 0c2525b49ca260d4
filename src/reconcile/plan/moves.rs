//! `moved(from, to)`: before anything else is planned, what the state owns under `from` is
//! rebound to `to`, so the object is kept (no destroy, no create). A move already done, or
//! whose source the state does not know, changes nothing (the latter with a warning).

use crate::model::Move;

use super::super::step::Moved;
use super::{addr, Ctx};
use crate::state::Kind;

pub(super) fn plan(ctx: &mut Ctx<'_>) {
    let desired = ctx.input.desired;
    for m in &desired.moves {
        let Some(kind) = kind_of(ctx, m) else {
            // `ict check` reports a target that is not declared; nothing to move here.
            continue;
        };
        let from = addr(kind, &m.from);
        let to = addr(kind, &m.to);
        match (ctx.owned(&from), ctx.owned(&to)) {
            (Some(id), None) => {
                ctx.owned.remove(&from);
                ctx.owned.insert(to.clone(), id);
                if let Some(ids) = ctx.deposed.remove(&from) {
                    ctx.deposed.insert(to.clone(), ids);
                }
                ctx.moves.push(Moved { from, to, id });
            }
            (Some(_), Some(_)) => ctx.warnings.push(format!(
                "moved({:?}, {:?}): both {from} and {to} are owned by ict; the move is ignored \
                 (`ict state forget` one of them if it is stale)",
                m.from, m.to
            )),
            (None, Some(_)) => {} // done by an earlier apply
            (None, None) => ctx.warnings.push(format!(
                "moved({:?}, {:?}): ict owns no {from}, so there is nothing to move \
                 (remove the `moved` once every environment has applied it)",
                m.from, m.to
            )),
        }
    }
}

/// The move's kind: given by the script, or the kind of the declaration named `to`.
fn kind_of(ctx: &Ctx<'_>, m: &Move) -> Option<Kind> {
    let desired = ctx.input.desired;
    let declared = [
        (Kind::Server, desired.servers.contains_key(&m.to)),
        (Kind::Network, desired.networks.contains_key(&m.to)),
        (Kind::SshKey, desired.ssh_keys.contains_key(&m.to)),
        (
            Kind::DnsRecord,
            desired.dns_records.iter().any(|r| r.id == m.to),
        ),
    ];
    if let Some(kind) = &m.kind {
        return declared
            .iter()
            .find(|(k, yes)| k.as_str() == kind && *yes)
            .map(|(k, _)| *k);
    }
    let mut found = declared.iter().filter(|(_, yes)| *yes);
    match (found.next(), found.next()) {
        (Some((k, _)), None) => Some(*k),
        _ => None,
    }
}
