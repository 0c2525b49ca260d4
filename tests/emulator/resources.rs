//! Networks, SSH keys, DNS, and the state file across a restart.

use std::sync::Arc;

use ict::emulator::{spawn, DnsQuirk, EmulatorConfig, ServerEvent};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{config, created_record, small_server, Api, Recorder};

#[tokio::test]
async fn private_networks_attach_and_detach() {
    let handle = spawn(config(60)).await.expect("emulator starts");
    let api = Api::new(&handle);
    let server = api.active_server("node").await;
    let server_path = format!("/server/{}", server["ID"]);
    let network = api
        .post("/network", json!({"Name": "back", "IsDHCP": "true"}))
        .await;
    assert_eq!(network["State"], "New");
    assert_eq!(network["IsDHCP"], true);
    let net_id = network["ID"].as_u64().expect("ID");
    let net_path = format!("/network/{net_id}");

    let add = json!({"Type": "AddNetwork", "NetworkID": net_id.to_string()});
    let (status, answer) = api
        .call(
            Method::POST,
            &format!("{server_path}/action"),
            Some(add.clone()),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "network still New: {answer}"
    );
    api.wait_for(&net_path, "State", "Active").await;

    let action = api
        .post(&format!("{server_path}/action"), add.clone())
        .await;
    assert_eq!(action["Type"], "AddNetwork");
    api.wait_for(
        &format!("{server_path}/action/{}", action["ID"]),
        "State",
        "Completed",
    )
    .await;
    let linked = api.get(&server_path).await;
    let private = linked["LinkedNetworks"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["NetworkID"] == net_id)
        .cloned()
        .expect("private link");
    assert_eq!(private["NetworkType"], "Private");
    assert_eq!(private["NetworkName"], "back");
    let ip = private["IP"].as_str().expect("IP");
    assert!(ip.starts_with("10.") && ip.ends_with(".2"), "{ip}");
    let network = api.get(&net_path).await;
    assert_eq!(network["LinkedServers"][0]["ServerID"], server["ID"]);
    assert_eq!(network["LinkedServers"][0]["IP"], ip);
    assert_eq!(
        api.get("/network").await.as_array().expect("array").len(),
        1
    );

    let (status, _) = api
        .call(Method::POST, &format!("{server_path}/action"), Some(add))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "already linked");
    let (status, answer) = api.call(Method::DELETE, &net_path, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "linked servers: {answer}");

    let renamed = api
        .ok(Method::PUT, &net_path, Some(json!({"Name": "backend"})))
        .await;
    assert_eq!(renamed["Name"], "backend");

    let action = api
        .post(
            &format!("{server_path}/action"),
            json!({"Type": "RemoveNetwork", "NetworkID": net_id}),
        )
        .await;
    api.wait_for(
        &format!("{server_path}/action/{}", action["ID"]),
        "State",
        "Completed",
    )
    .await;
    assert_eq!(
        api.get(&server_path).await["LinkedNetworks"]
            .as_array()
            .expect("links")
            .len(),
        1,
        "only the public link is left"
    );
    assert_eq!(api.get(&net_path).await["LinkedServers"], json!([]));
    let (status, body) = api.call(Method::DELETE, &net_path, None).await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null));
    assert_eq!(
        api.call(Method::GET, &net_path, None).await.0,
        StatusCode::NOT_FOUND
    );
    handle.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn ssh_keys_are_stored_listed_and_deleted() {
    let handle = spawn(config(50)).await.expect("emulator starts");
    let api = Api::new(&handle);
    let key = api
        .post(
            "/sshkey",
            json!({"title": "laptop", "publicKey": "ssh-ed25519 AAAA laptop"}),
        )
        .await;
    assert_eq!(key["Title"], "laptop");
    assert_eq!(key["IsActive"], true);
    let path = format!("/sshkey/{}", key["ID"]);
    assert_eq!(api.get(&path).await, key);
    assert_eq!(api.get("/sshkey").await, json!([key]));
    let (status, _) = api
        .call(
            Method::POST,
            "/sshkey",
            Some(json!({"Title": "x", "PublicKey": "garbage"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        api.call(Method::DELETE, &path, None).await,
        (StatusCode::OK, Value::Null)
    );
    assert_eq!(
        api.call(Method::GET, &path, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(api.get("/sshkey").await, json!([]));
    handle.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn dns_domains_and_records() {
    for dns_quirk in [DnsQuirk::Off, DnsQuirk::Lego] {
        dns_domains_and_records_in(dns_quirk).await;
    }
}

async fn dns_domains_and_records_in(dns_quirk: DnsQuirk) {
    let handle = spawn(EmulatorConfig {
        dns_quirk,
        ..config(50)
    })
    .await
    .expect("emulator starts");
    let api = Api::new(&handle);
    let domain = api
        .post(
            "/dns",
            json!({"DomainName": "example.com", "Migrate": false}),
        )
        .await;
    assert_eq!(domain["State"], "New");
    assert_eq!(domain["TechName"], "example_com");
    let old_style = api.post("/dns", json!({"Name": "Example.org."})).await;
    assert_eq!(old_style["Name"], "example.org");
    let (status, _) = api
        .call(Method::POST, "/dns", Some(json!({"Name": "example.com"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "duplicate domain");
    let domain_id = domain["ID"].as_u64().expect("ID");
    let domain_path = format!("/dns/{domain_id}");
    api.wait_for(&domain_path, "State", "Active").await;

    let d = domain_id.to_string();
    let a = created_record(
        api.post(
            "/dns/recorda",
            json!({"DomainId": d, "IP": "1.2.3.4", "Name": "www", "TTL": "3600"}),
        )
        .await,
    );
    assert_eq!(a["TypeRecord"], "A");
    assert_eq!(a["TTL"], 3600);
    assert_eq!(a["State"], "New");
    assert_eq!(
        a["CanonicalDescription"],
        "www.example.com 3600 IN A 1.2.3.4"
    );
    let bodies = [
        (
            "/dns/recordaaaa",
            json!({"DomainId": d, "IP": "2001:db8::1", "Name": "@", "TTL": 300}),
        ),
        (
            "/dns/recordcname",
            json!({"DomainId": d, "Name": "blog", "MnemonicName": "www", "TTL": 60}),
        ),
        (
            "/dns/recordmx",
            json!({"DomainId": d, "HostName": "mx.example.com", "Priority": "10", "TTL": 600}),
        ),
        (
            "/dns/recordTXT",
            json!({"DomainId": d, "Name": "@", "Text": "v=spf1 -all", "TTL": 1}),
        ),
    ];
    for (path, body) in bodies {
        api.post(path, body).await;
    }
    let mx = api.get(&domain_path).await["LinkedRecords"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["TypeRecord"] == "MX")
        .cloned()
        .expect("MX record");
    assert_eq!(mx["Priority"], "10", "Priority is a string in answers");
    assert_eq!(mx["ExtHostName"], "mx.example.com");

    let bad = [
        json!({"DomainId": d, "IP": "1.2.3.5", "Name": "x", "TTL": 1234}),
        json!({"DomainId": d, "IP": "not-an-ip", "Name": "x", "TTL": 60}),
        json!({"DomainId": d, "IP": "1.2.3.4", "Name": "www", "TTL": 3600}),
    ];
    for body in bad {
        let (status, answer) = api
            .call(Method::POST, "/dns/recorda", Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
    }
    let (_, duplicate) = api
        .call(
            Method::POST,
            "/dns/recorda",
            Some(json!({"DomainId": d, "IP": "1.2.3.4", "Name": "www", "TTL": 3600})),
        )
        .await;
    assert!(duplicate["Message"]
        .as_str()
        .expect("Message")
        .contains("уже существует"));
    let (status, _) = api
        .call(
            Method::POST,
            "/dns/recorda",
            Some(json!({"DomainId": 1, "IP": "1.2.3.4"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "unknown domain");

    let record_path = format!("/dns/recorda/{}", a["ID"]);
    let updated = api
        .ok(
            Method::PUT,
            &record_path,
            Some(json!({"DomainId": d, "IP": "5.6.7.8", "Name": "www", "TTL": 300})),
        )
        .await;
    assert_eq!(updated["IP"], "5.6.7.8");
    assert_eq!(updated["ID"], a["ID"]);
    let (status, _) = api
        .call(
            Method::PUT,
            &format!("/dns/recordmx/{}", a["ID"]),
            Some(json!({"HostName": "m", "Priority": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "type mismatch");

    let records = api.wait_for(&domain_path, "State", "Active").await["LinkedRecords"].clone();
    assert_eq!(records.as_array().expect("records").len(), 5);
    let (status, body) = api
        .call(
            Method::DELETE,
            &format!("/dns/{domain_id}/{}", a["ID"]),
            None,
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null));
    assert_eq!(
        api.get(&domain_path).await["LinkedRecords"]
            .as_array()
            .expect("records")
            .len(),
        4
    );
    assert_eq!(
        api.call(Method::DELETE, &domain_path, None).await.0,
        StatusCode::OK
    );
    assert_eq!(api.get("/dns").await.as_array().expect("array").len(), 1);
    handle.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state_file = dir.path().join("emulator.json");
    let cfg = || EmulatorConfig {
        state_file: Some(state_file.clone()),
        ..config(100)
    };
    let handle = spawn(cfg()).await.expect("emulator starts");
    let api = Api::new(&handle);
    let key = api
        .post(
            "/sshkey",
            json!({"Title": "k", "PublicKey": "ssh-ed25519 AAAA k"}),
        )
        .await;
    let first = api.active_server("first").await;
    let network = api.post("/network", json!({"Name": "n"})).await;
    let domain = api.post("/dns", json!({"Name": "keep.example"})).await;
    // Left New: its Create task must finish after the restart.
    let pending = api.post("/server", small_server("pending")).await;
    let servers_before = api.get("/server").await;
    handle.shutdown().await.expect("clean shutdown");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state_file)
            .expect("state file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let recorder = Arc::new(Recorder::default());
    let handle = spawn(EmulatorConfig {
        hooks: Some(recorder.clone()),
        ..cfg()
    })
    .await
    .expect("emulator restarts");
    let api = Api::new(&handle);
    let restored = recorder.0.lock().expect("lock").clone();
    assert!(
        restored.iter().any(|e| matches!(e, ServerEvent::Active { server, restored: true } if server.ip.to_string() == "127.1.0.10")),
        "{restored:?}"
    );
    assert_eq!(api.get(&format!("/sshkey/{}", key["ID"])).await, key);
    assert_eq!(api.get(&format!("/server/{}", first["ID"])).await, first);
    assert_eq!(
        api.get(&format!("/network/{}", network["ID"])).await["Name"],
        "n"
    );
    assert_eq!(
        api.get(&format!("/dns/{}", domain["ID"])).await["Name"],
        "keep.example"
    );
    let history = api.get(&format!("/server/{}/action", first["ID"])).await;
    assert_eq!(history[0]["Type"], "Create");
    let now_active = api
        .wait_for(&format!("/server/{}", pending["ID"]), "State", "Active")
        .await;
    assert_eq!(now_active["IP"], "127.1.0.11", "the IP counter survived");
    assert_eq!(
        api.get("/server").await.as_array().map(Vec::len),
        servers_before.as_array().map(Vec::len)
    );
    let third = api.active_server("third").await;
    assert_eq!(third["IP"], "127.1.0.12");
    assert!(
        third["ID"].as_u64() > pending["ID"].as_u64(),
        "IDs are not reused"
    );
    handle.shutdown().await.expect("clean shutdown");
}
