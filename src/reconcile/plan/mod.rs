//! `plan`: the pure diff of the desired model against what the cloud reports and what the state
//! says ict owns. No I/O; the same inputs always give the same plan.
//!
//! Ownership rules (DESIGN decision 3): ict changes only objects whose IDs its state records (or
//! that the script adopts). Everything else in the account is listed as unmanaged and never
//! touched. Within what it owns, the script wins: hand-made resizes, power changes, detached
//! networks and deletions are reverted.
//!
//! Crash recovery (decision 4) is decided by the journal, never by a name alone: an unfinished
//! create adopts only an object that was not among those the journal saw before the request
//! (`recover.rs`). A replacement creates the new object before it deletes the old one, which
//! stays owned as "deposed" until it is gone.
//!
//! One file per resource kind, each turning declarations into steps: `server.rs`,
//! `network.rs`, `ssh_key.rs`, `dns.rs`, `storage.rs` (libvirt pools and volumes); `delete.rs` deletes what is no longer declared;
//! `catalogue.rs` checks images and data centres against the live catalogue.

mod catalogue;
mod delete;
mod dns;
mod image;
mod moves;
mod network;
mod recover;
mod server;
mod ssh_key;
mod storage;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Desired, ModelError};
use crate::provider::{DcLocation, Image, Kinds, NetworkId, Observed, SshKeyId};
use crate::state::{Address, Kind, State};

use super::step::{Change, Moved, Plan, Ref, Settle, Step, Unmanaged};

/// What the plan is computed from.
pub struct Input<'a> {
    pub desired: &'a Desired,
    pub observed: &'a Observed,
    pub images: &'a [Image],
    pub dcs: &'a [DcLocation],
    pub state: &'a State,
    /// `--replace NAME`: servers to recreate even if nothing changed.
    pub replace: &'a [String],
}

/// The kinds of cloud object a plan of `desired` against `state` needs to read: servers (every
/// plan lists the ones ict does not own), and the other kinds when the script declares them,
/// the state owns some, or an interrupted operation was about one. Nothing else is read, so a
/// kind the script does not use cannot fail it.
pub fn kinds(desired: &Desired, state: &State) -> Kinds {
    let mut kinds = Kinds {
        servers: true,
        networks: !desired.networks.is_empty(),
        ssh_keys: !desired.ssh_keys.is_empty() && !desired.on_libvirt(),
        dns: !desired.dns_records.is_empty(),
        storage: !desired.pools.is_empty() || !desired.volumes.is_empty(),
    };
    for address in owned_or_pending(state) {
        match address.kind() {
            Kind::Server => kinds.servers = true,
            Kind::Network => kinds.networks = true,
            Kind::SshKey => kinds.ssh_keys = true,
            Kind::DnsRecord | Kind::DnsZone => kinds.dns = true,
            Kind::Pool | Kind::Volume => kinds.storage = true,
            // Images are read from the catalogue, which a plan reads when it needs it
            // (see [`needs_catalogue`]).
            Kind::Image | Kind::Deposed => {}
        }
    }
    kinds
}

/// Whether a plan of `desired` against `state` needs the image catalogue: to check the images
/// of servers, and to see the images the script declares or the state owns (the catalogue
/// lists the account's own templates too).
pub fn needs_catalogue(desired: &Desired, state: &State) -> bool {
    !desired.servers.is_empty()
        || !desired.images.is_empty()
        || owned_or_pending(state)
            .any(|a| a.kind() == Kind::Image || a.name().starts_with("image."))
}

/// The addresses the state owns, has deposed, or has an unfinished operation about.
fn owned_or_pending(state: &State) -> impl Iterator<Item = &Address> {
    state
        .resources()
        .keys()
        .chain(state.deposed().keys())
        .chain(state.journal().unfinished().iter().map(|e| &e.op.address))
}

/// Computes the plan, or every problem that stops one from being made (unknown image or data
/// centre, a disk that would shrink, a protected server that would be replaced, an
/// interrupted create that cannot be told apart from objects made by someone else), pointing
/// into the script.
pub fn plan(input: &Input<'_>) -> Result<Plan, Vec<ModelError>> {
    let mut ctx = Ctx::new(input);
    recover::journal(&mut ctx);
    moves::plan(&mut ctx);
    ssh_key::plan(&mut ctx);
    network::plan(&mut ctx);
    server::plan(&mut ctx);
    storage::plan(&mut ctx);
    image::plan(&mut ctx);
    dns::plan(&mut ctx);
    delete::plan(&mut ctx);
    if !ctx.errors.is_empty() {
        return Err(ctx.errors);
    }
    let unmanaged = ctx.unmanaged();
    Ok(Plan {
        env: input.desired.env.clone(),
        steps: ctx.steps,
        unmanaged,
        settle: ctx.settle,
        moves: ctx.moves,
        warnings: ctx.warnings,
        notes: Vec::new(),
    })
}

/// The planner's working state, shared by the per-kind files.
struct Ctx<'a> {
    input: &'a Input<'a>,
    steps: Vec<Step>,
    /// Addresses that have a step (created or changed in this plan).
    pending: BTreeSet<Address>,
    errors: Vec<ModelError>,
    /// Address → ID of the object ict owns: from the state, plus what this plan recovers
    /// from the journal or adopts.
    owned: BTreeMap<Address, u64>,
    /// Old objects a replacement deposed (in the state, or by a create recovered now), still
    /// to be deleted.
    deposed: BTreeMap<Address, BTreeSet<u64>>,
    /// How the journal's unfinished entries are closed.
    settle: Vec<Settle>,
    /// Addresses renamed by `moved(...)`.
    moves: Vec<Moved>,
    warnings: Vec<String>,
}

/// The address of resource `name` of `kind` (a fixed identifier).
fn addr(kind: Kind, name: &str) -> Address {
    // Names are validated by the script layer and never empty; a kind is a fixed identifier.
    Address::new(kind, name)
        .unwrap_or_else(|_| Address::new(kind, "_").expect("a fixed kind is a valid address"))
}

impl<'a> Ctx<'a> {
    fn new(input: &'a Input<'a>) -> Ctx<'a> {
        let owned = input
            .state
            .resources()
            .iter()
            .map(|(a, r)| (a.clone(), r.id))
            .collect();
        Ctx {
            input,
            steps: Vec::new(),
            pending: BTreeSet::new(),
            errors: Vec::new(),
            owned,
            deposed: input.state.deposed().clone(),
            settle: Vec::new(),
            moves: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The ID ict owns (or takes over in this plan) for `address`.
    fn owned(&self, address: &Address) -> Option<u64> {
        self.owned.get(address).copied()
    }

    /// Whether the object `id` of `kind` is ict's: in the state (bound or deposed), or
    /// recovered or adopted by this plan.
    fn is_owned(&self, kind: Kind, id: u64) -> bool {
        self.input.state.owns(kind, id)
            || self
                .owned
                .iter()
                .any(|(address, owned)| address.kind() == kind && *owned == id)
    }

    /// Whether the state already owns `address` (directly, or under the name a `moved`
    /// renames), as opposed to an object taken over by this plan.
    fn in_state(&self, address: &Address) -> bool {
        self.input.state.resource(address).is_some() || self.moves.iter().any(|m| &m.to == address)
    }

    /// The address that owns the object `id` of `kind` in this plan, if any.
    fn owner(&self, kind: Kind, id: u64) -> Option<&Address> {
        self.owned
            .iter()
            .find(|(address, owned)| address.kind() == kind && **owned == id)
            .map(|(address, _)| address)
    }

    fn push(&mut self, step: Step) {
        self.pending.insert(step.address.clone());
        self.steps.push(step);
    }

    fn ssh_key_ref(&self, name: &str) -> Ref<SshKeyId> {
        self.reference(&addr(Kind::SshKey, name))
    }

    fn network_ref(&self, name: &str) -> Ref<NetworkId> {
        self.reference(&addr(Kind::Network, name))
    }

    /// A known ID, or "the object this plan's step for `address` makes".
    fn reference<T: From<u64>>(&self, address: &Address) -> Ref<T> {
        match self.owned(address) {
            Some(id) if !self.pending.contains(address) => Ref::Id(T::from(id)),
            _ => Ref::Address(address.clone()),
        }
    }

    /// Everything in the account that ict does not own (and does not take over in this
    /// plan), sorted by kind, name and ID.
    fn unmanaged(&self) -> Vec<Unmanaged> {
        let observed = self.input.observed;
        let mut list: Vec<Unmanaged> = Vec::new();
        let mut add = |kind: Kind, id: u64, name: &str| {
            if !self.is_owned(kind, id) {
                list.push(Unmanaged {
                    kind,
                    id,
                    name: name.to_owned(),
                });
            }
        };
        for s in &observed.servers {
            add(Kind::Server, s.id.0, &s.name);
        }
        for n in &observed.networks {
            add(Kind::Network, n.id.0, &n.name);
        }
        for k in &observed.ssh_keys {
            add(Kind::SshKey, k.id.0, &k.title);
        }
        for p in &observed.pools {
            add(Kind::Pool, p.id.0, &p.name);
        }
        // Records only in the zones the script writes to; a zone's own NS and SOA are the
        // DNS host's, not anybody's to manage.
        let zones: BTreeSet<String> = self
            .input
            .desired
            .dns_records
            .iter()
            .map(|r| r.zone.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        for domain in &observed.domains {
            if !zones.contains(&domain.name.trim_end_matches('.').to_ascii_lowercase()) {
                continue;
            }
            for r in &domain.records {
                if matches!(r.kind.to_ascii_uppercase().as_str(), "NS" | "SOA") {
                    continue;
                }
                add(
                    Kind::DnsRecord,
                    r.id.0,
                    &format!("{} {} {}", r.name, r.kind, r.value),
                );
            }
        }
        list.sort_by(|a, b| (a.kind, &a.name, a.id).cmp(&(b.kind, &b.name, b.id)));
        list
    }
}

fn change(attr: &str, before: Option<String>, after: String, forces_replacement: bool) -> Change {
    Change {
        attr: attr.to_owned(),
        before,
        after,
        forces_replacement,
    }
}
