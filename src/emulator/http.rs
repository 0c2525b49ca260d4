//! The HTTP face of the emulator: one axum fallback handler that applies latency, checks the
//! bearer token, injects faults, runs the request against the [`World`] through `router`,
//! saves the state after changes and hands events to the hooks and the sshd backing. Never logs the token.
//! Depends on `router`, `world`, `persist`, `faults`, `events`, `sshd`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use tokio::sync::Mutex;

use super::clock;
use super::events::ServerHooks;
use super::faults::{Fault, Faults};
use super::input::Input;
use super::persist;
use super::reply::{ApiError, ApiResult, Reply};
use super::router::{self, Verb};
use super::sshd::SshBacking;
use super::world::{When, World};

/// What every request needs: the world and the settings.
pub(crate) struct Shared {
    pub(crate) world: Mutex<World>,
    pub(crate) token: Option<String>,
    pub(crate) task_delay: Duration,
    pub(crate) latency: Duration,
    pub(crate) fault_delay: Duration,
    pub(crate) state_file: Option<PathBuf>,
    pub(crate) faults: Faults,
    /// Paths whose every request fails with 500 (`--broken-path`).
    pub(crate) broken_paths: Vec<String>,
    pub(crate) hooks: Option<Arc<dyn ServerHooks>>,
    /// The servers' sshd daemons, when the emulator backs servers with SSH.
    pub(crate) ssh: Option<SshBacking>,
    /// The state file does not hold the world yet (never written, or the last save failed):
    /// shutting down must save it. Otherwise every change was saved when it was made, and a
    /// read-only run (a `plan` of 10,000 servers) does not rewrite megabytes on the way out.
    pub(crate) unsaved: AtomicBool,
    /// The servers' `/metrics` endpoints, when the emulator serves them.
    pub(crate) node_exporters: Option<super::node_exporter::NodeExporters>,
    /// The shape of DNS answers.
    pub(crate) dns_quirk: super::DnsQuirk,
}

pub(crate) fn app(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    let path = uri.path();
    if !authorized(&headers, shared.token.as_deref()) {
        tracing::info!(%method, path, "401: missing or wrong bearer token");
        return error_response(&ApiError::unauthorized());
    }
    if shared.broken_paths.iter().any(|p| broken(p, &method, path)) {
        tracing::info!(%method, path, "500: the emulator was told this path is broken");
        return error_response(&ApiError::internal(
            "An error has occurred. (this path is broken on purpose: --broken-path)",
        ));
    }
    let fault = shared.faults.draw();
    match fault {
        Some(Fault::ErrorBefore) => {
            tracing::info!(%method, path, "injected fault: 500 before handling");
            return error_response(&ApiError::internal(
                "An error has occurred. (injected by the emulator before handling)",
            ));
        }
        Some(Fault::TooManyRequests) => {
            tracing::info!(%method, path, "injected fault: 429");
            return error_response(&ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                message: "Too many requests. (injected by the emulator)".to_owned(),
            });
        }
        Some(Fault::Delay) => {
            tracing::info!(%method, path, delay = ?shared.fault_delay, "injected fault: delay");
            tokio::time::sleep(shared.fault_delay).await;
        }
        Some(Fault::ErrorAfter) | None => {}
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let result = shared
        .execute(Verb::from_method(&method), path, content_type, &body)
        .await;
    let status = result
        .as_ref()
        .map_or_else(|e| e.status, |_| StatusCode::OK);
    tracing::debug!(%method, path, status = status.as_u16(), "request");
    if fault == Some(Fault::ErrorAfter) {
        tracing::info!(%method, path, "injected fault: 500 after handling");
        return error_response(&ApiError::internal(
            "An error has occurred. (injected by the emulator after handling)",
        ));
    }
    match result {
        Ok(Reply::Json(bytes)) => {
            let mut response = Response::new(Body::from(bytes));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            response
        }
        Ok(Reply::Empty) => Response::new(Body::empty()),
        Err(error) => error_response(&error),
    }
}

impl Shared {
    /// Runs one request against the world: completes due tasks first, then routes, then saves
    /// if anything changed, then reports events (outside the lock).
    async fn execute(
        &self,
        verb: Verb,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> ApiResult {
        let mut world = self.world.lock().await;
        let now = clock::now_ms();
        let advanced = world.advance(now);
        let when = When {
            now,
            due: now.saturating_add(u64::try_from(self.task_delay.as_millis()).unwrap_or(u64::MAX)),
        };
        let mut result = router::route(
            &mut world,
            verb,
            path,
            || Input::parse(body, content_type),
            when,
            self.dns_quirk,
        );
        let changed = advanced || (verb != Verb::Get && result.is_ok());
        if changed {
            if let Err(error) = self.save(&world) {
                result = Err(ApiError::internal(format!(
                    "The emulator could not save its state: {error}"
                )));
            }
        }
        let events = std::mem::take(&mut world.events);
        self.dispatch_servers(&events);
        drop(world);
        self.dispatch_hooks(&events);
        self.settle().await;
        result
    }

    /// Completes due tasks without a request (the background tick).
    pub(crate) async fn tick(&self) {
        let mut world = self.world.lock().await;
        if world.advance(clock::now_ms()) {
            if let Err(error) = self.save(&world) {
                tracing::error!(error = %error, "could not save the emulator state");
            }
        }
        let events = std::mem::take(&mut world.events);
        self.dispatch_servers(&events);
        drop(world);
        self.dispatch_hooks(&events);
        self.settle().await;
    }

    /// Waits until the servers' SSH matches every event queued so far, by this request or by
    /// any other (a task completed by another request or the tick), so whoever sees a server
    /// Active or powered off also finds its SSH up or down.
    async fn settle(&self) {
        if let Some(ssh) = &self.ssh {
            ssh.settle().await;
        }
    }

    /// Saves the world if there is a state file.
    pub(crate) fn save(&self, world: &World) -> Result<(), super::EmulatorError> {
        let result = match &self.state_file {
            Some(path) => persist::save(path, world),
            None => Ok(()),
        };
        self.unsaved.store(result.is_err(), Ordering::SeqCst);
        result
    }

    /// Starts and stops the metrics listeners and queues the servers' SSH work; called with
    /// the world still locked, so whoever reads a server Active or powered off next finds its
    /// exporter answering or silent, and its SSH work queued (see [`Shared::settle`]).
    pub(crate) fn dispatch_servers(&self, events: &[super::ServerEvent]) {
        for event in events {
            if let Some(exporters) = &self.node_exporters {
                exporters.on_event(event);
            }
            if let Some(ssh) = &self.ssh {
                ssh.on_event(event);
            }
        }
    }

    /// The hooks, outside the world's lock.
    pub(crate) fn dispatch_hooks(&self, events: &[super::ServerEvent]) {
        if let Some(hooks) = &self.hooks {
            for event in events {
                hooks.on_event(event);
            }
        }
    }
}

/// Whether a `--broken-path` entry (`/dns`, or `POST /server` for one method) matches.
fn broken(entry: &str, method: &Method, path: &str) -> bool {
    let (wanted, pattern) = match entry.split_once(' ') {
        Some((m, p)) => (Some(m), p),
        None => (None, entry),
    };
    wanted.is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
        && path
            .trim_end_matches('/')
            .eq_ignore_ascii_case(pattern.trim().trim_end_matches('/'))
}

/// Whether the request carries an acceptable `Authorization: Bearer <token>`.
pub(super) fn authorized(headers: &HeaderMap, expected: Option<&str>) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return false;
    };
    let token = token.trim();
    scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && expected.is_none_or(|expected| constant_time_eq(token.as_bytes(), expected.as_bytes()))
}

/// Compares without an early exit, so response times do not leak how much of a token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(super) fn error_response(error: &ApiError) -> Response {
    let mut response = Response::new(Body::from(error.body()));
    *response.status_mut() = error.status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        let headers = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(value).expect("ascii"),
            );
            h
        };
        assert!(authorized(&headers("Bearer abc"), None));
        assert!(authorized(&headers("bearer abc"), Some("abc")));
        assert!(!authorized(&headers("Bearer abd"), Some("abc")));
        assert!(!authorized(&headers("Bearer abcd"), Some("abc")));
        assert!(!authorized(&headers("Bearer "), None));
        assert!(!authorized(&headers("Basic abc"), None));
        assert!(!authorized(&HeaderMap::new(), None));
    }
}
