//! DNS: zones created when missing (never deleted: they hold records ict does not own), and
//! records created, or replaced when their value, TTL or priority changed. A record whose
//! value is a server's IP waits for that server's step.

use std::collections::BTreeSet;

use crate::model::{self, DnsRecord, Value};
use crate::provider::observed::same_record_name;
use crate::provider::{DomainId, ObservedRecord};

use super::super::step::{Action, RecordKindName, RecordValue, Ref, Step, Work};
use super::{addr, change, Ctx};
use crate::state::Kind;

pub(super) fn plan(ctx: &mut Ctx<'_>) {
    let desired = ctx.input.desired;
    let mut zones_done: BTreeSet<String> = BTreeSet::new();
    for record in &desired.dns_records {
        let zone = record.zone.trim_end_matches('.');
        let domain = ctx.input.observed.domain(zone);
        let zone_address = addr(Kind::DnsZone, zone);
        let domain_ref: Ref<DomainId> = if let Some(d) = domain {
            Ref::Id(d.id)
        } else {
            if zones_done.insert(zone.to_ascii_lowercase()) {
                ctx.push(Step {
                    address: zone_address.clone(),
                    action: Action::Create,
                    reason: None,
                    changes: vec![],
                    after: vec![],
                    work: Work::CreateDomain {
                        name: zone.to_owned(),
                    },
                });
            }
            Ref::Address(zone_address.clone())
        };
        let (value, value_text, mut after) = value(ctx, record);
        if let Ref::Address(a) = &domain_ref {
            after.push(a.clone());
        }
        // An owned record that matches is left alone; one that differs is replaced.
        let address = addr(Kind::DnsRecord, &record.id);
        let owned = ctx.owned(&address);
        let observed = domain.and_then(|d| {
            d.records
                .iter()
                .find(|r| owned.is_some_and(|id| id == r.id.0))
                .map(|r| (d.id, r))
        });
        let replaces = match observed {
            Some((_, r)) if matches(r, record, &value, zone) => continue,
            Some((domain_id, r)) => Some((domain_id, r.id)),
            None => None,
        };
        let mut changes = vec![
            change("type", None, record.rtype.as_str().to_owned(), false),
            change(
                "value",
                observed
                    .filter(|_| replaces.is_some())
                    .map(|(_, r)| r.value.clone()),
                value_text,
                false,
            ),
            change("ttl", None, record.ttl.to_string(), false),
        ];
        if let Some(p) = record.priority {
            changes.push(change("priority", None, p.to_string(), false));
        }
        let reason = if replaces.is_some() {
            Some("changed".to_owned())
        } else {
            owned.map(|_| "deleted outside ict".to_owned())
        };
        ctx.push(Step {
            address,
            action: if replaces.is_some() {
                Action::Replace
            } else {
                Action::Create
            },
            reason,
            changes,
            after,
            work: Work::CreateRecord {
                domain: domain_ref,
                record_kind: RecordKindName(record.rtype.as_str()),
                name: record.name.clone(),
                value,
                ttl: record.ttl,
                priority: record.priority,
                replaces,
            },
        });
    }
}

/// The record's value (literal, or a server's IP known only after that server's step), as
/// shown in the plan, and the steps it waits for.
fn value(ctx: &Ctx<'_>, record: &DnsRecord) -> (RecordValue, String, Vec<crate::state::Address>) {
    if let Value::Template(parts) = &record.value {
        if let [model::Part::Ref(p)] = parts.as_slice() {
            if p.kind == "server" && p.attr == "ip" {
                let server = addr(Kind::Server, &p.name);
                let known = ctx.owned(&server).and_then(|id| {
                    ctx.input
                        .observed
                        .servers
                        .iter()
                        .find(|s| s.id.0 == id)
                        .and_then(|s| s.ip.clone())
                });
                let pending = ctx
                    .steps
                    .iter()
                    .any(|s| s.address == server && s.action != Action::Update);
                return match known {
                    Some(ip) if !pending => (RecordValue::Literal(ip.clone()), ip, vec![]),
                    _ => (
                        RecordValue::ServerIp(server.clone()),
                        model::KNOWN_AFTER_APPLY.to_owned(),
                        vec![server],
                    ),
                };
            }
            return (
                RecordValue::Literal(record.value.display(model::Style::References)),
                record.value.display(model::Style::Plan),
                vec![],
            );
        }
    }
    let text = record.value.as_str().map_or_else(
        || record.value.display(model::Style::References),
        str::to_owned,
    );
    (RecordValue::Literal(text.clone()), text, vec![])
}

fn matches(r: &ObservedRecord, record: &DnsRecord, value: &RecordValue, zone: &str) -> bool {
    r.kind.eq_ignore_ascii_case(record.rtype.as_str())
        && same_record_name(&r.name, &record.name, zone)
        && matches!(value, RecordValue::Literal(v) if v.trim_end_matches('.') == r.value.trim_end_matches('.'))
        && r.ttl.is_none_or(|t| t == record.ttl)
}
