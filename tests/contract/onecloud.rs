//! onecloud 1.0.3: the general client reads the balance, images, DC locations, the server list
//! and one server, then deletes that server.

use reqwest::Method;
use serde_json::json;

use super::{cloud, drive, report};
use crate::reconcile::TOKEN;

const DRIVER: &str = "drive_onecloud.py";

#[tokio::test]
async fn onecloud_client_reads_the_account_and_deletes_a_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cloud = cloud(&dir, "none");
    let server = cloud.create_by_hand("web-1").await;
    // What the test asked for (Cloud::create_by_hand), not what the emulator answered.
    let expected = json!({
        "server": {"ID": server["ID"], "Name": "web-1", "CPU": 1, "RAM": 512, "HDD": 10,
                   "HDDType": "SSD", "DCLocation": "SdnSpb", "State": "Active"},
        "image": 3492,
        "dc": "SdnSpb",
    });
    let count = |list: serde_json::Value| list.as_array().map_or(0, Vec::len);
    let images = count(cloud.ok(Method::GET, "/image", None).await);
    let dcs = count(cloud.ok(Method::GET, "/dcLocation", None).await);

    let args = [cloud.url.clone(), TOKEN.to_owned(), expected.to_string()];
    let report = report(DRIVER, &drive(DRIVER, &args).await);

    // DELETE answers with the documented empty body, which this client cannot decode.
    assert_eq!(
        report,
        json!({"balance": 10000.0, "images": images, "dcs": dcs, "servers": 1,
               "delete_answer": "empty body"})
    );
    assert!(cloud.servers().await.is_empty());
}
