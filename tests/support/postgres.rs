//! A throwaway `PostgreSQL` 15 server for a test: a cluster in a temporary folder (a copy of one
//! made once and kept in the tests' scratch folder), listening only on a Unix socket in that
//! folder, run as `nobody` when the tests run as root (`PostgreSQL` refuses root), stopped and
//! removed when the guard drops.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where Debian's `PostgreSQL` 15 keeps its programs.
const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A running `PostgreSQL` server; stopped on drop.
pub struct Postgres {
    dir: tempfile::TempDir,
}

impl Postgres {
    /// Starts a fresh server, or says why the test is skipped (`PostgreSQL` missing) and returns
    /// `None`; under `CI=true` a missing `PostgreSQL` fails the test.
    pub fn start() -> Option<Postgres> {
        if !Path::new(BIN).join("postgres").is_file() {
            crate::test::skipped_without("PostgreSQL 15", "apt-get install postgresql");
            return None;
        }
        let server = Postgres { dir: owned_dir() };
        let data = server.data();
        copy_tree(template(), Path::new(&data));
        let options = format!(
            "-k {} -c listen_addresses= -p 5432 -c fsync=off",
            server.socket_dir().display()
        );
        let log = server.dir.path().join("log").display().to_string();
        server.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "30", "-o", &options, "start",
            ],
        );
        Some(server)
    }

    /// The same server as a URL with a password in it (trust authentication ignores it), to
    /// prove credentials never reach what ict stores or prints.
    pub fn url_with_password(&self, password: &str) -> String {
        format!(
            "postgresql://ict:{password}@localhost:5432/postgres?host={}",
            self.socket_dir().display()
        )
    }

    /// Runs `sql` with `psql`: its output, unaligned and without headers (nothing if it
    /// failed, e.g. before ict created its tables).
    pub fn psql(&self, sql: &str) -> String {
        let output = self.client("psql", &["-X", "-At", "-c", sql]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Every row of the database, as `pg_dump --data-only` writes them.
    pub fn dump(&self) -> String {
        let output = self.client("pg_dump", &["--data-only"]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn client(&self, program: &str, args: &[&str]) -> Output {
        let socket = self.socket_dir().display().to_string();
        Command::new(Path::new(BIN).join(program))
            .args(["-h", &socket, "-p", "5432", "-U", "ict", "-d", "postgres"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run a PostgreSQL client")
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn socket_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Runs a server program as the cluster's owner.
    fn run(&self, program: &str, args: &[&str]) {
        run_as_owner(self.dir.path(), program, args);
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_owner("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "-w", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A new cluster, made once and kept in the tests' scratch folder (`target/tmp`): each server
/// starts from a copy (`initdb` costs about a second of CPU, a copy little).
fn template() -> &'static Path {
    static TEMPLATE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let template = scratch.join("postgres-15-cluster-2");
        if template.join("PG_VERSION").is_file() {
            return template;
        }
        // Made where its owner can reach (`nobody` may not pass through the checkout's folders),
        // then copied here under a name of its own and renamed into place, so that a test run
        // beside this one never sees half of it.
        let work = owned_dir();
        let data = work.path().join("data");
        let data_arg = data.to_string_lossy();
        let args = [
            "-D",
            &data_arg,
            "-U",
            "ict",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            // 1 MB of WAL instead of 16 to copy for each server.
            "--wal-segsize=1",
        ];
        run_as_owner(work.path(), "initdb", &args);
        let partial = tempfile::Builder::new()
            .prefix("postgres-15-cluster-2.")
            .tempdir_in(scratch)
            .expect("scratch folder");
        copy_tree(&data, &partial.path().join("data"));
        // Another run may have put one in place meanwhile: either is as good.
        let _ = std::fs::rename(partial.path().join("data"), &template);
        template
    })
}

/// A new temporary folder of the clusters' owner.
fn owned_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("ict-pg-")
        .tempdir()
        .expect("temporary folder");
    if is_root() {
        let status = Command::new("chown")
            .args(["nobody:nogroup", &dir.path().display().to_string()])
            .status()
            .expect("chown");
        assert!(status.success(), "chown the cluster folder to nobody");
    }
    dir
}

/// Runs a server program as the clusters' owner, in `dir`.
fn run_as_owner(dir: &Path, program: &str, args: &[&str]) {
    let output = as_owner(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run a PostgreSQL program");
    assert!(
        output.status.success(),
        "{program}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `cp -a from to`: owners and modes kept (the cluster's files are its owner's, mode 0700).
fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// A server program, run as `nobody` when this process is root.
fn as_owner(program: &str) -> Command {
    let path = Path::new(BIN).join(program);
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "nobody", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}
