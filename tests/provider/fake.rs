//! A small scripted 1cloud API for tests: an axum server on 127.0.0.1:0 whose every answer
//! comes from a closure the test writes. Stopped when dropped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ict::provider::onecloud::{Client, ClientConfig, PollPolicy, RetryPolicy, Token};
use ict::provider::{ImageId, ServerSize, ServerSpec};
use serde_json::{json, Value};

pub(crate) const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) body: Value,
    pub(crate) auth: Option<String>,
}

/// What the fake answers: a status, a JSON body, and an optional delay before answering.
pub(crate) struct Reply {
    status: u16,
    body: Value,
    delay: Duration,
}

pub(crate) fn ok(body: Value) -> Reply {
    Reply {
        status: 200,
        body,
        delay: Duration::ZERO,
    }
}

pub(crate) fn status(status: u16, message: &str) -> Reply {
    Reply {
        status,
        body: json!({ "Message": message }),
        delay: Duration::ZERO,
    }
}

pub(crate) fn slow(reply: Reply, delay: Duration) -> Reply {
    Reply { delay, ..reply }
}

type Script = Box<dyn FnMut(&Seen) -> Reply + Send>;

/// A scripted 1cloud API: every request goes to the script, which may keep state.
pub(crate) struct Fake {
    pub(crate) url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Fake {
    pub(crate) async fn start(script: impl FnMut(&Seen) -> Reply + Send + 'static) -> Fake {
        let script: Arc<Mutex<Script>> = Arc::new(Mutex::new(Box::new(script)));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: axum::http::HeaderMap, body: Bytes| {
                let script = Arc::clone(&script);
                let log = Arc::clone(&log);
                async move {
                    let request = Seen {
                        method,
                        path: uri.path().to_owned(),
                        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                        auth: headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned),
                    };
                    let reply = (script.lock().unwrap())(&request);
                    log.lock().unwrap().push(request);
                    tokio::time::sleep(reply.delay).await;
                    let code = StatusCode::from_u16(reply.status).unwrap();
                    let response: Response = (code, axum::Json(reply.body)).into_response();
                    response
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Fake { url, seen, task }
    }

    pub(crate) fn client(&self) -> Client {
        Client::with_config(&self.url, Token::new(TOKEN), fast_config()).unwrap()
    }

    pub(crate) fn count(&self, method: &Method, path: &str) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|s| s.method == *method && s.path == path)
            .count()
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) fn fast_config() -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(300),
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
        poll: PollPolicy {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
        },
    }
}

pub(crate) fn server_json(id: u64, name: &str, state: &str) -> Value {
    json!({"ID": id, "Name": name, "State": state, "IsPowerOn": state == "Active", "CPU": 1,
           "RAM": 1024, "HDD": 10, "HDDType": "SSD", "IP": "", "Image": "Ubuntu20.04x64",
           "DCLocation": "SdnSpb", "LinkedNetworks": [], "LinkedSshKeys": []})
}

pub(crate) fn spec(name: &str) -> ServerSpec {
    ServerSpec {
        name: name.to_owned(),
        size: ServerSize {
            cpu: 1,
            ram: 1024,
            disk: 10,
            disk_type: ict::model::DiskType::Ssd,
            high_performance: false,
        },
        image: ImageId(3492),
        dc: Some("SdnSpb".to_owned()),
        backup_days: None,
        ssh_keys: vec![],
        authorized_keys: vec![],
    }
}
