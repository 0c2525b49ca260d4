//! Contract tests (issue 14): clients that other people wrote against the real 1cloud API
//! judge the emulator. The published Python clients (the `onecloud` and `certbot-dns-onecloud`
//! packages) run their own code against `ict emulator` on 127.0.0.1:0 through the small drivers
//! next to this file (`drive_*.py`), which only point them at the emulator's URL. ict's own
//! client and planner run against both shapes of DNS answers the evidence shows (`--dns-quirk`).
//!
//! The clients live in the virtual environment `scripts/install-contract-clients.sh` makes (CI
//! runs it). Without it these tests fail and say so; they never skip. See docs/contract-tests.md.

mod certbot;
mod ict_dns;
mod onecloud;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::reconcile::{outcome, Cloud};
use crate::test::{root, Outcome};

/// How long a driver may take (it makes a dozen requests to a local emulator).
const DRIVER_TIMEOUT: Duration = Duration::from_secs(60);

/// The contract clients' virtual environment, where the install script puts it:
/// `${ICT_CONTRACT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/ict/contract-venv}`.
fn venv() -> PathBuf {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(venv) = set("ICT_CONTRACT_VENV") {
        return venv.into();
    }
    let cache = set("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .expect("HOME or XDG_CACHE_HOME is set");
    cache.join("ict").join("contract-venv")
}

/// The venv's Python, or a failure that says how to install the clients.
fn python() -> PathBuf {
    let venv = venv();
    let python = venv.join("bin").join("python");
    let stamp = venv.join("ict-contract-clients.txt");
    assert!(
        python.exists() && stamp.exists(),
        "the published 1cloud clients are not installed in {}: run `bash scripts/install-contract-clients.sh` (CI does)",
        venv.display()
    );
    python
}

/// Runs `tests/contract/{driver}` with `args` in the clients' venv, at most
/// [`DRIVER_TIMEOUT`]; the process is killed if it takes longer.
async fn drive(driver: &str, args: &[String]) -> Outcome {
    let mut command = tokio::process::Command::new(python());
    command
        .arg(root().join("tests").join("contract").join(driver))
        .args(args)
        // requests honours proxy variables; the emulator is on loopback.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // certbot 1.x's own deprecation warnings are not the clients' answers.
        .env("PYTHONWARNINGS", "ignore::DeprecationWarning")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(DRIVER_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{driver} did not finish in {DRIVER_TIMEOUT:?}"))
        .expect("run the driver");
    outcome(output)
}

/// The driver's one line of JSON, after checking it exited 0 (showing what it said if not).
#[track_caller]
fn report(driver: &str, out: &Outcome) -> Value {
    assert_eq!(
        out.status, 0,
        "{driver} failed:\n{}\nstdout:\n{}",
        out.stderr, out.stdout
    );
    serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("{driver} printed no JSON ({e}):\n{}", out.stdout))
}

/// `ict emulator` with DNS answers in the shape `quirk` names (`none` or `lego`), its account in
/// `dir`, tasks taking 20 ms.
fn cloud(dir: &tempfile::TempDir, quirk: &str) -> Cloud {
    Cloud::start(
        &dir.path().join("cloud.json"),
        &["--task-delay", "20", "--dns-quirk", quirk],
    )
}

/// Polls `GET /dns/{id}` until the zone and all its records are Active; at most 10 s.
async fn active_zone(cloud: &Cloud, id: &Value) -> Value {
    let path = format!("/dns/{id}");
    for _ in 0..500 {
        let zone = cloud.ok(Method::GET, &path, None).await;
        let records = zone["LinkedRecords"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if zone["State"] == "Active" && records.iter().all(|r| r["State"] == "Active") {
            return zone;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("zone {id} never became Active");
}

/// Panics naming every field that differs between two JSON snapshots of `what` (records in
/// lists are matched by `ID`, so one left behind is named as such).
#[track_caller]
fn assert_unchanged(what: &str, before: &Value, after: &Value) {
    let mut differences = Vec::new();
    diff(what, before, after, &mut differences);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

fn diff(path: &str, before: &Value, after: &Value, out: &mut Vec<String>) {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                let (x, y) = (&a.get(key), &b.get(key));
                diff(
                    &format!("{path}.{key}"),
                    x.unwrap_or(&Value::Null),
                    y.unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.iter().chain(b).all(|v| v.get("ID").is_some()) => {
            let find = |list: &[Value], id: &Value| list.iter().find(|v| v["ID"] == *id).cloned();
            for x in a {
                let at = format!("{path}[ID {}]", x["ID"]);
                match find(b, &x["ID"]) {
                    Some(y) => diff(&at, x, &y, out),
                    None => out.push(format!("{at} is gone: {x}")),
                }
            }
            for y in b.iter().filter(|y| find(a, &y["ID"]).is_none()) {
                out.push(format!("{path}[ID {}] was left behind: {y}", y["ID"]));
            }
        }
        _ if before != after => out.push(format!("{path}: {before} before, {after} after")),
        _ => {}
    }
}
