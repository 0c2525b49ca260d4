//! The 1cloud emulator over real HTTP on 127.0.0.1:0: lifecycle, validation, quirks of the
//! real API, auth, persistence and fault injection.

mod daemon;
mod dns_shape;
pub(crate) mod machine;
mod protocol;
mod resources;
mod servers;
mod sshd;

use std::sync::Mutex;
use std::time::Duration;

use ict::emulator::{EmulatorConfig, EmulatorHandle, ServerEvent, ServerHooks};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub(crate) const TOKEN: &str = "test-token";

/// A small client for the emulator.
pub(crate) struct Api {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
    pub(crate) token: Option<String>,
}

impl Api {
    pub(crate) fn new(handle: &EmulatorHandle) -> Api {
        Api {
            client: ict::http::client(),
            base: handle.base_url(),
            token: Some(TOKEN.to_owned()),
        }
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body read");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        (status, value)
    }

    pub(crate) async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.call(method.clone(), path, body).await;
        assert_eq!(status, StatusCode::OK, "{method} {path}: {value}");
        value
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        self.ok(Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Value {
        self.ok(Method::POST, path, Some(body)).await
    }

    /// Polls `path` until `field` equals `value`, 20 ms apart, for at most 30 s (a loaded
    /// computer).
    pub(crate) async fn wait_for(&self, path: &str, field: &str, value: &str) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let current = self.get(path).await;
            if current[field] == value {
                return current;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{path}: {field} never became {value}");
    }

    /// Creates a small Linux server and waits until it is Active.
    pub(crate) async fn active_server(&self, name: &str) -> Value {
        let server = self.post("/server", small_server(name)).await;
        self.wait_for(&format!("/server/{}", server["ID"]), "State", "Active")
            .await
    }
}

/// Polls `done` every 50 ms until it holds, for at most 30 s (a loaded computer is slow to
/// boot and stop machines); panics naming `what` if it never does.
pub(crate) async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

pub(crate) fn config(task_delay_ms: u64) -> EmulatorConfig {
    EmulatorConfig {
        task_delay: Duration::from_millis(task_delay_ms),
        tick: Duration::from_millis(10),
        ..EmulatorConfig::default()
    }
}

/// The record a `POST /dns/record{type}` answered with: the answer itself, or the one record of
/// the list it is under `DnsQuirk::Lego`.
#[track_caller]
pub(crate) fn created_record(answer: Value) -> Value {
    match answer {
        Value::Array(mut list) if list.len() == 1 => list.remove(0),
        Value::Array(list) => panic!("a list of {} records: {list:?}", list.len()),
        record => record,
    }
}

pub(crate) fn small_server(name: &str) -> Value {
    json!({"Name": name, "CPU": 1, "RAM": 512, "HDD": 10, "ImageID": 3492, "HDDType": "SSD"})
}

#[derive(Default)]
pub(crate) struct Recorder(pub(crate) Mutex<Vec<ServerEvent>>);

impl ServerHooks for Recorder {
    fn on_event(&self, event: &ServerEvent) {
        self.0.lock().expect("lock").push(event.clone());
    }
}
