//! A pipeline with a `PostgreSQL` database on an emulated `db-1` (which is this machine): ict
//! sets the database up before the stages, the `migrate` stage creates a table through
//! `DATABASE_URL`, the `test` stage writes to it, and a second run keeps the data. The
//! generated password stays in `.ict/dev/secrets/` and out of the output and the state.
//!
//! Needs `PostgreSQL` 15 installed (not running): skipped with a message when missing, required
//! under `CI=true`. At the end the test drops the database and role it caused to exist,
//! removes ict's configuration lines and stops the cluster if it was not running before.

use std::path::Path;
use std::process::Command;

use super::{Install, Repo};
use crate::deploy::{project, serial, testable};

const VERSION: &str = "15";
const DB: &str = "ict_test_visits";
const ROLE: &str = "ict_test_app";

#[allow(
    clippy::print_stderr,
    reason = "a skipped test says why in the test output"
)]
fn postgres_installed() -> bool {
    if Path::new(&format!("/usr/lib/postgresql/{VERSION}/bin/postgres")).is_file() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true, but PostgreSQL {VERSION} is not installed (.ci/run installs it)"
    );
    eprintln!("skipped: PostgreSQL {VERSION} is not installed (apt-get install postgresql)");
    false
}

fn cluster_running() -> bool {
    Command::new("pg_ctlcluster")
        .args([VERSION, "main", "status"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `psql` as the postgres superuser on the local cluster: its output (unaligned, no headers).
fn psql(database: &str, sql: &str) -> String {
    let out = Command::new("runuser")
        .args([
            "-u", "postgres", "--", "psql", "-X", "-At", "-d", database, "-c", sql,
        ])
        .current_dir("/")
        .output()
        .expect("psql");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Puts the machine's `PostgreSQL` back as the test found it.
struct Cleanup {
    was_running: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if cluster_running() {
            psql("postgres", &format!("DROP DATABASE IF EXISTS {DB}"));
            psql("postgres", &format!("DROP ROLE IF EXISTS {ROLE}"));
        }
        let conf = format!("/etc/postgresql/{VERSION}/main");
        let _ = std::fs::remove_file(format!("{conf}/conf.d/ict.conf"));
        let hba = format!("{conf}/pg_hba.conf");
        if let Ok(text) = std::fs::read_to_string(&hba) {
            let mut inside = false;
            let mut kept = String::new();
            for line in text.lines() {
                let marker = line.starts_with("# ict:visits ");
                if marker {
                    inside = line.ends_with(" begin");
                } else if !inside {
                    kept.push_str(line);
                    kept.push('\n');
                }
            }
            let _ = std::fs::write(&hba, kept);
        }
        if !self.was_running {
            let _ = Command::new("pg_ctlcluster")
                .args([VERSION, "main", "stop"])
                .status();
        }
    }
}

fn script(repo: &Repo, install: &Install) -> String {
    format!(
        r#"
let k = ssh_key("deploy", #{{ public_key_file: "keys/deploy.pub" }});
server("web-1", #{{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] }});
server("db-1", #{{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] }});
pipeline("visits", #{{
    repo: "{}",
    preset: "python",
    environments: #{{ dev: #{{ refs: ["main"], hosts: "web-1" }} }},
    env: #{{ PORT: "8081" }},
    database: #{{ engine: "postgresql", version: "{VERSION}", host: "db-1", name: "{DB}", user: "{ROLE}" }},
    stages: #{{
        migrate: "psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -c 'create table if not exists visits(id serial primary key, release text)'",
        test: "psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -c \"insert into visits(release) values ('$ICT_RELEASE')\"",
    }},
    path: "{}",
    user: "{}",
}});
"#,
        repo.url(),
        install.path().display(),
        install.user,
    )
}

fn ict(dir: &Path, args: &[&str]) -> String {
    let out = crate::test::Test::new()
        .current_dir(dir)
        .env("ICT_EMULATOR_SSH", "1")
        .args(args)
        .run();
    assert_eq!(out.status, 0, "ict {args:?}:\n{}{}", out.stdout, out.stderr);
    out.stdout
}

#[test]
fn the_database_is_set_up_migrated_and_kept_across_runs() {
    if !testable() || !postgres_installed() {
        return;
    }
    let _serial = serial();
    let _cleanup = Cleanup {
        was_running: cluster_running(),
    };
    let sources = tempfile::tempdir().expect("tmp");
    let repo = Repo::new(sources.path());
    let install = Install::new("ictpipedb");
    let test = project(&script(&repo, &install), &[]);
    let dir = test.path();
    ict(dir, &["apply", "infra.ict", "--yes"]);

    let out = ict(dir, &["pipeline", "run", "infra.ict", "visits"]);
    assert!(out.contains("db-1 | database | ✓ passed"), "{out}");
    assert!(out.contains("web-1 | migrate | ✓ passed"), "{out}");
    assert!(out.contains("web-1 | health | ✓ passed"), "{out}");
    assert!(cluster_running(), "ict started the cluster");
    let tables = psql(DB, "\\dt");
    assert!(tables.contains("visits"), "{tables}");
    let first = install.current();
    assert_eq!(psql(DB, "select release from visits"), first);

    // The generated password: private, stable, never printed nor recorded.
    let secret_file = dir.join(".ict/dev/secrets/visits-db");
    let password = std::fs::read_to_string(&secret_file).expect("generated password");
    let password = password.trim();
    assert_eq!(password.len(), 32);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&secret_file).expect("meta").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let state = std::fs::read_to_string(dir.join(".ict/dev/state.json")).expect("state");
    assert!(!out.contains(password) && !state.contains(password));
    let env_file = install
        .path()
        .join("releases")
        .join(&first)
        .join(".ict-env");
    let env_text = std::fs::read_to_string(env_file).expect("env file");
    assert!(
        env_text.contains(&format!("DATABASE_URL='postgresql://{ROLE}:{password}@")),
        "the app gets DATABASE_URL"
    );

    // A second run (a new commit) migrates again and keeps the rows of the first.
    repo.edit("app.py", "\"hello from \"", "\"hello again from \"");
    repo.edit(
        "test_app.py",
        "startswith(\"hello\")",
        "startswith(\"hello again\")",
    );
    repo.commit("a new greeting");
    let out = ict(dir, &["pipeline", "run", "infra.ict", "visits"]);
    assert!(out.contains("db-1 | database | ✓ passed"), "{out}");
    let second = install.current();
    assert_ne!(second, first);
    assert_eq!(
        psql(DB, "select release from visits order by id"),
        format!("{first}\n{second}")
    );
    assert_eq!(
        std::fs::read_to_string(&secret_file)
            .expect("password")
            .trim(),
        password,
        "the password is generated once"
    );
}
