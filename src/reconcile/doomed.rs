//! `ict destroy --target`: which addresses a targeted destroy deletes — the targets and, in
//! the dependency graph, everything that depends on them (servers using a targeted key or
//! network, servers that `depends_on` a targeted server, DNS records whose value is a targeted
//! server's IP), transitively. Pure.

use std::collections::BTreeSet;

use crate::model::{pattern, Desired, Value};
use crate::state::Kind;
use crate::state::{Address, State};

/// The addresses `targets` (names, addresses, or host patterns like `-l`) select with their
/// dependants, or the targets that select nothing.
pub fn doomed(
    targets: &[String],
    desired: &Desired,
    state: &State,
) -> Result<BTreeSet<Address>, Vec<String>> {
    let mut doomed = BTreeSet::new();
    let mut unmatched = Vec::new();
    for target in targets {
        let found = select(target, desired, state);
        if found.is_empty() {
            unmatched.push(target.clone());
        }
        doomed.extend(found);
    }
    if !unmatched.is_empty() {
        return Err(unmatched);
    }
    loop {
        let before = doomed.len();
        for server in desired.servers.values() {
            let address = address(Kind::Server, &server.name);
            let uses = server
                .ssh_keys
                .iter()
                .map(|k| address_of(Kind::SshKey, &k.name))
                .chain(
                    server
                        .networks
                        .iter()
                        .map(|n| address_of(Kind::Network, &n.name)),
                )
                .chain(
                    server
                        .depends_on
                        .iter()
                        .map(|d| address_of(Kind::Server, &d.name)),
                );
            if uses.into_iter().flatten().any(|a| doomed.contains(&a)) {
                doomed.insert(address);
            }
        }
        for record in &desired.dns_records {
            if server_refs(&record.value).any(|name| doomed.contains(&address(Kind::Server, name)))
            {
                doomed.insert(address(Kind::DnsRecord, &record.id));
            }
        }
        if doomed.len() == before {
            return Ok(doomed);
        }
    }
}

/// What one target names: an address, a resource's name, or a host pattern over servers and
/// groups; also objects only the state still knows.
fn select(target: &str, desired: &Desired, state: &State) -> BTreeSet<Address> {
    let known: BTreeSet<Address> = declared(desired)
        .chain(state.resources().keys().cloned())
        .collect();
    if let Ok(address) = target.parse::<Address>() {
        if known.contains(&address) {
            return BTreeSet::from([address]);
        }
    }
    let mut found: BTreeSet<Address> = known
        .iter()
        .filter(|a| a.name() == target)
        .cloned()
        .collect();
    found.extend(
        pattern::select(target, desired)
            .into_iter()
            .map(|name| address(Kind::Server, name)),
    );
    found
}

/// Every declared cloud resource's address.
fn declared(desired: &Desired) -> impl Iterator<Item = Address> + '_ {
    let servers = desired.servers.keys().map(|n| address(Kind::Server, n));
    let keys = desired.ssh_keys.keys().map(|n| address(Kind::SshKey, n));
    let nets = desired.networks.keys().map(|n| address(Kind::Network, n));
    let images = desired.images.keys().map(|n| address(Kind::Image, n));
    let records = desired
        .dns_records
        .iter()
        .map(|r| address(Kind::DnsRecord, &r.id));
    servers.chain(keys).chain(nets).chain(images).chain(records)
}

/// The servers whose IP a value uses.
fn server_refs(value: &Value) -> impl Iterator<Item = &str> {
    value
        .placeholders()
        .into_iter()
        .filter(|p| p.kind == "server")
        .map(|p| p.name.as_str())
}

fn address(kind: Kind, name: &str) -> Address {
    Address::new(kind, name).unwrap_or_else(|_| unreachable!("declared names are valid"))
}

fn address_of(kind: Kind, name: &str) -> Option<Address> {
    Address::new(kind, name).ok()
}
