//! `ict repl`: over standard input with the real binary, and in a pseudo-terminal driven by
//! tmux (skipped with a message when tmux is missing, unless `CI=true`). Live functions run
//! against the built-in emulator (in-process, no SSH backing, 50 ms tasks) or, for the
//! cancellation test, a separate `ict emulator --latency` process.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::test::{ict, Outcome};

/// Runs `ict repl ARGS` in `dir` with `input` on standard input.
pub(crate) fn repl(dir: &Path, args: &[&str], input: &str) -> Outcome {
    repl_with(dir, args, input, &[])
}

/// Like [`repl`], with extra environment variables.
fn repl_with(dir: &Path, args: &[&str], input: &str, env: &[(&str, &str)]) -> Outcome {
    let mut child = Command::new(ict())
        .arg("repl")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("XDG_DATA_HOME", dir.join("data"))
        .env_remove("ONECLOUD_TOKEN")
        .env_remove("ONECLOUD_API_URL")
        .env_remove("ICT_PATH")
        .env_remove("RUST_LOG")
        .env("ICT_EMULATOR_SSH", "0")
        .env("ICT_EMULATOR_TASK_DELAY_MS", "50")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ict repl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("ict repl ends").into()
}

fn temp() -> crate::test::TempProject {
    crate::test::TempProject::new()
}

#[test]
fn results_are_printed_one_per_line() {
    let dir = temp();
    let out = repl(
        dir.path(),
        &[],
        "server(\"a\", #{}); 1 + 2\n\"x\" + 1\nserver(\"b\").ip\n",
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "3\n\"x1\"\n${server.b.ip}\n");
}

#[test]
fn functions_span_lines_and_inputs() {
    let dir = temp();
    let input = "fn web(n) {\n    server(n, #{\n        cpu: 2,\n    })\n}\nweb(\"w1\")\nweb(\"w2\").cpu * 10\n:graph\n";
    let out = repl(dir.path(), &[], input);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..2], ["Server(\"w1\")", "20"], "{}", out.stdout);
    assert!(lines[2].contains("server.w1  2 vCPU"), "{}", out.stdout);
    assert!(lines[3].contains("server.w2  2 vCPU"), "{}", out.stdout);
}

#[test]
fn an_error_does_not_end_the_session_but_fails_the_run() {
    let dir = temp();
    let out = repl(
        dir.path(),
        &[],
        "let a = 1;\nservr(\"x\")\nserver(\"y\", #{ rma: 1 })\na + 1\n:vars\n",
    );
    assert_eq!(out.status, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "2\na = 1\n");
    assert!(
        out.stderr.contains("no function matches `servr"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `server`?"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("<repl>:2:1"), "{}", out.stderr);
    assert!(out.stderr.contains("unknown field `rma`"), "{}", out.stderr);
}

#[test]
fn file_is_evaluated_first() {
    let dir = temp();
    std::fs::write(
        dir.path().join("infra.ict"),
        "const SIZE = 4;\nfn web(n) { server(n, #{ cpu: 4 }) }\nweb(\"web-1\");\n",
    )
    .expect("write script");
    let out = repl(
        dir.path(),
        &["infra.ict"],
        "SIZE\nweb(\"web-2\").cpu\n:check\n:reload\n:check\n",
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "4\n4\nok (env dev): 2 servers\nreloaded infra.ict: 1 server\nok (env dev): 1 server\n"
    );
}

#[test]
fn a_broken_file_is_reported_and_fails_the_run() {
    let dir = temp();
    std::fs::write(dir.path().join("bad.ict"), "let x = ;\n").expect("write script");
    let out = repl(dir.path(), &["bad.ict"], "1 + 1\n");
    assert_eq!(out.status, 1);
    assert_eq!(out.stdout, "2\n");
    assert!(out.stderr.contains("bad.ict:1:"), "{}", out.stderr);
}

#[test]
fn errors_point_at_the_repl_input_not_at_the_loaded_file() {
    let dir = temp();
    std::fs::write(
        dir.path().join("infra.ict"),
        "let size = 2;\nfn web(n) { server(n, #{ cpu: 2, rma: 1 }) }\n",
    )
    .expect("write script");
    let out = repl(
        dir.path(),
        &["infra.ict"],
        "server(\"db\", #{ rma: 2 })\nweb(\"web-1\")\n",
    );
    assert_eq!(out.status, 1, "{}{}", out.stdout, out.stderr);
    // Typed at the prompt: `<repl>`, line 1. Inside FILE's function: FILE, line 2.
    let places: Vec<&str> = out
        .stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("╭─["))
        .collect();
    assert_eq!(
        places,
        ["<repl>:1:17]", "infra.ict:2:34]"],
        "{}",
        out.stderr
    );
}

#[test]
fn an_import_cycle_is_a_diagnostic_and_the_session_goes_on() {
    let dir = temp();
    std::fs::write(dir.path().join("a.ict"), "import \"./b\" as b;\n").expect("write a");
    std::fs::write(dir.path().join("b.ict"), "import \"./a\" as a;\n").expect("write b");
    let out = repl(
        dir.path(),
        &[],
        "import \"./a\" as a;\nimport \"./a\" as a\n1 + 1\n",
    );
    assert_eq!(out.status, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "2\n");
    assert_eq!(
        out.stderr
            .matches("import cycle: a.ict → b.ict → a.ict")
            .count(),
        2,
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("╭─[b.ict:1:8]"), "{}", out.stderr);
}

/// `ict repl` in a pseudo-terminal, with its folder.
struct Tmux {
    pane: crate::support::tmux::Tmux,
    dir: crate::test::TempProject,
}

impl std::ops::Deref for Tmux {
    type Target = crate::support::tmux::Tmux;

    fn deref(&self) -> &Self::Target {
        &self.pane
    }
}

impl Tmux {
    /// Starts `ict repl ARGS` in a 100x30 pane, or None (with a message) without tmux.
    fn start(name: &str, files: &[(&str, &str)], args: &str) -> Option<Tmux> {
        Tmux::start_with(name, files, args, "")
    }

    /// Like [`Tmux::start`], with `env` (`KEY=VALUE ...`) for `ict`.
    fn start_with(name: &str, files: &[(&str, &str)], args: &str, env: &str) -> Option<Tmux> {
        let dir = temp();
        for (file, text) in files {
            std::fs::write(dir.path().join(file), text).expect("write file");
        }
        let command = format!(
            "env -u ONECLOUD_TOKEN -u ONECLOUD_API_URL NO_COLOR=1 ICT_EMULATOR_SSH=0 XDG_DATA_HOME={data} {env} {ict} repl {args}",
            data = dir.path().join("data").display(),
            ict = ict(),
        );
        let mut pane = crate::support::tmux::Tmux::start(name, dir.path(), (100, 30), &command)?;
        pane.patience = Duration::from_secs(10);
        pane.wait_for("prompt", |screen| screen.contains("ict>"));
        Some(Tmux { pane, dir })
    }

    /// Types `line`, presses Enter and waits until the next prompt is drawn (typing ahead
    /// while an input is evaluated could be lost when the editor takes the terminal back).
    fn submit(&self, line: &str) -> String {
        let before = prompts(&self.screen());
        self.type_text(line);
        self.keys(&["Enter"]);
        self.ready(before)
    }

    /// Waits until more than `before` prompts are on screen and the last line is a prompt.
    #[track_caller]
    fn ready(&self, before: usize) -> String {
        self.wait_for("the next prompt", |s| {
            prompts(s) > before && s.lines().rev().find(|l| !l.trim().is_empty()) == Some("ict>")
        })
    }
}

fn prompts(screen: &str) -> usize {
    screen.lines().filter(|l| l.starts_with("ict>")).count()
}

fn has_line(screen: &str, line: &str) -> bool {
    screen.lines().any(|l| l.trim_end() == line)
}

#[test]
fn terminal_tab_completes_a_declared_server_name() {
    let files = [("infra.ict", "server(\"web-frontend\", #{});\n")];
    let Some(t) = Tmux::start("complete", &files, "infra.ict") else {
        return;
    };
    t.type_text("\"web-f");
    t.keys(&["Tab"]);
    t.wait_for("completion", |s| s.contains("ict> \"web-frontend"));
    let screen = t.submit("\".len()");
    assert!(has_line(&screen, "12"), "{screen}");
}

#[test]
fn terminal_multi_line_input_and_ctrl_c() {
    let Some(t) = Tmux::start("multiline", &[], "") else {
        return;
    };
    // One input over three lines: no prompt until it is complete.
    for line in ["fn twice(x) {", "x * 2"] {
        t.type_text(line);
        t.keys(&["Enter"]);
    }
    t.submit("}");
    let screen = t.submit("twice(21)");
    assert!(has_line(&screen, "42"), "{screen}");
    let before = prompts(&screen);
    t.type_text("1000 + 1");
    t.wait_for("the typed line", |s| s.contains("ict> 1000 + 1"));
    t.keys(&["C-c"]);
    t.ready(before);
    let screen = t.submit("7 * 6 + 1");
    assert!(has_line(&screen, "43"), "{screen}");
    assert!(!has_line(&screen, "1001"), "{screen}");
    assert!(
        screen.contains("ict> 1000 + 1"),
        "the cancelled line stays visible: {screen}"
    );
}

#[test]
fn terminal_quit_leaves_and_keeps_history() {
    let Some(t) = Tmux::start("quit", &[], "") else {
        return;
    };
    let screen = t.submit("40 + 2");
    assert!(has_line(&screen, "42"), "{screen}");
    t.type_text(":quit");
    t.keys(&["Enter"]);
    let start = Instant::now();
    while t.alive() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "ict repl did not quit"
        );
        sleep(Duration::from_millis(50));
    }
    let history = std::fs::read_to_string(t.dir.path().join("data/ict/history"))
        .expect("history file written");
    assert!(
        history.contains("40 + 2") && history.contains(":quit"),
        "{history}"
    );
}

const TWO_SERVERS: &str = "server(\"web-1\", #{ cpu: 1, ram: 1024, disk: 10 });\nserver(\"web-2\", #{ cpu: 1, ram: 1024, disk: 10, power: \"off\" });\n";

#[test]
fn live_images_come_from_the_builtin_emulator() {
    let dir = temp();
    let out = repl(
        dir.path(),
        &[],
        "cloud::images().len()\ncloud::dcs().len() > 0\n",
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let images: usize = lines[0].parse().expect("a number of images");
    assert!(images > 0, "{}", out.stdout);
    assert_eq!(lines[1], "true");
    assert!(
        out.stderr.contains("provider: local 1cloud emulator"),
        "the emulator is announced: {}",
        out.stderr
    );
}

#[test]
fn apply_then_list_and_filter_servers() {
    let dir = temp();
    std::fs::write(dir.path().join("infra.ict"), TWO_SERVERS).expect("write script");
    let input = "plan().summary\n:apply\n:apply --yes\ncloud::servers().len()\n\
                 cloud::servers().filter(|s| s.power == \"on\").map(|s| s.name)\n\
                 cloud::servers().filter(|s| s.managed).len()\nplan().summary.add\n\
                 cloud::server(\"web-2\").power\n";
    let out = repl(dir.path(), &["infra.ict"], input);
    // `:apply` without --yes has no terminal to ask on: it fails, and the session goes on.
    assert_eq!(out.status, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("no terminal to confirm on; use `:apply --yes`"),
        "{}",
        out.stderr
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0], "#{ add: 2, change: 0, destroy: 0 }",
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("+ server.web-1"), "{}", out.stdout);
    assert!(out.stdout.contains("Apply complete!"), "{}", out.stdout);
    let tail = &lines[lines.len() - 5..];
    assert_eq!(
        tail,
        ["2", "[\"web-1\"]", "2", "0", "\"off\""],
        "{}",
        out.stdout
    );
    // The emulated account was saved when the REPL ended: a new session sees the servers, and
    // reads live figures from web-1's (emulated) node_exporter.
    let out = repl(
        dir.path(),
        &["infra.ict"],
        "cloud::servers().len()\ncloud::servers()\nlet m = metrics(\"web-1\"); m.cpu_count > 0.0 && m.memory_used_percent > 0.0\n",
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "2");
    assert_eq!(lines.last().copied(), Some("true"), "{}", out.stdout);
    assert!(lines[1].starts_with("id "), "a table: {}", out.stdout);
    assert!(
        lines[1].contains(" name ") && lines[1].contains(" managed "),
        "{}",
        out.stdout
    );
    assert!(
        lines[2].contains("web-1") && lines[3].contains("web-2"),
        "{}",
        out.stdout
    );
}

#[test]
fn an_unknown_server_is_a_diagnostic_and_the_session_goes_on() {
    let dir = temp();
    let out = repl(dir.path(), &[], "cloud::server(\"nope\")\n40 + 2\n");
    assert_eq!(out.status, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "42\n");
    assert!(
        out.stderr.contains("no server named `nope`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("<repl>:1:8"), "{}", out.stderr);
}

#[test]
fn a_network_error_is_a_diagnostic_not_a_crash() {
    let dir = temp();
    // A port that nothing listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = repl_with(
        dir.path(),
        &[],
        "cloud::balance()\n1 + 1\n",
        &[
            ("ONECLOUD_TOKEN", "repl-test-token-0123"),
            ("ONECLOUD_API_URL", &url),
        ],
    );
    assert_eq!(out.status, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "2\n");
    assert!(
        out.stderr.contains("cannot connect to the 1cloud API"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

/// An `ict emulator` process on a free port, killed when dropped.
struct Emulator {
    child: std::process::Child,
    url: String,
}

impl Emulator {
    fn start(latency_ms: u32) -> Emulator {
        use std::io::BufRead as _;
        let mut child = Command::new(ict())
            .args(["emulator", "--listen", "127.0.0.1:0", "--latency"])
            .arg(latency_ms.to_string())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ict emulator");
        let mut line = String::new();
        let stderr = child.stderr.take().expect("stderr");
        // The first line says where it listens (EOF, hence an empty line, if it failed).
        let _ = std::io::BufReader::new(stderr).read_line(&mut line);
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(str::to_owned);
        let Some(url) = url else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the emulator did not say where it listens: {line:?}");
        };
        Emulator { child, url }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn terminal_ctrl_c_cancels_a_slow_live_call() {
    let emulator = Emulator::start(3000);
    let env = format!(
        "ONECLOUD_TOKEN=repl-test-token-0123 ONECLOUD_API_URL={}",
        emulator.url
    );
    let Some(t) = Tmux::start_with("cancel", &[], "", &env) else {
        return;
    };
    let before = prompts(&t.screen());
    t.type_text("cloud::balance()");
    t.keys(&["Enter"]);
    t.wait_for("the spinner", |s| {
        s.contains("asking the cloud for the balance")
    });
    let pressed = Instant::now();
    t.keys(&["C-c"]);
    let screen = t.ready(before);
    assert!(
        pressed.elapsed() < Duration::from_millis(2500),
        "cancelled before the answer came"
    );
    assert!(screen.contains("interrupted (Ctrl-C)"), "{screen}");
    let screen = t.submit("40 + 2");
    assert!(has_line(&screen, "42"), "the session goes on: {screen}");
}

#[test]
#[allow(clippy::print_stderr)] // a skipped test says why
fn exec_runs_over_ssh_on_the_emulated_servers() {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !Path::new("/usr/sbin/sshd").exists() || !root {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs this test as root with openssh-server installed"
        );
        eprintln!("skipping exec_runs_over_ssh_on_the_emulated_servers: needs root and sshd");
        return;
    }
    let dir = temp();
    std::fs::create_dir(dir.path().join("keys")).expect("keys folder");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "repl-test", "-f"])
        .arg(dir.path().join("keys/deploy"))
        .status()
        .expect("run ssh-keygen");
    assert!(keygen.success());
    std::fs::write(
        dir.path().join("infra.ict"),
        "let deploy = ssh_key(\"deploy\", #{ public_key_file: \"keys/deploy.pub\" });\n\
         server(\"web-1\", #{ cpu: 1, ram: 1024, disk: 10, ssh_keys: [deploy] });\n",
    )
    .expect("write script");
    let ssh = [("ICT_EMULATOR_SSH", "1"), ("SSH_AUTH_SOCK", "")];
    let out = repl_with(dir.path(), &["infra.ict"], ":apply --yes\n", &ssh);
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    // A new session starts the servers' sshds with the emulator.
    let out = repl_with(
        dir.path(),
        &["infra.ict"],
        "let r = exec(\"web-1\", \"echo hi; exit 3\");\nr[\"web-1\"].stdout\nr[\"web-1\"].exit\n\
         exec(\"nothing-*\", \"true\")\n",
        &ssh,
    );
    assert_eq!(out.status, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "\"hi\\n\"\n3\n", "{}", out.stderr);
    assert!(
        out.stderr.contains("matches no declared server"),
        "{}",
        out.stderr
    );
}

/// Issue 23: `exec` in a session keeps each server's SSH session open, so running a command
/// again costs no handshake: each server's sshd logs one login for three `exec`s.
#[test]
#[allow(clippy::print_stderr)] // a skipped test says why
fn exec_again_in_a_session_reuses_its_ssh_connections() {
    if !crate::deploy::testable() {
        eprintln!("skipping exec_again_in_a_session_reuses_its_ssh_connections");
        return;
    }
    let test = crate::deploy::project(
        "let k = ssh_key(\"deploy\", #{ public_key_file: \"keys/deploy.pub\" });\n\
         for i in 1..=3 { server(`web-${i}`, #{ cpu: 1, ram: 1024, disk: 10, ssh_keys: [k] }); }\n",
        &[],
    );
    let dir = test.path();
    let ssh = [("ICT_EMULATOR_SSH", "1"), ("SSH_AUTH_SOCK", "")];
    let out = repl_with(dir, &["infra.ict"], ":apply --yes\n", &ssh);
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    let names = ["web-1", "web-2", "web-3"];
    let logins = || -> Vec<usize> {
        names
            .iter()
            .map(|name| {
                // A machine still starting (under load) has no folder yet: no login either.
                crate::deploy::find_server_dir(dir, name)
                    .and_then(|d| std::fs::read_to_string(d.join("sshd.log")).ok())
                    .unwrap_or_default()
                    .matches("Accepted publickey")
                    .count()
            })
            .collect()
    };
    let before = logins();
    let out = repl_with(
        dir,
        &["infra.ict"],
        "exec(\"all\", \"true\").len()\nexec(\"all\", \"true\").len()\n\
         exec(\"web-*\", \"echo again\")[\"web-2\"].stdout\n",
        &ssh,
    );
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "3\n3\n\"again\\n\"\n", "{}", out.stderr);
    let after = logins();
    let made: Vec<usize> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(made, [1, 1, 1], "logins per server for three execs");
}
