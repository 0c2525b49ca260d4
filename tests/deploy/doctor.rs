//! `ict doctor` (issue 15): a block per feature, a line per check, the install command of each
//! missing piece, and the same as JSON. sshd is hidden with `ICT_SSHD`, Ansible with `PATH`.

use crate::test::{Outcome, Test};

/// The features in the order `ict doctor` shows them.
const FEATURES: [&str; 9] = [
    "emulator-ssh",
    "emulator-isolation",
    "ansible",
    "mitogen",
    "node-exporter",
    "postgresql",
    "libvirt",
    "browser",
    "contract-clients",
];

/// `ict doctor ARGS` with no sshd at `<empty>/sshd` and only an empty folder on `PATH`.
fn doctor(args: &[&str]) -> (Outcome, String) {
    let empty = tempfile::tempdir().expect("empty folder");
    let sshd = empty.path().join("sshd").display().to_string();
    let out = Test::new()
        .env("ICT_SSHD", &sshd)
        .env("PATH", &empty.path().display().to_string())
        .args(&[&["doctor"], args].concat())
        .success();
    (out, sshd)
}

#[test]
fn doctor_shows_each_feature_its_checks_and_how_to_install_what_is_missing() {
    let (out, sshd) = doctor(&[]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let headers: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.is_empty() && !l.starts_with(' '))
        .collect();
    let (last, features) = headers.split_last().expect("a closing line");
    let names: Vec<&str> = features
        .iter()
        .map(|l| l.split(':').next().unwrap_or_default())
        .collect();
    assert_eq!(names, FEATURES, "{}", out.stdout);
    for header in features {
        let (_, rest) = header.split_once(": ").expect("name: status");
        assert!(
            rest.starts_with("ready — for ") || rest.starts_with("MISSING — for "),
            "{header}"
        );
    }
    let ready = features.iter().filter(|l| l.contains(": ready — ")).count();
    assert_eq!(
        *last,
        format!(
            "{ready} of 9 features ready; `bash scripts/install.sh` installs what ict's tests need"
        )
    );
    // Every check line is `ok NAME DETAIL` or `no NAME DETAIL — install: COMMAND`.
    let words = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    let checks: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with("  "))
        .map(|l| words(l))
        .collect();
    for check in &checks {
        assert!(
            check.starts_with("ok ")
                || (check.starts_with("no ") && check.contains(" — install: ")),
            "{check}"
        );
    }
    assert!(lines.contains(&"emulator-ssh: MISSING — for SSH to the built-in emulator's servers: `ict run`'s host keys and playbooks, `exec`, pipelines"));
    assert!(lines.contains(&"ansible: MISSING — for the playbooks of `ict run`"));
    for expected in [
        format!("no sshd {sshd} is missing — install: apt-get install -y openssh-server"),
        "no ansible-playbook not on PATH — install: python3 -m pip install ansible-core".to_owned(),
        "no mitogen no ansible-playbook to use it — install: python3 -m pip install ansible-core 'mitogen>=0.3.54,<0.4'".to_owned(),
    ] {
        assert!(checks.contains(&expected), "{expected}\n{}", out.stdout);
    }
}

#[test]
fn doctor_json_lists_every_feature_with_its_checks() {
    let (out, sshd) = doctor(&["--json"]);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let features = json["features"].as_array().expect("features");
    let names: Vec<&str> = features
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, FEATURES);
    for feature in features {
        assert!(feature["needed_for"].is_string(), "{feature}");
        let checks = feature["checks"].as_array().expect("checks");
        assert!(!checks.is_empty(), "{feature}");
        for check in checks {
            let keys: Vec<&str> = check
                .as_object()
                .expect("a check object")
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, ["name", "ok", "detail", "install"], "{check}");
            assert!(check["install"].as_str().is_some_and(|s| !s.is_empty()));
        }
        let all_ok = checks.iter().all(|c| c["ok"] == true);
        assert_eq!(feature["ok"], all_ok, "{feature}");
    }
    assert_eq!(
        features[0]["checks"][0],
        serde_json::json!({
            "name": "sshd",
            "ok": false,
            "detail": format!("{sshd} is missing"),
            "install": "apt-get install -y openssh-server",
        })
    );
    assert_eq!(
        features[2]["checks"][0],
        serde_json::json!({
            "name": "ansible-playbook",
            "ok": false,
            "detail": "not on PATH",
            "install": "python3 -m pip install ansible-core",
        })
    );
}
