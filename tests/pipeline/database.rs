//! A pipeline with a `PostgreSQL` database on an emulated `db-1`: ict sets the database up
//! before the stages, the `migrate` stage creates a table through `DATABASE_URL`, the `test`
//! stage writes to it, and a second run keeps the data. The generated password stays in
//! `.ict/dev/secrets/` and out of the output and the state. The cluster, its configuration
//! and data live on `db-1`'s own disk: this computer's `PostgreSQL` is left as it was.
//!
//! Needs `PostgreSQL` 15 installed (the servers' base is this computer's root filesystem):
//! skipped with a message when missing, required under `CI=true`.

use std::path::Path;
use std::process::Command;

use super::{Install, Repo};
use crate::deploy::{cloud_ict, emulator_with_ssh, machine_root, project, testable};

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

/// `psql` as the postgres superuser on `db-1`'s cluster: its output (unaligned, no headers).
fn psql(dir: &Path, database: &str, sql: &str) -> String {
    let root = machine_root(dir, "db-1");
    let pid = root
        .parent()
        .and_then(Path::file_name)
        .expect("/proc/<pid>/root")
        .to_string_lossy()
        .into_owned();
    let out = Command::new("nsenter")
        .args([
            "--target", &pid, "--mount", "--uts", "--ipc", "--pid", "--root", "--wd",
        ])
        .args([
            "runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-d", database, "-c", sql,
        ])
        .output()
        .expect("psql");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
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

#[test]
fn the_database_is_set_up_migrated_and_kept_across_runs() {
    if !testable() || !postgres_installed() {
        return;
    }
    let sources = tempfile::tempdir().expect("tmp");
    let repo = Repo::new(sources.path());
    let install = Install::new("ictvisits");
    let test = project(&script(&repo, &install), &[]);
    let dir = test.path();
    let cloud = emulator_with_ssh(dir);
    let ict = |args: &[&str]| cloud_ict(&cloud, dir, args, 0).stdout;
    ict(&["apply", "infra.ict", "--yes"]);

    let out = ict(&["pipeline", "run", "infra.ict", "visits"]);
    assert!(out.contains("db-1 | database | ✓ passed"), "{out}");
    assert!(out.contains("web-1 | migrate | ✓ passed"), "{out}");
    assert!(out.contains("web-1 | health | ✓ passed"), "{out}");
    let tables = psql(dir, DB, "\\dt");
    assert!(tables.contains("visits"), "{tables}");
    let first = install.current(dir);
    assert_eq!(psql(dir, DB, "select release from visits"), first);

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
        .on_server(dir)
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
    let out = ict(&["pipeline", "run", "infra.ict", "visits"]);
    assert!(out.contains("db-1 | database | ✓ passed"), "{out}");
    let second = install.current(dir);
    assert_ne!(second, first);
    assert_eq!(
        psql(dir, DB, "select release from visits order by id"),
        format!("{first}\n{second}")
    );
    assert_eq!(
        std::fs::read_to_string(&secret_file)
            .expect("password")
            .trim(),
        password,
        "the password is generated once"
    );
    // This computer's PostgreSQL was not configured for these servers (other tests on this
    // machine may configure it for theirs meanwhile).
    let inventory = ict(&["inventory", "--list", "infra.ict"]);
    let conf = format!("/etc/postgresql/{VERSION}/main");
    for (_, ip) in crate::deploy::ips_in(&inventory) {
        for file in ["conf.d/ict.conf", "pg_hba.conf"] {
            let text = std::fs::read_to_string(format!("{conf}/{file}")).unwrap_or_default();
            assert!(!text.contains(&ip), "{file} names {ip}:\n{text}");
        }
    }
    crate::emulator::machine::assert_no_user(&install.user);
}
