//! Every script under `examples/` is checked, in every environment it declares.

use crate::test::{root, Test};

fn scripts() -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root().join("examples")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("examples dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                // Project modules are imported by their scripts, not run on their own.
                if path
                    .file_name()
                    .is_some_and(|n| n != "modules" || !dir.ends_with("modules"))
                {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "ict") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_example_checks() {
    let scripts = scripts();
    assert!(scripts.len() >= 3, "examples found: {scripts:?}");
    for script in scripts {
        let text = std::fs::read_to_string(&script).expect("read");
        let envs: &[&str] = if text.contains("environments(") {
            &["dev", "prod"]
        } else {
            &["dev"]
        };
        for env in envs {
            let out = Test::new()
                .args(&["--env", env, "check", script.to_str().expect("utf-8")])
                .success();
            assert!(
                out.stdout.contains(": ok (env "),
                "{}: {}",
                script.display(),
                out.stdout
            );
        }
    }
}

#[test]
fn quickstart_declares_what_the_readme_says() {
    let out = Test::new()
        .args(&[
            "check",
            root()
                .join("examples/quickstart.ict")
                .to_str()
                .expect("utf-8"),
        ])
        .success();
    assert!(
        out.stdout
            .contains("4 servers, 1 ssh key, 1 network, 2 groups, 2 playbooks"),
        "{}",
        out.stdout
    );
}

#[test]
fn environments_change_sizes() {
    let file = root().join("examples/environments.ict");
    let file = file.to_str().expect("utf-8");
    let dev = Test::new()
        .args(&["graph", file, "--format", "json"])
        .success();
    let prod = Test::new()
        .args(&["--env", "prod", "graph", file, "--format", "json"])
        .success();
    let count = |s: &str| s.matches("\"kind\": \"server\"").count();
    assert_eq!(count(&dev.stdout), 2);
    assert_eq!(count(&prod.stdout), 4);
    assert!(prod.stdout.contains("\"disk_type\": \"SAS\""));
    let more = Test::new()
        .args(&[
            "--env",
            "prod",
            "--var",
            "web_count=5",
            "graph",
            file,
            "--format",
            "json",
        ])
        .success();
    assert_eq!(count(&more.stdout), 6);
    let bad = Test::new()
        .args(&["--var", "web_count=many", "check", file])
        .failure();
    assert!(bad.stderr.contains("is not an integer"), "{}", bad.stderr);
}

#[test]
fn modules_are_imported_twice_with_different_parameters() {
    let out = Test::new()
        .args(&[
            "graph",
            root()
                .join("examples/modules/main.ict")
                .to_str()
                .expect("utf-8"),
        ])
        .success();
    for name in [
        "server.front-1",
        "server.front-2",
        "server.api-1",
        "server.api-3",
    ] {
        assert!(out.stdout.contains(name), "{name} in {}", out.stdout);
    }
    assert!(
        out.stdout.contains("server.api-1  2 vCPU, 4096 MB"),
        "{}",
        out.stdout
    );
}

/// `examples/schedules.ict`: its plan makes the golden image between db-1 and the replica, and
/// its schedules are listed with their next times.
#[test]
fn the_schedules_example_plans_its_image_and_lists_its_schedules() {
    let test = Test::new().write(
        "infra.ict",
        &std::fs::read_to_string(root().join("examples/schedules.ict")).expect("example"),
    );
    let plan = Test::new()
        .current_dir(test.path())
        .args(&["plan", "infra.ict"])
        .success();
    let steps: Vec<&str> = plan
        .stdout
        .lines()
        .filter(|l| l.starts_with("    + "))
        .collect();
    assert_eq!(
        steps,
        [
            "    + server.dev-1",
            "    + server.dev-2",
            "    + server.db-1",
            "    + server.db-replica",
            "    + image.db-golden",
        ]
    );
    let list = Test::new()
        .current_dir(test.path())
        .env("ICT_NOW", "2026-12-07T18:00:00Z")
        .args(&["schedule", "list", "infra.ict"])
        .success();
    let heads: Vec<&str> = list
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .collect();
    assert_eq!(
        heads,
        [
            "night-stop  cron \"0 20 * * 1-5\" Europe/Moscow  power_off on dev",
            "morning  cron \"0 8 * * 1-5\" Europe/Moscow  power_on on dev",
            "db-nightly  cron \"30 3 * * *\" Europe/Moscow  image on db-1, keep 7",
            "reconcile  every 1h  apply",
        ]
    );
}
