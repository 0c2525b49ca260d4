//! DNS hosting (docs/1cloud-api.md §2.6): domains and their A, AAAA, CNAME, MX, NS and TXT records.
//! Domains and records are New until their task completes; TTLs come from
//! `model::limits::DNS_TTLS`. Answers take the shape `dns_shape` describes. Depends on `world`,
//! `input`, `dns_shape`, `model::limits`.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::model::limits;

use super::clock;
use super::dns_shape::{self, DnsQuirk};
use super::input::Input;
use super::reply::{ApiError, ApiResult, Reply};
use super::tasks::Work;
use super::types::{state, Domain, Record};
use super::world::{When, World};

/// The record TTL when a request gives none.
const DEFAULT_TTL: u32 = 3600;

pub(crate) fn list(world: &World, quirk: DnsQuirk) -> ApiResult {
    Reply::json(
        &world
            .domains
            .values()
            .map(|d| quirk.domain(d))
            .collect::<Vec<_>>(),
    )
}

pub(crate) fn get(world: &World, id: u64, quirk: DnsQuirk) -> ApiResult {
    Reply::json(&quirk.domain(domain(world, id)?))
}

/// Accepts both the old `{Name}` and the newer `{DomainName, Migrate}` bodies.
pub(crate) fn create(world: &mut World, input: &Input, when: When) -> ApiResult {
    let name = match input.string("DomainName")? {
        Some(name) if !name.trim().is_empty() => name,
        _ => input.required_string("Name")?,
    };
    let name = name.trim().trim_end_matches('.').to_lowercase();
    if !valid_domain(&name) {
        return Err(ApiError::bad_request(format!(
            "'{name}' is not a valid domain name."
        )));
    }
    if world.domains.values().any(|d| d.name == name) {
        return Err(ApiError::bad_request(format!(
            "Domain {name} already exists."
        )));
    }
    let id = world.new_id();
    let domain = Domain {
        id,
        tech_name: name.replace('.', "_"),
        name,
        state: state::NEW.to_owned(),
        date_create: clock::dns_date(when.now),
        is_delegate: false,
        linked_records: Vec::new(),
    };
    let reply = Reply::json(&domain);
    world.domains.insert(id, domain);
    world.schedule(id, Work::DomainReady { domain_id: id }, when.due);
    reply
}

pub(crate) fn delete(world: &mut World, id: u64) -> ApiResult {
    world
        .domains
        .remove(&id)
        .ok_or_else(|| ApiError::not_found("Domain not found"))?;
    world.tasks.retain(|task| match task.work {
        Work::DomainReady { domain_id } | Work::RecordReady { domain_id, .. } => domain_id != id,
        _ => true,
    });
    Ok(Reply::Empty)
}

/// `POST /dns/record{type}`.
pub(crate) fn create_record(
    world: &mut World,
    kind: &str,
    input: &Input,
    when: When,
    quirk: DnsQuirk,
) -> ApiResult {
    let domain_id = input.required_u64("DomainId")?;
    let domain_name = domain(world, domain_id)?.name.clone();
    let id = world.new_id();
    let record = build(id, kind, input, &domain_name, when)?;
    let domain = domain_mut(world, domain_id)?;
    check_duplicate(domain, &record)?;
    let shown = quirk.record(&record);
    let reply = if quirk.creation_answers_a_list() {
        Reply::json(&[shown])
    } else {
        Reply::json(&shown)
    };
    domain.linked_records.push(record);
    world.schedule(
        id,
        Work::RecordReady {
            domain_id,
            record_id: id,
        },
        when.due,
    );
    reply
}

/// `PUT /dns/record{type}/{id}`: replaces the record's data; it is New again until applied.
pub(crate) fn update_record(
    world: &mut World,
    kind: &str,
    record_id: u64,
    input: &Input,
    when: When,
    quirk: DnsQuirk,
) -> ApiResult {
    let domain_id = world
        .domains
        .values()
        .find(|d| d.linked_records.iter().any(|r| r.id == record_id))
        .map(|d| d.id)
        .ok_or_else(|| ApiError::not_found("Record not found"))?;
    if let Some(given) = input.u64("DomainId")? {
        if given != domain_id {
            return Err(ApiError::bad_request(format!(
                "Record {record_id} belongs to domain {domain_id}, not {given}."
            )));
        }
    }
    let domain = domain_mut(world, domain_id)?;
    let mut record = build(record_id, kind, input, &domain.name, when)?;
    let index = domain
        .linked_records
        .iter()
        .position(|r| r.id == record_id)
        .ok_or_else(|| ApiError::not_found("Record not found"))?;
    let old = &domain.linked_records[index];
    if old.kind != record.kind {
        return Err(ApiError::bad_request(format!(
            "Record {record_id} is of type {}, not {}.",
            old.kind, record.kind
        )));
    }
    record.date_create.clone_from(&old.date_create);
    let others = Domain {
        linked_records: domain
            .linked_records
            .iter()
            .filter(|r| r.id != record_id)
            .cloned()
            .collect(),
        ..domain.clone()
    };
    check_duplicate(&others, &record)?;
    let reply = Reply::json(&quirk.record(&record));
    domain.linked_records[index] = record;
    world.schedule(
        record_id,
        Work::RecordReady {
            domain_id,
            record_id,
        },
        when.due,
    );
    reply
}

/// `DELETE /dns/{domainId}/{recordId}`.
pub(crate) fn delete_record(world: &mut World, domain_id: u64, record_id: u64) -> ApiResult {
    let domain = domain_mut(world, domain_id)?;
    let before = domain.linked_records.len();
    domain.linked_records.retain(|r| r.id != record_id);
    if domain.linked_records.len() == before {
        return Err(ApiError::not_found("Record not found"));
    }
    world.tasks.retain(|task| {
        task.work
            != Work::RecordReady {
                domain_id,
                record_id,
            }
    });
    Ok(Reply::Empty)
}

/// `GET /dns/record/{id}`.
pub(crate) fn get_record(world: &World, record_id: u64, quirk: DnsQuirk) -> ApiResult {
    let record = world
        .domains
        .values()
        .flat_map(|d| d.linked_records.iter())
        .find(|r| r.id == record_id)
        .ok_or_else(|| ApiError::not_found("Record not found"))?;
    Reply::json(&quirk.record(record))
}

fn domain(world: &World, id: u64) -> Result<&Domain, ApiError> {
    world
        .domains
        .get(&id)
        .ok_or_else(|| ApiError::not_found("Domain not found"))
}

fn domain_mut(world: &mut World, id: u64) -> Result<&mut Domain, ApiError> {
    world
        .domains
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("Domain not found"))
}

/// Builds a record of `kind` (the path after `record`, e.g. `a`, `mx`) from a request body.
fn build(id: u64, kind: &str, input: &Input, domain: &str, when: When) -> Result<Record, ApiError> {
    let ttl = input.u32("TTL")?.unwrap_or(DEFAULT_TTL);
    if !limits::DNS_TTLS.contains(&ttl) {
        return Err(ApiError::bad_request(format!(
            "TTL must be one of {:?}, got {ttl}.",
            limits::DNS_TTLS
        )));
    }
    let name = |key: &str| -> Result<String, ApiError> {
        Ok(dns_shape::host_name(
            kind,
            &input.string(key)?.unwrap_or_default(),
            domain,
        ))
    };
    let mut record = Record {
        id,
        kind: String::new(),
        ip: None,
        host_name: String::new(),
        priority: None,
        text: None,
        mnemonic_name: None,
        ext_host_name: None,
        ttl,
        state: state::NEW.to_owned(),
        date_create: clock::dns_date(when.now),
        canonical_description: String::new(),
    };
    let value = match kind {
        "a" | "aaaa" => {
            let ip = input.required_string("IP")?.trim().to_owned();
            let ok = if kind == "a" {
                ip.parse::<Ipv4Addr>().is_ok()
            } else {
                ip.parse::<Ipv6Addr>().is_ok()
            };
            if !ok {
                return Err(ApiError::bad_request(format!(
                    "IP '{ip}' is not a valid IPv{} address.",
                    if kind == "a" { 4 } else { 6 }
                )));
            }
            record.host_name = name("Name")?;
            record.ip = Some(ip.clone());
            ip
        }
        "cname" => {
            record.host_name = dns_shape::host_name(kind, &input.required_string("Name")?, domain);
            let target = input.required_string("MnemonicName")?.trim().to_owned();
            record.mnemonic_name = Some(target.clone());
            target
        }
        "mx" | "ns" => {
            let target = input.required_string("HostName")?.trim().to_owned();
            record.host_name = name("Name")?;
            record.ext_host_name = Some(target.clone());
            if kind == "mx" {
                let priority = input.required_u32("Priority")?;
                record.priority = Some(priority.to_string());
                format!("{priority} {target}")
            } else {
                target
            }
        }
        "txt" => {
            let text = input.required_string("Text")?;
            record.host_name = match input.string("Name")? {
                Some(n) if !n.trim().is_empty() => name("Name")?,
                _ => name("HostName")?,
            };
            record.text = Some(dns_shape::quoted_text(&text));
            format!("\"{text}\"")
        }
        other => {
            return Err(ApiError::not_found(format!(
                "No HTTP resource was found that matches the request URI '/dns/record{other}'."
            )))
        }
    };
    record.kind = kind.to_ascii_uppercase();
    let fqdn = if record.host_name == "@" {
        domain.to_owned()
    } else if record.host_name.ends_with('.') {
        record.host_name.clone()
    } else {
        format!("{}.{domain}", record.host_name)
    };
    record.canonical_description = format!("{fqdn} {ttl} IN {} {value}", record.kind);
    Ok(record)
}

fn check_duplicate(domain: &Domain, record: &Record) -> Result<(), ApiError> {
    let same = |r: &Record| {
        r.kind == record.kind && r.canonical_description == record.canonical_description
    };
    if domain.linked_records.iter().any(same) {
        // The real API's wording (docs/1cloud-api.md §6).
        return Err(ApiError::bad_request(
            "Подобная запись для данного домена уже существует",
        ));
    }
    Ok(())
}

fn valid_domain(name: &str) -> bool {
    name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_names() {
        for (name, ok) in [
            ("example.com", true),
            ("sub.example.ru", true),
            ("пример.рф", true),
            ("localhost", false),
            ("a..b", false),
            ("-a.com", false),
            ("a b.com", false),
        ] {
            assert_eq!(valid_domain(name), ok, "{name}");
        }
    }
}
