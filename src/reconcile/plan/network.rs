//! Private networks: created when missing (or deleted outside ict), in a data centre that
//! exists.

use super::super::step::{Action, Step, Work};
use super::{addr, change, Ctx};

pub(super) fn plan(ctx: &mut Ctx<'_>) {
    for net in ctx.input.desired.networks.values() {
        if !ctx.network_placement(net) {
            continue;
        }
        let address = addr("network", &net.name);
        let owned = ctx.owned(&address);
        let exists =
            owned.is_some_and(|id| ctx.input.observed.networks.iter().any(|n| n.id.0 == id));
        if exists {
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
