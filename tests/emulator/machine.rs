//! Issue 16: every emulated server is an isolated machine — its own hostname, PID namespace and
//! root filesystem on a disk of the declared size. What runs on it writes into its own layer,
//! never into this computer's files; power off stops every process of it, power on brings its
//! files back and starts its services, a resize grows its disk, a rebuild resets it to its
//! image, a delete removes its disk. Driven through the
//! API and the system `ssh` client, like `sshd`'s tests (same requirements).

use std::path::Path;

use ict::emulator::machine::PID_FILE;
use ict::emulator::ssh_server_dir;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::sshd::{gone, id_and_ip, power, ssh_test, start_with_client, Client};
use super::{eventually, small_server, Api};
use crate::reconcile::Cloud;

/// What `ssh` printed, or a panic with its error output.
async fn output(client: &Client, ip: &str, remote: &str) -> String {
    let out = client.run(ip, "yes", remote).await;
    assert!(
        out.status.success(),
        "{remote}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The running machine's init PID (from its folder) and its PID namespace.
fn machine(state: &Path, id: u64) -> (i32, String) {
    let file = ssh_server_dir(state, id).join(PID_FILE);
    let pid: i32 = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .trim()
        .parse()
        .expect("a PID");
    let ns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).expect("its PID namespace");
    (pid, ns.display().to_string())
}

/// PIDs of the processes in PID namespace `ns` (as `readlink /proc/PID/ns/pid` shows it).
fn processes_in(ns: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|e| {
            std::fs::read_link(e.path().join("ns/pid")).is_ok_and(|l| l.display().to_string() == ns)
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

async fn create(api: &Api, name: &str, key: &Value, hdd: u32) -> (u64, String) {
    let mut body = small_server(name);
    body["SshKeys"] = json!([key["ID"]]);
    body["HDD"] = json!(hdd);
    let created = api.post("/server", body).await;
    let active = api
        .wait_for(&format!("/server/{}", created["ID"]), "State", "Active")
        .await;
    id_and_ip(&active)
}

#[test]
fn a_server_is_a_machine_of_its_own_across_power_cycles_rebuild_and_delete() {
    ssh_test(machine_lifecycle());
}

async fn machine_lifecycle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("emulator.json");
    let (handle, api, client, key) = start_with_client(dir.path(), &state).await;
    let (web, web_ip) = create(&api, "web", &key, 10).await;
    let (_, db_ip) = create(&api, "db", &key, 20).await;
    client.answers(&web_ip, "accept-new").await;
    client.answers(&db_ip, "accept-new").await;

    // Its own name, its own disk of the declared size, its own processes.
    let df = "hostname; df -BG --output=size / | tail -1 | tr -d ' '; cat /proc/1/comm";
    assert_eq!(output(&client, &web_ip, df).await, "web\n10G\nbash\n");
    assert_eq!(output(&client, &db_ip, df).await, "db\n20G\nbash\n");

    // What runs on it writes into its own layer: files, users, running processes.
    let write = "echo web > /etc/ict-probe && useradd ictprobe && \
                 (setsid sleep 30100 </dev/null >/dev/null 2>&1 &) && echo done";
    assert_eq!(output(&client, &web_ip, write).await, "done\n");
    assert!(
        !Path::new("/etc/ict-probe").exists(),
        "this computer's /etc"
    );
    assert_no_user("ictprobe");
    let db_view =
        "cat /etc/ict-probe 2>/dev/null || echo none; id -u ictprobe 2>/dev/null || echo none";
    assert_eq!(output(&client, &db_ip, db_view).await, "none\nnone\n");

    // Power off: no process of the machine is left, in its PID namespace or outside.
    let (init, ns) = machine(&state, web);
    assert!(processes_in(&ns).len() >= 2, "init and the sleep run");
    power(&api, web, "PowerOff").await;
    client.refused(&web_ip).await;
    // The kernel reaps a namespace's last processes after its init has gone; on a loaded
    // machine that can take a moment.
    eventually("no process of the machine is left", || {
        processes_in(&ns).is_empty()
    })
    .await;
    assert!(
        !Path::new(&format!("/proc/{init}")).exists(),
        "init {init} stopped"
    );
    assert!(!ssh_server_dir(&state, web).join(PID_FILE).exists());

    // Power on: the same files and users, a fresh set of processes.
    power(&api, web, "PowerOn").await;
    client.answers(&web_ip, "yes").await;
    let after = "cat /etc/ict-probe; id -u ictprobe >/dev/null && echo user; pgrep -c -f 'sleep 3010[0]' || true";
    assert_eq!(output(&client, &web_ip, after).await, "web\nuser\n0\n");

    // Its services start at every boot (its own /etc/rc.local), and a resize shows after one.
    let rc = "printf '#!/bin/sh\\nsetsid sleep 30200 </dev/null >/dev/null 2>&1 &\\n' \
              > /etc/rc.local && chmod 755 /etc/rc.local && echo ok";
    assert_eq!(output(&client, &web_ip, rc).await, "ok\n");
    let resize = api
        .ok(
            Method::PUT,
            &format!("/server/{web}"),
            Some(json!({"HDD": 20})),
        )
        .await;
    api.wait_for(
        &format!("/server/{web}/action/{}", resize["ID"]),
        "State",
        "Completed",
    )
    .await;
    power(&api, web, "PowerReboot").await;
    client.answers(&web_ip, "yes").await;
    let booted =
        "pgrep -c -f 'sleep 3020[0]' || true; df -BG --output=size / | tail -1 | tr -d ' '";
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let out = client.run(&web_ip, "yes", booted).await;
        seen = String::from_utf8_lossy(&out.stdout).into_owned();
        if seen == "1\n20G\n" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(ssh_server_dir(&state, web).join("boot.log"));
    assert_eq!(
        seen, "1\n20G\n",
        "the service runs and the disk grew; boot: {log:?}"
    );

    // Rebuild: back to the image (the same host key, so the pin still holds).
    let path = format!("/server/{web}");
    api.post(&format!("{path}/rebuild"), json!({"ImageId": 3783}))
        .await;
    api.wait_for(&path, "State", "Active").await;
    client.answers(&web_ip, "yes").await;
    assert_eq!(output(&client, &web_ip, db_view).await, "none\nnone\n");

    // Delete: its folder, disk included, is gone.
    let (status, _) = api.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    client.refused(&web_ip).await;
    gone(&ssh_server_dir(&state, web)).await;

    handle.shutdown().await.expect("clean shutdown");
    client.refused(&db_ip).await;
    assert_no_user("ictprobe");
}

/// This computer has no user `name` (other tests on this machine may add their own users
/// meanwhile, so the whole file is not compared).
#[track_caller]
pub(crate) fn assert_no_user(name: &str) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("this computer's users");
    assert!(
        !passwd.lines().any(|l| l.starts_with(&format!("{name}:"))),
        "{name} was added to this computer's /etc/passwd"
    );
}

/// The SSH banner of `ip:22` (the server's sshd, run in its machine for this connection).
fn banner(ip: &str) -> String {
    use std::io::BufRead as _;
    let stream = std::net::TcpStream::connect((ip, 22)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let mut line = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut line)
        .expect("banner");
    line
}

/// A machine dies with the emulator that runs it, even one killed with SIGKILL (it gets the
/// parent-death signal), and the next emulator boots the same disk with the first connection.
#[test]
fn a_killed_emulator_takes_its_machines_with_it() {
    ssh_test(killed_emulator());
}

async fn killed_emulator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("emulator.json");
    let mut cloud = Cloud::start(&state, &["--task-delay", "20", "--ssh"]);
    let server = cloud.create_by_hand("solo").await;
    let (id, ip) = id_and_ip(&server);
    let pid_file = ssh_server_dir(&state, id).join(PID_FILE);
    eventually("the machine runs", || pid_file.exists()).await;
    let (init, ns) = machine(&state, id);

    cloud.kill_and_restart();
    eventually("the machine is gone", || processes_in(&ns).is_empty()).await;
    assert!(!Path::new(&format!("/proc/{init}")).exists());

    assert!(banner(&ip).starts_with("SSH-2.0-OpenSSH"), "sshd answers");
    let (again, _) = machine(&state, id);
    assert_ne!(again, init, "a new machine on the same disk");
    drop(cloud);
    eventually("the new machine is gone", || {
        !Path::new(&format!("/proc/{again}")).exists()
    })
    .await;
}
