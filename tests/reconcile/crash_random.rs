//! Issue 13's randomized crash test: an apply of servers, SSH keys, networks and DNS records,
//! with panel-made objects of every kind sharing the declared names already in the account,
//! killed with SIGKILL at a random moment, then run again to completion. Each seed is printed
//! (`seed N: kill after M ms`) so a failure can be replayed with `ICT_CRASH_SEEDS=N`.
//!
//! After each seed: no duplicates (exactly one owned object per declared name), no orphans
//! (every object in the account is either pre-existing or owned by ict), and every
//! pre-existing object's full JSON unchanged.

#![allow(
    clippy::print_stderr,
    reason = "each seed is printed so that a failure can be replayed"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use ict::state::{Kind, State, StateDir};

use super::{expect, Cloud, Running};

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ deploy";

/// The apply journals eight operations (four creates, two attaches, two records); the kill
/// comes after one of the first six has begun, and up to 150 ms later (80 ms per request,
/// 200 ms per task).
const PROGRESS_POINTS: u64 = 6;
const JITTER_MS: u64 = 150;

const SCRIPT: &str = r#"
let k = ssh_key("deploy", #{ public_key: "KEY" });
let n = network("backend");
let web = server("web", #{ ssh_keys: [k], networks: [n] });
server("db", #{ networks: [n] });
dns_record(#{ zone: "example.org", name: "www", type: "A", value: web.ip });
dns_record(#{ zone: "example.org", name: "txt", type: "TXT", value: "v=ict" });
"#;

/// The seeds to run: `ICT_CRASH_SEEDS=3,17` replays chosen ones; 20 by default.
fn seeds() -> Vec<u64> {
    match std::env::var("ICT_CRASH_SEEDS") {
        Ok(list) => list
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
        Err(_) => (1..=20).collect(),
    }
}

/// A small deterministic generator (`SplitMix64`) for a seed's kill moment.
fn draw(seed: u64, salt: u64, below: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(31)
        .wrapping_add(salt)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % below
}

/// How many journal entries the state log shows begun.
fn begun(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join(".ict/dev/state.log"))
        .unwrap_or_default()
        .matches("{\"begin\"")
        .count()
}

/// Every object of the account, by kind, as `(ID, full JSON)`.
async fn account(cloud: &Cloud) -> BTreeMap<&'static str, BTreeMap<u64, Value>> {
    let mut all = BTreeMap::new();
    for (kind, path) in [
        ("server", "/server"),
        ("network", "/network"),
        ("ssh_key", "/sshkey"),
    ] {
        let list = cloud.ok(Method::GET, path, None).await;
        let by_id = list
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o["ID"].as_u64().unwrap(), o.clone()))
            .collect();
        all.insert(kind, by_id);
    }
    let mut records = BTreeMap::new();
    let mut domains = BTreeMap::new();
    for domain in cloud
        .ok(Method::GET, "/dns", None)
        .await
        .as_array()
        .unwrap()
    {
        for record in domain["LinkedRecords"].as_array().unwrap() {
            records.insert(record["ID"].as_u64().unwrap(), record.clone());
        }
        let mut bare = domain.clone();
        bare["LinkedRecords"] = json!(null);
        domains.insert(domain["ID"].as_u64().unwrap(), bare);
    }
    all.insert("dns_record", records);
    all.insert("dns_zone", domains);
    all
}

/// Panel-made objects sharing every declared name, all settled (Active).
async fn panel_objects(cloud: &Cloud) {
    for name in ["web", "db"] {
        cloud.create_by_hand(name).await;
    }
    cloud
        .ok(
            Method::POST,
            "/sshkey",
            Some(json!({"Title": "deploy", "PublicKey": KEY})),
        )
        .await;
    cloud
        .ok(
            Method::POST,
            "/network",
            Some(json!({"Name": "backend", "DCLocation": "SdnSpb", "IsDHCP": true})),
        )
        .await;
    let domain = cloud
        .ok(Method::POST, "/dns", Some(json!({"Name": "example.org"})))
        .await;
    let id = domain["ID"].to_string();
    cloud
        .ok(
            Method::POST,
            "/dns/recorda",
            Some(json!({"DomainId": id, "Name": "www", "IP": "203.0.113.9", "TTL": "300"})),
        )
        .await;
    cloud
        .ok(
            Method::POST,
            "/dns/recordtxt",
            Some(json!({"DomainId": id, "Name": "txt", "Text": "v=panel", "TTL": "300"})),
        )
        .await;
    // Let every task finish, so the JSON taken as "before" is final.
    for _ in 0..200 {
        let settled = account(cloud)
            .await
            .values()
            .flat_map(BTreeMap::values)
            .all(|o| o["State"].as_str().is_none_or(|s| s == "Active"));
        if settled {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the panel's objects never became Active");
}

fn owned(dir: &Path) -> State {
    State::load(&StateDir::at(dir.join(".ict/dev"), "dev").unwrap()).unwrap()
}

/// Runs one seed; returns how many operations the kill left unfinished in the journal.
async fn one_seed(seed: u64) -> usize {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("infra.ict"), SCRIPT.replace("KEY", KEY)).unwrap();
    let cloud = Cloud::start(
        &dir.path().join("cloud.json"),
        &["--task-delay", "200", "--latency", "80"],
    );
    panel_objects(&cloud).await;
    let before = account(&cloud).await;
    // A random moment of the apply's progress: once the Nth operation has begun, then a
    // random delay (the request in flight, its answer, the wait that follows).
    let nth = 1 + usize::try_from(draw(seed, 1, PROGRESS_POINTS)).unwrap_or(0);
    let jitter = draw(seed, 2, JITTER_MS);
    eprintln!("seed {seed}: kill {jitter} ms after operation {nth} began");
    let mut apply = Running(
        cloud
            .command(dir.path(), &["apply", "infra.ict", "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..1000 {
        if begun(dir.path()) >= nth || apply.0.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tokio::time::sleep(Duration::from_millis(jitter)).await;
    let finished = apply.0.try_wait().unwrap();
    if let Some(status) = finished {
        eprintln!(
            "seed {seed}: the apply ended with {status} after {} operations",
            begun(dir.path())
        );
    }
    let finished = finished.is_some();
    apply.0.kill().unwrap();
    apply.0.wait().unwrap();
    let open = owned(dir.path()).journal().unfinished().len();
    eprintln!(
        "seed {seed}: {open} operation(s) left unfinished{}",
        if finished {
            " (the apply had already ended)"
        } else {
            ""
        }
    );

    let out = cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]);
    expect(&out, 0);
    let out = cloud.ict(dir.path(), &["plan", "infra.ict", "--detailed-exitcode"]);
    expect(&out, 0);

    let after = account(&cloud).await;
    let state = owned(dir.path());
    assert!(
        state.journal().is_empty(),
        "seed {seed}: {:?}",
        state.journal().unfinished()
    );
    assert!(
        state.deposed().is_empty(),
        "seed {seed}: {:?}",
        state.deposed()
    );
    for (kind, objects) in &before {
        for (id, json) in objects {
            assert_eq!(
                after[kind].get(id),
                Some(json),
                "seed {seed}: the panel's {kind} {id} changed"
            );
        }
    }
    let mut declared = BTreeMap::new();
    declared.insert("server", vec!["web", "db"]);
    declared.insert("ssh_key", vec!["deploy"]);
    declared.insert("network", vec!["backend"]);
    for (kind, objects) in &after {
        let pre: BTreeSet<u64> = before[kind].keys().copied().collect();
        let mine: BTreeSet<u64> = state
            .resources()
            .iter()
            .filter(|(a, _)| a.kind().as_str() == *kind)
            .map(|(_, r)| r.id)
            .collect();
        for id in objects.keys() {
            assert!(
                pre.contains(id) || mine.contains(id),
                "seed {seed}: orphan {kind} {id}: {}",
                objects[id]
            );
        }
        if let Some(names) = declared.get(kind) {
            assert_eq!(
                mine.len(),
                names.len(),
                "seed {seed}: {kind}s owned: {mine:?}"
            );
        }
    }
    let records = state
        .resources()
        .keys()
        .filter(|a| a.kind() == Kind::DnsRecord)
        .count();
    assert_eq!(records, 2, "seed {seed}");
    open
}

// Ten seeds at a time, each on its own worker: a seed's blocking `ict` runs must not hold up
// another seed's kill. A seed mostly waits on the emulator's latency and task delays.
#[tokio::test(flavor = "multi_thread", worker_threads = 10)]
async fn killed_at_a_random_moment_with_panel_objects_sharing_every_name() {
    let seeds = seeds();
    assert!(seeds.len() >= 20 || std::env::var("ICT_CRASH_SEEDS").is_ok());
    let mut runs = tokio::task::JoinSet::new();
    for chunk in seeds.chunks(seeds.len().div_ceil(10).max(1)) {
        let chunk = chunk.to_vec();
        runs.spawn(async move {
            let mut open = 0;
            for seed in chunk {
                open += one_seed(seed).await;
            }
            open
        });
    }
    let mut open = 0;
    while let Some(done) = runs.join_next().await {
        match done {
            Ok(n) => open += n,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    assert!(
        open > 0,
        "no kill left an operation unfinished: the test proves nothing"
    );
}
