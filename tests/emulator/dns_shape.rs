//! The shape of DNS answers (issue 14): TXT names fully qualified with a trailing dot, TXT text
//! quoted with a trailing space (certbot-dns-onecloud) or bare under `DnsQuirk::Lego` (lego's
//! fixtures), and every published client's request shape accepted.

use ict::emulator::{spawn, DnsQuirk, EmulatorConfig};
use serde_json::{json, Value};

use super::{config, created_record, Api};

/// Panics naming the first of `fields` whose value in `record` differs.
#[track_caller]
fn assert_fields(record: &Value, fields: &[(&str, Value)]) {
    for (field, expected) in fields {
        assert_eq!(&record[field], expected, "field {field} of {record}");
    }
}

#[tokio::test]
async fn txt_records_take_the_shape_published_clients_saw_in_either_quirk() {
    for dns_quirk in [DnsQuirk::Off, DnsQuirk::Lego] {
        let handle = spawn(EmulatorConfig {
            dns_quirk,
            // Records stay New, so every answer about one is the same.
            ..config(60_000)
        })
        .await
        .expect("emulator starts");
        let api = Api::new(&handle);
        let domain = api.post("/dns", json!({"Name": "example.ru"})).await;
        let id = domain["ID"].as_u64().expect("ID");
        let text = |value: &str| match dns_quirk {
            DnsQuirk::Off => json!(format!("\"{value}\" ")),
            DnsQuirk::Lego => json!(value),
        };
        // (who sends it, the body, the HostName stored, the text sent)
        let requests = [
            (
                "certbot-dns-onecloud",
                json!({"DomainId": id, "Name": "_acme-challenge.example.ru", "Text": "c1", "TTL": 300}),
                "_acme-challenge.example.ru.",
                "c1",
            ),
            (
                "lego",
                json!({"DomainId": id.to_string(), "Name": "_acme-challenge", "Text": "l1", "TTL": "300"}),
                "_acme-challenge.example.ru.",
                "l1",
            ),
            (
                "NET (HostName)",
                json!({"DomainId": id.to_string(), "HostName": "_dmarc", "Text": "v=DMARC1", "TTL": "300"}),
                "_dmarc.example.ru.",
                "v=DMARC1",
            ),
            (
                "ict",
                json!({"DomainId": id.to_string(), "Name": "@", "HostName": "@", "Text": "v=spf1 -all", "TTL": "300"}),
                "@",
                "v=spf1 -all",
            ),
        ];
        for (client, body, host, value) in requests {
            let answer = api.post("/dns/recordtxt", body).await;
            assert_eq!(
                answer.is_array(),
                dns_quirk == DnsQuirk::Lego,
                "{client}: {answer}"
            );
            let record = created_record(answer);
            let owner = if host == "@" { "example.ru" } else { host };
            assert_fields(
                &record,
                &[
                    ("TypeRecord", json!("TXT")),
                    ("HostName", json!(host)),
                    ("Text", text(value)),
                    ("TTL", json!(300)),
                    (
                        "CanonicalDescription",
                        json!(format!("{owner} 300 IN TXT \"{value}\"")),
                    ),
                ],
            );
            let path = format!("/dns/record/{}", record["ID"]);
            assert_eq!(api.get(&path).await, record, "{client}: GET {path}");
        }
        let a = created_record(
            api.post(
                "/dns/recorda",
                json!({"DomainId": id, "Name": "www.example.ru.", "IP": "203.0.113.7"}),
            )
            .await,
        );
        assert_fields(
            &a,
            &[
                ("HostName", json!("www")),
                (
                    "CanonicalDescription",
                    json!("www.example.ru 3600 IN A 203.0.113.7"),
                ),
            ],
        );
        let zone = api.get(&format!("/dns/{id}")).await;
        assert_eq!(api.get("/dns").await, json!([zone]));
        let texts: Vec<&Value> = zone["LinkedRecords"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| &r["Text"])
            .collect();
        let null = Value::Null;
        let expected = [
            text("c1"),
            text("l1"),
            text("v=DMARC1"),
            text("v=spf1 -all"),
            null,
        ];
        assert_eq!(texts, expected.iter().collect::<Vec<_>>(), "{dns_quirk:?}");
        handle.shutdown().await.expect("clean shutdown");
    }
}
