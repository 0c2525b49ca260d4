//! `ict metrics` against the built-in emulator (no SSH backing: scraped over direct HTTP).

use std::path::Path;

use serde_json::Value;

use crate::test::{root, Outcome, Test};

/// Runs `ict ARGS` in `dir` (the emulator's account lives there between commands).
pub(super) fn ict_in(dir: &Path, args: &[&str]) -> Test {
    Test::new().current_dir(dir).args(args)
}

/// Writes `file` into `dir`.
fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A folder holding the quickstart example, applied to the built-in emulator.
pub(super) fn applied_quickstart() -> crate::test::TempProject {
    let examples = root().join("examples");
    let dir = crate::test::TempProject::new();
    for file in [
        "quickstart.ict",
        "keys/deploy.pub",
        "playbooks/db.yml",
        "playbooks/web.yml",
    ] {
        let text = std::fs::read_to_string(examples.join(file)).expect("example file");
        write(dir.path(), file, &text);
    }
    let _: Outcome = ict_in(dir.path(), &["apply", "-y", "quickstart.ict"]).success();
    dir
}

#[test]
fn metrics_json_reports_every_server_of_an_applied_example() {
    let dir = applied_quickstart();
    let out = ict_in(
        dir.path(),
        &["metrics", "quickstart.ict", "--json", "--interval", "0.5"],
    )
    .success();
    let rows: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let rows = rows.as_array().expect("array");
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["db-1", "web-1", "web-2", "web-3"]);
    for row in rows {
        assert!(row["error"].is_null(), "{row}");
        let f = &row["figures"];
        let (cpus, ram_mb) = if row["name"] == "db-1" {
            (2, 4096.0)
        } else {
            (1, 2048.0)
        };
        assert_eq!(f["cpu_count"], cpus, "{row}");
        let mem = f["memory_total_bytes"].as_f64().expect("mem");
        assert!(
            mem > 0.9 * ram_mb * 1_048_576.0 && mem <= ram_mb * 1_048_576.0,
            "{row}"
        );
        let cpu = f["cpu_busy_percent"].as_f64().expect("cpu %");
        assert!((0.5..=90.0).contains(&cpu), "{row}");
        assert!(
            f["network_rx_bytes_per_second"].as_f64().expect("rx") > 0.0,
            "{row}"
        );
        assert!(row["endpoint"]
            .as_str()
            .expect("endpoint")
            .ends_with(":9100/metrics"));
    }
}

#[test]
fn servers_not_created_or_powered_off_are_rows_not_failures() {
    let script = "server(\"up\", #{});\nserver(\"down\", #{ power: \"off\" });\n";
    let dir = crate::test::TempProject::new();
    write(dir.path(), "infra.ict", script);
    ict_in(dir.path(), &["apply", "-y", "infra.ict"]).success();
    write(
        dir.path(),
        "infra.ict",
        &format!("{script}server(\"later\", #{{}});\n"),
    );
    let out = ict_in(dir.path(), &["metrics", "infra.ict", "--interval", "0"]).success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("SERVER") && lines[0].ends_with("ERROR"),
        "{}",
        out.stdout
    );
    let line = |name: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{}", out.stdout))
            .to_owned()
    };
    assert!(line("up").ends_with(" -"), "{}", out.stdout);
    assert!(line("down").ends_with("powered off"), "{}", out.stdout);
    assert!(
        line("later").ends_with("not created yet (run `ict apply`)"),
        "{}",
        out.stdout
    );

    let out = ict_in(dir.path(), &["metrics", "infra.ict", "-l", "nothing-*"]).failure();
    assert!(out.stderr.contains("matches no server"), "{}", out.stderr);
}
