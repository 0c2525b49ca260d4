//! Issue 22: the dashboard of `ict watch --listen` — its page in a real headless Chromium
//! (servers, a chart drawn from the history, a firing alert, a failed pipeline run's log), its
//! JSON API (an action refused without the token, done with it; no secret value anywhere), and
//! `ict pipeline logs` reading the same records. Figures come from `ICT_WATCH_SOURCE`; the
//! servers are the emulator's; the failed run is recorded in the state as `ict pipeline run`
//! records one.

use std::fmt::Write as _;
use std::path::Path;

use ict::pipeline::record::{Action, History, Outcome, Record, StageLog};
use ict::state::{Lock, StateDir, Store, Timestamp};
use serde_json::Value;

use crate::support::browser::Browser;
use crate::support::child::{self, Lines, Running};
use crate::test::{root, Test};

/// A secret the pipeline's environment holds: no answer may carry it.
const SECRET: &str = "s3cr3t-dashboard-value";

const SCRIPT: &str = r#"
let web = group("web");
server("web-1", #{ groups: [web] });
server("web-2", #{ groups: [web] });
server("db-1");
alert("hot", #{ when: "cpu > 90", hosts: "all", severity: "critical",
    summary: "cpu at {value}% on {host}" });
pipeline("app", #{
    repo: "file:///nonexistent/app.git",
    environments: #{ dev: #{ refs: ["main"], hosts: "web" } },
    env: #{ TOKEN: secret("ICT_TEST_SECRET") },
    stages: #{ test: "python3 -m pytest -q" },
});
schedule("night-stop", #{ cron: "0 20 * * 1-5", action: "power_off", servers: "web-*" });
"#;

const FIGURES: &str = r#"{
  "web-1": { "cpu": 95, "memory": 40, "net_rx": 1200, "net_tx": 800, "disk_read": 100, "disk_write": 5000 },
  "web-2": { "cpu": 20, "memory": 30, "net_rx": 300, "net_tx": 200 },
  "db-1": { "error": "connection refused" }
}"#;

const RELEASE: &str = "20261206T120000Z-0badc0d";

/// The log of the recorded run, as `Record::log` writes it.
const LOG: &str = "\
== web-1 test (failed, 2.5s)
collected 1 item
FAILED test_app.py::test_hello - token (sensitive)
(exit status 1)
== web-2 test (ok, 2.0s)
1 passed
== 20261206T120000Z-0badc0d failed: web-1 test
FAILED test_app.py::test_hello - token (sensitive)
(exit status 1)
";

/// How many samples of web-1 an earlier `ict watch` kept.
const KEPT: u64 = 90;

/// A project with the servers applied, a failed run of `app` in its state, and the last
/// [`KEPT`] samples of web-1 in the history an earlier watch left (one every 20 s, CPU and
/// network in waves).
fn project() -> Test {
    let now = Timestamp::now().unix();
    let mut history = String::new();
    for i in 0..KEPT {
        // From `low` up to `high` and back down, every `period` samples.
        let wave = |period: u64, low: u64, high: u64| {
            let k = i % period;
            low + (high - low) * 2 * k.min(period - k) / period
        };
        let figures = serde_json::json!({
            "cpu_busy_percent": wave(30, 10, 80),
            "memory_used_percent": 35 + i / 10,
            "network_rx_bytes_per_second": wave(18, 200, 4000),
            "network_tx_bytes_per_second": wave(24, 100, 1500),
        });
        let at = now - (KEPT - i) * 20;
        let _ = writeln!(history, "{{\"at\":{at},\"up\":true,\"figures\":{figures}}}");
    }
    let test = Test::new()
        .write("infra.ict", SCRIPT)
        .write("figures.json", FIGURES)
        .write(".ict/dev/watch/history/web-1.jsonl", &history)
        .env("ICT_TEST_SECRET", SECRET)
        .args(&["apply", "infra.ict", "--yes"]);
    test.success();
    record_failed_run(&test.path().join("infra.ict"));
    test
}

fn record_failed_run(script: &Path) {
    let stage = |host: &str, ok: bool, seconds: f64, tail: &str| StageLog {
        host: host.into(),
        stage: "test".into(),
        ok,
        seconds,
        tail: tail.into(),
    };
    let failure = "FAILED test_app.py::test_hello - token (sensitive)\n(exit status 1)";
    let record = Record {
        release: RELEASE.into(),
        action: Action::Deploy,
        ref_name: "main".into(),
        commit: "0badc0de0badc0de0badc0de0badc0de0badc0de".into(),
        started_at: Timestamp::from_unix(1_796_558_400),
        finished_at: Timestamp::from_unix(1_796_558_405),
        outcome: Outcome::Failed,
        hosts: vec!["web-1".into(), "web-2".into()],
        failed_host: Some("web-1".into()),
        failed_stage: Some("test".into()),
        error: Some(failure.into()),
        stages: vec![
            stage("web-1", false, 2.5, &format!("collected 1 item\n{failure}")),
            stage("web-2", true, 2.0, "1 passed"),
        ],
        log_file: None,
    };
    let dir = StateDir::for_script(script, "dev").expect("state dir");
    let lock = Lock::acquire(&dir, "test").expect("lock").lock;
    let mut store = Store::open(lock).expect("state");
    store
        .commit(|state| {
            let mut history = History::load(state, "app");
            history.push(record);
            history.save(state, "app");
            Ok(())
        })
        .expect("record the run");
    store.close().expect("unlock");
}

/// `ict watch --listen 127.0.0.1:0` in the project, checking drift every `drift_every` rounds:
/// the process, its lines, its address and the token it printed.
fn watch(test: &Test, drift_every: &str) -> (Running, Lines, String, String) {
    let watch = Test::new()
        .current_dir(test.path())
        .env("ICT_WATCH_SOURCE", "figures.json")
        .env("ICT_TEST_SECRET", SECRET)
        .args(&["watch", "infra.ict", "--interval", "0.2"])
        .args(&["--drift-every", drift_every, "--listen", "127.0.0.1:0"]);
    let (running, mut lines) = child::spawn(watch.command());
    let addr = lines.metrics_address();
    let line = lines.wait_for("dashboard on http://");
    let token = line
        .split("#token=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the token in the dashboard line")
        .to_owned();
    assert_eq!(
        line,
        format!("dashboard on http://{addr}/#token={token} (its actions need this token)")
    );
    (running, lines, addr, token)
}

fn api(addr: &str, path: &str) -> Value {
    let body = child::http_get(addr, path);
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

#[test]
fn the_dashboard_in_a_browser_lists_servers_charts_history_shows_a_firing_alert_and_a_failed_runs_log(
) {
    let Some(browser) = Browser::start() else {
        return;
    };
    let test = project();
    let (_watch, _lines, addr, _token) = watch(&test, "0");
    browser.goto(&format!("http://{addr}/"));

    let servers = browser.wait_for(
        "the three servers",
        "const rows = [...document.querySelectorAll('#servers tr[data-server]')];
         return rows.length === 3 && rows.every(r => r.cells[3].textContent !== '–')
           ? rows.map(r => [...r.cells].slice(0, 7).map(c => c.textContent)) : null;",
    );
    let names: Vec<&str> = servers
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row[0].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["web-1", "web-2", "db-1"]);
    assert_eq!(servers[0][1], "dev");
    assert_eq!(servers[0][4], "managed");
    assert_eq!(servers[2][6], "down", "db-1 does not answer: {servers}");

    // web-1 is selected; its CPU chart shows the kept history and grows with the rounds
    // (live, without a reload).
    let points = |at_least: u64| {
        browser.wait_for(
            &format!("a CPU chart of {at_least} points"),
            &format!(
                "const line = document.querySelector('[data-chart=CPU] polyline[data-series=cpu]');
                 const n = line ? Number(line.dataset.points) : 0;
                 return n >= {at_least} ? n : null;"
            ),
        )
    };
    let first = points(KEPT + 1).as_u64().expect("a count");
    points(first + 3);
    assert_eq!(
        browser.eval("return document.getElementById('chart-server').textContent"),
        "web-1"
    );

    let alert = browser.wait_for(
        "the firing alert",
        "const row = document.querySelector('#alerts tr[data-alert=\"hot/web-1\"]');
         return row ? [...row.cells].slice(0, 4).map(c => c.textContent) : null;",
    );
    assert_eq!(
        alert,
        serde_json::json!(["hot", "web-1", "critical", "firing"])
    );

    let log = browser.wait_for(
        "the failed run's log",
        "const log = document.getElementById('log').textContent;
         return log ? [document.getElementById('log-title').textContent, log] : null;",
    );
    assert_eq!(log[0], format!("Log of app {RELEASE}"));
    assert_eq!(log[1], LOG);
    let run = browser.eval(&format!(
        "return [...document.querySelector('tr[data-run=\"app/{RELEASE}\"]').cells].map(c => c.textContent)"
    ));
    assert_eq!(run[6], "failed");
    assert_eq!(run[7], "test on web-1");

    let page = browser.eval("return document.documentElement.outerHTML");
    assert!(
        !page.to_string().contains(SECRET),
        "the secret is on the page"
    );
    // The README's screenshot: made by this run; written into docs/ with UPDATE_DOCS=1 (as
    // docs/language.md's reference is), so that a test run leaves the checkout as it was.
    let shot = if std::env::var_os("UPDATE_DOCS").is_some() {
        root().join("docs/dashboard.png")
    } else {
        std::env::temp_dir().join(format!("ict-dashboard-{}.png", std::process::id()))
    };
    browser.screenshot(&shot);
    let png = std::fs::read(&shot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG: {}", shot.display());
    if std::env::var_os("UPDATE_DOCS").is_none() {
        let _ = std::fs::remove_file(&shot);
    }
}

#[test]
fn a_dashboard_action_is_refused_without_the_token_and_powers_a_server_with_it() {
    let test = project();
    let (_watch, mut lines, addr, token) = watch(&test, "1");
    let path = "/api/servers/db-1/power";
    let json = [("Content-Type", "application/json")];
    let off = r#"{"action": "off"}"#;
    let (status, body) = child::http(&addr, "POST", path, &json, off);
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        body,
        r#"{"error":"this action needs the token ict watch printed at start: Authorization: Bearer <token>"}"#
    );
    let wrong = [json[0], ("Authorization", "Bearer not-the-token")];
    assert_eq!(child::http(&addr, "POST", path, &wrong, off).0, 401);

    let bearer = format!("Bearer {token}");
    let authorized = [json[0], ("Authorization", bearer.as_str())];
    let (status, body) = child::http(&addr, "POST", path, &authorized, off);
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"server":"db-1","action":"off","result":"done"}"#)
    );
    let power = |name: &str| {
        let servers = api(&addr, "/api/servers");
        servers["servers"]
            .as_array()
            .and_then(|all| all.iter().find(|s| s["name"] == name))
            .map(|s| s["power"].clone())
    };
    assert_eq!(power("db-1"), Some("off".into()));
    // The script wants db-1 on: the next drift check marks it.
    lines.wait_for("drift: the cloud differs from the script");
    let drift = |servers: &Value| {
        servers["servers"].as_array().map(|all| {
            all.iter()
                .map(|s| (s["name"].clone(), s["drift"].clone()))
                .collect::<Vec<_>>()
        })
    };
    let servers = api(&addr, "/api/servers");
    assert_eq!(servers["drift"], serde_json::json!(["server.db-1"]));
    assert_eq!(
        drift(&servers),
        Some(vec![
            ("web-1".into(), false.into()),
            ("web-2".into(), false.into()),
            ("db-1".into(), true.into()),
        ])
    );
    let (status, body) = child::http(&addr, "POST", path, &authorized, off);
    assert_eq!(
        (status, body.as_str()),
        (
            200,
            r#"{"server":"db-1","action":"off","result":"already off"}"#
        )
    );
    let (status, _) = child::http(&addr, "POST", "/api/servers/nope/power", &authorized, off);
    assert_eq!(status, 404);
}

#[test]
fn no_dashboard_answer_carries_a_secret_value() {
    let test = project();
    let (_watch, mut lines, addr, _token) = watch(&test, "0");
    lines.wait_for("alert hot is firing on web-1");
    let paths = [
        "/",
        "/assets/app.js",
        "/api/servers",
        "/api/history?server=web-1&range=1d",
        "/api/alerts",
        "/api/pipelines",
        &format!("/api/pipelines/app/runs/{RELEASE}/log"),
        "/api/pipelines/app/runs/latest/log",
        "/api/schedules",
        "/metrics",
    ];
    for path in paths {
        let body = child::http_get(&addr, path);
        assert!(!body.is_empty(), "{path} answered nothing");
        assert!(!body.contains(SECRET), "{path} carries the secret:\n{body}");
    }
    let pipelines = api(&addr, "/api/pipelines");
    assert_eq!(pipelines["pipelines"][0]["runs"][0]["release"], RELEASE);
    assert_eq!(
        child::http_get(&addr, "/api/pipelines/app/runs/latest/log"),
        LOG
    );
    let schedules = api(&addr, "/api/schedules");
    assert_eq!(schedules["schedules"][0]["name"], "night-stop");
    assert!(schedules["schedules"][0]["next"][0]["utc"].is_string());
}

#[test]
fn pipeline_logs_prints_a_recorded_runs_log() {
    let test = project();
    let logs = |args: &[&str]| {
        Test::new()
            .current_dir(test.path())
            .env("ICT_TEST_SECRET", SECRET)
            .args(&["pipeline", "logs", "infra.ict"])
            .args(args)
    };
    let header = format!(
        "app {RELEASE}: deploy of main at 0badc0d, started 2026-12-06T12:00:00Z, took 5s, failed\n"
    );
    assert_eq!(logs(&["app"]).success().stdout, format!("{header}{LOG}"));
    assert_eq!(
        logs(&["app", "20261206T12"]).success().stdout,
        format!("{header}{LOG}")
    );
    assert_eq!(
        logs(&["app", "0badc0d"]).success().stdout,
        format!("{header}{LOG}")
    );
    let out = logs(&["app", "20250101"]).failure();
    assert_eq!(
        crate::test::unwrapped(&out.stderr),
        "ict::command::no_pipeline_run × pipeline `app` has no run `20250101` in environment \
         `dev` help: `ict pipeline status infra.ict app` lists the remembered runs"
    );
}
