//! `ict plan`, `apply` and `destroy` end to end against the 1cloud emulator (issue 4), and the
//! 1cloud client against the emulator (issue 3).
//!
//! Most tests run `ict emulator` as a separate process ([`Cloud`]) so that they can change the
//! account "by hand" between runs through its HTTP API, and kill `ict` mid-apply while the cloud
//! keeps going. Every process a test starts is killed when its guard drops.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod client;
mod contract;
mod crash;
mod crash_random;
mod drift;
mod faults;
mod flow;
mod lifecycle;
mod progress;
mod secrets;
mod snapshots;
mod trust;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::test::{ict, Outcome};

/// How many of [`Cloud`]'s arguments come before the extra options.
const BASE_ARGS: usize = 7;

/// The token of the emulator processes the tests start; never printed or saved by ict.
pub const TOKEN: &str = "d1ce5ec7e75ea1ed0ff1ce5ec7e75ea1ed0ff1ce5ec7e75ea1ed0ff1ce5ec7e7";

/// A running `ict emulator` child process, killed on drop.
pub struct Cloud {
    child: Option<Child>,
    pub url: String,
    args: Vec<String>,
    http: reqwest::Client,
}

impl Cloud {
    /// Starts `ict emulator` on a free loopback port with its account in `state`; `extra` are
    /// more options (`--task-delay`, `--fail-rate`, ...).
    pub fn start(state: &Path, extra: &[&str]) -> Cloud {
        let mut args: Vec<String> = [
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--token",
            TOKEN,
            "--state",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.push(state.display().to_string());
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut cloud = Cloud {
            child: None,
            url: String::new(),
            args,
            http: ict::http::client(),
        };
        cloud.spawn();
        cloud
    }

    fn spawn(&mut self) {
        let mut child = Command::new(ict())
            .args(&self.args)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("ICT_EMULATOR_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ict emulator");
        let stderr = child.stderr.take().expect("piped stderr");
        // The address is announced on stderr; read it on a thread so the wait is bounded.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            while let Some(Ok(line)) = lines.next() {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let url = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = tx.send(url);
                }
            }
        });
        self.child = Some(child);
        self.url = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the emulator announces its address");
    }

    /// `kill -9` (nothing is saved on the way out), then start again on a new port.
    pub fn kill_and_restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `kill -9`, then start again on the same account with other options.
    pub fn restart_with(&mut self, extra: &[&str]) {
        self.kill();
        self.args.truncate(BASE_ARGS);
        self.args.extend(extra.iter().map(|s| (*s).to_owned()));
        self.spawn();
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs `ict` in `dir` against this emulator (through the 1cloud client).
    pub fn ict(&self, dir: &Path, args: &[&str]) -> Outcome {
        outcome(self.command(dir, args).output().expect("run ict"))
    }

    /// The `ict` command against this emulator, not started yet.
    pub fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut command = base_command(dir, args);
        command
            .env("ONECLOUD_API_URL", &self.url)
            .env("ONECLOUD_TOKEN", TOKEN);
        command
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .timeout(Duration::from_secs(30));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body read");
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, value)
    }

    pub async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.call(method.clone(), path, body).await;
        assert!(status.is_success(), "{method} {path}: {status} {value}");
        value
    }

    /// Every server of the account.
    pub async fn servers(&self) -> Vec<Value> {
        match self.ok(Method::GET, "/server", None).await {
            Value::Array(servers) => servers,
            other => panic!("GET /server: {other}"),
        }
    }

    /// The server named `name` (exactly one).
    pub async fn server(&self, name: &str) -> Value {
        let found: Vec<Value> = self
            .servers()
            .await
            .into_iter()
            .filter(|s| s["Name"] == name)
            .collect();
        assert_eq!(found.len(), 1, "servers named {name}: {found:?}");
        found.into_iter().next().unwrap()
    }

    /// Creates a server by hand and waits until it is Active (at most 10 s).
    pub async fn create_by_hand(&self, name: &str) -> Value {
        let body = json!({"Name": name, "CPU": 1, "RAM": 512, "HDD": 10, "ImageID": 3492, "HDDType": "SSD"});
        let server = self.ok(Method::POST, "/server", Some(body)).await;
        self.wait_server(&server["ID"].to_string(), |s| s["State"] == "Active")
            .await
    }

    /// Polls `GET /server/{id}` until `done` holds; at most 10 s.
    pub async fn wait_server(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let server = self.ok(Method::GET, &format!("/server/{id}"), None).await;
            if done(&server) {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "server {id} never got there: {server}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Cloud {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A child `ict` process, killed on drop.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `ict ARGS` in `dir`, with no terminal and no token; in-process emulator tasks take 20 ms.
pub fn base_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(ict());
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("PATH", crate::test::path())
        .env("ICT_EMULATOR_TASK_DELAY_MS", "20")
        .env_remove("ONECLOUD_TOKEN")
        .env_remove("ONECLOUD_API_URL")
        .env_remove("ICT_PATH")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

/// Runs `ict` in `dir` on its built-in emulator.
pub fn local(dir: &Path, args: &[&str]) -> Outcome {
    outcome(base_command(dir, args).output().expect("run ict"))
}

pub fn outcome(output: std::process::Output) -> Outcome {
    let std::process::Output {
        status,
        stdout,
        stderr,
    } = output;
    Outcome {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        status: status.code().unwrap_or(-1),
    }
}

/// Asserts an exit code, showing everything ict said otherwise.
#[track_caller]
pub fn expect(out: &Outcome, status: i32) {
    assert_eq!(
        out.status, status,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
}

/// A temporary project with the examples (quickstart.ict, keys, playbooks) copied in.
pub fn quickstart() -> crate::test::TempProject {
    let dir = crate::test::TempProject::new();
    copy_dir(&crate::test::root().join("examples"), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        // A developer's own runs leave state in examples/.ict: never copy it.
        if entry.file_name() == ".ict" {
            continue;
        }
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// A project with `count` small servers named `app-1` … `app-N` in `infra.ict`.
pub fn fleet(count: usize) -> crate::test::TempProject {
    let dir = crate::test::TempProject::new();
    let script = format!(
        "for i in 1..={count} {{\n    server(`app-${{i}}`, #{{ cpu: 1, ram: 1024, disk: 10 }});\n}}\n"
    );
    std::fs::write(dir.path().join("infra.ict"), script).expect("write script");
    dir
}

/// Names of the servers, sorted, with a check that none appears twice.
#[track_caller]
pub fn unique_names(servers: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = servers
        .iter()
        .map(|s| s["Name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    let mut deduped = names.clone();
    deduped.dedup();
    assert_eq!(names, deduped, "duplicate servers");
    names
}
