//! The emulator's side of a project's emulator daemon (`crate::daemon` starts, finds and stops
//! it): the 1cloud API plus two routes of its own under [`STATUS_PATH`] — its status, and the
//! leases by which the commands using it keep it running — and a watch that stops it after an
//! idle period (no request) that no live lease holds open, or when its project is gone.
//!
//! Depends on the emulator's own modules. Whether a lease's process still runs and whether the
//! project still names this daemon are questions for the caller (`DaemonOptions`), so this
//! file reads no `/proc` and no project files. Time is tokio's, so tests can pause it.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::time::Instant;

use super::http::{self, Shared};
use super::reply::ApiError;
use super::{Emulator, EmulatorConfig, EmulatorError};

/// `GET`: the daemon's [`DaemonStatus`] (not counted as activity, so `ict emulator status`
/// does not keep it alive).
pub const STATUS_PATH: &str = "/ict/daemon";
/// `POST` a [`Lease`]: the daemon stays up while that process runs; answers the status.
pub const LEASE_PATH: &str = "/ict/daemon/lease";

/// The settings a daemon was started with, compared with what a command asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonSettings {
    /// Servers are backed by sshd.
    pub ssh: bool,
    /// Servers serve node_exporter-style `/metrics`.
    pub metrics: bool,
    /// How long tasks take, in milliseconds.
    pub task_delay_ms: u64,
    /// The DNS answer shape, by its `--dns-quirk` name (`none`, `lego`).
    pub dns_quirk: String,
}

/// A process that uses the daemon; while it runs, the daemon does not stop for being idle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub pid: u32,
    /// Its start time in clock ticks since boot, to tell a reused PID from it.
    #[serde(default)]
    pub process_start: Option<u64>,
    /// What it runs, e.g. `ict watch`.
    #[serde(default)]
    pub command: String,
}

/// Why the servers have no SSH although the settings ask for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshMissing {
    pub reason: String,
    pub fix: String,
}

/// What `GET /ict/daemon` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub pid: u32,
    /// Unix seconds.
    pub started_at: u64,
    pub uptime_secs: u64,
    /// Servers in the account.
    pub servers: usize,
    pub settings: DaemonSettings,
    /// `None`: it never stops for being idle.
    pub idle_timeout_secs: Option<u64>,
    /// Seconds since the last request (or the last live lease).
    pub idle_secs: u64,
    /// The processes keeping it alive.
    pub leases: Vec<Lease>,
    pub ssh_unavailable: Option<SshMissing>,
}

/// Whether a lease's process still runs.
pub type LeaseProbe = Arc<dyn Fn(&Lease) -> bool + Send + Sync>;

/// How the daemon describes and watches itself.
pub struct DaemonOptions {
    pub pid: u32,
    /// Unix seconds.
    pub started_at: u64,
    pub settings: DaemonSettings,
    /// Stop after this long without a request and without a live lease; `None`: never.
    pub idle: Option<Duration>,
    /// How often the idle watch looks.
    pub check_every: Duration,
    pub alive: LeaseProbe,
    /// Whether the project still names this daemon (its folder and lock are still there).
    pub still_ours: Arc<dyn Fn() -> bool + Send + Sync>,
}

/// Why [`DaemonEmulator::serve`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The `stop` future completed (SIGTERM, Ctrl-C, `ict emulator stop`).
    Asked,
    /// No request and no live lease for the idle period.
    Idle(Duration),
    /// The project's folder or lock file went away, or names another daemon.
    ProjectGone,
}

/// The daemon's shared bookkeeping.
struct Daemon {
    shared: Arc<Shared>,
    token: Option<String>,
    options: DaemonOptions,
    started: Instant,
    last_activity: Mutex<Instant>,
    leases: Mutex<Vec<Lease>>,
}

/// An emulator loaded for a project daemon, not listening yet.
pub struct DaemonEmulator {
    emulator: Emulator,
    token: Option<String>,
}

impl DaemonEmulator {
    /// Loads and checks the account `config` names, saving a new one at once (so the state
    /// file exists while the daemon runs). Call inside a tokio runtime.
    pub async fn load(config: EmulatorConfig) -> Result<DaemonEmulator, EmulatorError> {
        let token = config.token.clone();
        let emulator = Emulator::new(config)?;
        {
            let shared = &emulator.shared;
            let world = shared.world.lock().await;
            if shared.unsaved.load(std::sync::atomic::Ordering::SeqCst) {
                shared.save(&world)?;
            }
        }
        Ok(DaemonEmulator { emulator, token })
    }

    /// Serves on `listener` until `stop` completes or the idle watch ends it; the account is
    /// saved on the way out.
    pub async fn serve(
        self,
        listener: TcpListener,
        options: DaemonOptions,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<StopReason, EmulatorError> {
        let now = Instant::now();
        let daemon = Arc::new(Daemon {
            shared: Arc::clone(&self.emulator.shared),
            token: self.token,
            options,
            started: now,
            last_activity: Mutex::new(now),
            leases: Mutex::new(Vec::new()),
        });
        let reason = Arc::new(Mutex::new(StopReason::Asked));
        let shutdown = {
            let daemon = Arc::clone(&daemon);
            let reason = Arc::clone(&reason);
            async move {
                tokio::select! {
                    () = stop => {}
                    why = watch(&daemon) => {
                        *reason.lock().unwrap_or_else(PoisonError::into_inner) = why;
                    }
                }
            }
        };
        self.emulator
            .run(listener, shutdown, |api| routes(daemon, api))
            .await?;
        let why = *reason.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(why)
    }
}

/// The daemon's own routes in front of the API, and the layer that notes activity.
fn routes(daemon: Arc<Daemon>, api: Router) -> Router {
    Router::new()
        .route(STATUS_PATH, get(status))
        .route(LEASE_PATH, post(lease))
        .fallback_service(api)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&daemon),
            activity,
        ))
        .with_state(daemon)
}

/// Every request but a status query is activity.
async fn activity(State(daemon): State<Arc<Daemon>>, request: Request, next: Next) -> Response {
    if !(request.method() == Method::GET && request.uri().path() == STATUS_PATH) {
        daemon.touch();
    }
    next.run(request).await
}

async fn status(State(daemon): State<Arc<Daemon>>, headers: HeaderMap) -> Response {
    if !http::authorized(&headers, daemon.token.as_deref()) {
        return http::error_response(&ApiError::unauthorized());
    }
    Json(daemon.status().await).into_response()
}

async fn lease(
    State(daemon): State<Arc<Daemon>>,
    headers: HeaderMap,
    Json(lease): Json<Lease>,
) -> Response {
    if !http::authorized(&headers, daemon.token.as_deref()) {
        return http::error_response(&ApiError::unauthorized());
    }
    tracing::debug!(pid = lease.pid, command = %lease.command, "lease");
    {
        let mut leases = daemon.lock_leases();
        leases.retain(|held| held.pid != lease.pid);
        leases.push(lease);
    }
    Json(daemon.status().await).into_response()
}

/// Completes when the daemon should stop on its own.
async fn watch(daemon: &Daemon) -> StopReason {
    let mut interval = tokio::time::interval(daemon.options.check_every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if !(daemon.options.still_ours)() {
            tracing::info!("the project's folder or lock file is gone: stopping");
            return StopReason::ProjectGone;
        }
        let leased = {
            let mut leases = daemon.lock_leases();
            leases.retain(|lease| (daemon.options.alive)(lease));
            !leases.is_empty()
        };
        if leased {
            // Idle time counts from when the last lease ends.
            daemon.touch();
            continue;
        }
        if let Some(idle) = daemon.options.idle {
            if daemon.idle_for() >= idle {
                tracing::info!(
                    "no request for {} s and no command using it: stopping",
                    idle.as_secs()
                );
                return StopReason::Idle(idle);
            }
        }
    }
}

impl Daemon {
    fn touch(&self) {
        *self
            .last_activity
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        self.last_activity
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
    }

    fn lock_leases(&self) -> std::sync::MutexGuard<'_, Vec<Lease>> {
        self.leases.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn status(&self) -> DaemonStatus {
        let servers = self.shared.world.lock().await.servers.len();
        let ssh_unavailable = self
            .shared
            .ssh
            .as_ref()
            .and_then(|ssh| ssh.unavailable())
            .map(|missing| SshMissing {
                reason: missing.reason.clone(),
                fix: missing.fix.clone(),
            });
        DaemonStatus {
            pid: self.options.pid,
            started_at: self.options.started_at,
            uptime_secs: self.started.elapsed().as_secs(),
            servers,
            settings: self.options.settings.clone(),
            idle_timeout_secs: self.options.idle.map(|idle| idle.as_secs()),
            idle_secs: self.idle_for().as_secs(),
            leases: {
                let mut leases = self.lock_leases();
                leases.retain(|lease| (self.options.alive)(lease));
                leases.clone()
            },
            ssh_unavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    fn options(idle: u64, alive: LeaseProbe) -> DaemonOptions {
        DaemonOptions {
            pid: 42,
            started_at: 0,
            settings: DaemonSettings {
                ssh: false,
                metrics: false,
                task_delay_ms: 10,
                dns_quirk: "none".to_owned(),
            },
            idle: Some(Duration::from_secs(idle)),
            check_every: Duration::from_secs(1),
            alive,
            still_ours: Arc::new(|| true),
        }
    }

    async fn start(options: DaemonOptions) -> (String, tokio::task::JoinHandle<StopReason>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let config = EmulatorConfig {
            token: Some("t".to_owned()),
            ..EmulatorConfig::default()
        };
        let task = tokio::spawn(async move {
            let emulator = DaemonEmulator::load(config).await.expect("load");
            emulator
                .serve(listener, options, std::future::pending())
                .await
                .expect("serve")
        });
        (url, task)
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_daemon_stops_after_the_idle_period() {
        let began = Instant::now();
        let (_, task) = start(options(30, Arc::new(|_| false))).await;
        let reason = task.await.expect("join");
        assert_eq!(reason, StopReason::Idle(Duration::from_secs(30)));
        let took = began.elapsed();
        assert!(took >= Duration::from_secs(30) && took < Duration::from_secs(32));
    }

    #[tokio::test(start_paused = true)]
    async fn a_live_lease_keeps_the_daemon_running_and_idle_time_counts_from_its_end() {
        let running = Arc::new(AtomicBool::new(true));
        let probe = {
            let running = Arc::clone(&running);
            Arc::new(move |_: &Lease| running.load(Ordering::SeqCst))
        };
        let (url, task) = start(options(30, probe)).await;
        let status: DaemonStatus = crate::http::client()
            .post(format!("{url}{LEASE_PATH}"))
            .bearer_auth("t")
            .json(&Lease {
                pid: 7,
                process_start: None,
                command: "ict watch".to_owned(),
            })
            .send()
            .await
            .expect("lease")
            .json()
            .await
            .expect("status");
        assert_eq!(status.pid, 42);
        assert_eq!(status.leases.len(), 1);
        tokio::time::sleep(Duration::from_secs(300)).await;
        assert!(!task.is_finished(), "stopped while a lease was held");
        running.store(false, Ordering::SeqCst);
        let ended = Instant::now();
        assert_eq!(
            task.await.expect("join"),
            StopReason::Idle(Duration::from_secs(30))
        );
        assert!(ended.elapsed() >= Duration::from_secs(29));
    }

    #[tokio::test]
    async fn the_status_needs_the_token() {
        let (url, task) = start(options(3600, Arc::new(|_| false))).await;
        let http = crate::http::client();
        let wrong = http
            .get(format!("{url}{STATUS_PATH}"))
            .bearer_auth("other")
            .send()
            .await
            .expect("request");
        assert_eq!(wrong.status(), 401);
        let status: DaemonStatus = http
            .get(format!("{url}{STATUS_PATH}"))
            .bearer_auth("t")
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("status");
        assert_eq!((status.pid, status.servers), (42, 0));
        task.abort();
    }
}
