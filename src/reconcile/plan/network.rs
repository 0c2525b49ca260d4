//! Private networks: created when missing (or deleted outside ict), in a data centre that
//! exists.

use super::super::step::{Action, Step, Work};
use super::{addr, change, Ctx};
use crate::state::Kind;

pub(super) fn plan(ctx: &mut Ctx<'_>) {
    for net in ctx.input.desired.networks.values() {
        if !ctx.network_placement(net) {
            continue;
        }
        let address = addr(Kind::Network, &net.name);
        let owned = ctx.owned(&address);
        let existing =
            owned.and_then(|id| ctx.input.observed.networks.iter().find(|n| n.id.0 == id));
        if let Some(current) = existing {
            // Being created, or stopped (on libvirt: a create cut short before the start, or a
            // network stopped by hand): the script wants it active.
            if matches!(current.state.as_str(), "New" | "Inactive") {
                let reason = if current.state == "New" {
                    "being created: apply waits until it is active".to_owned()
                } else {
                    "stopped: apply starts it".to_owned()
                };
                ctx.push(Step {
                    address: address.clone(),
                    action: Action::Update,
                    reason: Some(reason),
                    changes: vec![change(
                        "state",
                        Some(current.state.clone()),
                        "Active".to_owned(),
                        false,
                    )],
                    after: vec![],
                    work: Work::WaitNetwork { id: current.id },
                });
                continue;
            }
            // The script is the truth about its name too (after a `moved`, or a rename in the
            // panel).
            if current.name != net.name {
                ctx.push(Step {
                    address,
                    action: Action::Update,
                    reason: None,
                    changes: vec![change(
                        "name",
                        Some(current.name.clone()),
                        net.name.clone(),
                        false,
                    )],
                    after: vec![],
                    work: Work::RenameNetwork {
                        id: current.id,
                        name: net.name.clone(),
                    },
                });
            }
            continue;
        }
        ctx.push(Step {
            address,
            action: Action::Create,
            reason: owned.map(|_| "deleted outside ict".to_owned()),
            changes: vec![
                change("dc", None, net.dc.clone(), false),
                change("dhcp", None, net.dhcp.to_string(), false),
            ],
            after: vec![],
            work: Work::CreateNetwork {
                name: net.name.clone(),
                dc: net.dc.clone(),
                dhcp: net.dhcp,
            },
        });
    }
}
