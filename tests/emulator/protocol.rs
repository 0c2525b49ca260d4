//! The HTTP contract: auth, tolerant input, catalogue, fault injection, bad settings.

use std::time::{Duration, Instant};

use ict::emulator::{spawn, EmulatorConfig};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{config, small_server, Api, TOKEN};

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
    assert_eq!(
        error.to_string(),
        format!(
            "the emulator state file {} is corrupt: EOF while parsing an object at line 1 column 1",
            dir.path().join("broken.json").display()
        )
    );
}

#[tokio::test]
async fn names_with_control_characters_or_too_long_are_refused() {
    let handle = spawn(config(10)).await.expect("emulator starts");
    let api = Api::new(&handle);
    let domain = api.post("/dns", json!({"Name": "example.org"})).await;
    let long = "n".repeat(256);
    let refused = [
        ("/server", small_server("web\u{0}1")),
        ("/server", small_server("evil\u{1b}]0;pwned\u{7}")),
        ("/server", small_server(&long)),
        ("/network", json!({"Name": "back\u{1b}[2J"})),
        ("/network", json!({"Name": long})),
        (
            "/sshkey",
            json!({"Title": "deploy\u{0}", "PublicKey": "ssh-ed25519 AAAA x"}),
        ),
        ("/dns", json!({"Name": "exa\u{7}mple.com"})),
        (
            "/dns/recorda",
            json!({"DomainId": domain["ID"], "Name": "www\u{0}", "IP": "10.0.0.1"}),
        ),
        (
            "/dns/recordcname",
            json!({"DomainId": domain["ID"], "Name": "w", "MnemonicName": long}),
        ),
    ];
    for (path, body) in refused {
        let (status, answer) = api.call(Method::POST, path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
        let message = answer["Message"].as_str().unwrap_or_default();
        assert!(
            message.contains("must not contain control characters")
                || message.contains("must be at most 255 characters long, got 256")
                || message.contains("is not a valid domain name"),
            "{path} {body}: {answer}"
        );
    }
    assert_eq!(api.get("/server").await, json!([]));
    assert_eq!(api.get("/network").await, json!([]));
    assert_eq!(api.get("/sshkey").await, json!([]));
    // The longest accepted name, and a key file's trailing newline, are fine.
    api.post("/server", small_server(&"n".repeat(255))).await;
    api.post(
        "/sshkey",
        json!({"Title": "deploy", "PublicKey": "ssh-ed25519 AAAA x\n"}),
    )
    .await;
    handle.shutdown().await.expect("clean shutdown");
}

#[test]
fn the_emulator_says_it_listens_only_once_started() {
    let test = crate::test::Test::new().write("broken.json", "{");
    let corrupt = test
        .args(&[
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--state",
            "broken.json",
        ])
        .failure();
    assert_eq!(corrupt.stdout, "");
    let stderr = crate::test::unwrapped(&corrupt.stderr);
    assert!(!stderr.contains("listening"), "{stderr}");
    assert!(
        stderr.contains(
            "the emulator state file broken.json is corrupt: EOF while parsing an object at line 1 column 1"
        ),
        "{stderr}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("address").to_string();
    let busy = crate::test::Test::new()
        .args(&["emulator", "--listen", &addr])
        .failure();
    let stderr = crate::test::unwrapped(&busy.stderr);
    assert!(!stderr.contains("listening"), "{stderr}");
    assert!(
        stderr.contains(&format!("× cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(stderr.contains("Address already in use"), "{stderr}");
}

#[test]
fn a_corrupt_emulator_account_file_is_named() {
    let out = crate::test::Test::new()
        .write("infra.ict", "server(\"web-1\");\n")
        .write(".ict/emulator.json", "{\"format\": 1, \"servers\": [")
        .args(&["plan", "infra.ict"])
        .failure();
    let stderr = crate::test::unwrapped(&out.stderr).replace("/ ", "/");
    assert!(
        stderr.contains("/.ict/emulator.json is corrupt: invalid type"),
        "{stderr}"
    );
    // The help is about the emulator, not about 1cloud tokens.
    assert!(stderr.contains("`ict emulator logs` shows it"), "{stderr}");
    assert!(!stderr.contains("ONECLOUD_TOKEN"), "{stderr}");
}
