//! `ict top` in a pseudo-terminal driven by tmux: it starts, shows the servers, and `q` quits
//! cleanly (exit 0, terminal restored). Skipped with a message without tmux unless `CI=true`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::cli::applied_quickstart;
use crate::test::ict;

/// A tmux server of our own (its own socket), killed when the test ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]);
        command
    }

    fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-t", "t"])
            .output();
        String::from_utf8_lossy(&out.expect("tmux capture-pane").stdout).into_owned()
    }

    /// Waits (at most 20 s) until `ready` holds for the screen.
    #[track_caller]
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}; screen:\n{screen}"
            );
            sleep(Duration::from_millis(100));
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

#[allow(clippy::print_stderr)] // a skipped test says why
fn tmux_missing() -> bool {
    if Command::new("tmux").arg("-V").output().is_ok() {
        return false;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "tmux is required in CI (apt-get install tmux)"
    );
    eprintln!("skipping ict top test: tmux is not installed");
    true
}

#[test]
fn top_shows_the_servers_and_q_quits_cleanly() {
    if tmux_missing() {
        return;
    }
    let dir = applied_quickstart();
    let exit_file = dir.path().join("top.exit");
    // The pane stays open after ict ends (`; sleep`), so the restored screen can be read.
    let command = format!(
        "env NO_COLOR=1 ICT_EMULATOR_SSH=0 ICT_EMULATOR_TASK_DELAY_MS=50 {ict} top quickstart.ict --interval 0.5; echo $? > {exit}; echo TOP-ENDED; sleep 30",
        ict = ict(),
        exit = exit_file.display(),
    );
    let tmux = Tmux {
        socket: format!("ict-top-{}", std::process::id()),
    };
    let status = tmux
        .command()
        .args([
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "140",
            "-y",
            "30",
        ])
        .arg("-c")
        .arg(dir.path())
        .arg(command)
        .status()
        .expect("start tmux");
    assert!(status.success());
    let screen = tmux.wait_for("the servers with figures", |s| {
        s.contains("ict top")
            && ["db-1", "web-1", "web-2", "web-3"]
                .iter()
                .all(|n| s.contains(n))
            && s.contains("CPU%")
            && s.contains("4 of 4 servers")
    });
    assert!(screen.contains("recent: CPU %"), "{screen}");
    // A filter narrows the rows; then q quits.
    send(&tmux, &["/", "d", "b", "Enter"]);
    tmux.wait_for("the filter", |s| s.contains("1 of 4 servers"));
    send(&tmux, &["q"]);
    let screen = tmux.wait_for("ict top to end", |s| s.contains("TOP-ENDED"));
    assert!(
        !screen.contains("CPU%"),
        "the alternate screen is gone:\n{screen}"
    );
    let code = read_exit(&exit_file);
    assert_eq!(code, "0", "ict top exit status; screen:\n{screen}");
}

fn send(tmux: &Tmux, keys: &[&str]) {
    let ok = tmux
        .command()
        .args(["send-keys", "-t", "t"])
        .args(keys)
        .status();
    assert!(ok.expect("tmux send-keys").success());
}

fn read_exit(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_owned()
}
