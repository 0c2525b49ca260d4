//! SSH backing: with `ssh_backing`, every running server answers `ssh root@<IP>` (a real
//! OpenSSH `sshd -i` per connection on its loopback IP, port 22) with the keys given at create
//! and a host key that survives power cycles and emulator restarts; powered-off and deleted
//! servers refuse connections and their open sessions end, and no sshd (nor a session's
//! command) outlives the emulator. Needs root and openssh-server: skipped with
//! a message otherwise, except under `CI=true`, where it must run.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use ict::emulator::{spawn, ssh_server_dir, EmulatorConfig, EmulatorHandle};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::process::Command;

use super::{config, eventually, small_server, Api};

/// Whether this machine can run sshd on port 22; panics under `CI=true` if not.
#[allow(
    clippy::print_stderr,
    reason = "a skipped test says why in the test output"
)]
fn ssh_testable() -> bool {
    let reason = if !Path::new("/usr/sbin/sshd").is_file() {
        Some("/usr/sbin/sshd is missing (apt-get install openssh-server)")
    } else if !rustix::process::geteuid().is_root() {
        Some("not running as root (sshd must bind port 22)")
    } else {
        None
    };
    match reason {
        None => true,
        Some(reason) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true, but the SSH backing cannot be tested: {reason}")
        }
        Some(reason) => {
            eprintln!("skipped: SSH backing test: {reason}");
            false
        }
    }
}

/// The system `ssh` client with its own key and `known_hosts` file.
pub(super) struct Client {
    key: PathBuf,
    known_hosts: PathBuf,
}

impl Client {
    pub(super) async fn new(dir: &Path) -> Client {
        let key = dir.join("id_ed25519");
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "ict-test", "-f"])
            .arg(&key)
            .status()
            .await
            .expect("ssh-keygen runs");
        assert!(status.success());
        Client {
            key,
            known_hosts: dir.join("known_hosts"),
        }
    }

    pub(super) fn public_key(&self) -> String {
        std::fs::read_to_string(self.key.with_extension("pub"))
            .expect("public key")
            .trim()
            .to_owned()
    }

    pub(super) fn command(&self, ip: &str, strict: &str, remote: &str) -> Command {
        let mut command = Command::new("ssh");
        command
            .args(["-F", "/dev/null", "-i"])
            .arg(&self.key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args([
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                &format!("StrictHostKeyChecking={strict}"),
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=5",
                &format!("root@{ip}"),
                remote,
            ])
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    pub(super) async fn run(&self, ip: &str, strict: &str, remote: &str) -> Output {
        self.command(ip, strict, remote)
            .output()
            .await
            .expect("ssh runs")
    }

    /// Runs `echo $((6*7))` until it works (for at most 60 s, 100 ms apart): a server that a
    /// tick made Active may be seen a moment before its sshd listens, and a machine stopping
    /// and booting again on a loaded computer (its disk unmounted, checked, grown) takes
    /// seconds.
    pub(super) async fn answers(&self, ip: &str, strict: &str) {
        let mut last = None;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            let output = self.run(ip, strict, "echo $((6*7))").await;
            if output.status.success() {
                assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "42");
                return;
            }
            last = Some(output);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let last = last.expect("tried");
        // What listens on the address, and which process.
        let listening = std::process::Command::new("ss")
            .args(["-ltnpH", &format!("src {ip}")])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        panic!(
            "ssh root@{ip} never worked: {}listening on {ip}: {listening:?}",
            String::from_utf8_lossy(&last.stderr)
        );
    }

    /// Expects "Connection refused" (for at most 30 s, 100 ms apart).
    pub(super) async fn refused(&self, ip: &str) {
        let mut stderr = String::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let output = self.run(ip, "yes", "true").await;
            stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            if !output.status.success() && stderr.contains("Connection refused") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("ssh root@{ip} was never refused; last: {stderr}");
    }

    /// The host key `ssh` pinned for `ip` ("ssh-ed25519 AAAA...").
    fn pinned(&self, ip: &str) -> String {
        let text = std::fs::read_to_string(&self.known_hosts).expect("known_hosts");
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(ip))
            .unwrap_or_else(|| panic!("no key for {ip} in {text}"));
        line.split_whitespace()
            .skip(1)
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// PIDs of processes whose command line mentions `text` (like `pgrep -f`), except this one.
fn processes_mentioning(text: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.to_owned();
            pid.parse::<u32>().ok()?;
            let raw = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            (pid != me && cmdline.contains(text)).then_some(pid)
        })
        .collect()
}

/// A remote command that sleeps and whose process is found by [`running`] (the local `ssh`
/// client's own command line holds the arithmetic, not the number).
fn sleeper(n: u32) -> String {
    format!("exec sleep $((30000+{n}))")
}

/// PIDs of the processes that [`sleeper`]`(n)` started.
fn running(n: u32) -> Vec<String> {
    processes_mentioning(&format!("sleep {}", 30000 + n))
}

/// Waits until `sleeper(n)` runs.
async fn wait_running(n: u32) {
    let what = format!("the remote `sleep {}` runs", 30000 + n);
    eventually(&what, || !running(n).is_empty()).await;
}

/// Waits until `sleeper(n)` has stopped: a request may see a server powered off a moment before
/// the emulator has stopped its SSH.
async fn wait_gone(n: u32) {
    let what = format!("the remote `sleep {}` has stopped", 30000 + n);
    eventually(&what, || running(n).is_empty()).await;
}

fn host_key(state: &Path, id: u64) -> String {
    let text = std::fs::read_to_string(ssh_server_dir(state, id).join("ssh_host_ed25519_key.pub"))
        .expect("host public key");
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) async fn power(api: &Api, id: u64, kind: &str) {
    let path = format!("/server/{id}");
    let action = api
        .post(&format!("{path}/action"), json!({"Type": kind}))
        .await;
    api.wait_for(
        &format!("{path}/action/{}", action["ID"]),
        "State",
        "Completed",
    )
    .await;
}

async fn start(state: &Path) -> (EmulatorHandle, Api) {
    let handle = spawn(EmulatorConfig {
        state_file: Some(state.to_owned()),
        ssh_backing: true,
        ip_base: Some(crate::support::ips::ip_base()),
        ..config(100)
    })
    .await
    .expect("emulator starts");
    let api = Api::new(&handle);
    (handle, api)
}

/// Waits until `path` is gone: a deleted server's folder goes once its machine has stopped.
pub(super) async fn gone(path: &Path) {
    eventually(&format!("{} is removed", path.display()), || !path.exists()).await;
}

pub(super) fn id_and_ip(server: &Value) -> (u64, String) {
    (
        server["ID"].as_u64().expect("ID"),
        server["IP"].as_str().expect("IP").to_owned(),
    )
}

/// Runs an SSH test's `body` when this machine can, one at a time with the other tests that
/// start sshds.
pub(super) fn ssh_test(body: impl std::future::Future<Output = ()>) {
    if !ssh_testable() {
        return;
    }
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(body);
}

/// An emulator with SSH backing on `state`, and an `ssh` client whose key it knows.
pub(super) async fn start_with_client(
    dir: &Path,
    state: &Path,
) -> (EmulatorHandle, Api, Client, Value) {
    let client = Client::new(dir).await;
    let (handle, api) = start(state).await;
    let key = api
        .post(
            "/sshkey",
            json!({"Title": "test", "PublicKey": client.public_key()}),
        )
        .await;
    (handle, api, client, key)
}

#[test]
fn servers_answer_ssh_across_power_cycles_restarts_and_delete() {
    ssh_test(power_cycles_restarts_and_delete());
}

async fn power_cycles_restarts_and_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("emulator.json");
    let (handle, api, client, key) = start_with_client(dir.path(), &state).await;
    // Both made at once, so one request may see the other's create complete: whichever
    // request first shows a server Active, its SSH listens by then.
    let mut created = Vec::new();
    for name in ["web", "db"] {
        let mut body = small_server(name);
        body["SshKeys"] = json!([key["ID"]]);
        created.push(api.post("/server", body).await);
    }
    let mut servers = Vec::new();
    for server in created {
        let active = api
            .wait_for(&format!("/server/{}", server["ID"]), "State", "Active")
            .await;
        let (id, ip) = id_and_ip(&active);
        let listening = tokio::net::TcpStream::connect((ip.as_str(), 22)).await;
        assert!(listening.is_ok(), "{ip}:22 when Active: {listening:?}");
        servers.push((id, ip));
    }
    let [(web, web_ip), (db, db_ip)] = [servers[0].clone(), servers[1].clone()];
    let web_dir = ssh_server_dir(&state, web).to_string_lossy().into_owned();

    // First contact pins the server's own host key, kept in its folder.
    client.answers(&web_ip, "accept-new").await;
    client.answers(&db_ip, "accept-new").await;
    assert_eq!(client.pinned(&web_ip), host_key(&state, web));
    assert_ne!(host_key(&state, web), host_key(&state, db));

    // Power off closes open sessions and refuses new ones; power on brings the same key back
    // (StrictHostKeyChecking=yes from here on).
    let mut session = client
        .command(&web_ip, "yes", &sleeper(1))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ssh runs");
    wait_running(1).await;
    assert!(
        session.try_wait().expect("status").is_none(),
        "session open"
    );
    power(&api, web, "PowerOff").await;
    client.refused(&web_ip).await;
    wait_gone(1).await;
    let ended = tokio::time::timeout(Duration::from_secs(10), session.wait()).await;
    assert!(ended.is_ok(), "the open session ended with the power");
    assert!(processes_mentioning(&web_dir).is_empty());
    power(&api, web, "PowerOn").await;
    client.answers(&web_ip, "yes").await;

    // Leave db powered off across a restart: it must stay down until powered on.
    power(&api, db, "PowerOff").await;
    client.refused(&db_ip).await;
    handle.shutdown().await.expect("clean shutdown");
    assert_eq!(processes_mentioning(&web_dir), Vec::<String>::new());
    assert!(processes_mentioning(&dir.path().to_string_lossy()).is_empty());
    client.refused(&web_ip).await;

    // A restarted emulator restores the running server with the same host key.
    let (handle, api) = start(&state).await;
    client.answers(&web_ip, "yes").await;
    client.refused(&db_ip).await;
    power(&api, db, "PowerOn").await;
    client.answers(&db_ip, "yes").await;

    // Delete: refused, and the server's folder is gone.
    let (status, _) = api
        .call(Method::DELETE, &format!("/server/{web}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    client.refused(&web_ip).await;
    gone(Path::new(&web_dir)).await;
    client.answers(&db_ip, "yes").await;

    handle.shutdown().await.expect("clean shutdown");
    assert!(processes_mentioning(&dir.path().to_string_lossy()).is_empty());
    client.refused(&db_ip).await;
}

#[test]
fn a_dropped_emulator_leaves_no_sshd_behind() {
    if !ssh_testable() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("emulator.json");
    let folder = dir.path().to_string_lossy().into_owned();
    // Its own runtime, dropped with the emulator still running and a session open: the
    // listeners and connections are stopped when their tasks are dropped.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut session = runtime.block_on(async {
        let client = Client::new(dir.path()).await;
        let (handle, api) = start(&state).await;
        let key = api
            .post(
                "/sshkey",
                json!({"Title": "test", "PublicKey": client.public_key()}),
            )
            .await;
        let mut body = small_server("solo");
        body["SshKeys"] = json!([key["ID"]]);
        let created = api.post("/server", body).await;
        let server = api
            .wait_for(&format!("/server/{}", created["ID"]), "State", "Active")
            .await;
        let ip = id_and_ip(&server).1;
        client.answers(&ip, "accept-new").await;
        let session = client
            .command(&ip, "yes", &sleeper(2))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh runs");
        wait_running(2).await;
        std::mem::forget(handle);
        session
    });
    drop(runtime);
    // A SIGKILLed process is gone a moment after the signal, not at once: allow 5 s.
    for _ in 0..50 {
        if running(2).is_empty() && processes_mentioning(&folder).is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        running(2),
        Vec::<String>::new(),
        "the session's command stopped"
    );
    assert_eq!(processes_mentioning(&folder), Vec::<String>::new());
    // The client saw its session end (it is reaped here, in at most 10 s).
    let mut ended = false;
    for _ in 0..100 {
        if session.try_wait().expect("status").is_some() {
            ended = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ended, "the client's session ended");
}
