//! Closing what an interrupted run left in the journal. An unfinished create adopts the
//! object it made only when the journal proves it: an object of that kind and name that was
//! not among those that existed just before the request (the journal records their IDs), and
//! that no one in the state owns. When more than one such object exists ict cannot tell which
//! is its own, and the plan stops with the candidates listed. An unfinished delete whose
//! object is gone is done. Everything else is superseded: the plan starts from the cloud.

use crate::model::{ModelError, Span};
use crate::provider::observed::{same_host, same_record_name};
use crate::state::{Action, Address, JournalEntry};

use super::super::step::Settle;
use super::Ctx;
use crate::state::Kind;

/// Decides every unfinished journal entry (recorded in `ctx.settle`).
pub(super) fn journal(ctx: &mut Ctx<'_>) {
    let entries = ctx.input.state.journal().unfinished();
    for entry in entries {
        let recovered = match entry.op.action {
            Action::Create => created(ctx, entry),
            Action::Delete => deleted(ctx, entry),
            _ => None,
        };
        ctx.settle.push(Settle {
            seq: entry.seq,
            recovered,
        });
    }
}

/// An object that may be what an interrupted create made.
struct Candidate {
    id: u64,
    /// How to tell it apart: its name, creation date, state.
    description: String,
}

/// The object an interrupted create made, now owned; `None` if it made none.
fn created(ctx: &mut Ctx<'_>, entry: &JournalEntry) -> Option<u64> {
    let address = &entry.op.address;
    let candidates: Vec<Candidate> = same_kind_and_name(ctx, entry)
        .into_iter()
        .filter(|c| {
            !entry
                .op
                .existing
                .as_ref()
                .is_some_and(|before| before.contains(&c.id))
        })
        .filter(|c| !ctx.is_owned(address.kind(), c.id))
        .collect();
    match (candidates.as_slice(), &entry.op.existing) {
        ([], _) => None,
        ([one], Some(_)) => {
            let id = one.id;
            if let Some(old) = entry.op.replaces {
                if ctx.owned(address) == Some(old) {
                    ctx.deposed.entry(address.clone()).or_default().insert(old);
                }
            }
            ctx.owned.insert(address.clone(), id);
            Some(id)
        }
        (many, existing) => {
            let why = if existing.is_none() {
                "its journal entry was written by an older ict that did not record which \
                 objects of that name already existed"
            } else {
                "more than one object of that name appeared in the account since"
            };
            ctx.errors.push(ModelError::Ambiguous {
                message: format!(
                    "an interrupted run was creating {address} and ict cannot tell which object \
                     is the one it made: {why}"
                ),
                candidates: many
                    .iter()
                    .map(|c| format!("  candidate: ID {}, {}", c.id, c.description))
                    .collect(),
                help: format!(
                    "ict changes none of them. If one is ict's, delete the others in the 1cloud \
                     panel (or rename them) and plan again; or run `ict state forget FILE {address}` \
                     to give up the interrupted create: ict then leaves all of them alone \
                     (listed as unmanaged) and creates its own"
                ),
                at: declared_at(ctx, address),
            });
            None
        }
    }
}

/// The object an interrupted delete removed (it is gone), now forgotten; `None` if it is
/// still there (the plan deletes it again if it is still not declared).
fn deleted(ctx: &Ctx<'_>, entry: &JournalEntry) -> Option<u64> {
    let id = entry.op.id?;
    let observed = ctx.input.observed;
    let exists = match entry.op.address.kind() {
        Kind::Server => observed.servers.iter().any(|s| s.id.0 == id),
        Kind::Network => observed.networks.iter().any(|n| n.id.0 == id),
        Kind::SshKey => observed.ssh_keys.iter().any(|k| k.id.0 == id),
        Kind::DnsRecord => observed
            .domains
            .iter()
            .any(|d| d.records.iter().any(|r| r.id.0 == id)),
        Kind::DnsZone => observed.domains.iter().any(|d| d.id.0 == id),
        Kind::Image => ctx.input.images.iter().any(|i| i.id.0 == id),
        Kind::Pool => observed.pools.iter().any(|p| p.id.0 == id),
        Kind::Volume => observed.volumes.iter().any(|v| v.id.0 == id),
        Kind::Deposed => true,
    };
    (!exists).then_some(id)
}

/// The objects of the entry's kind and name (for a DNS record: type, name and value in its
/// zone), whoever made them.
fn same_kind_and_name(ctx: &Ctx<'_>, entry: &JournalEntry) -> Vec<Candidate> {
    let observed = ctx.input.observed;
    let address = &entry.op.address;
    let request = &entry.op.request;
    let name = request.get("name").map_or(address.name(), String::as_str);
    match address.kind() {
        Kind::Server => observed
            .servers
            .iter()
            .filter(|s| s.name == name)
            .map(|s| Candidate {
                id: s.id.0,
                description: format!(
                    "server \"{}\", created {}, {} CPU / {} MB / {} GB, {}",
                    s.name,
                    s.created.as_deref().unwrap_or("(date unknown)"),
                    s.cpu,
                    s.ram,
                    s.disk,
                    s.state
                ),
            })
            .collect(),
        Kind::Network => observed
            .networks
            .iter()
            .filter(|n| n.name == name)
            .map(|n| Candidate {
                id: n.id.0,
                description: format!(
                    "network \"{}\" in {}",
                    n.name,
                    n.dc.as_deref().unwrap_or("?")
                ),
            })
            .collect(),
        Kind::SshKey => observed
            .ssh_keys
            .iter()
            .filter(|k| k.title == name)
            .map(|k| Candidate {
                id: k.id.0,
                description: format!("SSH key \"{}\"", k.title),
            })
            .collect(),
        Kind::Image => ctx
            .input
            .images
            .iter()
            .filter(|i| i.name == name)
            .map(|i| Candidate {
                id: i.id.0,
                description: format!("image \"{}\"", i.name),
            })
            .collect(),
        Kind::DnsZone => observed
            .domains
            .iter()
            .filter(|d| same_host(&d.name, name))
            .map(|d| Candidate {
                id: d.id.0,
                description: format!("domain {}", d.name),
            })
            .collect(),
        Kind::DnsRecord => {
            let (Some(zone), Some(kind), Some(host), Some(value)) = (
                request.get("zone"),
                request.get("type"),
                request.get("host"),
                request.get("value"),
            ) else {
                return Vec::new();
            };
            observed
                .domains
                .iter()
                .filter(|d| same_host(&d.name, zone))
                .flat_map(|d| d.records.iter().map(move |r| (d, r)))
                .filter(|(d, r)| {
                    r.kind.eq_ignore_ascii_case(kind)
                        && same_record_name(&r.name, host, &d.name)
                        && r.value.trim_end_matches('.') == value.trim_end_matches('.')
                })
                .map(|(_, r)| Candidate {
                    id: r.id.0,
                    description: format!("{} record {} {}", r.kind, r.name, r.value),
                })
                .collect()
        }
        Kind::Pool => observed
            .pools
            .iter()
            .filter(|p| p.name == name)
            .map(|p| Candidate {
                id: p.id.0,
                description: format!("storage pool \"{}\" at {}", p.name, p.path),
            })
            .collect(),
        Kind::Volume => observed
            .volumes
            .iter()
            .filter(|v| v.name == name && request.get("pool").is_none_or(|p| *p == v.pool_name))
            .map(|v| Candidate {
                id: v.id.0,
                description: format!(
                    "volume \"{}\" of pool {}, {} GB",
                    v.name, v.pool_name, v.size
                ),
            })
            .collect(),
        Kind::Deposed => Vec::new(),
    }
}

/// Where the script declares `address`, if it still does.
fn declared_at(ctx: &Ctx<'_>, address: &Address) -> Span {
    let desired = ctx.input.desired;
    let name = address.name();
    match address.kind() {
        Kind::Server => desired.servers.get(name).map(|s| s.span),
        Kind::Network => desired.networks.get(name).map(|n| n.span),
        Kind::SshKey => desired.ssh_keys.get(name).map(|k| k.span),
        Kind::Image => desired.images.get(name).map(|i| i.span),
        Kind::Pool => desired.pools.get(name).map(|p| p.span),
        Kind::Volume => desired.volumes.get(name).map(|v| v.span),
        Kind::DnsRecord => desired
            .dns_records
            .iter()
            .find(|r| r.id == name)
            .map(|r| r.span),
        Kind::DnsZone => desired
            .dns_records
            .iter()
            .find(|r| same_host(&r.zone, name))
            .map(|r| r.span),
        Kind::Deposed => None,
    }
    .unwrap_or_default()
}
