//! `Test`: a builder that runs the real `ict` binary in a temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `PATH` the tests run `ict` with: this process's, with the folder of the real
/// `ansible-playbook` first where the one on `PATH` is a pyenv shim (a shell script that runs
/// several more to find it: about 50 ms of CPU for each of the suite's Ansible runs).
pub fn path() -> &'static std::ffi::OsStr {
    static PATH: std::sync::OnceLock<std::ffi::OsString> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let shim = std::env::split_paths(&path)
            .map(|dir| dir.join("ansible-playbook"))
            .find(|p| p.is_file())
            .filter(|p| p.parent().is_some_and(|dir| dir.ends_with("shims")));
        let real = shim
            .and_then(|_| {
                Command::new("pyenv")
                    .args(["which", "ansible-playbook"])
                    .output()
                    .ok()
            })
            .filter(|out| out.status.success())
            .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        match real.as_deref().and_then(Path::parent) {
            Some(dir) => {
                let dirs = std::iter::once(dir.to_owned()).chain(std::env::split_paths(&path));
                std::env::join_paths(dirs).unwrap_or(path)
            }
            None => path,
        }
    })
}

/// Path of the `ict` binary under test.
pub fn ict() -> &'static str {
    env!("CARGO_BIN_EXE_ict")
}

/// The repository root (for examples and the README).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary folder for a project; the emulator daemons started in it are stopped when it is
/// dropped (before the folder is removed).
pub struct TempProject {
    dir: tempfile::TempDir,
}

impl TempProject {
    /// A new folder whose emulator gives its servers addresses of their own in this test run.
    pub fn new() -> TempProject {
        for _ in 0..100 {
            let dir = tempfile::tempdir().expect("temp dir");
            if crate::support::ips::project_block(dir.path()) {
                return TempProject { dir };
            }
        }
        panic!("no temporary folder with a loopback block of its own in 100 tries")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TempProject {
    fn drop(&mut self) {
        crate::support::daemon::stop_daemons_under(self.dir.path());
    }
}

pub struct Test {
    dir: TempProject,
    args: Vec<String>,
    env: Vec<(String, String)>,
    cwd: Option<PathBuf>,
}

/// How long a test's emulator daemon may sit idle before it stops on its own.
pub const IDLE: &str = "120s";

pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
}

impl From<Output> for Outcome {
    fn from(output: Output) -> Outcome {
        Outcome {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            status: output.status.code().unwrap_or(-1),
        }
    }
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: TempProject::new(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
        }
    }

    /// Writes `content` to `path` inside the test folder.
    pub fn write(self, path: &str, content: &str) -> Test {
        let full = self.dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(full, content).expect("write file");
        self
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs in `dir` instead of the test folder.
    pub fn current_dir(mut self, dir: &Path) -> Test {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The `ict` command this test runs, to spawn it by hand.
    pub fn command(&self) -> Command {
        let mut command = Command::new(ict());
        command
            .args(&self.args)
            .current_dir(self.cwd.as_deref().unwrap_or(self.dir.path()))
            .env("NO_COLOR", "1")
            .env("PATH", path())
            .env_remove("ONECLOUD_TOKEN")
            .env_remove("ICT_PATH")
            .env_remove("RUST_LOG")
            // Many tests run emulators at once; only tests that log in turn SSH backing on.
            .env("ICT_EMULATOR_SSH", "0")
            .env("ICT_EMULATOR_TASK_DELAY_MS", "50")
            // Each test stops its projects' emulators; a short idle period is the fallback.
            .env("ICT_EMULATOR_IDLE", IDLE);
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command
    }

    pub fn run(&self) -> Outcome {
        self.command().output().expect("run ict").into()
    }

    #[track_caller]
    pub fn success(&self) -> Outcome {
        let out = self.run();
        assert_eq!(
            out.status, 0,
            "ict {:?} failed:\n{}{}",
            self.args, out.stdout, out.stderr
        );
        out
    }

    #[track_caller]
    pub fn failure(&self) -> Outcome {
        let out = self.run();
        assert_eq!(
            out.status, 1,
            "ict {:?} should fail with 1:\n{}{}",
            self.args, out.stdout, out.stderr
        );
        out
    }
}

/// A rendered diagnostic's words joined by single spaces (miette wraps long lines at 100
/// columns and draws `│` in the margin), to compare whole sentences.
/// Says why a test is skipped — `what` is not installed, `install` installs it — or, under
/// `CI=true` (where scripts/install.sh installed everything), fails it.
#[allow(
    clippy::print_stderr,
    reason = "a skipped test says why in the test output"
)]
pub fn skipped_without(what: &str, install: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true, but {what} is not installed (scripts/install.sh installs it)"
    );
    eprintln!("skipped: {what} is not installed ({install})");
}

pub fn unwrapped(diagnostic: &str) -> String {
    diagnostic
        .split_whitespace()
        .filter(|word| *word != "│")
        .collect::<Vec<_>>()
        .join(" ")
}
