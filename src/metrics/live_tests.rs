//! Live check against Debian's `prometheus-node-exporter`: start it on 127.0.0.1 with a free
//! port, scrape it, parse every family and compare CPU count and `MemTotal` with `/proc`.
//!
//! Without the binary the test fails when `CI=true` and is skipped (with a message) elsewhere.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::metrics::{node, parse};

const BINARY: &str = "/usr/bin/prometheus-node-exporter";

/// The exporter process; killed and reaped when the test ends, also when it fails.
struct Exporter(Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn proc_cpu_count() -> usize {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
    cpuinfo
        .lines()
        .filter(|line| line.starts_with("processor"))
        .count()
}

fn proc_mem_total_bytes() -> f64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let line = meminfo
        .lines()
        .find(|line| line.starts_with("MemTotal:"))
        .unwrap();
    let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024.0
}

#[tokio::test]
async fn a_live_node_exporter_scrape_parses_and_matches_proc() {
    if !Path::new(BINARY).exists() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{BINARY} is missing: CI must `apt-get install -y prometheus-node-exporter`"
        );
        println!("skipped: install prometheus-node-exporter");
        return;
    }
    let address = format!("127.0.0.1:{}", free_port());
    let child = Command::new(BINARY)
        .arg(format!("--web.listen-address={address}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let exporter = Exporter(child);
    let client = crate::http::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let url = format!("http://{address}/metrics");
    let mut body = None;
    for _ in 0..100 {
        match client.get(&url).send().await {
            Ok(response) if response.status().is_success() => {
                body = Some(response.text().await.unwrap());
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let body = body.expect("node exporter answered within about 10 s");

    let scrape = parse(&body).unwrap();
    let type_lines = body
        .lines()
        .filter(|line| line.starts_with("# TYPE "))
        .count();
    let sample_lines = body
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    assert!(type_lines > 50, "a full node_exporter scrape");
    assert_eq!(scrape.family_count(), type_lines);
    assert_eq!(scrape.sample_count(), sample_lines);
    let figures = node::instant(&scrape);
    assert_eq!(figures.cpu_count, Some(proc_cpu_count()));
    assert_eq!(figures.memory_total_bytes, Some(proc_mem_total_bytes()));
    drop(exporter);
}
