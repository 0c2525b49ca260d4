//! Contract tests: every call of the 1cloud client against the emulator on 127.0.0.1:0. The
//! client decodes what the emulator answers, and the emulator accepts what the client sends.

use std::time::Duration;

use ict::emulator::{self, DnsQuirk, EmulatorConfig};
use ict::provider::onecloud::Client;
use ict::provider::{
    ActionState, NetworkSpec, PowerOp, RecordKind, RecordSpec, ServerSize, ServerState, SshKeySpec,
};
use tokio::time::Instant;

use super::client::{fast_client, spec};

async fn emulator() -> (emulator::EmulatorHandle, Client) {
    emulator_in(DnsQuirk::Off).await
}

/// The emulator with DNS answers in the shape `dns_quirk` picks.
async fn emulator_in(dns_quirk: DnsQuirk) -> (emulator::EmulatorHandle, Client) {
    let handle = emulator::spawn(EmulatorConfig {
        token: Some("contract".to_owned()),
        task_delay: Duration::from_millis(20),
        tick: Duration::from_millis(10),
        dns_quirk,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator");
    let client = fast_client(&handle.base_url(), "contract");
    (handle, client)
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

#[tokio::test]
async fn servers_actions_networks_and_keys() {
    let (handle, client) = emulator().await;

    // Catalogue.
    let images = client.images().await.expect("images");
    let ubuntu = images.iter().find(|i| i.id.0 == 3492).expect("image 3492");
    assert!(!ubuntu.name.is_empty());
    let dcs = client.dc_locations().await.expect("dcs");
    assert!(dcs.iter().any(|d| d.tech_title == "SdnSpb"), "{dcs:?}");
    let balance = client.balance().await.expect("balance");
    assert!(balance > 0.0, "{balance}");

    // SSH keys.
    let key = client
        .create_ssh_key(&SshKeySpec {
            title: "deploy".into(),
            public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ deploy".into(),
        }, &[])
        .await
        .expect("create key");
    assert_eq!(key.title, "deploy");
    let keys = client.ssh_keys().await.expect("keys");
    assert_eq!(keys.iter().map(|k| k.id).collect::<Vec<_>>(), [key.id]);
    assert!(
        keys[0].public_key.starts_with("ssh-ed25519 AAAAC3"),
        "{keys:?}"
    );

    // A server with the key, in a data centre.
    let mut with_key = spec("contract-1");
    with_key.ssh_keys = vec![key.id];
    with_key.dc = Some("SdnSpb".into());
    let created = client.create_server(&with_key, &[]).await.expect("create");
    assert_eq!(created.name, "contract-1");
    assert_eq!(created.state, ServerState::New);
    let server = client
        .wait_server_active(created.id, soon())
        .await
        .expect("active");
    assert_eq!((server.cpu, server.ram, server.disk), (1, 512, 10));
    assert_eq!(server.dc, "SdnSpb");
    assert_eq!(server.ssh_keys, [key.id]);
    assert!(server.ip.is_some(), "{server:?}");
    assert!(server.power_on);
    let listed = client.servers().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        client.server(created.id).await.expect("get").name,
        "contract-1"
    );

    // Resize.
    let size = ServerSize {
        cpu: 2,
        ram: 2048,
        disk: 20,
        disk_type: ict::model::DiskType::Ssd,
        high_performance: false,
    };
    let resize = client
        .resize_server(created.id, &size)
        .await
        .expect("resize");
    let done = client
        .wait_action(created.id, resize.id, soon())
        .await
        .expect("resized");
    assert_eq!(done.state, ActionState::Completed);
    let server = client.server(created.id).await.expect("get");
    assert_eq!((server.cpu, server.ram, server.disk), (2, 2048, 20));

    // Power.
    let off = client
        .power(created.id, PowerOp::Off)
        .await
        .expect("power off");
    client
        .wait_action(created.id, off.id, soon())
        .await
        .expect("off");
    assert!(!client.server(created.id).await.expect("get").power_on);
    let on = client
        .power(created.id, PowerOp::On)
        .await
        .expect("power on");
    client
        .wait_action(created.id, on.id, soon())
        .await
        .expect("on");
    assert!(client.server(created.id).await.expect("get").power_on);

    // Action history.
    let actions = client.actions(created.id).await.expect("actions");
    for id in [resize.id, off.id, on.id] {
        let found = actions.iter().find(|a| a.id == id).expect("in the history");
        assert_eq!(found.state, ActionState::Completed);
        assert_eq!(client.action(created.id, id).await.expect("action").id, id);
    }
    assert!(
        actions
            .iter()
            .any(|a| a.kind.eq_ignore_ascii_case("PowerOff")),
        "{actions:?}"
    );

    // Networks.
    let network = client
        .create_network(
            &NetworkSpec {
                name: "backend".into(),
                dc: Some("SdnSpb".into()),
                dhcp: true,
            },
            &[],
        )
        .await
        .expect("create network");
    let network = client
        .wait_network_active(network.id, soon())
        .await
        .expect("active");
    assert_eq!(network.name, "backend");
    assert_eq!(client.networks().await.expect("list").len(), 1);
    let attach = client
        .attach_network(created.id, network.id)
        .await
        .expect("attach");
    client
        .wait_action(created.id, attach.id, soon())
        .await
        .expect("attached");
    let server = client.server(created.id).await.expect("get");
    let link = server.link_to(network.id).expect("linked");
    assert!(!link.is_public());
    assert!(link.ip.is_some(), "{link:?}");
    let members = client
        .network(network.id)
        .await
        .expect("get network")
        .servers;
    assert_eq!(
        members.iter().map(|m| m.server).collect::<Vec<_>>(),
        [created.id]
    );
    let detach = client
        .detach_network(created.id, network.id)
        .await
        .expect("detach");
    client
        .wait_action(created.id, detach.id, soon())
        .await
        .expect("detached");
    assert!(client
        .server(created.id)
        .await
        .expect("get")
        .link_to(network.id)
        .is_none());

    // Rebuild.
    let rebuilt = client
        .rebuild_server(created.id, ubuntu.id)
        .await
        .expect("rebuild");
    assert_eq!(rebuilt.id, created.id);
    client
        .wait_server_active(created.id, soon())
        .await
        .expect("active again");

    // Deletes.
    client
        .delete_server(created.id)
        .await
        .expect("delete server");
    assert!(client.servers().await.expect("list").is_empty());
    client
        .delete_network(network.id)
        .await
        .expect("delete network");
    assert!(client.networks().await.expect("list").is_empty());
    client.delete_ssh_key(key.id).await.expect("delete key");
    assert!(client.ssh_keys().await.expect("list").is_empty());
    assert_eq!(client.stats().retries, 0);
    handle.shutdown().await.expect("stops");
}

/// In both shapes of DNS answers (issue 14): ict's client reads TXT text quoted or bare, and
/// TXT names fully qualified.
#[tokio::test]
async fn dns_domains_and_records() {
    for dns_quirk in [DnsQuirk::Off, DnsQuirk::Lego] {
        dns_domains_and_records_in(dns_quirk).await;
    }
}

async fn dns_domains_and_records_in(dns_quirk: DnsQuirk) {
    let (handle, client) = emulator_in(dns_quirk).await;
    let domain = client
        .create_domain("example.org", &[])
        .await
        .expect("create domain");
    assert_eq!(domain.name.trim_end_matches('.'), "example.org");
    let mut ids = Vec::new();
    for (kind, name, value, priority) in [
        (RecordKind::A, "www", "203.0.113.7", None),
        (RecordKind::Aaaa, "v6", "2001:db8::7", None),
        (RecordKind::Cname, "blog", "www.example.org", None),
        (RecordKind::Mx, "@", "mail.example.org", Some(10)),
        (RecordKind::Txt, "@", "v=spf1 -all", None),
        (RecordKind::Txt, "_acme-challenge", "challenge-1", None),
    ] {
        let record = client
            .create_record(
                &RecordSpec {
                    domain: domain.id,
                    kind,
                    name: name.into(),
                    value: value.into(),
                    ttl: 600,
                    priority,
                },
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("{dns_quirk:?}: create {kind:?} record: {e}"));
        assert_eq!(record.domain, domain.id);
        assert!(
            record.kind.eq_ignore_ascii_case(kind.as_str()),
            "{record:?}"
        );
        assert_eq!(
            record.value.trim_end_matches('.'),
            value,
            "{dns_quirk:?}: {record:?}"
        );
        ids.push(record.id);
    }
    let listed = client.domain(domain.id).await.expect("get domain");
    let mut listed_ids: Vec<_> = listed.records.iter().map(|r| r.id).collect();
    listed_ids.sort();
    let mut expected = ids.clone();
    expected.sort();
    for id in &expected {
        assert!(listed_ids.contains(id), "{id} missing from {listed:?}");
    }
    let www = listed
        .records
        .iter()
        .find(|r| r.id == ids[0])
        .expect("A record");
    assert_eq!((www.ttl, www.name.as_str()), (Some(600), "www"), "{www:?}");
    let mx = listed
        .records
        .iter()
        .find(|r| r.id == ids[3])
        .expect("MX record");
    assert_eq!(mx.priority, Some(10), "{mx:?}");
    let texts: Vec<(&str, &str)> = listed
        .records
        .iter()
        .filter(|r| r.kind == "TXT")
        .map(|r| (r.name.as_str(), r.value.as_str()))
        .collect();
    assert_eq!(
        texts,
        [
            ("@", "v=spf1 -all"),
            ("_acme-challenge.example.org.", "challenge-1")
        ],
        "{dns_quirk:?}"
    );
    assert_eq!(client.domains().await.expect("list").len(), 1);

    client
        .delete_record(domain.id, ids[0])
        .await
        .expect("delete record");
    let listed = client.domain(domain.id).await.expect("get domain");
    assert!(listed.records.iter().all(|r| r.id != ids[0]));
    client
        .delete_domain(domain.id)
        .await
        .expect("delete domain");
    assert!(client.domains().await.expect("list").is_empty());
    assert_eq!(client.stats().retries, 0);
    handle.shutdown().await.expect("stops");
}

/// Issue 20 item 6: a template of a server (`POST /image`) shows in the catalogue, a server
/// is created from it (and shows its name as `Image`), a smaller disk than the source's is
/// refused, and it is deleted (`DELETE /image/{id}`); public images cannot be.
#[tokio::test]
async fn templates_are_made_used_and_deleted() {
    let (_handle, client) = emulator().await;
    let mut source = spec("db-1");
    source.size.disk = 20;
    let created = client.create_server(&source, &[]).await.expect("create");
    client
        .wait_server_active(created.id, soon())
        .await
        .expect("active");

    let template = client
        .create_image(created.id, "db-1-nightly", &[])
        .await
        .expect("template");
    assert_eq!(
        (template.name.as_str(), template.display_name.as_str()),
        ("db-1-nightly", "db-1-nightly")
    );
    assert_eq!(template.min_disk, Some(20));
    let images = client.images().await.expect("images");
    assert!(images.iter().any(|i| i.id == template.id), "{images:?}");

    let mut copy = spec("db-2");
    copy.image = template.id;
    let too_small = client.create_server(&copy, &[]).await;
    let error = too_small.expect_err("10 GB < the template's 20 GB");
    assert!(error.to_string().contains("at least 20 GB"), "{error}");
    copy.size.disk = 20;
    let made = client
        .create_server(&copy, &[])
        .await
        .expect("from template");
    let made = client
        .wait_server_active(made.id, soon())
        .await
        .expect("active");
    assert_eq!(made.image, "db-1-nightly");

    client.delete_image(template.id).await.expect("delete");
    let images = client.images().await.expect("images");
    assert!(images.iter().all(|i| i.id != template.id), "{images:?}");
    let public = images.iter().find(|i| i.id.0 == 3492).expect("image 3492");
    let refused = client.delete_image(public.id).await;
    assert!(refused.is_err(), "a public image was deleted");
    assert_eq!(client.servers().await.expect("list").len(), 2);
}
