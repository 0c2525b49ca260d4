//! `ict watch`: the loop driven through the library with a fake [`Source`] (webhooks received
//! by a local server, history and alert states across a restart, `/metrics`, `targets.json`),
//! and the real binary stopped with SIGTERM.

mod cli;

use std::cell::RefCell;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use axum::routing::post;
use axum::{Json, Router};
use ict::metrics::NodeFigures;
use ict::model::Desired;
use ict::watch::{History, Listen, NoDrift, Sample, Settings, Source, Watch};
use serde_json::Value;
use tokio::sync::mpsc;

/// Figures set by the test, returned every round.
#[derive(Default)]
struct Fake(Mutex<Vec<Sample>>);

impl Fake {
    fn set(&self, cpu: &[(&str, Option<f64>)]) {
        let samples = cpu
            .iter()
            .map(|(host, cpu)| Sample {
                host: (*host).to_owned(),
                address: Some("127.0.0.1".into()),
                figures: cpu
                    .map(|c| NodeFigures {
                        cpu_busy_percent: Some(c),
                        ..NodeFigures::default()
                    })
                    .ok_or_else(|| "connection refused".to_owned()),
            })
            .collect();
        *self.0.lock().expect("lock") = samples;
    }
}

impl Source for Fake {
    async fn sample(&self) -> Vec<Sample> {
        self.0.lock().expect("lock").clone()
    }
}

/// A webhook receiver on 127.0.0.1:0: every JSON body posted to `/hook` arrives on the channel.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/hook",
        post(move |Json(body): Json<Value>| {
            let _ = tx.send(body);
            async {}
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

fn desired(url: &str) -> Desired {
    let script = format!(
        r#"
        server("web-1", #{{ groups: [group("web")] }});
        server("db-1");
        alert("hot", #{{ when: "cpu > 90", during: "1s", hosts: "web",
            severity: "critical", notify: [webhook("{url}")],
            summary: "cpu at {{value}}% on {{host}}" }});
        "#
    );
    let options = ict::script::Options::new("dev", indexmap::IndexMap::new());
    ict::script::evaluate_source("infra.ict", &script, Path::new("."), options)
        .expect("valid script")
        .desired
}

fn settings(dir: &Path) -> Settings {
    Settings {
        dir: dir.join("watch"),
        interval: Duration::from_millis(100),
        history: 5,
        drift_every: 0,
        notify_timeout: Duration::from_secs(5),
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a webhook within 10s")
        .expect("receiver open")
}

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    ict::http::client()
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body")
}

#[tokio::test]
async fn a_webhook_on_firing_and_on_resolved_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, mut hooks) = receiver().await;
    let desired = desired(&url);
    let source = Fake::default();
    source.set(&[("web-1", Some(95.0)), ("db-1", Some(99.0))]);
    let metrics = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let metrics_addr = metrics.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let events = RefCell::new(Vec::new());
    let watch = Watch {
        settings: settings(dir.path()),
        desired: &desired,
        source: &source,
        drift: &NoDrift,
    };
    let run = watch.run(
        Some(Listen::metrics(metrics)),
        async {
            let _ = stopped.await;
        },
        |e| events.borrow_mut().push(format!("{e:?}")),
    );
    let test = async {
        let fired = next(&mut hooks).await;
        assert_eq!(fired["rule"], "hot");
        assert_eq!(fired["host"], "web-1", "db-1 is not in `web`");
        assert_eq!(fired["state"], "firing");
        assert_eq!(fired["severity"], "critical");
        assert_eq!(fired["value"], 95.0);
        assert_eq!(fired["summary"], "cpu at 95% on web-1");
        assert!(
            fired["started_at"].as_str() < fired["at"].as_str(),
            "held for `during` first: {fired}"
        );
        assert!(listens_here(metrics_addr.port()), "served while it runs");
        let text = get(metrics_addr, "/metrics").await;
        let scrape = ict::metrics::parse(&text).expect("valid exposition");
        let state = |s: &str| scrape.value("ict_alert_state", &[("host", "web-1"), ("state", s)]);
        assert_eq!(state("firing"), Some(1.0), "{text}");
        assert_eq!(
            scrape.value("ict_cpu_busy_percent", &[("host", "db-1")]),
            Some(99.0)
        );
        // Still hot for a few rounds: no repeat.
        assert!(
            tokio::time::timeout(Duration::from_millis(400), hooks.recv())
                .await
                .is_err()
        );
        source.set(&[("web-1", Some(20.0)), ("db-1", None)]);
        let resolved = next(&mut hooks).await;
        assert_eq!(resolved["state"], "resolved");
        assert_eq!(resolved["value"], 20.0);
        assert_eq!(resolved["started_at"], fired["started_at"]);
        assert!(
            tokio::time::timeout(Duration::from_millis(400), hooks.recv())
                .await
                .is_err()
        );
        let text = get(metrics_addr, "/metrics").await;
        let scrape = ict::metrics::parse(&text).expect("valid exposition");
        assert_eq!(scrape.value("ict_up", &[("host", "db-1")]), Some(0.0));
        let _ = stop.send(());
    };
    let (result, ()) = tokio::join!(run, test);
    result.expect("clean stop");
    let events = events.into_inner();
    assert!(events
        .iter()
        .any(|e| e.starts_with("HostDown") && e.contains("db-1")));
    assert_eq!(
        events.iter().filter(|e| e.starts_with("Notified")).count(),
        2
    );
    assert!(events.last().is_some_and(|e| e.starts_with("Stopped")));
    assert!(!listens_here(metrics_addr.port()), "the listener is closed");

    let targets: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("watch/targets.json")).expect("targets.json"),
    )
    .expect("JSON");
    assert_eq!(
        targets,
        serde_json::json!([
            { "targets": ["127.0.0.1:9100"], "labels": { "host": "web-1", "group": "web" } },
            { "targets": ["127.0.0.1:9100"], "labels": { "host": "db-1", "group": "" } },
        ])
    );
}

/// Runs the loop for about `rounds` rounds (100 ms each), then stops it.
async fn run_rounds(dir: &Path, desired: &Desired, source: &Fake, rounds: u64) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let watch = Watch {
        settings: settings(dir),
        desired,
        source,
        drift: &NoDrift,
    };
    let stop_later = async {
        tokio::time::sleep(Duration::from_millis(100 * rounds + 150)).await;
        let _ = stop.send(());
    };
    let run = watch.run(
        None,
        async {
            let _ = stopped.await;
        },
        |_| {},
    );
    let (result, ()) = tokio::join!(run, stop_later);
    result.expect("clean stop");
}

#[tokio::test]
async fn history_and_alert_states_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, mut hooks) = receiver().await;
    let desired = desired(&url);
    let source = Fake::default();
    source.set(&[("web-1", Some(95.0))]);
    run_rounds(dir.path(), &desired, &source, 15).await;
    assert_eq!(next(&mut hooks).await["state"], "firing");
    let history = History::open(&dir.path().join("watch/history"), 5).expect("open");
    let first: Vec<u64> = history.entries("web-1").map(|e| e.at).collect();
    assert_eq!(first.len(), 5, "bounded to --history");
    let text = std::fs::read_to_string(dir.path().join("watch/history/web-1.jsonl"))
        .expect("history file");
    assert_eq!(text.lines().count(), 5, "flushed to the last 5 at stop");

    // Restart: still hot, and already notified — no second "firing".
    run_rounds(dir.path(), &desired, &source, 2).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), hooks.recv())
            .await
            .is_err()
    );
    let history = History::open(&dir.path().join("watch/history"), 5).expect("open");
    let after: Vec<u64> = history.entries("web-1").map(|e| e.at).collect();
    assert_eq!(after.len(), 5);
    assert!(after.first() >= first.first() && after.last() >= first.last());
    let alerts: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("watch/alerts.json")).expect("alerts.json"),
    )
    .expect("JSON");
    assert_eq!(alerts[0]["rule"], "hot");
    assert_eq!(alerts[0]["state"], "firing");

    // Cooled down while it ran again: exactly one "resolved".
    source.set(&[("web-1", Some(10.0))]);
    run_rounds(dir.path(), &desired, &source, 2).await;
    assert_eq!(next(&mut hooks).await["state"], "resolved");
}

/// Whether this process has a socket listening on TCP `port`: the kernel's table of listening
/// sockets, matched to this process's file descriptors. (A connection attempt would not do: with
/// other tests running, another listener may get the port, or a connection to itself.)
fn listens_here(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() > 9 && f[3] == "0A" && f[1].ends_with(&format!(":{port:04X}")))
        .map(|f| format!("socket:[{}]", f[9]))
        .collect();
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|target| inodes.iter().any(|i| target.as_os_str() == i.as_str()))
}
