//! The 1cloud emulator over real HTTP on 127.0.0.1:0: lifecycle, validation, quirks of the
//! real API, auth, persistence and fault injection.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ict::emulator::{spawn, EmulatorConfig, EmulatorHandle, ServerEvent, ServerHooks};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const TOKEN: &str = "test-token";

/// A small client for the emulator.
struct Api {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    fn new(handle: &EmulatorHandle) -> Api {
        Api {
            client: reqwest::Client::new(),
            base: handle.base_url(),
            token: Some(TOKEN.to_owned()),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body read");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        (status, value)
    }

    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.call(method.clone(), path, body).await;
        assert_eq!(status, StatusCode::OK, "{method} {path}: {value}");
        value
    }

    async fn get(&self, path: &str) -> Value {
        self.ok(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.ok(Method::POST, path, Some(body)).await
    }

    /// Polls `path` until `field` equals `value`; at most 200 tries, 20 ms apart.
    async fn wait_for(&self, path: &str, field: &str, value: &str) -> Value {
        for _ in 0..200 {
            let current = self.get(path).await;
            if current[field] == value {
                return current;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{path}: {field} never became {value}");
    }

    /// Creates a small Linux server and waits until it is Active.
    async fn active_server(&self, name: &str) -> Value {
        let server = self.post("/server", small_server(name)).await;
        self.wait_for(&format!("/server/{}", server["ID"]), "State", "Active")
            .await
    }
}

fn config(task_delay_ms: u64) -> EmulatorConfig {
    EmulatorConfig {
        task_delay: Duration::from_millis(task_delay_ms),
        tick: Duration::from_millis(10),
        ..EmulatorConfig::default()
    }
}

fn small_server(name: &str) -> Value {
    json!({"Name": name, "CPU": 1, "RAM": 512, "HDD": 10, "ImageID": 3492, "HDDType": "SSD"})
}

#[derive(Default)]
struct Recorder(Mutex<Vec<ServerEvent>>);

impl ServerHooks for Recorder {
    fn on_event(&self, event: &ServerEvent) {
        self.0.lock().expect("lock").push(event.clone());
    }
}

#[tokio::test]
async fn server_goes_from_new_to_active_with_credentials_ip_and_keys() {
    let recorder = Arc::new(Recorder::default());
    let handle = spawn(EmulatorConfig {
        hooks: Some(recorder.clone()),
        ..config(150)
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
    let handle = spawn(config(100)).await.expect("emulator starts");
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

#[tokio::test]
async fn bearer_token_is_required() {
    let open = spawn(config(50)).await.expect("emulator starts");
    let locked = spawn(EmulatorConfig {
        token: Some("s3cret".to_owned()),
        ..config(50)
    })
    .await
    .expect("emulator starts");
    let mut api = Api::new(&open);
    assert_eq!(
        api.call(Method::GET, "/server", None).await.0,
        StatusCode::OK
    );
    api.token = None;
    let (status, answer) = api.call(Method::GET, "/server", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(answer["Message"].is_string());

    let mut api = Api::new(&locked);
    let (status, answer) = api.call(Method::GET, "/server", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "wrong token");
    assert!(answer["Message"].is_string());
    api.token = None;
    assert_eq!(
        api.call(Method::GET, "/image", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    api.token = Some("s3cret".to_owned());
    assert_eq!(
        api.call(Method::GET, "/image", None).await.0,
        StatusCode::OK
    );
    open.shutdown().await.expect("clean shutdown");
    locked.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn paths_keys_and_scalars_are_tolerated_like_the_real_api() {
    let handle = spawn(config(50)).await.expect("emulator starts");
    let api = Api::new(&handle);
    let created = api
        .post(
            "/SERVER/",
            json!({
                "name": "loose", "cpu": "1", "Ram": "768", "hdd": "20", "imageId": "2169",
                "ishighperformance": "false", "HddType": "ssd", "isHighPerfomance": "typo",
                "sshkeys": [], "BackupPeriod": "0", "isBackupActive": "False"
            }),
        )
        .await;
    assert_eq!(created["RAM"], 768);
    assert_eq!(created["HDDType"], "SSD");
    assert_eq!(created["IsHighPerformance"], false);
    let id = created["ID"].as_u64().expect("ID");
    assert_eq!(api.get(&format!("/Server/{id}/")).await["Name"], "loose");
    assert!(api
        .get(&format!("//server//{id}//Action//"))
        .await
        .is_array());

    let dcs = api.get("/DcLocation/").await;
    let dcs = dcs.as_array().expect("bare array");
    assert_eq!(dcs.len(), 13);
    for field in [
        "ID",
        "Title",
        "TechTitle",
        "ShortTitle",
        "Country",
        "City",
        "IsEnableLowPool",
        "IsEnableHighPool",
        "IsEnableBackup",
        "IsEnableIpV6",
        "IsOnlyForAdmins",
        "HiddenToNewProjects",
        "IsFirewallEnabled",
    ] {
        assert!(dcs.iter().all(|dc| !dc[field].is_null()), "{field}");
    }
    let images = api.get("/image").await;
    let images = images.as_array().expect("bare array");
    assert_eq!(images.len(), 21);
    let ubuntu = images
        .iter()
        .find(|i| i["ID"] == 3492)
        .expect("Ubuntu 20.04");
    assert_eq!(ubuntu["Name"], "Ubuntu20.04x64");
    assert_eq!(ubuntu["Family"], "Linux");

    // Form bodies work too (older clients send them).
    let response = api
        .client
        .post(format!("{}/sshkey", api.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("title=form&publickey=ssh-rsa+AAAAB3+x")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let key: Value = response.json().await.expect("json");
    assert_eq!(key["PublicKey"], "ssh-rsa AAAAB3 x");

    let (status, answer) = api
        .call(
            Method::POST,
            "/server",
            Some(json!(["not", "an", "object"])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["Message"].is_string());
    assert!(api.get("/customer/balance").await.is_number());
    assert!(api.get("/project").await["Balances"].is_object());
    assert!(api.get("/account").await["ProjectBalances"].is_array());
    handle.shutdown().await.expect("clean shutdown");
}

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
    let handle = spawn(config(50)).await.expect("emulator starts");
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
    let a = api
        .post(
            "/dns/recorda",
            json!({"DomainId": d, "IP": "1.2.3.4", "Name": "www", "TTL": "3600"}),
        )
        .await;
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

/// Statuses of a fixed request sequence against a fresh emulator with faults.
async fn fault_run(seed: u64) -> Vec<(u16, String)> {
    let handle = spawn(EmulatorConfig {
        fail_rate: 0.5,
        seed,
        fault_delay: Duration::from_millis(30),
        ..config(50)
    })
    .await
    .expect("emulator starts");
    let api = Api::new(&handle);
    let mut answers = Vec::new();
    for i in 0..40 {
        let (status, body) = if i % 2 == 0 {
            api.call(Method::GET, "/server", None).await
        } else {
            let key = json!({"Title": format!("k{i}"), "PublicKey": "ssh-ed25519 AAAA x"});
            api.call(Method::POST, "/sshkey", Some(key)).await
        };
        let message = body["Message"].as_str().unwrap_or_default().to_owned();
        answers.push((status.as_u16(), message));
    }
    // Faults also hit this check, so retry (bounded) until a clean answer.
    let mut keys = None;
    for _ in 0..50 {
        let (status, body) = api.call(Method::GET, "/sshkey", None).await;
        if status == StatusCode::OK {
            keys = Some(body);
            break;
        }
    }
    let keys = keys.expect("a clean answer within 50 tries");
    let titles: Vec<&str> = keys
        .as_array()
        .expect("array")
        .iter()
        .map(|k| k["Title"].as_str().expect("Title"))
        .collect();
    // A key exists exactly when its POST was handled: 200, or a 500 injected after handling.
    for (i, (status, message)) in answers.iter().enumerate().filter(|(i, _)| i % 2 == 1) {
        let handled = *status == 200 || message.contains("after handling");
        assert_eq!(
            titles.contains(&format!("k{i}").as_str()),
            handled,
            "{status} {message}"
        );
    }
    handle.shutdown().await.expect("clean shutdown");
    answers
}

#[tokio::test]
async fn faults_are_reproducible_for_a_seed() {
    let first = fault_run(42).await;
    assert_eq!(first, fault_run(42).await, "same seed, same faults");
    assert_ne!(first, fault_run(43).await, "another seed, other faults");
    let statuses: Vec<u16> = first.iter().map(|(s, _)| *s).collect();
    for expected in [200, 429, 500] {
        assert!(
            statuses.contains(&expected),
            "{expected} never seen in {statuses:?}"
        );
    }
    assert!(
        first.iter().any(|(_, m)| m.contains("after handling")),
        "{first:?}"
    );

    let slow = spawn(EmulatorConfig {
        latency: Duration::from_millis(120),
        ..config(50)
    })
    .await
    .expect("emulator starts");
    let api = Api::new(&slow);
    let started = Instant::now();
    api.get("/image").await;
    assert!(started.elapsed() >= Duration::from_millis(120));
    slow.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn bad_settings_and_state_files_are_refused() {
    let error = spawn(EmulatorConfig {
        fail_rate: 1.5,
        ..EmulatorConfig::default()
    })
    .await
    .expect_err("fail rate above 1");
    assert!(error.to_string().contains("fail rate"), "{error}");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{").expect("write");
    let error = spawn(EmulatorConfig {
        state_file: Some(path),
        ..EmulatorConfig::default()
    })
    .await
    .expect_err("broken state file");
    assert!(error.to_string().contains("not valid"), "{error}");
}
