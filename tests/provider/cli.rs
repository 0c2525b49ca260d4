//! `ict cloud ...` run as the real binary, with `ONECLOUD_TOKEN`/`ONECLOUD_API_URL` pointing at
//! the scripted fake API (set on the child process only).

use std::process::Output;

use serde_json::{json, Value};

use super::fake::{ok, status, Fake, TOKEN};

async fn ict(args: &[&str], url: Option<&str>) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ict"));
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ONECLOUD_TOKEN")
        .env_remove("ONECLOUD_API_URL")
        .kill_on_drop(true);
    if let Some(url) = url {
        command
            .env("ONECLOUD_TOKEN", TOKEN)
            .env("ONECLOUD_API_URL", url);
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), command.output())
        .await
        .expect("ict finishes")
        .unwrap();
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!shown.contains(TOKEN), "the token leaked: {shown}");
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// A server with every field set, as the API would return it (with odd casing and strings).
fn full_server() -> Value {
    json!({"ID": 951_268, "Name": "web-1", "HostName": "srv951268", "State": "Active",
        "IsPowerOn": true, "CPU": "2", "RAM": 2048, "HDD": 40, "HDDType": "SSD",
        "IP": "188.227.74.17", "AdminUserName": "root", "AdminPassword": "Xy7pQ2aa",
        "Image": "Ubuntu20.04x64", "ImageFamily": "Linux", "isHighPerformance": "true",
        "PrimaryNetworkIp": "188.227.74.17", "DCLocation": "SdnSpb",
        "LinkedNetworks": [{"LinkID": 887_588, "NetworkID": 274, "LinkState": "Active",
            "NetworkType": "PublicShared", "NetworkName": "Общая публичная сеть",
            "IP": "188.227.74.17", "MAC": "00:50:56:01:0a:1c", "Mask": "255.255.255.0",
            "Gateway": "188.227.74.1", "Bandwidth": 10},
            {"LinkID": 9, "NetworkID": 31, "NetworkType": "Private", "IP": "10.0.0.5"}],
        "LinkedSshKeys": [3145], "DateCreate": "2023-05-13T16:57:15.495094+03:00",
        "SomethingNew": 1})
}

#[tokio::test]
async fn cloud_servers_json_lists_every_field() {
    let fake = Fake::start(|seen| match seen.path.as_str() {
        "/server" => ok(json!([full_server()])),
        _ => status(404, "no route"),
    })
    .await;
    let output = ict(&["cloud", "servers", "--json"], Some(&fake.url)).await;
    assert!(output.status.success(), "{output:?}");
    let listed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let expected = json!([{
        "id": 951_268, "name": "web-1", "hostname": "srv951268", "state": "Active",
        "power_on": true, "cpu": 2, "ram": 2048, "disk": 40, "disk_type": "SSD",
        "image": "Ubuntu20.04x64", "image_family": "Linux", "high_performance": true,
        "dc": "SdnSpb", "ip": "188.227.74.17", "primary_ip": "188.227.74.17",
        "admin_user": "root", "admin_password": "(sensitive)",
        "links": [
            {"link_id": 887_588, "network_id": 274, "network_name": "Общая публичная сеть",
             "network_type": "PublicShared", "state": "Active", "ip": "188.227.74.17",
             "mac": "00:50:56:01:0a:1c", "mask": "255.255.255.0", "gateway": "188.227.74.1",
             "bandwidth": 10},
            {"link_id": 9, "network_id": 31, "network_name": null, "network_type": "Private",
             "state": null, "ip": "10.0.0.5", "mac": null, "mask": null, "gateway": null,
             "bandwidth": null}
        ],
        "ssh_keys": [3145], "created": "2023-05-13T16:57:15.495094+03:00"
    }]);
    pretty_assertions::assert_eq!(listed, expected);
    assert!(
        !stdout(&output).contains("Xy7pQ2aa"),
        "the root password is not shown"
    );
}

#[tokio::test]
async fn cloud_servers_prints_an_aligned_table_sorted_by_name() {
    let mut second = full_server();
    second["ID"] = json!(7);
    second["Name"] = json!("db");
    second["IsPowerOn"] = json!(false);
    second["LinkedNetworks"] = json!([]);
    second["IP"] = json!("");
    let fake = Fake::start(move |_| ok(json!([full_server(), second.clone()]))).await;
    let output = ict(&["cloud", "servers"], Some(&fake.url)).await;
    assert!(output.status.success(), "{output:?}");
    pretty_assertions::assert_eq!(
        stdout(&output),
        "    ID  NAME   STATE   POWER  CPU      RAM       DISK  IMAGE           DC      POOL  IP             PRIVATE\n     \
              7  db     Active  off      2  2048 MB  40 GB SSD  Ubuntu20.04x64  SdnSpb  high  -              -\n\
         951268  web-1  Active  on       2  2048 MB  40 GB SSD  Ubuntu20.04x64  SdnSpb  high  188.227.74.17  31:10.0.0.5\n"
    );
}

#[tokio::test]
async fn cloud_dns_and_balance_as_json() {
    let fake = Fake::start(|seen| match seen.path.as_str() {
        "/dns" => ok(json!([{"ID": 12, "Name": "example.com", "State": "Active",
            "LinkedRecords": [{"ID": 2, "TypeRecord": "TXT", "HostName": "@",
                               "Text": "\"hello\" ", "TTL": 60, "State": "Active"}]}])),
        "/customer/balance" => ok(json!("1234.50")),
        _ => status(404, "no route"),
    })
    .await;
    let output = ict(&["cloud", "dns", "--json"], Some(&fake.url)).await;
    assert!(output.status.success(), "{output:?}");
    let domains: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(domains[0]["records"][0]["value"], "hello");
    assert_eq!(domains[0]["records"][0]["type"], "TXT");
    let output = ict(&["cloud", "balance", "--json"], Some(&fake.url)).await;
    let balance: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(balance, json!({"balance": 1234.5}));
}

#[tokio::test]
async fn cloud_without_a_token_says_how_to_set_one() {
    let output = ict(&["--provider", "1cloud", "cloud", "servers"], None).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ict::provider::no_token"), "{stderr}");
    assert!(stderr.contains("export ONECLOUD_TOKEN="), "{stderr}");
}

#[tokio::test]
async fn cloud_reports_a_rejected_token_as_a_diagnostic() {
    let fake = Fake::start(|_| status(401, "Authorization has been denied")).await;
    let output = ict(&["cloud", "images"], Some(&fake.url)).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ict::provider::unauthorized"), "{stderr}");
    assert!(stderr.contains("GET /image"), "{stderr}");
}

#[tokio::test]
async fn cloud_without_a_token_uses_the_built_in_emulator() {
    let dir = crate::test::TempProject::new();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_ict"))
        .args(["cloud", "images", "--json"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("ICT_EMULATOR_SSH", "0")
        .env_remove("ONECLOUD_TOKEN")
        .env_remove("ONECLOUD_API_URL")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("provider: local 1cloud emulator"),
        "{stderr}"
    );
    let images: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(images
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["name"] == "Ubuntu20.04x64"));
    assert!(dir.path().join(".ict/emulator.json").exists());
}

/// A server name as the 1cloud panel allows it: an OSC sequence that retitles the terminal.
const EVIL: &str = "evil\u{1b}]0;pwned\u{7}";

/// Everything `ict` printed; asserts no control character other than line breaks got through.
fn printed(output: &Output) -> String {
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !shown.chars().any(|c| c.is_control() && c != '\n'),
        "a control character was printed: {shown:?}"
    );
    shown
}

#[tokio::test]
async fn names_from_the_cloud_are_printed_with_control_characters_escaped() {
    let server = || {
        let mut server = full_server();
        server["Name"] = json!(EVIL);
        server
    };
    let fake = Fake::start(move |seen| match seen.path.as_str() {
        "/server" => ok(json!([server()])),
        _ => ok(json!([])),
    })
    .await;
    let listed = ict(&["cloud", "servers"], Some(&fake.url)).await;
    assert!(listed.status.success(), "{listed:?}");
    let shown = printed(&listed);
    assert!(shown.contains("evil\\u{1b}]0;pwned\\u{7}"), "{shown}");

    // The plan's list of unmanaged servers.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("infra.ict");
    std::fs::write(&script, "").unwrap();
    let script = script.display().to_string();
    let plan = ict(&["plan", &script], Some(&fake.url)).await;
    assert!(plan.status.success(), "{plan:?}");
    let shown = printed(&plan);
    assert!(
        shown.contains(
            "are not managed by ict and will not be touched:\n  server     evil\\u{1b}]0;pwned\\u{7} (ID 951268)"
        ),
        "{shown}"
    );

    // An error message that quotes a name.
    let refusing = Fake::start(|_| status(400, &format!("image of {EVIL} is busy"))).await;
    let failed = ict(&["cloud", "images"], Some(&refusing.url)).await;
    assert_eq!(failed.status.code(), Some(1));
    let shown = printed(&failed);
    assert!(
        shown.contains("image of evil\\u{1b}]0;pwned\\u{7} is busy"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_token_too_short_to_be_real_is_refused() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_ict"))
        .args(["cloud", "servers"])
        .env("NO_COLOR", "1")
        .env("ONECLOUD_TOKEN", "t")
        .env("ONECLOUD_API_URL", "http://127.0.0.1:9")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    let stderr = crate::test::unwrapped(&String::from_utf8_lossy(&output.stderr));
    assert!(
        stderr.contains(
            "cannot set up the 1cloud client: ONECLOUD_TOKEN is 1 character(s) long: too short to be \
             a 1cloud API token (those have 64; ict refuses fewer than 16)"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("(sensitive)"), "{stderr}");
}

#[tokio::test]
async fn credentials_in_the_api_url_are_never_printed() {
    let fake = Fake::start(|_| ok(json!([]))).await;
    let with_credentials = |url: &str| url.replacen("://", "://alice:s3cret@", 1);
    let answered = ict(
        &["-vv", "cloud", "servers"],
        Some(&with_credentials(&fake.url)),
    )
    .await;
    assert!(answered.status.success(), "{answered:?}");
    let closed = ict(
        &["-vv", "cloud", "servers"],
        Some(&with_credentials("http://127.0.0.1:9")),
    )
    .await;
    assert_eq!(closed.status.code(), Some(1));
    for output in [&answered, &closed] {
        let shown = printed(output);
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("alice"), "{shown}");
        assert!(shown.contains("(sensitive)@127.0.0.1"), "{shown}");
    }
}
