//! A pseudo-terminal for tests of what ict draws on a terminal (the REPL, `ict top`, apply
//! progress bars): a tmux server of the test's own (its own socket), one session `t` running a
//! shell command in a folder, killed when the value is dropped. Without tmux a test is skipped
//! with a message, except in CI (`CI=true`), where tmux is required.

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// A tmux server with one pane.
pub struct Tmux {
    socket: String,
    /// How long [`Tmux::wait_for`] waits.
    pub patience: Duration,
}

impl Tmux {
    /// Runs `command` (a shell command line) in a `width`x`height` pane in `dir`; None (with a
    /// message) when tmux is missing outside CI.
    #[allow(clippy::print_stderr)] // a skipped test says why
    pub fn start(
        name: &str,
        dir: &Path,
        (width, height): (u16, u16),
        command: &str,
    ) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "tmux is required in CI (apt-get install tmux)"
            );
            eprintln!("skipping {name}: tmux is not installed");
            return None;
        }
        let tmux = Tmux {
            socket: format!("ict-test-{}-{name}", std::process::id()),
            patience: Duration::from_secs(20),
        };
        let status = tmux
            .command()
            .args(["-f", "/dev/null", "new-session", "-d", "-s", "t"])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg("-c")
            .arg(dir)
            .arg(command)
            .status()
            .expect("start tmux");
        assert!(status.success());
        Some(tmux)
    }

    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]);
        command
    }

    /// Types text literally.
    pub fn type_text(&self, text: &str) {
        let ok = self
            .command()
            .args(["send-keys", "-t", "t", "-l", text])
            .status();
        assert!(ok.expect("tmux send-keys").success());
    }

    /// Presses keys (`Enter`, `Tab`, `C-c`, `q`).
    pub fn keys(&self, keys: &[&str]) {
        let ok = self
            .command()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status();
        assert!(ok.expect("tmux send-keys").success());
    }

    /// What the pane shows now.
    pub fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-t", "t"])
            .output();
        String::from_utf8_lossy(&out.expect("tmux capture-pane").stdout).into_owned()
    }

    /// Whether the session still runs.
    pub fn alive(&self) -> bool {
        self.command()
            .args(["has-session", "-t", "t"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Waits (at most [`Tmux::patience`]) until the screen satisfies `ready`.
    #[track_caller]
    pub fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < self.patience,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command()
            .arg("kill-server")
            .stderr(Stdio::null())
            .status();
    }
}

/// The exit status a pane command wrote with `echo $? > FILE`, trimmed ("" if not yet).
pub fn read_exit(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_owned()
}
