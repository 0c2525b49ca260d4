//! Servers: lifecycle, validation, resize, power, rebuild, delete.

use std::sync::Arc;

use ict::emulator::{spawn, EmulatorConfig, ServerEvent};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{config, small_server, Api, Recorder};

#[tokio::test]
async fn server_goes_from_new_to_active_with_credentials_ip_and_keys() {
    let recorder = Arc::new(Recorder::default());
    let handle = spawn(EmulatorConfig {
        hooks: Some(recorder.clone()),
        // Long enough that the GET after the create still sees it run on a loaded computer.
        ..config(1000)
    })
    .await
    .expect("emulator starts");
    let api = Api::new(&handle);
    let key = api
        .post(
            "/sshkey",
            json!({"Title": "me", "PublicKey": "ssh-ed25519 AAAAC3Nz me@host"}),
        )
        .await;
    let mut body = small_server("web");
    body["SshKeys"] = json!([key["ID"]]);
    let created = api.post("/server", body).await;
    assert_eq!(created["State"], "New");
    assert_eq!(created["IsPowerOn"], false);
    assert_eq!(created["IP"], "");
    assert_eq!(created["PrimaryNetworkIp"], "");
    assert_eq!(created["AdminUserName"], Value::Null);
    assert_eq!(created["AdminPassword"], Value::Null);
    assert_eq!(created["HostName"], Value::Null);
    assert_eq!(created["LinkedNetworks"], json!([]));
    assert_eq!(created["DCLocation"], "SdnSpb");
    assert_eq!(created["Image"], "Ubuntu20.04x64");
    assert_eq!(created["ImageFamily"], "Linux");
    assert_eq!(created.as_object().expect("object").len(), 20, "{created}");
    let id = created["ID"].as_u64().expect("integer ID");

    let actions = api.get(&format!("/server/{id}/action")).await;
    assert_eq!(actions[0]["Type"], "Create");
    assert_eq!(actions[0]["State"], "InProgress");
    assert_eq!(actions[0]["EndDate"], Value::Null);

    let active = api
        .wait_for(&format!("/server/{id}"), "State", "Active")
        .await;
    assert_eq!(active["IsPowerOn"], true);
    assert_eq!(active["IP"], "127.1.0.10");
    assert_eq!(active["PrimaryNetworkIp"], "127.1.0.10");
    assert_eq!(active["AdminUserName"], "root");
    let password = active["AdminPassword"].as_str().expect("password");
    assert_eq!(password.len(), 8);
    assert!(active["HostName"].is_string());
    let links = active["LinkedNetworks"].as_array().expect("links");
    assert_eq!(links.len(), 1);
    assert_eq!(links[0]["NetworkType"], "PublicShared");
    assert_eq!(links[0]["IP"], "127.1.0.10");
    for field in [
        "LinkID",
        "NetworkID",
        "LinkState",
        "NetworkName",
        "MAC",
        "Mask",
        "Gateway",
        "Bandwidth",
    ] {
        assert!(
            !links[0][field].is_null(),
            "{field} missing in {}",
            links[0]
        );
    }
    assert_eq!(active["LinkedSshKeys"][0]["ID"], key["ID"]);
    let action = api
        .get(&format!("/server/{id}/action/{}", actions[0]["ID"]))
        .await;
    assert_eq!(action["State"], "Completed");
    assert!(action["EndDate"].is_string());

    // Duplicate names are allowed and get the next IP.
    let twin = api.active_server("web").await;
    assert_eq!(twin["IP"], "127.1.0.11");
    assert_ne!(twin["ID"], active["ID"]);
    let list = api.get("/server").await;
    assert_eq!(list.as_array().expect("bare array").len(), 2);

    let events = recorder.0.lock().expect("lock").clone();
    let actives: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Active { server, restored } => Some((server.ip.to_string(), *restored)),
            _ => None,
        })
        .collect();
    assert_eq!(
        actives,
        [
            ("127.1.0.10".to_owned(), false),
            ("127.1.0.11".to_owned(), false)
        ]
    );
    match &events[0] {
        ServerEvent::Active { server, .. } => {
            assert_eq!(server.password, password);
            assert_eq!(server.public_keys, ["ssh-ed25519 AAAAC3Nz me@host"]);
        }
        other => panic!("unexpected first event {other:?}"),
    }
    handle.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn create_validates_against_the_limits_and_the_catalogue() {
    let handle = spawn(config(50)).await.expect("emulator starts");
    let api = Api::new(&handle);
    let cases = [
        (json!({"CPU": 9}), "cpu must be between"),
        (json!({"RAM": 1536}), "nearest: 1024 or 2048"),
        (json!({"HDD": 15}), "multiple of 10"),
        (json!({"HDD": 300}), "disk must be between"),
        (json!({"ImageID": 3, "RAM": 1024, "HDD": 20}), "Windows"),
        (json!({"ImageID": 99999}), "Image 99999 not found"),
        (
            json!({"HDDType": "NVMe"}),
            "HDDType must be one of SSD, SAS",
        ),
        (json!({"DCLocation": "SdnSpb2"}), "no base pool"),
        (
            json!({"DCLocation": "AvnMsk01", "isHighPerformance": true}),
            "no high-performance pool",
        ),
        (json!({"SshKeys": [424_242]}), "SSH key 424242 not found"),
        (json!({"Name": ""}), "The field Name is required"),
        (
            json!({"CPU": "two"}),
            "The field CPU must be a whole number",
        ),
        (
            json!({"isBackupActive": true, "BackupPeriod": 5}),
            "BackupPeriod",
        ),
    ];
    for (patch, expected) in cases {
        let mut body = small_server("bad");
        for (key, value) in patch.as_object().expect("object") {
            body[key] = value.clone();
        }
        let (status, answer) = api.call(Method::POST, "/server", Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        let message = answer["Message"].as_str().expect("Message");
        assert!(message.contains(expected), "{body}: {message}");
    }
    assert_eq!(api.get("/server").await, json!([]), "nothing was created");

    // Unknown DC falls back to SdnSpb; Windows minimums are met; backups with a valid period.
    let mut body = small_server("win");
    body["DCLocation"] = json!("ahost");
    body["ImageID"] = json!(3);
    body["RAM"] = json!(1024);
    body["HDD"] = json!(40);
    body["isBackupActive"] = json!(true);
    body["BackupPeriod"] = json!(14);
    let created = api.post("/server", body).await;
    assert_eq!(created["DCLocation"], "SdnSpb");
    assert_eq!(created["ImageFamily"], "Windows");
    handle.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn resize_applies_after_the_action_and_never_shrinks_the_disk() {
    // Long enough that the GET after the resize still sees it run on a loaded computer.
    let handle = spawn(config(1000)).await.expect("emulator starts");
    let api = Api::new(&handle);
    let server = api.active_server("db").await;
    let path = format!("/server/{}", server["ID"]);

    let (status, answer) = api
        .call(
            Method::PUT,
            &path,
            Some(json!({"CPU": 1, "RAM": 512, "HDD": 0})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = answer["Message"].as_str().expect("Message");
    assert!(message.contains("HDD cannot be reduced"), "{message}");
    assert!(message.contains("10 GB"), "{message}");

    let (status, answer) = api
        .call(
            Method::PUT,
            &path,
            Some(json!({"CPU": 2, "RAM": 3000, "HDD": 20})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    let action = api
        .ok(
            Method::PUT,
            &path,
            Some(json!({"CPU": 2, "RAM": 2048, "HDD": 40, "HDDType": "SAS", "isHighPerformance": true})),
        )
        .await;
    assert_eq!(action["Type"], "Resize");
    assert_eq!(action["State"], "InProgress");
    // Not applied yet, and a second change while the first runs is refused.
    let now = api.get(&path).await;
    assert_eq!(
        (now["CPU"].as_u64(), now["HDD"].as_u64()),
        (Some(1), Some(10))
    );
    let (status, busy) = api.call(Method::PUT, &path, Some(json!({"CPU": 3}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(busy["Message"]
        .as_str()
        .expect("Message")
        .contains("in progress"));

    api.wait_for(
        &format!("{path}/action/{}", action["ID"]),
        "State",
        "Completed",
    )
    .await;
    let resized = api.get(&path).await;
    assert_eq!(resized["CPU"], 2);
    assert_eq!(resized["RAM"], 2048);
    assert_eq!(resized["HDD"], 40);
    assert_eq!(resized["HDDType"], "SAS");
    assert_eq!(resized["IsHighPerformance"], true);

    // A partial body keeps the other sizes.
    let action = api.ok(Method::PUT, &path, Some(json!({"cpu": "4"}))).await;
    api.wait_for(
        &format!("{path}/action/{}", action["ID"]),
        "State",
        "Completed",
    )
    .await;
    let resized = api.get(&path).await;
    assert_eq!(
        (resized["CPU"].as_u64(), resized["RAM"].as_u64()),
        (Some(4), Some(2048))
    );
    handle.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn power_actions_rebuild_delete_and_not_found() {
    let recorder = Arc::new(Recorder::default());
    let handle = spawn(EmulatorConfig {
        hooks: Some(recorder.clone()),
        ..config(60)
    })
    .await
    .expect("emulator starts");
    let api = Api::new(&handle);
    let server = api.active_server("app").await;
    let id = server["ID"].as_u64().expect("ID");
    let path = format!("/server/{id}");
    for (kind, power) in [
        ("PowerOff", false),
        ("PowerOn", true),
        ("ShutDownGuestOS", false),
        ("PowerOn", true),
        ("PowerReboot", true),
    ] {
        let action = api
            .post(&format!("{path}/action"), json!({"Type": kind}))
            .await;
        assert_eq!(action["Type"], kind);
        assert_eq!(action["State"], "InProgress");
        api.wait_for(
            &format!("{path}/action/{}", action["ID"]),
            "State",
            "Completed",
        )
        .await;
        assert_eq!(api.get(&path).await["IsPowerOn"], power, "after {kind}");
    }
    let history = api.get(&format!("{path}/action")).await;
    let kinds: Vec<&str> = history
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["Type"].as_str().expect("Type"))
        .collect();
    assert_eq!(
        kinds,
        [
            "PowerReboot",
            "PowerOn",
            "ShutDownGuestOS",
            "PowerOn",
            "PowerOff",
            "Create"
        ],
        "newest first"
    );
    let (status, answer) = api
        .call(
            Method::POST,
            &format!("{path}/action"),
            Some(json!({"Type": "Explode"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["Message"]
        .as_str()
        .expect("Message")
        .contains("Explode"));

    // Rebuild: New again, then Active with the new image and the same IP.
    let rebuilding = api
        .post(&format!("{path}/rebuild"), json!({"ImageId": 3783}))
        .await;
    assert_eq!(rebuilding["State"], "New");
    let rebuilt = api.wait_for(&path, "State", "Active").await;
    assert_eq!(rebuilt["Image"], "Debian11x64");
    assert_eq!(rebuilt["IP"], server["IP"]);

    let (status, answer) = api.call(Method::GET, "/server/1", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer, json!({"Message": "Server not found"}));
    let (status, _) = api.call(Method::GET, "/nowhere", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = api.call(Method::DELETE, &path, None).await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null), "empty body");
    let (status, answer) = api.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["Message"], "Server not found");
    let (status, _) = api.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/server").await, json!([]));
    let events = recorder.0.lock().expect("lock").clone();
    assert!(
        matches!(events.last(), Some(ServerEvent::Deleted { id: gone, ip: Some(_) }) if *gone == id)
    );
    assert!(events.contains(&ServerEvent::Power {
        id,
        ip: server["IP"].as_str().expect("ip").parse().expect("ipv4"),
        on: false
    }));
    handle.shutdown().await.expect("clean shutdown");
}
