//! Metrics end to end: the emulator's `node_exporter` endpoints scraped by `ict::metrics`,
//! `ict metrics` on an applied example, unreachable servers, and `ict top` in tmux.

mod cli;
mod top;

use std::sync::Arc;
use std::time::Duration;

use ict::emulator::{spawn, EmulatorConfig, NODE_EXPORTER_PORT};
use ict::metrics::{Endpoint, ScrapeOptions, ScrapeTarget, Scraper};
use ict::ssh::{PinnedKeys, Target};
use reqwest::Method;
use serde_json::json;

use crate::emulator::{Api, TOKEN};

fn scraper(timeout: Duration) -> Scraper {
    Scraper::new(
        Err("no key in this test".to_owned()),
        Arc::new(PinnedKeys::new()),
        ScrapeOptions { timeout },
    )
    .expect("scraper")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_serves_node_exporter_metrics_that_evolve() {
    let handle = spawn(EmulatorConfig {
        token: Some(TOKEN.to_owned()),
        task_delay: Duration::from_millis(20),
        tick: Duration::from_millis(10),
        node_exporter: true,
        ip_base: Some(crate::support::ips::ip_base()),
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator");
    let api = Api::new(&handle);
    let created = api
        .post(
            "/server",
            json!({"Name": "m-1", "CPU": 4, "RAM": 8192, "HDD": 80, "ImageID": 3492, "HDDType": "SSD"}),
        )
        .await;
    let id = created["ID"].as_u64().expect("ID");
    let server = api
        .wait_for(&format!("/server/{id}"), "State", "Active")
        .await;
    let ip = server["IP"].as_str().expect("ip").to_owned();
    let targets = [ScrapeTarget {
        name: "m-1".into(),
        endpoint: Endpoint::http(&ip, NODE_EXPORTER_PORT),
    }];
    let scraper = scraper(Duration::from_secs(5));
    let rows = scraper.sample(&targets, Duration::from_secs(1)).await;
    assert_eq!(rows.len(), 1);
    let f = rows[0]
        .figures
        .as_ref()
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(f.cpu_count, Some(4));
    let mem = f.memory_total_bytes.expect("MemTotal");
    let ram = 8192.0 * 1024.0 * 1024.0;
    assert!(mem > 0.9 * ram && mem <= ram, "MemTotal {mem}");
    let root = f.mounts.iter().find(|m| m.mountpoint == "/").expect("/");
    let disk = 80.0 * 1024.0 * 1024.0 * 1024.0;
    assert!(root.size_bytes > 0.95 * disk && root.size_bytes <= disk);
    assert_eq!(root.readonly, Some(false));
    let cpu = f.cpu_busy_percent.expect("two scrapes give CPU %");
    assert!((1.0..=80.0).contains(&cpu), "cpu {cpu}");
    let mem_used = f.memory_used_percent.expect("mem %");
    assert!((5.0..=95.0).contains(&mem_used), "mem {mem_used}");
    for rate in [
        f.disk_read_bytes_per_second,
        f.disk_write_bytes_per_second,
        f.network_rx_bytes_per_second,
        f.network_tx_bytes_per_second,
    ] {
        let rate = rate.expect("two scrapes give rates");
        assert!(rate > 0.0 && rate < 1e9, "rate {rate}");
    }
    let uptime = f.uptime_seconds.expect("uptime");
    assert!(
        (0.0..30.0).contains(&uptime),
        "a new server just booted: {uptime}"
    );

    // Powered off: nothing listens; powered on again: a fresh boot.
    let action = api
        .post(&format!("/server/{id}/action"), json!({"Type": "PowerOff"}))
        .await;
    api.wait_for(
        &format!("/server/{id}/action/{}", action["ID"]),
        "State",
        "Completed",
    )
    .await;
    let off = scraper.scrape_all(&targets).await;
    assert!(off[0].result.is_err(), "powered off still answers");
    let (status, _) = api
        .call(Method::DELETE, &format!("/server/{id}"), None)
        .await;
    assert!(status.is_success());
    scraper.close().await;
    handle.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn unreachable_servers_are_rows_with_an_error() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let targets = [
        ScrapeTarget {
            name: "refused".into(),
            endpoint: Endpoint::http("127.0.0.1", closed),
        },
        ScrapeTarget {
            name: "no-key".into(),
            endpoint: Endpoint::Ssh {
                target: Target::new("no-key", "127.0.0.1", closed, "root"),
                port: 9100,
            },
        },
        ScrapeTarget {
            name: "off".into(),
            endpoint: Endpoint::Unavailable {
                reason: "powered off".into(),
            },
        },
    ];
    let started = std::time::Instant::now();
    let rows = scraper(Duration::from_secs(3))
        .sample(&targets, Duration::ZERO)
        .await;
    assert!(started.elapsed() < Duration::from_secs(3), "failed fast");
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["refused", "no-key", "off"], "input order kept");
    assert!(rows.iter().all(|r| r.figures.is_none()));
    let error = |i: usize| rows[i].error.clone().unwrap_or_default();
    assert!(error(0).contains("cannot connect"), "{}", error(0));
    assert!(
        error(0).contains(&format!("127.0.0.1:{closed}")),
        "{}",
        error(0)
    );
    assert!(
        error(1).contains("SSH: no key in this test"),
        "{}",
        error(1)
    );
    assert_eq!(error(2), "powered off");
}
