//! Drift: changes made by hand to servers ict owns show as `~` updates and are reverted.

use reqwest::Method;
use serde_json::json;

use super::{expect, quickstart, Cloud};

#[tokio::test]
async fn a_resize_and_a_power_off_by_hand_are_planned_as_updates_and_reverted() {
    let dir = quickstart();
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    expect(
        &cloud.ict(dir.path(), &["apply", "quickstart.ict", "--yes"]),
        0,
    );

    let web2 = cloud.server("web-2").await["ID"].to_string();
    let web3 = cloud.server("web-3").await["ID"].to_string();
    cloud
        .ok(
            Method::PUT,
            &format!("/server/{web2}"),
            Some(json!({"CPU": 2, "RAM": 4096})),
        )
        .await;
    cloud
        .ok(
            Method::POST,
            &format!("/server/{web3}/action"),
            Some(json!({"Type": "PowerOff"})),
        )
        .await;
    cloud
        .wait_server(&web2, |s| s["CPU"] == 2 && s["State"] == "Active")
        .await;
    cloud.wait_server(&web3, |s| s["IsPowerOn"] == false).await;

    let out = cloud.ict(
        dir.path(),
        &["plan", "quickstart.ict", "--detailed-exitcode"],
    );
    expect(&out, 2);
    let text = &out.stdout;
    assert!(
        text.contains("  ~ server.web-2\n        cpu  2 → 1\n        ram  4096 → 2048\n"),
        "{text}"
    );
    assert!(
        text.contains("  ~ server.web-3\n        power  off → on\n"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 0 to add, 2 to change, 0 to destroy."),
        "{text}"
    );

    let out = cloud.ict(dir.path(), &["apply", "quickstart.ict", "--yes"]);
    expect(&out, 0);
    assert!(
        out.stdout.contains("0 added, 2 changed, 0 destroyed"),
        "{}",
        out.stdout
    );
    let web2 = cloud.server("web-2").await;
    assert_eq!(
        (web2["CPU"].as_u64(), web2["RAM"].as_u64()),
        (Some(1), Some(2048)),
        "{web2}"
    );
    let web3 = cloud.server("web-3").await;
    assert_eq!(web3["IsPowerOn"], true, "{web3}");

    let out = cloud.ict(
        dir.path(),
        &["plan", "quickstart.ict", "--detailed-exitcode"],
    );
    expect(&out, 0);
}

#[tokio::test]
async fn a_server_deleted_by_hand_is_created_again() {
    let dir = quickstart();
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    expect(
        &cloud.ict(dir.path(), &["apply", "quickstart.ict", "--yes"]),
        0,
    );
    let old = cloud.server("web-1").await["ID"].clone();
    cloud
        .ok(Method::DELETE, &format!("/server/{old}"), None)
        .await;

    let out = cloud.ict(
        dir.path(),
        &["plan", "quickstart.ict", "--detailed-exitcode"],
    );
    expect(&out, 2);
    assert!(
        out.stdout
            .contains("  + server.web-1  (deleted outside ict)"),
        "{}",
        out.stdout
    );
    expect(
        &cloud.ict(dir.path(), &["apply", "quickstart.ict", "--yes"]),
        0,
    );
    let new = cloud.server("web-1").await["ID"].clone();
    assert_ne!(old, new);
    expect(
        &cloud.ict(
            dir.path(),
            &["plan", "quickstart.ict", "--detailed-exitcode"],
        ),
        0,
    );
}
