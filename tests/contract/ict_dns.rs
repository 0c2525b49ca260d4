//! ict's own client and planner against both shapes of DNS answers (`--dns-quirk none` and
//! `lego`): records applied once are recognised again, so the next plan is empty.

use reqwest::Method;

use super::cloud;
use crate::reconcile::expect;
use crate::test::Test;

const SCRIPT: &str = r#"dns_record(#{ zone: "example.ru", name: "_acme-challenge", type: "TXT", value: "token-1", ttl: 300 });
dns_record(#{ zone: "example.ru", type: "TXT", value: "v=spf1 -all" });
dns_record(#{ zone: "example.ru", name: "www", type: "A", value: "203.0.113.7" });
"#;

#[tokio::test]
async fn ict_applies_dns_records_then_plans_nothing_in_either_shape() {
    for (quirk, texts) in [
        ("none", ["\"token-1\" ", "\"v=spf1 -all\" "]),
        ("lego", ["token-1", "v=spf1 -all"]),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("infra.ict"), SCRIPT).expect("write script");
        let cloud = cloud(&dir, quirk);

        expect(&cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]), 0);
        let out = cloud.ict(dir.path(), &["plan", "infra.ict", "--detailed-exitcode"]);
        expect(&out, 0);

        let zones = cloud.ok(Method::GET, "/dns", None).await;
        let mut txt: Vec<(&str, &str)> = zones[0]["LinkedRecords"]
            .as_array()
            .expect("records")
            .iter()
            .filter(|r| r["TypeRecord"] == "TXT")
            .map(|r| {
                (
                    r["HostName"].as_str().unwrap_or("-"),
                    r["Text"].as_str().unwrap_or("-"),
                )
            })
            .collect();
        txt.sort_unstable();
        assert_eq!(
            txt,
            [("@", texts[1]), ("_acme-challenge.example.ru.", texts[0])],
            "--dns-quirk {quirk}"
        );
    }
}

/// The project's emulator takes its quirk from `ICT_EMULATOR_DNS_QUIRK`; a value
/// that is no quirk is refused, naming the variable.
#[test]
fn the_projects_emulator_reads_the_dns_quirk_variable() {
    let test = |quirk: &str| {
        Test::new()
            .write("infra.ict", SCRIPT)
            .env("ICT_EMULATOR_DNS_QUIRK", quirk)
            .args(&["plan", "infra.ict", "--detailed-exitcode"])
            .run()
    };
    let out = test("lego");
    assert_eq!(out.status, 2, "{}{}", out.stdout, out.stderr);
    let out = test("bogus");
    assert_eq!(out.status, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("ICT_EMULATOR_DNS_QUIRK=bogus is not a DNS quirk (expected"),
        "{}",
        out.stderr
    );
}
