//! A throwaway S3-protocol server for a test: `s3s-fs` (installed by `scripts/install.sh`
//! with `cargo install s3s-fs`) on a free loopback port, keeping its objects in a temporary
//! folder, with its own keys; killed when the guard drops.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The bucket the tests use.
pub const BUCKET: &str = "ict-state";

/// A running `s3s-fs`; killed on drop.
pub struct S3 {
    child: Child,
    root: tempfile::TempDir,
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

impl S3 {
    /// Starts a server with an empty [`BUCKET`], or says why the test is skipped (`s3s-fs` not
    /// installed) and returns `None`; under `CI=true` a missing server fails the test.
    pub fn start() -> Option<S3> {
        let Some(program) = program() else {
            crate::test::skipped_without(
                "s3s-fs",
                "cargo install s3s-fs --version 0.14.1 --features binary",
            );
            return None;
        };
        let root = tempfile::Builder::new()
            .prefix("ict-s3-")
            .tempdir()
            .expect("temporary folder");
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket folder");
        let access_key = format!("AK{:016X}", rand::random::<u64>());
        let secret_key = format!("SK{:032x}", rand::random::<u128>());
        let mut child = Command::new(program)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(["--access-key", &access_key, "--secret-key", &secret_key])
            .arg(root.path())
            .env("RUST_LOG", "s3s_fs=info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        let stdout = child.stdout.take().expect("piped stdout");
        // The address is announced on stdout; read it on a thread so the wait is bounded.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("server is running at ").nth(1) {
                    let _ = tx.send(rest.trim().to_owned());
                }
            }
        });
        let endpoint = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("s3s-fs announces its address");
        Some(S3 {
            child,
            root,
            endpoint,
            access_key,
            secret_key,
        })
    }

    /// Where the bucket's objects are, as files.
    pub fn bucket_dir(&self) -> PathBuf {
        self.root.path().join(BUCKET)
    }

    /// Every file the server keeps (objects and its own metadata), as text.
    pub fn dump(&self) -> String {
        let mut text = String::new();
        dump_dir(self.root.path(), &mut text);
        text
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dump_dir(dir: &Path, text: &mut String) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            dump_dir(&path, text);
        } else if let Ok(bytes) = std::fs::read(&path) {
            text.push_str(&String::from_utf8_lossy(&bytes));
            text.push('\n');
        }
    }
}

/// `s3s-fs` on the `PATH` or in cargo's `bin` folder.
fn program() -> Option<PathBuf> {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .map(|home| home.join("bin"));
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_bin)
        .map(|dir| dir.join("s3s-fs"))
        .find(|path| path.is_file())
}
