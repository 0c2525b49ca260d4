//! `plan`: the pure diff of the desired model against what the cloud reports and what the state
//! says ict owns. No I/O; the same inputs always give the same plan.
//!
//! Ownership rules (DESIGN decision 3): ict changes only objects whose IDs its state records (or
//! that the script adopts by name). Everything else in the account is listed as unmanaged and
//! never touched. Within what it owns, the script wins: hand-made resizes, power changes,
//! detached networks and deletions are reverted. A create that an interrupted run left
//! unfinished in the journal is matched by name, so nothing is created twice.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{self, Desired, ImageRef, ModelError, Power, Server, Value};
use crate::provider::{DomainId, Image, NetworkId, Observed, ObservedServer, ServerId, SshKeyId};
use crate::state::{Action as JournalAction, Address, State};

use super::step::{
    Action, Change, NewServer, Plan, RecordKindName, RecordValue, Ref, Settle, Size, Step,
    Unmanaged, Work,
};

/// What the plan is computed from.
pub struct Input<'a> {
    pub desired: &'a Desired,
    pub observed: &'a Observed,
    pub images: &'a [Image],
    pub state: &'a State,
    /// `--replace NAME`: servers to recreate even if nothing changed.
    pub replace: &'a [String],
}

/// Computes the plan, or every problem that stops one from being made (unknown image, a disk
/// that would shrink, a protected server that would be replaced), pointing into the script.
pub fn plan(input: &Input<'_>) -> Result<Plan, Vec<ModelError>> {
    let mut ctx = Ctx::new(input);
    ctx.ssh_keys();
    ctx.networks();
    ctx.servers();
    ctx.dns();
    ctx.deletions();
    if !ctx.errors.is_empty() {
        return Err(ctx.errors);
    }
    let owned: BTreeSet<u64> = ctx.owned_servers.values().copied().collect();
    let mut unmanaged: Vec<Unmanaged> = input
        .observed
        .servers
        .iter()
        .filter(|s| !owned.contains(&s.id.0))
        .map(|s| Unmanaged {
            id: s.id,
            name: s.name.clone(),
        })
        .collect();
    unmanaged.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    Ok(Plan {
        env: input.desired.env.clone(),
        steps: ctx.steps,
        unmanaged,
        settle: ctx.settle,
    })
}

struct Ctx<'a> {
    input: &'a Input<'a>,
    steps: Vec<Step>,
    /// Addresses that have a step (created or changed in this plan).
    pending: BTreeSet<Address>,
    errors: Vec<ModelError>,
    /// Server address → ID of the server ict owns (from state, or recovered from the journal).
    owned_servers: BTreeMap<Address, u64>,
    /// IDs of servers owned but gone from the cloud.
    servers_by_id: BTreeMap<u64, &'a ObservedServer>,
    /// How the journal's unfinished entries are closed.
    settle: Vec<Settle>,
}

fn addr(kind: &str, name: &str) -> Address {
    // Names are validated by the script layer; a kind is always a fixed identifier here.
    Address::new(kind, name)
        .unwrap_or_else(|_| Address::new("invalid", "invalid").expect("valid fallback"))
}

impl<'a> Ctx<'a> {
    fn new(input: &'a Input<'a>) -> Ctx<'a> {
        let servers_by_id = input.observed.servers.iter().map(|s| (s.id.0, s)).collect();
        let mut owned_servers: BTreeMap<Address, u64> = input
            .state
            .resources()
            .iter()
            .filter(|(a, _)| a.kind() == "server")
            .map(|(a, r)| (a.clone(), r.id))
            .collect();
        // Creates an interrupted run left unfinished: adopt the server of that name that no one
        // owns (the provider never creates a name twice within a run). Every other unfinished
        // entry is superseded: this plan starts from what the cloud reports now.
        let owned_ids: BTreeSet<u64> = input.state.resources().values().map(|r| r.id).collect();
        let mut settle = Vec::new();
        for entry in input.state.journal().unfinished() {
            let mut recovered = None;
            if entry.op.action == JournalAction::Create
                && entry.op.address.kind() == "server"
                && !owned_servers.contains_key(&entry.op.address)
            {
                if let Some(found) = input
                    .observed
                    .servers
                    .iter()
                    .find(|s| s.name == entry.op.address.name() && !owned_ids.contains(&s.id.0))
                {
                    owned_servers.insert(entry.op.address.clone(), found.id.0);
                    recovered = Some(found.id.0);
                }
            }
            settle.push(Settle {
                seq: entry.seq,
                recovered,
            });
        }
        Ctx {
            input,
            steps: Vec::new(),
            pending: BTreeSet::new(),
            errors: Vec::new(),
            owned_servers,
            servers_by_id,
            settle,
        }
    }

    fn owned(&self, address: &Address) -> Option<u64> {
        self.input.state.resource(address).map(|r| r.id)
    }

    fn push(&mut self, step: Step) {
        self.pending.insert(step.address.clone());
        self.steps.push(step);
    }

    fn ssh_keys(&mut self) {
        for key in self.input.desired.ssh_keys.values() {
            let address = addr("ssh_key", &key.name);
            let existing = self
                .owned(&address)
                .and_then(|id| self.input.observed.ssh_keys.iter().find(|k| k.id.0 == id));
            match existing {
                Some(k) if same_key(&k.public_key, &key.public_key) => {}
                Some(k) => self.push(Step {
                    address,
                    action: Action::Replace,
                    reason: Some("public key changed".into()),
                    changes: vec![change(
                        "public_key",
                        Some(short_key(&k.public_key)),
                        short_key(&key.public_key),
                        true,
                    )],
                    after: vec![],
                    work: Work::CreateSshKey {
                        title: key.name.clone(),
                        public_key: key.public_key.clone(),
                        replaces: Some(k.id),
                    },
                }),
                None => {
                    let reason = self
                        .owned(&address)
                        .map(|_| "deleted outside ict".to_owned());
                    self.push(Step {
                        address,
                        action: Action::Create,
                        reason,
                        changes: vec![change(
                            "public_key",
                            None,
                            short_key(&key.public_key),
                            false,
                        )],
                        after: vec![],
                        work: Work::CreateSshKey {
                            title: key.name.clone(),
                            public_key: key.public_key.clone(),
                            replaces: None,
                        },
                    });
                }
            }
        }
    }

    fn networks(&mut self) {
        for net in self.input.desired.networks.values() {
            let address = addr("network", &net.name);
            let exists = self
                .owned(&address)
                .is_some_and(|id| self.input.observed.networks.iter().any(|n| n.id.0 == id));
            if !exists {
                let reason = self
                    .owned(&address)
                    .map(|_| "deleted outside ict".to_owned());
                self.push(Step {
                    address,
                    action: Action::Create,
                    reason,
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
    }

    /// The ID of the image a server asks for, or an error at its `image` field.
    fn image(&mut self, server: &Server) -> Option<&'a Image> {
        let images = self.input.images;
        let found = match &server.image {
            ImageRef::Id(id) => images.iter().find(|i| u64::from(*id) == i.id.0),
            ImageRef::Name(name) => images.iter().find(|i| {
                i.name.eq_ignore_ascii_case(name) || i.display_name.eq_ignore_ascii_case(name)
            }),
        };
        if found.is_none() {
            let at = server.fields.get("image").copied().unwrap_or(server.span);
            let image = server.image.to_string();
            let suggestion = model::suggest(&image, images.iter().map(|i| i.name.as_str()));
            self.errors.push(ModelError::UnknownImage {
                image,
                at,
                suggestion,
            });
        }
        found
    }

    fn ssh_key_ref(&self, name: &str) -> Ref<SshKeyId> {
        let address = addr("ssh_key", name);
        let pending = self.pending.contains(&address);
        match self.owned(&address) {
            Some(id) if !pending => Ref::Id(SshKeyId(id)),
            _ => Ref::Address(address),
        }
    }

    fn network_ref(&self, name: &str) -> Ref<NetworkId> {
        let address = addr("network", name);
        let pending = self.pending.contains(&address);
        match self.owned(&address) {
            Some(id) if !pending => Ref::Id(NetworkId(id)),
            _ => Ref::Address(address),
        }
    }

    fn servers(&mut self) {
        let desired = self.input.desired;
        let owned_ids: BTreeSet<u64> = self.owned_servers.values().copied().collect();
        for server in desired.servers.values() {
            let address = addr("server", &server.name);
            let Some(image) = self.image(server) else {
                continue;
            };
            let mut after: Vec<Address> = Vec::new();
            for k in &server.ssh_keys {
                let a = addr("ssh_key", &k.name);
                if self.pending.contains(&a) {
                    after.push(a);
                }
            }
            for n in &server.networks {
                let a = addr("network", &n.name);
                if self.pending.contains(&a) {
                    after.push(a);
                }
            }
            after.extend(server.depends_on.iter().map(|d| addr("server", &d.name)));
            let size = Size {
                cpu: server.cpu,
                ram: server.ram,
                disk: server.disk,
                disk_type: server.disk_type.as_str().to_owned(),
                high_performance: server.high_performance,
            };
            let new_server = NewServer {
                name: server.name.clone(),
                size: size.clone(),
                image: image.id,
                image_name: image.name.clone(),
                dc: server.dc.clone(),
                backup_days: server.backup,
                ssh_keys: server
                    .ssh_keys
                    .iter()
                    .map(|k| self.ssh_key_ref(&k.name))
                    .collect(),
            };
            let attach_all: Vec<Ref<NetworkId>> = server
                .networks
                .iter()
                .map(|n| self.network_ref(&n.name))
                .collect();
            let desired_power = server.power == Power::On;

            let owned_id = self.owned_servers.get(&address).copied();
            let (existing, adopt) = match owned_id {
                Some(id) => (
                    self.servers_by_id.get(&id).copied(),
                    self.owned(&address).is_none(),
                ),
                None if server.adopt => {
                    let found: Vec<&ObservedServer> = self
                        .input
                        .observed
                        .servers
                        .iter()
                        .filter(|s| s.name == server.name && !owned_ids.contains(&s.id.0))
                        .collect();
                    match found.as_slice() {
                        [one] => (Some(*one), true),
                        [] => (None, false),
                        _ => {
                            self.errors.push(ModelError::InvalidValue {
                                field: "adopt".into(),
                                message: format!("{} servers named `{}` exist; ict cannot tell which one to adopt", found.len(), server.name),
                                help: Some("rename the others in the 1cloud panel, or give this server another name".into()),
                                at: server.fields.get("adopt").copied().unwrap_or(server.span),
                            });
                            continue;
                        }
                    }
                }
                None => (None, false),
            };

            let Some(current) = existing else {
                let reason = owned_id.map(|_| "deleted outside ict".to_owned());
                let mut changes = server_changes(None, server, &image.name);
                changes.push(change("ip", None, model::KNOWN_AFTER_APPLY.into(), false));
                self.push(Step {
                    address,
                    action: Action::Create,
                    reason,
                    changes,
                    after,
                    work: Work::Server {
                        existing: None,
                        adopt: false,
                        create: Some(new_server),
                        resize: None,
                        attach: attach_all,
                        detach: vec![],
                        power: (!desired_power).then_some(false),
                    },
                });
                continue;
            };

            // Replacement: image or data centre changed, or --replace.
            let image_changed = !current.image.eq_ignore_ascii_case(&image.name);
            let dc_changed = !current.dc.eq_ignore_ascii_case(&server.dc);
            let forced = self.input.replace.iter().any(|r| r == &server.name);
            if image_changed || dc_changed || forced {
                let reason = if forced {
                    "--replace".to_owned()
                } else if image_changed {
                    "image changed".to_owned()
                } else {
                    "data centre changed".to_owned()
                };
                if server.protect {
                    let field = if image_changed {
                        "image"
                    } else if dc_changed {
                        "dc"
                    } else {
                        "protect"
                    };
                    self.errors.push(ModelError::InvalidValue {
                        field: field.into(),
                        message: format!("server `{}` is protected and would be replaced ({reason})", server.name),
                        help: Some("remove `protect: true` first if you really want a new server; its disk will be lost".into()),
                        at: server.fields.get(field).copied().unwrap_or(server.span),
                    });
                    continue;
                }
                let mut changes = vec![];
                if image_changed {
                    changes.push(change(
                        "image",
                        Some(current.image.clone()),
                        image.name.clone(),
                        true,
                    ));
                }
                if dc_changed {
                    changes.push(change(
                        "dc",
                        Some(current.dc.clone()),
                        server.dc.clone(),
                        true,
                    ));
                }
                changes.push(change(
                    "ip",
                    current.ip.clone(),
                    model::KNOWN_AFTER_APPLY.into(),
                    false,
                ));
                self.push(Step {
                    address,
                    action: Action::Replace,
                    reason: Some(reason),
                    changes,
                    after,
                    work: Work::Server {
                        existing: Some(current.id),
                        adopt,
                        create: Some(new_server),
                        resize: None,
                        attach: attach_all,
                        detach: vec![],
                        power: (!desired_power).then_some(false),
                    },
                });
                continue;
            }

            let mut changes = Vec::new();
            let mut resize = None;
            if current.disk > server.disk {
                self.errors.push(ModelError::Limit {
                    field: "disk".into(),
                    message: format!(
                        "server `{}` has a {} GB disk; 1cloud cannot shrink it to {} GB",
                        server.name, current.disk, server.disk
                    ),
                    at: server.fields.get("disk").copied().unwrap_or(server.span),
                });
                continue;
            }
            let size_changes = [
                ("cpu", current.cpu.to_string(), server.cpu.to_string()),
                ("ram", current.ram.to_string(), server.ram.to_string()),
                ("disk", current.disk.to_string(), server.disk.to_string()),
                (
                    "disk_type",
                    current.disk_type.to_ascii_uppercase(),
                    server.disk_type.as_str().to_owned(),
                ),
                (
                    "high_performance",
                    current.high_performance.to_string(),
                    server.high_performance.to_string(),
                ),
            ];
            for (attr, before, after_value) in size_changes {
                if before != after_value {
                    changes.push(change(attr, Some(before), after_value, false));
                }
            }
            if !changes.is_empty() {
                resize = Some(size);
            }
            // Networks: attach the declared ones that are missing, detach ones ict owns that
            // are no longer declared (networks ict does not own are left alone).
            let linked: BTreeSet<u64> = current.private_links().map(|l| l.network_id.0).collect();
            let mut attach = Vec::new();
            for n in &server.networks {
                match self.network_ref(&n.name) {
                    Ref::Id(id) if linked.contains(&id.0) => {}
                    r => {
                        changes.push(change("networks", None, format!("+ {}", n.name), false));
                        attach.push(r);
                    }
                }
            }
            let declared_nets: BTreeSet<u64> = server
                .networks
                .iter()
                .filter_map(|n| self.owned(&addr("network", &n.name)))
                .collect();
            let mut detach = Vec::new();
            for id in &linked {
                if !declared_nets.contains(id) {
                    if let Some((a, _)) = self.input.state.find_by_id("network", *id) {
                        changes.push(change(
                            "networks",
                            Some(a.name().to_owned()),
                            format!("- {}", a.name()),
                            false,
                        ));
                        detach.push(NetworkId(*id));
                    }
                }
            }
            let power = (current.power_on != desired_power).then_some(desired_power);
            if let Some(on) = power {
                changes.push(change(
                    "power",
                    Some(if current.power_on { "on" } else { "off" }.into()),
                    if on { "on" } else { "off" }.into(),
                    false,
                ));
            }
            if changes.is_empty() && !adopt {
                continue;
            }
            let action = if adopt { Action::Adopt } else { Action::Update };
            let reason = adopt.then(|| {
                if server.adopt {
                    "adopted by name".to_owned()
                } else {
                    "found after an interrupted run".to_owned()
                }
            });
            self.push(Step {
                address,
                action,
                reason,
                changes,
                after,
                work: Work::Server {
                    existing: Some(current.id),
                    adopt,
                    create: None,
                    resize,
                    attach,
                    detach,
                    power,
                },
            });
        }
    }

    fn dns(&mut self) {
        let desired = self.input.desired;
        let domains = &self.input.observed.domains;
        let mut zones_done: BTreeSet<&str> = BTreeSet::new();
        for record in &desired.dns_records {
            let zone = record.zone.trim_end_matches('.');
            let domain = domains
                .iter()
                .find(|d| d.name.trim_end_matches('.').eq_ignore_ascii_case(zone));
            let zone_address = addr("dns_zone", zone);
            let domain_ref: Ref<DomainId> = if let Some(d) = domain {
                Ref::Id(d.id)
            } else {
                if zones_done.insert(zone) {
                    self.push(Step {
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
            let address = addr("dns_record", &record.id);
            let (value, value_text, mut after) = match &record.value {
                Value::Template(parts) if parts.len() == 1 => match &parts[0] {
                    model::Part::Ref(p) if p.kind == "server" && p.attr == "ip" => {
                        let server_address = addr("server", &p.name);
                        let known = self
                            .owned_servers
                            .get(&server_address)
                            .and_then(|id| self.servers_by_id.get(id))
                            .and_then(|s| s.ip.clone());
                        let pending = self
                            .steps
                            .iter()
                            .any(|s| s.address == server_address && s.action != Action::Update);
                        match known {
                            Some(ip) if !pending => (RecordValue::Literal(ip.clone()), ip, vec![]),
                            _ => (
                                RecordValue::ServerIp(server_address.clone()),
                                model::KNOWN_AFTER_APPLY.to_owned(),
                                vec![server_address],
                            ),
                        }
                    }
                    _ => (
                        RecordValue::Literal(record.value.display(model::Style::References)),
                        record.value.display(model::Style::Plan),
                        vec![],
                    ),
                },
                other => {
                    let text = other
                        .as_str()
                        .map_or_else(|| other.display(model::Style::References), str::to_owned);
                    (RecordValue::Literal(text.clone()), text, vec![])
                }
            };
            if let Ref::Address(a) = &domain_ref {
                after.push(a.clone());
            }
            // An existing record that matches is left alone; one ict owns that differs is replaced.
            let owned = self.owned(&address);
            let observed = domain.and_then(|d| {
                d.records
                    .iter()
                    .find(|r| owned.is_some_and(|id| id == r.id.0))
                    .map(|r| (d.id, r))
            });
            let matches = |r: &crate::provider::ObservedRecord| {
                r.kind.eq_ignore_ascii_case(record.rtype.as_str())
                    && same_name(&r.name, &record.name, zone)
                    && matches!(&value, RecordValue::Literal(v) if v.trim_end_matches('.') == r.value.trim_end_matches('.'))
                    && r.ttl.is_none_or(|t| t == record.ttl)
            };
            let replaces = match observed {
                Some((_, r)) if matches(r) => continue,
                Some((domain_id, r)) => Some((domain_id, r.id)),
                None => None,
            };
            let mut changes = vec![
                change("type", None, record.rtype.as_str().to_owned(), false),
                change(
                    "value",
                    replaces.and_then(|_| observed.map(|(_, r)| r.value.clone())),
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
            self.push(Step {
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

    /// Owned resources the script no longer declares: delete them (never unmanaged ones).
    fn deletions(&mut self) {
        let desired = self.input.desired;
        let declared_records: BTreeSet<&str> =
            desired.dns_records.iter().map(|r| r.id.as_str()).collect();
        let mut server_deletes: Vec<Address> = Vec::new();
        for (address, record) in self.input.state.resources() {
            let declared = match address.kind() {
                "server" => desired.servers.contains_key(address.name()),
                "ssh_key" => desired.ssh_keys.contains_key(address.name()),
                "network" => desired.networks.contains_key(address.name()),
                "dns_record" => declared_records.contains(address.name()),
                // Zones are kept: deleting a zone would delete records ict does not own.
                _ => true,
            };
            if declared {
                continue;
            }
            let work = match address.kind() {
                "server" => {
                    if !self.servers_by_id.contains_key(&record.id) {
                        continue;
                    }
                    server_deletes.push(address.clone());
                    Work::DeleteServer {
                        id: ServerId(record.id),
                    }
                }
                "ssh_key"
                    if self
                        .input
                        .observed
                        .ssh_keys
                        .iter()
                        .any(|k| k.id.0 == record.id) =>
                {
                    Work::DeleteSshKey {
                        id: SshKeyId(record.id),
                    }
                }
                "network"
                    if self
                        .input
                        .observed
                        .networks
                        .iter()
                        .any(|n| n.id.0 == record.id) =>
                {
                    Work::DeleteNetwork {
                        id: NetworkId(record.id),
                    }
                }
                "dns_record" => match self
                    .input
                    .observed
                    .domains
                    .iter()
                    .find(|d| d.records.iter().any(|r| r.id.0 == record.id))
                {
                    Some(d) => Work::DeleteRecord {
                        domain: d.id,
                        id: crate::provider::RecordId(record.id),
                    },
                    None => continue,
                },
                _ => continue,
            };
            let after = if matches!(work, Work::DeleteNetwork { .. } | Work::DeleteSshKey { .. }) {
                server_deletes.clone()
            } else {
                vec![]
            };
            self.push(Step {
                address: address.clone(),
                action: Action::Delete,
                reason: None,
                changes: vec![],
                after,
                work,
            });
        }
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

/// The attributes of a server to be created.
fn server_changes(_current: Option<&ObservedServer>, server: &Server, image: &str) -> Vec<Change> {
    let mut changes = vec![
        change("cpu", None, server.cpu.to_string(), false),
        change("ram", None, format!("{} MB", server.ram), false),
        change(
            "disk",
            None,
            format!("{} GB {}", server.disk, server.disk_type.as_str()),
            false,
        ),
        change("image", None, image.to_owned(), false),
        change("dc", None, server.dc.clone(), false),
    ];
    if server.high_performance {
        changes.push(change("high_performance", None, "true".into(), false));
    }
    if let Some(days) = server.backup {
        changes.push(change("backup", None, format!("every {days} days"), false));
    }
    if !server.networks.is_empty() {
        changes.push(change(
            "networks",
            None,
            server
                .networks
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            false,
        ));
    }
    if server.power == Power::Off {
        changes.push(change("power", None, "off".into(), false));
    }
    changes
}

/// Public keys compare by algorithm and key body; comments may differ.
fn same_key(a: &str, b: &str) -> bool {
    let body = |k: &str| k.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    let (a, b) = (body(a), body(b));
    a == b || a.split_whitespace().last() == b.split_whitespace().last()
}

fn short_key(key: &str) -> String {
    let mut parts = key.split_whitespace();
    let algo = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let tail = body.get(body.len().saturating_sub(8)..).unwrap_or(body);
    format!("{algo} …{tail}")
}

/// Record names: `@`, empty and the zone itself all mean the apex; FQDNs may end with a dot.
fn same_name(observed: &str, declared: &str, zone: &str) -> bool {
    let norm = |n: &str| {
        let n = n.trim_end_matches('.');
        if n.is_empty() || n == "@" || n.eq_ignore_ascii_case(zone) {
            "@".to_owned()
        } else {
            n.strip_suffix(&format!(".{zone}"))
                .unwrap_or(n)
                .to_ascii_lowercase()
        }
    };
    norm(observed) == norm(declared)
}
