//! `ict metrics` over its default path, an SSH tunnel: an emulated server (a real sshd on its
//! loopback IP) that declares `metrics: #{ via: "ssh", port: P }` is scraped through
//! direct-tcpip to `127.0.0.1:P` on "the server" — this machine, where the test runs Debian's
//! real `prometheus-node-exporter` (installed by .ci/run).

use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{ict_code, project, testable};
use crate::reconcile::Running;

const EXPORTER: &str = "/usr/bin/prometheus-node-exporter";

#[test]
fn metrics_are_scraped_through_an_ssh_tunnel_to_a_real_node_exporter() {
    if !testable() {
        return;
    }
    assert!(
        std::path::Path::new(EXPORTER).is_file(),
        "{EXPORTER} is missing (apt-get install prometheus-node-exporter)"
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    // Killed and reaped when the test ends, also when it fails.
    let _exporter = Running(
        Command::new(EXPORTER)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node_exporter"),
    );
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "node_exporter did not listen within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let script = format!(
        r#"let k = ssh_key("deploy", #{{ public_key_file: "keys/deploy.pub" }});
server("mon-1", #{{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k], metrics: #{{ via: "ssh", port: {port} }} }});
server("web-1", #{{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] }});
"#
    );
    let test = project(&script, &[]);
    let dir = test.path();
    ict_code(dir, true, &["apply", "infra.ict", "--yes"], 0);
    let out = ict_code(
        dir,
        true,
        &["metrics", "infra.ict", "--json", "--interval", "0.5"],
        0,
    );
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let row = |name: &str| {
        rows.as_array()
            .and_then(|r| r.iter().find(|r| r["name"] == name))
            .unwrap_or_else(|| panic!("no row for {name}: {rows}"))
            .clone()
    };
    let tunnelled = row("mon-1");
    assert!(tunnelled["error"].is_null(), "{tunnelled}");
    assert!(
        tunnelled["endpoint"].as_str().is_some_and(
            |e| e.starts_with("ssh root@") && e.ends_with(&format!("-> 127.0.0.1:{port}"))
        ),
        "{tunnelled}"
    );
    // This machine's figures, not the emulator's: the CPU count is the real one.
    let cpus = std::fs::read_to_string("/proc/cpuinfo")
        .expect("cpuinfo")
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    assert_eq!(
        tunnelled["figures"]["cpu_count"].as_u64(),
        u64::try_from(cpus).ok(),
        "{tunnelled}"
    );
    // A server that declares nothing is still served by the emulator, over HTTP.
    let emulated = row("web-1");
    assert!(emulated["error"].is_null(), "{emulated}");
    assert_eq!(
        emulated["figures"]["cpu_count"].as_u64(),
        Some(1),
        "{emulated}"
    );
}
