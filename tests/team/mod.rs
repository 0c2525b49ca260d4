//! Team state (issue 19): two checkouts of one project — two team members — sharing their state
//! in a real shared backend ([`Postgres`], or [`S3`] served by `s3s-fs`) and one emulated 1cloud
//! account ([`Cloud`]). Each scenario runs on both backends.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod migrate;
mod scenarios;

use std::path::Path;

use crate::reconcile::Cloud;
use crate::support::postgres::Postgres;
use crate::support::s3::{BUCKET, S3};
use crate::test::{Outcome, TempProject};

/// The password in the database URL ict is given (trust authentication ignores it): it must
/// never be stored or shown.
const PASSWORD: &str = "pg-Pa55word-7d1e";

/// A shared backend a test started.
pub trait Shared {
    /// The script's `backend(...)` line, credentials through `secret(...)`.
    fn declaration(&self, lease_secs: u32) -> String;
    /// The environment variables those secrets are read from.
    fn secrets(&self) -> Vec<(&'static str, String)>;
    /// Everything the backend stores, as text, to grep.
    fn dump(&self) -> String;
    /// The commits stored since the last snapshot, each as its JSON text.
    fn commits(&self) -> Vec<String>;
}

impl Shared for Postgres {
    fn declaration(&self, lease_secs: u32) -> String {
        format!(
            "backend(\"postgres\", #{{ url: secret(\"ICT_STATE_URL\"), project: \"shop\", lease: {lease_secs} }});\n"
        )
    }

    fn secrets(&self) -> Vec<(&'static str, String)> {
        vec![("ICT_STATE_URL", self.url_with_password(PASSWORD))]
    }

    fn dump(&self) -> String {
        Postgres::dump(self)
    }

    fn commits(&self) -> Vec<String> {
        self.psql("SELECT changes FROM ict_state_log ORDER BY version")
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Shared for S3 {
    fn declaration(&self, lease_secs: u32) -> String {
        format!(
            "backend(\"s3\", #{{ bucket: \"{BUCKET}\", prefix: \"shop\", endpoint: \"{}\", region: \"ru-1\", \
             access_key: secret(\"ICT_S3_KEY\"), secret_key: secret(\"ICT_S3_SECRET\"), lease: {lease_secs} }});\n",
            self.endpoint
        )
    }

    fn secrets(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ICT_S3_KEY", self.access_key.clone()),
            ("ICT_S3_SECRET", self.secret_key.clone()),
        ]
    }

    fn dump(&self) -> String {
        S3::dump(self)
    }

    fn commits(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.bucket_dir().join("shop/dev/log")) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries.flatten().map(|entry| entry.path()).collect();
        files.sort();
        files
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .collect()
    }
}

/// `count` small servers, their state in `shared` with a `lease_secs` lease.
fn script(shared: &dyn Shared, count: usize, lease_secs: u32) -> String {
    format!(
        "{}for i in 1..={count} {{\n    server(`app-${{i}}`, #{{ cpu: 1, ram: 1024, disk: 10 }});\n}}\n",
        shared.declaration(lease_secs)
    )
}

/// A checkout: a folder holding `script` as `infra.ict`.
fn checkout(script: &str) -> TempProject {
    let dir = TempProject::new();
    std::fs::write(dir.path().join("infra.ict"), script).unwrap();
    dir
}

/// The `ict` command in `dir` against `cloud`, with the backend's secrets.
fn command(cloud: &Cloud, shared: &dyn Shared, dir: &Path, args: &[&str]) -> std::process::Command {
    let mut command = cloud.command(dir, args);
    command.envs(shared.secrets());
    command
}

/// `ict ARGS` in `dir` against `cloud`, with the backend's secrets.
fn ict(cloud: &Cloud, shared: &dyn Shared, dir: &Path, args: &[&str]) -> Outcome {
    crate::reconcile::outcome(command(cloud, shared, dir, args).output().unwrap())
}

/// Whether a commit began an operation that no later commit finished.
fn in_flight(shared: &dyn Shared) -> bool {
    let commits = shared.commits().concat();
    commits.matches("{\"begin\"").count() > commits.matches("{\"finish\"").count()
}

/// Polls `done` every 50 ms for at most `limit`.
fn poll(limit: std::time::Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The user name ict records in a lock.
fn whoami() -> String {
    ict::state::LockHolder::current("").user
}

/// One test per scenario and backend: `name_on_postgres`, `name_on_s3`.
macro_rules! on_each_backend {
    ($($scenario:ident),* $(,)?) => {
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let Some(pg) = crate::support::postgres::Postgres::start() else { return };
                    super::scenarios::$scenario(&pg).await;
                }
            )*
        }
        mod on_s3 {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let Some(s3) = crate::support::s3::S3::start() else { return };
                    super::scenarios::$scenario(&s3).await;
                }
            )*
        }
    };
}

on_each_backend!(
    a_second_checkout_sees_the_first_ones_apply,
    an_apply_while_another_holds_the_lock_is_refused_and_a_killed_holder_is_taken_over_after_its_lease,
    lock_status_and_break_work_on_a_shared_backend,
    a_holder_whose_lease_ran_out_writes_nothing_after_a_takeover,
    state_migrate_round_trips_local_to_the_backend_and_back,
    no_secret_reaches_the_backend,
);
