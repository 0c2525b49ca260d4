//! The dashboard's JSON API (shapes in docs/dashboard.md): reads of the watch loop's [`Live`]
//! view and of the [`Board`](super::Board), and the one action, power, behind the token.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Dashboard, Request};
use crate::metrics::NodeFigures;
use crate::provider::PowerOp;
use crate::watch::{Entry, Live};

/// What every route reads.
pub(super) struct Shared {
    pub live: Arc<Live>,
    pub dashboard: Dashboard,
}

type Req = State<Arc<Shared>>;

/// At most this many points per chart: a longer history is thinned evenly.
const MAX_POINTS: usize = 600;

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/servers", get(servers))
        .route("/api/servers/{name}/power", post(power))
        .route("/api/history", get(history))
        .route("/api/alerts", get(alerts))
        .route("/api/pipelines", get(pipelines))
        .route("/api/pipelines/{name}/runs/{run}/log", get(log))
        .route("/api/schedules", get(schedules))
}

/// Refuses a request whose `Host` is a DNS name other than `localhost`: a web page elsewhere
/// cannot then read the dashboard through a name it points at 127.0.0.1 (DNS rebinding).
/// Browsers on this computer use `127.0.0.1:PORT` or `localhost:PORT`; a proxy in front sends
/// the address it forwards to unless told otherwise.
pub(super) async fn addressed_by_ip(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if allowed_host(host) {
        next.run(request).await
    } else {
        error(
            StatusCode::FORBIDDEN,
            format!(
                "the dashboard answers requests addressed to an IP address or localhost, not {host:?}"
            ),
        )
    }
}

/// Whether `host` (a `Host` header: a name or address, maybe with a port) is an IP address or
/// `localhost`.
fn allowed_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        // `[::1]:9464`
        return rest
            .split(']')
            .next()
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok());
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.parse::<std::net::Ipv4Addr>().is_ok()
        || name == "localhost"
        || name.ends_with(".localhost")
}

/// `{"error": message}` with `status`.
pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// One row of `/api/servers`.
#[derive(Serialize)]
struct Row {
    name: String,
    managed: bool,
    /// `on`, `off`, `absent`, or `null` before the first look at the cloud.
    power: Option<&'static str>,
    ip: Option<String>,
    /// The last drift check would change it.
    drift: bool,
    /// Whether it answered in the last round (`null`: not sampled).
    up: Option<bool>,
    figures: Option<NodeFigures>,
    error: Option<String>,
}

async fn servers(State(shared): Req) -> Json<Value> {
    let facts = shared.dashboard.board.facts();
    let now = shared.live.now();
    let drifted = |name: &str| {
        facts.drift.as_ref().is_some_and(|addresses| {
            addresses
                .iter()
                .any(|a| a.strip_prefix("server.") == Some(name))
        })
    };
    let mut rows: Vec<Row> = facts
        .servers
        .iter()
        .map(|s| Row {
            name: s.name.clone(),
            managed: s.managed,
            power: Some(s.power),
            ip: s.ip.clone(),
            drift: s.managed && drifted(&s.name),
            up: None,
            figures: None,
            error: None,
        })
        .collect();
    for host in now.hosts {
        let i = rows
            .iter()
            .position(|r| r.managed && r.name == host.host)
            .unwrap_or_else(|| {
                rows.push(Row {
                    name: host.host.clone(),
                    managed: true,
                    power: None,
                    ip: None,
                    drift: drifted(&host.host),
                    up: None,
                    figures: None,
                    error: None,
                });
                rows.len() - 1
            });
        let row = &mut rows[i];
        row.up = Some(host.up);
        row.figures = host.figures;
        row.error = host.error;
    }
    Json(json!({
        "env": facts.env,
        "ticks": now.ticks,
        "at": now.at,
        "interval_seconds": now.interval_seconds,
        "refreshed_at": facts.refreshed_at,
        "refresh_error": facts.error,
        "drift": facts.drift,
        "servers": rows,
    }))
}

#[derive(Deserialize)]
struct HistoryQuery {
    server: String,
    /// `1h` (the default), `6h` or `1d`.
    range: Option<String>,
}

/// One point of a chart.
#[derive(Serialize)]
struct Point {
    at: u64,
    up: bool,
    cpu: Option<f64>,
    memory: Option<f64>,
    disk_read: Option<f64>,
    disk_write: Option<f64>,
    net_rx: Option<f64>,
    net_tx: Option<f64>,
}

impl Point {
    fn of(entry: &Entry) -> Point {
        let figure = |name: &str| {
            entry
                .figures
                .as_ref()
                .and_then(|f| f.get(name))
                .and_then(Value::as_f64)
        };
        Point {
            at: entry.at,
            up: entry.up,
            cpu: figure("cpu_busy_percent"),
            memory: figure("memory_used_percent"),
            disk_read: figure("disk_read_bytes_per_second"),
            disk_write: figure("disk_write_bytes_per_second"),
            net_rx: figure("network_rx_bytes_per_second"),
            net_tx: figure("network_tx_bytes_per_second"),
        }
    }
}

async fn history(State(shared): Req, Query(q): Query<HistoryQuery>) -> Response {
    let range = q.range.as_deref().unwrap_or("1h");
    let seconds = match range {
        "1h" => 3600,
        "6h" => 6 * 3600,
        "1d" => 24 * 3600,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("unknown range {other:?}: use 1h, 6h or 1d"),
            )
        }
    };
    let now = crate::state::Timestamp::now().unix();
    let entries = shared.live.history(&q.server, now.saturating_sub(seconds));
    let step = entries.len().div_ceil(MAX_POINTS).max(1);
    let points: Vec<Point> = entries.iter().step_by(step).map(Point::of).collect();
    Json(json!({ "server": q.server, "range": range, "points": points })).into_response()
}

async fn alerts(State(shared): Req) -> Json<Value> {
    let now = shared.live.now();
    let changes: Vec<_> = now.changes.iter().rev().collect();
    Json(json!({ "alerts": now.alerts, "changes": changes }))
}

async fn pipelines(State(shared): Req) -> Json<Value> {
    let facts = shared.dashboard.board.facts();
    Json(json!({ "env": facts.env, "pipelines": facts.pipelines }))
}

/// A run's log as text; `latest` names the newest run.
async fn log(State(shared): Req, Path((name, run)): Path<(String, String)>) -> Response {
    let facts = shared.dashboard.board.facts();
    let Some(pipeline) = facts.pipelines.iter().find(|p| p.name == name) else {
        return error(StatusCode::NOT_FOUND, format!("no pipeline {name:?} here"));
    };
    let id = (run != "latest").then_some(run.as_str());
    match pipeline.history.run(id) {
        Some(record) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            shared
                .dashboard
                .state_dir
                .as_ref()
                .map_or_else(|| record.log(), |dir| record.full_log(dir)),
        )
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("pipeline {name:?} has no run {run:?}"),
        ),
    }
}

async fn schedules(State(shared): Req) -> Json<Value> {
    let facts = shared.dashboard.board.facts();
    Json(json!({ "schedules": facts.schedules }))
}

#[derive(Deserialize)]
struct PowerBody {
    /// `on`, `off` or `reboot`.
    action: String,
}

/// `POST /api/servers/{name}/power` with `{"action": "on"|"off"|"reboot"}` and the token.
async fn power(
    State(shared): Req,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Option<Json<PowerBody>>,
) -> Response {
    if !authorized(&headers, &shared.dashboard.token) {
        let mut response = error(
            StatusCode::UNAUTHORIZED,
            "this action needs the token ict watch printed at start: Authorization: Bearer <token>",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            "Bearer".parse().expect("a valid header"),
        );
        return response;
    }
    let op = match body.as_ref().map(|b| b.action.as_str()) {
        Some("on") => PowerOp::On,
        Some("off") => PowerOp::Off,
        Some("reboot") => PowerOp::Reboot,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                r#"the body must be {"action": "on"}, "off" or "reboot""#,
            )
        }
    };
    if !shared.dashboard.declared.contains(&name) {
        return error(
            StatusCode::NOT_FOUND,
            format!("the script declares no server {name:?}"),
        );
    }
    let (reply, answer) = tokio::sync::oneshot::channel();
    let request = Request {
        server: name,
        op,
        reply,
    };
    if shared.dashboard.actions.send(request).await.is_err() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "ict watch is stopping");
    }
    match tokio::time::timeout(Duration::from_secs(900), answer).await {
        Ok(Ok(Ok(done))) => Json(done).into_response(),
        Ok(Ok(Err(message))) => error(StatusCode::CONFLICT, message),
        _ => error(StatusCode::SERVICE_UNAVAILABLE, "the action did not finish"),
    }
}

/// Whether `headers` carry `Authorization: Bearer <token>` (compared in constant time).
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_requests_addressed_to_an_ip_or_localhost_are_answered() {
        for host in [
            "127.0.0.1:9464",
            "127.0.0.1",
            "localhost:9464",
            "LOCALHOST",
            "[::1]:9464",
            "10.0.0.5:80",
            "app.localhost:1",
        ] {
            assert!(super::allowed_host(host), "{host}");
        }
        for host in [
            "",
            "evil.example:9464",
            "evil.example",
            "127.0.0.1.nip.io:9464",
            "[evil]:1",
            "localhost.evil.example",
        ] {
            assert!(!super::allowed_host(host), "{host}");
        }
    }

    use super::*;

    #[test]
    fn only_the_exact_bearer_token_is_authorized() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::AUTHORIZATION,
                value.parse().expect("a header value"),
            );
            authorized(&headers, "s3cret")
        };
        assert!(with("Bearer s3cret"));
        assert!(!with("Bearer s3cre"));
        assert!(!with("Bearer s3cret2"));
        assert!(!with("Bearer S3cret"));
        assert!(!with("s3cret"));
        assert!(!with("Basic s3cret"));
        assert!(!authorized(&HeaderMap::new(), "s3cret"));
    }
}
