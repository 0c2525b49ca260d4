//! `ict watch` as the real binary: figures from `ICT_WATCH_SOURCE`, `/metrics` on an
//! ephemeral port, drift against the emulator, and a clean stop on SIGTERM.

use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::test::{ict, Test};

/// The child, killed and reaped if the test ends early.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The lines `child` writes to its piped standard error, read on a thread as they come.
fn stderr_lines(child: &mut Child) -> (mpsc::Receiver<String>, std::thread::JoinHandle<()>) {
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (lines, reader)
}

fn wait_for(lines: &mpsc::Receiver<String>, seen: &mut Vec<String>, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if line.contains(what) {
                    return line;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no line with {what:?} in:\n{}", seen.join("\n"));
}

/// The body of `GET /metrics`.
fn metrics(addr: &str) -> String {
    crate::support::child::http_get(addr, "/metrics")
}

#[test]
fn sigterm_stops_watch_cleanly() {
    let dir = crate::test::TempProject::new();
    let script = dir.path().join("infra.ict");
    std::fs::write(
        &script,
        r#"server("web-1");
alert("down", #{ when: "up == 0", hosts: "all", notify: [command("true")] });
"#,
    )
    .expect("write script");
    let figures = dir.path().join("figures.json");
    std::fs::write(
        &figures,
        r#"{ "web-1": { "error": "connection refused" } }"#,
    )
    .expect("write figures");
    let child = Command::new(ict())
        .args([
            "watch",
            "infra.ict",
            "--interval",
            "0.1",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--history", "3", "--drift-every", "2"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("ICT_WATCH_SOURCE", &figures)
        .env_remove("ONECLOUD_TOKEN")
        .env("ICT_EMULATOR_SSH", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ict watch");
    let mut running = Running(child);
    let (lines, reader) = stderr_lines(&mut running.0);
    let mut seen = Vec::new();
    let listening = wait_for(&lines, &mut seen, "serving Prometheus metrics on http://");
    let addr = listening
        .rsplit("http://")
        .next()
        .and_then(|a| a.strip_suffix("/metrics"))
        .expect("address")
        .to_owned();
    wait_for(&lines, &mut seen, "alert down is firing on web-1");
    wait_for(&lines, &mut seen, "notified command `true`");
    wait_for(
        &lines,
        &mut seen,
        "drift: the cloud differs from the script: 1 to add",
    );

    // Poll /metrics until a few rounds have run.
    let mut body = String::new();
    for _ in 0..300 {
        body = metrics(&addr);
        let ticks = ict::metrics::parse(&body)
            .ok()
            .and_then(|s| s.value("ict_watch_ticks", &[]));
        if ticks.is_some_and(|t| t >= 5.0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let scrape = ict::metrics::parse(&body).expect("valid exposition");
    assert!(scrape.value("ict_watch_ticks", &[]) >= Some(5.0), "{body}");
    assert_eq!(scrape.value("ict_up", &[("host", "web-1")]), Some(0.0));
    assert_eq!(scrape.value("ict_drift", &[]), Some(1.0));
    assert_eq!(
        scrape.value("ict_alert_state", &[("alert", "down"), ("state", "firing")]),
        Some(1.0)
    );

    let pid = running.0.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = running.0.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "ict watch ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    reader.join().expect("reader");
    seen.extend(lines.try_iter());
    assert!(exit.success(), "exit {exit:?}:\n{}", seen.join("\n"));
    assert!(
        seen.iter().any(|l| l.contains("stopped after")),
        "{}",
        seen.join("\n")
    );
    assert_eq!(
        seen.iter().filter(|l| l.contains("drift:")).count(),
        1,
        "drift is reported once per change:\n{}",
        seen.join("\n")
    );
    let history = std::fs::read_to_string(dir.path().join(".ict/dev/watch/history/web-1.jsonl"))
        .expect("history");
    assert_eq!(
        history.lines().count(),
        3,
        "flushed to --history at stop:\n{}",
        seen.join("\n")
    );
    assert!(TcpStream::connect(&addr).is_err(), "the listener is closed");
}

/// `ict watch` against an emulator the test runs (`node_exporter` on each running server's IP),
/// through the 1cloud client, so that `ict power` in another process changes what watch sees.
#[test]
fn watch_rechecks_a_server_that_was_powered_off_when_it_started() {
    const TOKEN: &str = "5eedfeed5eedfeed5eedfeed5eedfeed5eedfeed5eedfeed5eedfeed5eedfeed";
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let emulator = runtime
        .block_on(ict::emulator::spawn(ict::emulator::EmulatorConfig {
            token: Some(TOKEN.to_owned()),
            task_delay: Duration::from_millis(20),
            tick: Duration::from_millis(10),
            node_exporter: true,
            ip_base: Some(crate::support::ips::ip_base()),
            ..ict::emulator::EmulatorConfig::default()
        }))
        .expect("emulator");
    let test = Test::new()
        .write(
            "infra.ict",
            r#"server("web-1", #{ power: "off", metrics: #{ via: "http" } });
alert("down", #{ when: "up == 0", hosts: "all", notify: [command("true")] });
"#,
        )
        .env("ONECLOUD_TOKEN", TOKEN)
        .env("ONECLOUD_API_URL", &emulator.base_url());
    let with = |args: &[&str]| {
        let mut command = test.command();
        command.args(args);
        command
    };
    let applied = with(&["apply", "infra.ict", "--yes"])
        .output()
        .expect("apply");
    assert!(applied.status.success(), "{applied:?}");

    let mut watch = with(&["watch", "infra.ict", "--interval", "0.05"]);
    watch
        .args(["--drift-every", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut running = Running(watch.spawn().expect("start ict watch"));
    let (lines, reader) = stderr_lines(&mut running.0);
    let mut seen = Vec::new();
    wait_for(&lines, &mut seen, "web-1 does not answer: powered off");
    wait_for(&lines, &mut seen, "alert down is firing on web-1");

    let started = with(&["power", "infra.ict", "start"])
        .output()
        .expect("power start");
    assert!(started.status.success(), "{started:?}");
    wait_for(&lines, &mut seen, "web-1 answers again");
    wait_for(&lines, &mut seen, "alert down is resolved on web-1");

    let pid = running.0.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    wait_for(&lines, &mut seen, "stopped after");
    drop(running);
    reader.join().expect("reader");
    let history = std::fs::read_to_string(test.path().join(".ict/dev/watch/history/web-1.jsonl"))
        .expect("history");
    let last: serde_json::Value =
        serde_json::from_str(history.lines().last().expect("an entry")).expect("JSON");
    assert_eq!(last["up"], true, "{history}");
    runtime
        .block_on(emulator.shutdown())
        .expect("emulator stops");
}
