//! Table-driven tests of `plan()` on hand-written desired, observed and state values: no
//! emulator, no I/O. The desired model comes from a few lines of script (the script layer is
//! pure too); the cloud and the state are built here.

use crate::model::Desired;
use crate::provider::{
    DcLocation, DomainId, Image, ImageId, NetworkId, Observed, ObservedDomain, ObservedNetwork,
    ObservedPool, ObservedRecord, ObservedServer, ObservedSshKey, ObservedVolume, PoolId, RecordId,
    ServerId, ServerLink, ServerState, SshKeyId, VolumeId,
};
use crate::state::{Action as JournalAction, Address, JournalOp, State};

use super::super::step::{Action, Plan, Work};
use super::{kinds, plan, Input};
use crate::state::Kind;

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops";

fn desired(script: &str) -> Desired {
    crate::script::evaluate_text(script).expect("a valid script")
}

fn images() -> Vec<Image> {
    vec![
        image(3492, "Ubuntu20.04x64"),
        image(5001, "Ubuntu24.04x64"),
        image(3783, "Debian11x64"),
    ]
}

fn image(id: u64, name: &str) -> Image {
    Image {
        id: ImageId(id),
        name: name.to_owned(),
        display_name: name.to_owned(),
        family: Some("Linux".into()),
        min_disk: Some(10),
        dc: None,
    }
}

fn dcs() -> Vec<DcLocation> {
    let dc = |tech: &str, title: &str, low: bool, high: bool| DcLocation {
        id: None,
        title: title.to_owned(),
        tech_title: tech.to_owned(),
        short_title: None,
        country: None,
        city: None,
        low_pool: low,
        high_pool: high,
        backup: true,
        ipv6: false,
    };
    vec![
        dc("SdnSpb", "Xelent", true, true),
        dc("SdnSpb2", "Xelent-2", false, true),
        dc("DsMsk", "DataSpace", true, true),
    ]
}

/// A running server as the API shows it, sized like `server(name, #{})`'s defaults.
fn server(id: u64, name: &str) -> ObservedServer {
    let d = desired(&format!("server(\"{name}\", #{{}});"));
    let s = &d.servers[name];
    ObservedServer {
        id: ServerId(id),
        name: name.to_owned(),
        hostname: None,
        state: ServerState::Active,
        power_on: true,
        cpu: s.cpu,
        ram: s.ram,
        disk: s.disk,
        disk_type: s.disk_type.as_str().to_owned(),
        image: images()
            .iter()
            .find(|i| {
                i.name.eq_ignore_ascii_case(&s.image.to_string())
                    || i.id.0.to_string() == s.image.to_string()
            })
            .map_or_else(|| s.image.to_string(), |i| i.name.clone()),
        image_family: Some("Linux".into()),
        high_performance: false,
        dc: "SdnSpb".into(),
        ip: Some(format!("10.0.0.{}", id % 250)),
        primary_ip: None,
        admin_user: Some("root".into()),
        admin_password: None,
        links: vec![],
        ssh_keys: vec![],
        created: Some("2026-12-01T10:00:00+03:00".into()),
    }
}

fn network(id: u64, name: &str) -> ObservedNetwork {
    ObservedNetwork {
        id: NetworkId(id),
        name: name.to_owned(),
        state: "Active".into(),
        dc: Some("SdnSpb".into()),
        dhcp: true,
        mask: None,
        gateway: None,
        bandwidth: None,
        servers: vec![],
    }
}

fn key(id: u64, title: &str) -> ObservedSshKey {
    ObservedSshKey {
        id: SshKeyId(id),
        title: title.to_owned(),
        public_key: KEY.to_owned(),
    }
}

/// A DNS zone with records `(id, type, name, value)`.
fn zone(id: u64, name: &str, records: &[(u64, &str, &str, &str)]) -> ObservedDomain {
    ObservedDomain {
        id: DomainId(id),
        name: name.to_owned(),
        state: "Active".into(),
        delegated: true,
        records: records
            .iter()
            .map(|(rid, kind, host, value)| ObservedRecord {
                id: RecordId(*rid),
                domain: DomainId(id),
                kind: (*kind).to_owned(),
                name: (*host).to_owned(),
                value: (*value).to_owned(),
                ttl: Some(3600),
                priority: None,
                state: "Active".into(),
            })
            .collect(),
    }
}

fn link(network: u64) -> ServerLink {
    ServerLink {
        link_id: None,
        network_id: NetworkId(network),
        network_name: None,
        network_type: Some("Private".into()),
        state: None,
        ip: Some("10.0.0.5".into()),
        mac: None,
        mask: None,
        gateway: None,
        bandwidth: None,
    }
}

fn address(kind: Kind, name: &str) -> Address {
    Address::new(kind, name).expect("valid address")
}

/// A state owning `owned` (kind, name, id).
fn state(owned: &[(Kind, &str, u64)]) -> State {
    let mut state = State::new("dev");
    for (kind, name, id) in owned {
        state.record_created(&address(*kind, name), *id, serde_json::Value::Null);
    }
    state
}

/// A state whose journal holds an unfinished create of `kind.name`, begun when the objects
/// `existing` (IDs) of that name were there (`None`: an entry of an older ict).
fn crashed_create(mut state: State, kind: Kind, name: &str, existing: Option<&[u64]>) -> State {
    let mut op = JournalOp::new(address(kind, name), JournalAction::Create).with("name", name);
    if let Some(ids) = existing {
        op = op.with_existing(ids.iter().copied());
    }
    state.begin(op);
    state
}

struct Case {
    desired: Desired,
    observed: Observed,
    state: State,
    replace: Vec<String>,
    /// The account's own templates, listed in the catalogue after the public images.
    templates: Vec<Image>,
}

impl Case {
    fn new(script: &str) -> Case {
        Case {
            desired: desired(script),
            observed: Observed::default(),
            state: State::new("dev"),
            replace: vec![],
            templates: vec![],
        }
    }

    fn templates(mut self, templates: Vec<Image>) -> Case {
        self.templates = templates;
        self
    }

    fn servers(mut self, servers: Vec<ObservedServer>) -> Case {
        self.observed.servers = servers;
        self
    }

    fn networks(mut self, networks: Vec<ObservedNetwork>) -> Case {
        self.observed.networks = networks;
        self
    }

    fn keys(mut self, keys: Vec<ObservedSshKey>) -> Case {
        self.observed.ssh_keys = keys;
        self
    }

    fn domains(mut self, domains: Vec<ObservedDomain>) -> Case {
        self.observed.domains = domains;
        self
    }

    fn state(mut self, state: State) -> Case {
        self.state = state;
        self
    }

    fn storage(mut self, pools: Vec<ObservedPool>, volumes: Vec<ObservedVolume>) -> Case {
        self.observed.pools = pools;
        self.observed.volumes = volumes;
        self
    }

    fn replace(mut self, name: &str) -> Case {
        self.replace.push(name.to_owned());
        self
    }

    fn run(&self) -> Result<Plan, Vec<crate::model::ModelError>> {
        let images: Vec<Image> = images().into_iter().chain(self.templates.clone()).collect();
        let dcs = dcs();
        plan(&Input {
            desired: &self.desired,
            observed: &self.observed,
            images: &images,
            dcs: &dcs,
            state: &self.state,
            replace: &self.replace,
        })
    }

    #[track_caller]
    fn plan(&self) -> Plan {
        match self.run() {
            Ok(plan) => plan,
            Err(errors) => panic!("plan fails: {errors:#?}"),
        }
    }

    #[track_caller]
    fn errors(&self) -> Vec<String> {
        match self.run() {
            Ok(plan) => panic!("plan should fail: {plan:#?}"),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }
}

/// `(symbol, address)` of every step.
fn steps(plan: &Plan) -> Vec<(String, String)> {
    plan.steps
        .iter()
        .map(|s| (s.action.symbol().to_owned(), s.address.to_string()))
        .collect()
}

fn unmanaged(plan: &Plan) -> Vec<String> {
    plan.unmanaged
        .iter()
        .map(|u| format!("{} {} {}", u.kind, u.name, u.id))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn an_empty_script_against_an_empty_account_plans_nothing() {
    let plan = Case::new("").plan();
    assert!(plan.is_empty());
    assert!(plan.unmanaged.is_empty());
}

#[test]
fn a_new_server_is_created_with_its_attributes() {
    let plan = Case::new(r#"server("web-1", #{ cpu: 2, ram: 2048 });"#).plan();
    assert_eq!(steps(&plan), pairs(&[("+", "server.web-1")]));
    let attrs: Vec<&str> = plan.steps[0]
        .changes
        .iter()
        .map(|c| c.attr.as_str())
        .collect();
    assert_eq!(attrs, ["cpu", "ram", "disk", "image", "dc", "ip"]);
    assert_eq!(plan.summary().add, 1);
}

#[test]
fn a_server_that_matches_plans_nothing() {
    let plan = Case::new(r#"server("web-1", #{});"#)
        .servers(vec![server(7, "web-1")])
        .state(state(&[(Kind::Server, "web-1", 7)]))
        .plan();
    assert!(plan.is_empty(), "{plan:#?}");
}

#[test]
fn each_size_field_changed_by_hand_is_an_update() {
    type Edit = fn(&mut ObservedServer);
    let cases: [(&str, Edit); 4] = [
        ("cpu", |s| s.cpu += 1),
        ("ram", |s| s.ram += 1024),
        ("disk_type", |s| s.disk_type = "SAS".into()),
        ("power", |s| s.power_on = false),
    ];
    for (attr, edit) in cases {
        let mut observed = server(7, "web-1");
        edit(&mut observed);
        let plan = Case::new(r#"server("web-1", #{});"#)
            .servers(vec![observed])
            .state(state(&[(Kind::Server, "web-1", 7)]))
            .plan();
        assert_eq!(steps(&plan), pairs(&[("~", "server.web-1")]), "{attr}");
        let changed: Vec<&str> = plan.steps[0]
            .changes
            .iter()
            .map(|c| c.attr.as_str())
            .collect();
        assert_eq!(changed, [attr], "{attr}");
    }
}

#[test]
fn a_disk_larger_than_declared_cannot_shrink() {
    let mut observed = server(7, "web-1");
    observed.disk += 10;
    let errors = Case::new(r#"server("web-1", #{});"#)
        .servers(vec![observed])
        .state(state(&[(Kind::Server, "web-1", 7)]))
        .errors();
    assert!(errors[0].contains("cannot shrink"), "{errors:?}");
}

#[test]
fn a_server_deleted_outside_ict_is_created_again() {
    let plan = Case::new(r#"server("web-1", #{});"#)
        .state(state(&[(Kind::Server, "web-1", 7)]))
        .plan();
    assert_eq!(steps(&plan), pairs(&[("+", "server.web-1")]));
    assert_eq!(plan.steps[0].reason.as_deref(), Some("deleted outside ict"));
}

#[test]
fn a_replacement_creates_the_new_server_before_deleting_the_old() {
    let mut old = server(7, "web-1");
    old.image = "Debian11x64".into();
    let plan = Case::new(r#"server("web-1", #{});"#)
        .servers(vec![old])
        .state(state(&[(Kind::Server, "web-1", 7)]))
        .plan();
    assert_eq!(steps(&plan), pairs(&[("-/+", "server.web-1")]));
    let Work::Server {
        existing,
        create,
        retire,
        ..
    } = &plan.steps[0].work
    else {
        panic!("server work");
    };
    assert_eq!(*existing, Some(ServerId(7)));
    assert!(create.is_some());
    assert_eq!(retire, &[ServerId(7)]);
}

#[test]
fn replace_forces_a_new_server_but_not_a_protected_one() {
    let case = Case::new(r#"server("web-1", #{});"#)
        .servers(vec![server(7, "web-1")])
        .state(state(&[(Kind::Server, "web-1", 7)]))
        .replace("web-1");
    assert_eq!(steps(&case.plan()), pairs(&[("-/+", "server.web-1")]));
    let errors = Case::new(r#"server("web-1", #{ protect: true });"#)
        .servers(vec![server(7, "web-1")])
        .state(state(&[(Kind::Server, "web-1", 7)]))
        .replace("web-1")
        .errors();
    assert!(errors[0].contains("protected"), "{errors:?}");
}

#[test]
fn servers_ict_does_not_own_are_listed_and_never_touched() {
    let plan = Case::new(r#"server("web-1", #{});"#)
        .servers(vec![server(5, "web-1"), server(6, "legacy")])
        .plan();
    // A panel-made server of the same name is not taken: a new one is created.
    assert_eq!(steps(&plan), pairs(&[("+", "server.web-1")]));
    assert_eq!(unmanaged(&plan), ["server legacy 6", "server web-1 5"]);
}

#[test]
fn unmanaged_lists_every_kind() {
    let plan = Case::new("")
        .servers(vec![server(5, "a")])
        .networks(vec![network(6, "b")])
        .keys(vec![key(7, "c")])
        .plan();
    assert_eq!(
        unmanaged(&plan),
        ["network b 6", "server a 5", "ssh_key c 7"]
    );
}

#[test]
fn adopt_takes_the_one_server_of_that_name_and_does_not_list_it_as_unmanaged() {
    let plan = Case::new(r#"server("legacy", #{ adopt: true });"#)
        .servers(vec![server(5, "legacy")])
        .plan();
    assert_eq!(steps(&plan), pairs(&[("<=", "server.legacy")]));
    assert!(plan.unmanaged.is_empty(), "{:?}", plan.unmanaged);
}

#[test]
fn adopt_by_an_ambiguous_name_is_refused_listing_the_candidates() {
    let errors = Case::new(r#"server("legacy", #{ adopt: true });"#)
        .servers(vec![server(5, "legacy"), server(9, "legacy")])
        .errors();
    assert!(errors[0].contains("2 servers named `legacy`"), "{errors:?}");
}

#[test]
fn adopt_accepts_names_written_in_the_panel() {
    for name in ["Сервер БД", "db server"] {
        let plan = Case::new(&format!("server(\"{name}\", #{{ adopt: true }});"))
            .servers(vec![server(5, name)])
            .plan();
        assert_eq!(
            steps(&plan),
            vec![("<=".to_owned(), format!("server.{name}"))]
        );
    }
}

#[test]
fn a_crash_never_makes_ict_take_a_server_that_existed_before_its_create() {
    // The account holds a panel-made `legacy-db`; ict was killed while creating its own
    // `legacy-db`, before the request reached the API.
    let plan = Case::new(r#"server("legacy-db", #{});"#)
        .servers(vec![server(5, "legacy-db")])
        .state(crashed_create(
            State::new("dev"),
            Kind::Server,
            "legacy-db",
            Some(&[5]),
        ))
        .plan();
    assert_eq!(steps(&plan), pairs(&[("+", "server.legacy-db")]));
    assert_eq!(unmanaged(&plan), ["server legacy-db 5"]);
    assert_eq!(plan.settle.len(), 1);
    assert_eq!(plan.settle[0].recovered, None);
}

#[test]
fn a_crash_after_the_create_reached_the_api_adopts_only_the_new_server() {
    let plan = Case::new(r#"server("legacy-db", #{});"#)
        .servers(vec![server(5, "legacy-db"), server(8, "legacy-db")])
        .state(crashed_create(
            State::new("dev"),
            Kind::Server,
            "legacy-db",
            Some(&[5]),
        ))
        .plan();
    assert_eq!(steps(&plan), pairs(&[("<=", "server.legacy-db")]));
    assert_eq!(
        plan.steps[0].reason.as_deref(),
        Some("created by an interrupted run")
    );
    assert_eq!(plan.settle[0].recovered, Some(8));
    assert_eq!(unmanaged(&plan), ["server legacy-db 5"]);
}

#[test]
fn a_crash_recovery_with_two_candidates_is_refused_naming_them() {
    let errors = Case::new(r#"server("legacy-db", #{});"#)
        .servers(vec![
            server(5, "legacy-db"),
            server(8, "legacy-db"),
            server(9, "legacy-db"),
        ])
        .state(crashed_create(
            State::new("dev"),
            Kind::Server,
            "legacy-db",
            Some(&[5]),
        ))
        .errors();
    assert!(errors[0].contains("cannot tell which object"), "{errors:?}");
}

#[test]
fn an_old_journal_entry_without_the_existing_list_never_guesses() {
    let errors = Case::new(r#"server("web-1", #{});"#)
        .servers(vec![server(5, "web-1")])
        .state(crashed_create(
            State::new("dev"),
            Kind::Server,
            "web-1",
            None,
        ))
        .errors();
    assert!(errors[0].contains("older ict"), "{errors:?}");
}

#[test]
fn interrupted_key_and_network_creates_are_recovered_like_servers() {
    let script = format!(r#"ssh_key("deploy", #{{ public_key: "{KEY}" }}); network("backend");"#);
    let crashed = crashed_create(
        crashed_create(State::new("dev"), Kind::SshKey, "deploy", Some(&[1])),
        Kind::Network,
        "backend",
        Some(&[2]),
    );
    let plan = Case::new(&script)
        .keys(vec![key(1, "deploy"), key(3, "deploy")])
        .networks(vec![network(2, "backend"), network(4, "backend")])
        .state(crashed)
        .plan();
    assert!(plan.is_empty(), "{:#?}", plan.steps);
    let recovered: Vec<Option<u64>> = plan.settle.iter().map(|s| s.recovered).collect();
    assert_eq!(recovered, [Some(3), Some(4)]);
    assert_eq!(unmanaged(&plan), ["network backend 2", "ssh_key deploy 1"]);
}

#[test]
fn a_server_still_being_created_is_waited_for_without_a_power_or_size_diff() {
    let mut new = server(7, "web-1");
    new.state = ServerState::New;
    new.power_on = false;
    new.ip = None;
    let plan = Case::new(r#"server("web-1", #{});"#)
        .servers(vec![new])
        .state(state(&[(Kind::Server, "web-1", 7)]))
        .plan();
    assert_eq!(steps(&plan), pairs(&[("~", "server.web-1")]));
    let changed: Vec<&str> = plan.steps[0]
        .changes
        .iter()
        .map(|c| c.attr.as_str())
        .collect();
    assert_eq!(changed, ["state"]);
    assert!(matches!(
        plan.steps[0].work,
        Work::Server {
            wait: true,
            power: None,
            resize: None,
            ..
        }
    ));
}

#[test]
fn objects_already_gone_are_forgotten_and_the_plan_says_so() {
    let plan = Case::new("")
        .state(state(&[
            (Kind::Server, "web-1", 7),
            (Kind::Network, "backend", 3),
        ]))
        .plan();
    assert_eq!(
        steps(&plan),
        pairs(&[("-", "server.web-1"), ("-", "network.backend")])
    );
    for step in &plan.steps {
        assert!(
            matches!(&step.work, Work::Delete { ids, gone, .. } if ids.is_empty() && gone.len() == 1)
        );
        assert!(step
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("forgotten")));
    }
}

#[test]
fn networks_and_keys_are_deleted_after_the_servers_that_use_them() {
    let mut web = server(7, "web-1");
    web.links.push(ServerLink {
        link_id: None,
        network_id: NetworkId(3),
        network_name: Some("backend".into()),
        network_type: Some("Private".into()),
        state: None,
        ip: None,
        mac: None,
        mask: None,
        gateway: None,
        bandwidth: None,
    });
    let plan = Case::new("")
        .servers(vec![web])
        .networks(vec![network(3, "backend")])
        .keys(vec![key(4, "deploy")])
        .state(state(&[
            (Kind::Network, "backend", 3),
            (Kind::Server, "web-1", 7),
            (Kind::SshKey, "deploy", 4),
        ]))
        .plan();
    assert_eq!(
        steps(&plan),
        pairs(&[
            ("-", "server.web-1"),
            ("-", "network.backend"),
            ("-", "ssh_key.deploy")
        ])
    );
    for step in &plan.steps[1..] {
        assert_eq!(
            step.after,
            [address(Kind::Server, "web-1")],
            "{}",
            step.address
        );
    }
}

#[test]
fn a_deposed_server_left_by_an_interrupted_replacement_is_deleted() {
    let mut st = state(&[(Kind::Server, "web-1", 7)]);
    let op = JournalOp::new(address(Kind::Server, "web-1"), JournalAction::Create)
        .with_existing([7])
        .replacing(Some(7));
    let seq = st.begin(op);
    st.finish(seq, &crate::state::Outcome::Done { id: 9 })
        .expect("open entry");
    let plan = Case::new(r#"server("web-1", #{});"#)
        .servers(vec![server(7, "web-1"), server(9, "web-1")])
        .state(st)
        .plan();
    assert_eq!(steps(&plan), pairs(&[("-", "deposed.server.web-1")]));
    assert!(matches!(&plan.steps[0].work, Work::Delete { ids, .. } if ids == &[7]));
    assert!(plan.unmanaged.is_empty(), "{:?}", plan.unmanaged);
}

#[test]
fn an_interrupted_delete_of_an_object_now_gone_is_settled_as_done() {
    let mut st = state(&[(Kind::Server, "web-1", 7)]);
    st.begin(JournalOp::new(address(Kind::Server, "web-1"), JournalAction::Delete).on_id(7));
    let plan = Case::new("").state(st).plan();
    assert_eq!(plan.settle[0].recovered, Some(7));
}

#[test]
fn unknown_data_centre_unavailable_pool_and_unknown_image_are_errors_with_choices() {
    let cases = [
        (
            r#"server("a", #{ dc: "Mars" });"#,
            "data centre `Mars` is not in 1cloud's catalogue",
        ),
        (
            r#"server("a", #{ dc: "SdnSpb2" });"#,
            "data centre `SdnSpb2` has no base pool for server `a`",
        ),
        (
            r#"server("a", #{ image: "Ubuntu99x64" });"#,
            "image `Ubuntu99x64` is not in 1cloud's catalogue",
        ),
        (
            r#"network("n", #{ dc: "Mars" });"#,
            "data centre `Mars` is not in 1cloud's catalogue",
        ),
    ];
    for (script, expected) in cases {
        let errors = Case::new(script).errors();
        assert_eq!(errors, [expected], "{script}");
    }
    let high = Case::new(r#"server("a", #{ dc: "SdnSpb2", high_performance: true });"#).plan();
    assert_eq!(steps(&high), pairs(&[("+", "server.a")]));
}

#[test]
fn a_public_data_centre_title_suggests_its_technical_name() {
    let case = Case::new(r#"server("a", #{ dc: "Xelent" });"#);
    let Err(errors) = case.run() else {
        panic!("should fail");
    };
    let help = miette::Diagnostic::help(&errors[0])
        .map(|h| h.to_string())
        .unwrap_or_default();
    assert!(help.starts_with("did you mean `SdnSpb`?"), "{help}");
}

#[test]
fn only_the_kinds_a_script_uses_or_the_state_owns_are_read() {
    let only_servers = kinds(&desired(r#"server("a", #{});"#), &State::new("dev"));
    assert_eq!(only_servers, crate::provider::Kinds::SERVERS);
    let owned_dns = kinds(&desired(""), &state(&[(Kind::DnsRecord, "x", 1)]));
    assert!(owned_dns.dns && owned_dns.servers && !owned_dns.networks);
}

#[test]
fn a_new_key_and_network_come_before_the_server_that_uses_them() {
    let script = format!(
        r#"let k = ssh_key("deploy", #{{ public_key: "{KEY}" }});
           let n = network("backend");
           server("web-1", #{{ ssh_keys: [k], networks: [n] }});"#
    );
    let plan = Case::new(&script).plan();
    assert_eq!(
        steps(&plan),
        pairs(&[
            ("+", "ssh_key.deploy"),
            ("+", "network.backend"),
            ("+", "server.web-1")
        ])
    );
    assert_eq!(
        plan.steps[2].after,
        [
            address(Kind::SshKey, "deploy"),
            address(Kind::Network, "backend")
        ]
    );
}

#[test]
fn a_changed_public_key_replaces_the_key() {
    let script = format!(r#"ssh_key("deploy", #{{ public_key: "{KEY}" }});"#);
    let mut old = key(4, "deploy");
    old.public_key = "ssh-ed25519 AAAAother old".into();
    let plan = Case::new(&script)
        .keys(vec![old])
        .state(state(&[(Kind::SshKey, "deploy", 4)]))
        .plan();
    assert_eq!(steps(&plan), pairs(&[("-/+", "ssh_key.deploy")]));
    assert_eq!(plan.steps[0].action, Action::Replace);
}

#[test]
fn moved_keeps_the_server_under_its_new_name() {
    let plan = Case::new(r#"let s = server("shop-web-1", #{}); moved("web-1", s);"#)
        .servers(vec![server(7, "web-1")])
        .state(state(&[(Kind::Server, "web-1", 7)]))
        .plan();
    assert!(
        plan.steps.is_empty(),
        "no create, no delete: {:#?}",
        plan.steps
    );
    assert_eq!(plan.moves.len(), 1);
    assert_eq!(
        (
            plan.moves[0].from.to_string(),
            plan.moves[0].to.to_string(),
            plan.moves[0].id
        ),
        ("server.web-1".to_owned(), "server.shop-web-1".to_owned(), 7)
    );
    assert!(!plan.is_empty());
    assert_eq!(plan.summary().moved, 1);
    assert!(plan.unmanaged.is_empty());
}

#[test]
fn moved_renames_a_network_in_the_cloud_too() {
    let plan = Case::new(r#"let n = network("be"); moved("backend", n);"#)
        .networks(vec![network(3, "backend")])
        .state(state(&[(Kind::Network, "backend", 3)]))
        .plan();
    assert_eq!(steps(&plan), pairs(&[("~", "network.be")]));
    assert!(matches!(&plan.steps[0].work, Work::RenameNetwork { name, .. } if name == "be"));
}

#[test]
fn a_network_of_ict_not_yet_active_is_waited_for_before_servers_join_it() {
    let mut made = network(3, "be");
    "New".clone_into(&mut made.state);
    let plan = Case::new(r#"let n = network("be"); server("web", #{ networks: [n] });"#)
        .networks(vec![made])
        .state(state(&[(Kind::Network, "be", 3)]))
        .plan();
    let wait = plan
        .steps
        .iter()
        .find(|s| s.address.to_string() == "network.be")
        .expect("a step for the network");
    assert!(matches!(wait.work, Work::WaitNetwork { id } if id == NetworkId(3)));
    let web = plan
        .steps
        .iter()
        .find(|s| s.address.to_string() == "server.web")
        .expect("a step for the server");
    assert!(web.after.iter().any(|a| a.to_string() == "network.be"));
}

#[test]
fn a_move_already_done_or_from_nothing_changes_nothing() {
    let done = Case::new(r#"let s = server("new", #{}); moved("old", s);"#)
        .servers(vec![server(7, "old")])
        .state(state(&[(Kind::Server, "new", 7)]))
        .plan();
    assert!(done.is_empty(), "{done:#?}");
    assert!(done.warnings.is_empty());
    let nothing = Case::new(r#"let s = server("new", #{}); moved("old", s);"#).plan();
    assert_eq!(steps(&nothing), pairs(&[("+", "server.new")]));
    assert_eq!(nothing.warnings.len(), 1, "{:?}", nothing.warnings);
    assert!(nothing.warnings[0].contains("ict owns no server.old"));
}

#[test]
fn adopt_by_id_takes_that_server_even_when_its_name_is_shared() {
    let plan = Case::new(r#"server("db", #{ adopt: 9 });"#)
        .servers(vec![server(5, "db"), server(9, "db")])
        .plan();
    assert_eq!(steps(&plan), pairs(&[("<=", "server.db")]));
    assert_eq!(plan.steps[0].reason.as_deref(), Some("adopted by ID 9"));
    assert!(matches!(
        plan.steps[0].work,
        Work::Server {
            existing: Some(ServerId(9)),
            adopt: true,
            ..
        }
    ));
    assert_eq!(unmanaged(&plan), ["server db 5"]);
}

#[test]
fn adopt_by_an_unknown_or_owned_id_is_refused() {
    let errors = Case::new(r#"server("db", #{ adopt: 4 });"#)
        .servers(vec![server(5, "db")])
        .errors();
    assert_eq!(errors, ["no server with ID 4 in the account"]);
    let errors = Case::new(r#"server("web", #{}); server("db", #{ adopt: 5 });"#)
        .servers(vec![server(5, "web")])
        .state(state(&[(Kind::Server, "web", 5)]))
        .errors();
    assert_eq!(
        errors,
        ["server ID 5 is already managed by ict as server.web"]
    );
}

#[test]
fn a_server_still_being_created_gets_its_networks_and_power_once_active() {
    let mut new = server(7, "web-1");
    new.state = ServerState::New;
    new.power_on = false;
    let plan = Case::new(
        r#"let n = network("backend"); server("web-1", #{ networks: [n], power: "off" });"#,
    )
    .servers(vec![new])
    .networks(vec![network(3, "backend")])
    .state(state(&[
        (Kind::Server, "web-1", 7),
        (Kind::Network, "backend", 3),
    ]))
    .plan();
    let changed: Vec<String> = plan.steps[0]
        .changes
        .iter()
        .map(|c| format!("{} {}", c.attr, c.after))
        .collect();
    assert_eq!(changed, ["state Active", "networks + backend", "power off"]);
    assert!(matches!(
        &plan.steps[0].work,
        Work::Server { wait: true, power: Some(false), attach, .. } if attach.len() == 1
    ));
}

const WWW: &str =
    r#"dns_record(#{ zone: "example.org", name: "www", type: "A", value: "203.0.113.7" });"#;

#[test]
fn a_dns_record_in_a_missing_zone_creates_the_zone_first() {
    let plan = Case::new(WWW).plan();
    assert_eq!(
        steps(&plan),
        pairs(&[
            ("+", "dns_zone.example.org"),
            ("+", "dns_record.www.example.org/A")
        ])
    );
    assert_eq!(plan.steps[1].after, [address(Kind::DnsZone, "example.org")]);
}

#[test]
fn an_owned_dns_record_that_matches_plans_nothing_and_one_changed_is_replaced() {
    let owned = state(&[(Kind::DnsRecord, "www.example.org/A", 21)]);
    let same = Case::new(WWW)
        .domains(vec![zone(
            20,
            "example.org",
            &[(21, "A", "www", "203.0.113.7")],
        )])
        .state(owned.clone())
        .plan();
    assert!(same.is_empty(), "{same:#?}");
    let changed = Case::new(WWW)
        .domains(vec![zone(
            20,
            "example.org",
            &[(21, "A", "www", "203.0.113.8")],
        )])
        .state(owned)
        .plan();
    assert_eq!(
        steps(&changed),
        pairs(&[("-/+", "dns_record.www.example.org/A")])
    );
}

#[test]
fn a_record_with_a_servers_ip_waits_for_that_server() {
    let script = r#"let web = server("web", #{});
        dns_record(#{ zone: "example.org", name: "www", type: "A", value: web.ip });"#;
    let plan = Case::new(script)
        .domains(vec![zone(20, "example.org", &[])])
        .plan();
    assert_eq!(
        steps(&plan),
        pairs(&[("+", "server.web"), ("+", "dns_record.www.example.org/A")])
    );
    assert_eq!(plan.steps[1].after, [address(Kind::Server, "web")]);
    assert!(matches!(
        &plan.steps[1].work,
        Work::CreateRecord {
            value: super::super::step::RecordValue::ServerIp(_),
            ..
        }
    ));
}

#[test]
fn records_ict_does_not_own_in_its_zones_are_unmanaged_but_not_ns_or_soa() {
    let plan = Case::new(WWW)
        .domains(vec![zone(
            20,
            "example.org",
            &[
                (21, "NS", "@", "ns1.1cloud.ru"),
                (22, "TXT", "@", "v=spf1 -all"),
            ],
        )])
        .plan();
    assert_eq!(unmanaged(&plan), ["dns_record @ TXT v=spf1 -all 22"]);
}

#[test]
fn an_owned_record_no_longer_declared_is_deleted_in_its_zone() {
    let plan = Case::new("")
        .domains(vec![zone(
            20,
            "example.org",
            &[(21, "A", "www", "203.0.113.7")],
        )])
        .state(state(&[(Kind::DnsRecord, "www.example.org/A", 21)]))
        .plan();
    assert_eq!(
        steps(&plan),
        pairs(&[("-", "dns_record.www.example.org/A")])
    );
    assert!(matches!(
        &plan.steps[0].work,
        Work::Delete { ids, domain: Some(DomainId(20)), .. } if ids == &[21]
    ));
}

#[test]
fn a_network_no_longer_declared_for_a_server_is_detached_only_if_ict_owns_it() {
    let mut web = server(7, "web");
    web.links = vec![link(3), link(4)];
    let plan = Case::new(r#"network("backend"); server("web", #{});"#)
        .servers(vec![web])
        .networks(vec![network(3, "backend"), network(4, "panel-net")])
        .state(state(&[
            (Kind::Server, "web", 7),
            (Kind::Network, "backend", 3),
        ]))
        .plan();
    assert_eq!(steps(&plan), pairs(&[("~", "server.web")]));
    assert!(matches!(
        &plan.steps[0].work,
        Work::Server { detach, .. } if detach == &[NetworkId(3)]
    ));
}

#[test]
fn a_new_server_declared_off_is_created_then_powered_off() {
    let plan = Case::new(r#"server("web", #{ power: "off" });"#).plan();
    assert!(matches!(
        &plan.steps[0].work,
        Work::Server {
            create: Some(_),
            power: Some(false),
            ..
        }
    ));
}

#[test]
fn depends_on_orders_servers() {
    let plan =
        Case::new(r#"let db = server("db", #{}); server("app", #{ depends_on: [db] });"#).plan();
    assert_eq!(
        steps(&plan),
        pairs(&[("+", "server.db"), ("+", "server.app")])
    );
    assert_eq!(plan.steps[1].after, [address(Kind::Server, "db")]);
}

#[test]
fn a_pool_change_is_an_update_in_place() {
    let plan = Case::new(r#"server("web", #{ high_performance: true });"#)
        .servers(vec![server(7, "web")])
        .state(state(&[(Kind::Server, "web", 7)]))
        .plan();
    assert_eq!(steps(&plan), pairs(&[("~", "server.web")]));
    assert_eq!(plan.steps[0].changes[0].attr, "high_performance");
}

#[test]
fn a_protected_server_whose_image_changed_is_an_error_at_its_image() {
    let mut old = server(7, "web");
    old.image = "Debian11x64".into();
    let errors = Case::new(r#"server("web", #{ protect: true });"#)
        .servers(vec![old])
        .state(state(&[(Kind::Server, "web", 7)]))
        .errors();
    assert_eq!(
        errors,
        ["server `web` is protected and would be replaced (image changed)"]
    );
}

#[test]
fn an_ssh_key_deleted_outside_ict_is_uploaded_again() {
    let script = format!(r#"ssh_key("deploy", #{{ public_key: "{KEY}" }});"#);
    let plan = Case::new(&script)
        .state(state(&[(Kind::SshKey, "deploy", 4)]))
        .plan();
    assert_eq!(steps(&plan), pairs(&[("+", "ssh_key.deploy")]));
    assert_eq!(plan.steps[0].reason.as_deref(), Some("deleted outside ict"));
}

#[test]
fn an_interrupted_delete_of_an_object_still_there_is_superseded_and_planned_again() {
    let mut st = state(&[(Kind::Server, "old", 7)]);
    st.begin(JournalOp::new(address(Kind::Server, "old"), JournalAction::Delete).on_id(7));
    st.begin(JournalOp::new(address(Kind::Server, "old"), JournalAction::Power).on_id(7));
    let plan = Case::new("")
        .servers(vec![server(7, "old")])
        .state(st)
        .plan();
    let settled: Vec<Option<u64>> = plan.settle.iter().map(|s| s.recovered).collect();
    assert_eq!(settled, [None, None]);
    assert_eq!(steps(&plan), pairs(&[("-", "server.old")]));
}

const GOLDEN: &str = r#"
let db = server("db-1", #{});
let golden = image("db-golden", #{ from: db });
server("db-2", #{ image: golden });
"#;

#[test]
fn an_image_is_made_after_its_server_and_before_the_servers_made_from_it() {
    let plan = Case::new(GOLDEN).plan();
    assert_eq!(
        steps(&plan),
        pairs(&[
            ("+", "server.db-1"),
            ("+", "server.db-2"),
            ("+", "image.db-golden")
        ])
    );
    let after = |i: usize| -> Vec<String> {
        plan.steps[i]
            .after
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(after(1), ["image.db-golden"]);
    assert_eq!(after(2), ["server.db-1"]);
    let Work::Server {
        create: Some(new), ..
    } = &plan.steps[1].work
    else {
        panic!("{:#?}", plan.steps[1]);
    };
    assert_eq!(new.image_name, "db-golden");
    assert_eq!(
        new.image,
        super::super::step::Ref::Address(address(Kind::Image, "db-golden"))
    );
}

#[test]
fn an_owned_image_that_exists_plans_nothing_and_one_deleted_outside_ict_is_made_again() {
    let owned = state(&[
        (Kind::Server, "db-1", 7),
        (Kind::Server, "db-2", 8),
        (Kind::Image, "db-golden", 60),
    ]);
    let mut copy = server(8, "db-2");
    copy.image = "db-golden".into();
    let case = Case::new(GOLDEN)
        .servers(vec![server(7, "db-1"), copy])
        .state(owned);
    let plan = case.templates(vec![image(60, "db-golden")]).plan();
    assert!(plan.is_empty(), "{plan:#?}");

    let mut copy = server(8, "db-2");
    copy.image = "db-golden".into();
    let plan = Case::new(GOLDEN)
        .servers(vec![server(7, "db-1"), copy])
        .state(state(&[
            (Kind::Server, "db-1", 7),
            (Kind::Server, "db-2", 8),
            (Kind::Image, "db-golden", 60),
        ]))
        // A template of that name that ict did not make is not its image.
        .templates(vec![image(61, "db-golden")])
        .plan();
    assert_eq!(steps(&plan), pairs(&[("+", "image.db-golden")]));
    assert_eq!(plan.steps[0].reason.as_deref(), Some("deleted outside ict"));
}

#[test]
fn an_image_no_longer_declared_is_deleted_and_one_already_gone_is_forgotten() {
    let owned = || state(&[(Kind::Server, "db-1", 7), (Kind::Image, "db-golden", 60)]);
    let script = r#"server("db-1", #{});"#;
    let plan = Case::new(script)
        .servers(vec![server(7, "db-1")])
        .state(owned())
        .templates(vec![image(60, "db-golden")])
        .plan();
    assert_eq!(steps(&plan), pairs(&[("-", "image.db-golden")]));
    let Work::Delete { ids, gone, .. } = &plan.steps[0].work else {
        panic!("{:#?}", plan.steps[0]);
    };
    assert_eq!((ids.as_slice(), gone.as_slice()), (&[60][..], &[][..]));

    let plan = Case::new(script)
        .servers(vec![server(7, "db-1")])
        .state(owned())
        .plan();
    let Work::Delete { ids, gone, .. } = &plan.steps[0].work else {
        panic!("{:#?}", plan.steps[0]);
    };
    assert_eq!((ids.as_slice(), gone.as_slice()), (&[][..], &[60][..]));
}

#[test]
fn a_crash_while_making_an_image_adopts_only_the_new_template() {
    let owned = state(&[(Kind::Server, "db-1", 7), (Kind::Server, "db-2", 8)]);
    let mut copy = server(8, "db-2");
    copy.image = "db-golden".into();
    let plan = Case::new(GOLDEN)
        .servers(vec![server(7, "db-1"), copy])
        .state(crashed_create(owned, Kind::Image, "db-golden", Some(&[50])))
        .templates(vec![image(50, "db-golden"), image(60, "db-golden")])
        .plan();
    assert_eq!(plan.settle[0].recovered, Some(60));
    assert!(
        plan.steps.iter().all(|s| s.address.kind() != Kind::Image),
        "{plan:#?}"
    );
}

const STORAGE: &str = r#"
    let lab = pool("lab", #{ path: "/srv/lab" });
    let db = server("db-1", #{});
    server("web-1", #{});
    volume("data", #{ pool: lab, size: 20, attach_to: db });
"#;

fn pool(id: u64, name: &str, path: &str) -> ObservedPool {
    ObservedPool {
        id: PoolId(id),
        name: name.to_owned(),
        kind: "dir".into(),
        path: path.to_owned(),
        active: true,
        capacity: 100,
        available: 80,
    }
}

fn volume(id: u64, size: u32, attached_to: Option<u64>) -> ObservedVolume {
    ObservedVolume {
        id: VolumeId(id),
        name: "data".into(),
        pool: PoolId(7),
        pool_name: "lab".into(),
        size,
        format: "qcow2".into(),
        attached_to: attached_to.map(ServerId),
    }
}

/// The storage script's objects, all made and owned: pool 7, servers 1 and 2, volume 9.
fn storage_made(script: &str, volume: ObservedVolume) -> Case {
    Case::new(script)
        .servers(vec![server(1, "db-1"), server(2, "web-1")])
        .storage(vec![pool(7, "lab", "/srv/lab")], vec![volume])
        .state(state(&[
            (Kind::Pool, "lab", 7),
            (Kind::Server, "db-1", 1),
            (Kind::Server, "web-1", 2),
            (Kind::Volume, "data", 9),
        ]))
}

#[test]
fn a_pool_and_a_volume_are_made_after_the_pool_and_the_server_they_need() {
    let plan = Case::new(STORAGE).plan();
    assert_eq!(
        steps(&plan),
        pairs(&[
            ("+", "server.db-1"),
            ("+", "server.web-1"),
            ("+", "pool.lab"),
            ("+", "volume.data")
        ])
    );
    let volume = &plan.steps[3];
    assert_eq!(
        volume.after,
        [address(Kind::Pool, "lab"), address(Kind::Server, "db-1")]
    );
    // New servers' root volumes may go to the new pool.
    assert!(plan.steps[0].after.contains(&address(Kind::Pool, "lab")));
}

#[test]
fn storage_that_matches_plans_nothing() {
    let plan = storage_made(STORAGE, volume(9, 20, Some(1))).plan();
    assert!(plan.is_empty(), "{plan:#?}");
}

#[test]
fn a_bigger_volume_grows_and_one_moved_to_another_server_is_detached_first() {
    let script = STORAGE.replace("size: 20, attach_to: db", "size: 30, attach_to: \"web-1\"");
    let plan = storage_made(&script, volume(9, 20, Some(1))).plan();
    assert_eq!(steps(&plan), pairs(&[("~", "volume.data")]));
    let Work::ChangeVolume {
        grow,
        detach,
        attach,
        ..
    } = &plan.steps[0].work
    else {
        panic!("{:?}", plan.steps[0].work)
    };
    assert_eq!(
        (*grow, *detach, attach.clone()),
        (
            Some(30),
            Some(ServerId(1)),
            Some(super::super::step::Ref::Id(ServerId(2)))
        )
    );
}

#[test]
fn a_volume_cannot_shrink_nor_a_pool_move() {
    let script = STORAGE
        .replace("size: 20", "size: 5")
        .replace("/srv/lab", "/srv/elsewhere");
    let errors = storage_made(&script, volume(9, 20, Some(1))).errors();
    assert!(
        errors.iter().any(|e| e.contains("a volume only grows")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("a pool cannot move")),
        "{errors:?}"
    );
}

#[test]
fn storage_no_longer_declared_is_deleted_volumes_after_servers_and_the_pool_last() {
    let plan = storage_made("", volume(9, 20, Some(1))).plan();
    assert_eq!(
        steps(&plan),
        pairs(&[
            ("-", "server.db-1"),
            ("-", "server.web-1"),
            ("-", "volume.data"),
            ("-", "pool.lab")
        ])
    );
    let pool = &plan.steps[3];
    assert!(pool.after.contains(&address(Kind::Volume, "data")));
    assert!(pool.after.contains(&address(Kind::Server, "db-1")));
    assert!(plan.steps[2].after.contains(&address(Kind::Server, "db-1")));
}

#[test]
fn a_volume_deleted_outside_ict_is_made_again_and_storage_kinds_are_read() {
    let plan = storage_made(STORAGE, volume(9, 20, None))
        .storage(vec![pool(7, "lab", "/srv/lab")], vec![])
        .plan();
    assert_eq!(steps(&plan), pairs(&[("+", "volume.data")]));
    assert_eq!(plan.steps[0].reason.as_deref(), Some("deleted outside ict"));
    assert!(kinds(&desired(STORAGE), &State::new("dev")).storage);
    assert!(kinds(&desired(""), &state(&[(Kind::Volume, "data", 9)])).storage);
}
