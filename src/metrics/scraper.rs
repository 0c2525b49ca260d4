//! Scraping `node_exporter` on many servers at once: over SSH (a direct-tcpip tunnel to the
//! exporter on the server's own `127.0.0.1`, so it needs no public port) or over plain HTTP to
//! the server's IP. Every server is scraped concurrently, each within a timeout; a server that
//! cannot be scraped is a [`HostScrape`] carrying the error, never a failed call.
//!
//! A [`Scraper`] keeps SSH sessions and HTTP connections open between rounds, so `ict top` and
//! `ict watch` pay the handshake once (an `ssh::Pool`: a session unused for [`SESSION_IDLE`]
//! is closed). [`figures_between`] turns two rounds into per-server
//! [`HostFigures`]; [`Scraper::sample`] does both rounds an interval apart.
//!
//! Depends on `metrics::{parse, node}`, `ssh` (sessions, tunnels, host-key verification) and
//! `reqwest`. Performs network I/O; returns values and never prints.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::node::{self, NodeFigures};
use crate::ssh::{Auth, ConnectOptions, HostKeyVerifier, Pool, Session, Target};

/// How to reach one server's exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET url` directly (e.g. `http://203.0.113.7:9100/metrics`).
    Http { url: String },
    /// Log in to `target` and tunnel to `127.0.0.1:port` on the server.
    Ssh { target: Target, port: u16 },
    /// No exporter: the hypervisor's own figures for the machine with this ID, from the
    /// scraper's [`Hypervisor`] (`source` names it in reports).
    Hypervisor { server: u64, source: String },
    /// Nothing to scrape, and why (not created yet, powered off, ...).
    Unavailable { reason: String },
}

/// Where the figures of machines with no exporter come from: their hypervisor, which gives
/// them in `node_exporter`'s names and format.
pub trait Hypervisor: Send + Sync {
    /// The exposition for the machine with this ID, or why there is none.
    fn exposition(
        &self,
        server: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send + '_>>;
}

impl Endpoint {
    /// HTTP to `http://ip:port/metrics`.
    pub fn http(ip: &str, port: u16) -> Endpoint {
        Endpoint::Http {
            url: format!("http://{ip}:{port}/metrics"),
        }
    }

    /// How the endpoint reads in reports: the URL, or `ssh user@host → 127.0.0.1:port`.
    pub fn describe(&self) -> String {
        match self {
            Endpoint::Http { url } => url.clone(),
            Endpoint::Ssh { target, port } => {
                format!("ssh {}@{} -> 127.0.0.1:{port}", target.user, target.host)
            }
            Endpoint::Hypervisor { source, .. } => source.clone(),
            Endpoint::Unavailable { .. } => "-".to_owned(),
        }
    }
}

/// One server to scrape: its name in the script and where its exporter is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeTarget {
    pub name: String,
    pub endpoint: Endpoint,
}

/// Why a server could not be scraped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ScrapeError {
    #[error("{reason}")]
    #[diagnostic(
        code(ict::metrics::unavailable),
        help("create or start the server first (`ict apply`, `ict power start`)")
    )]
    Unavailable { reason: String },

    #[error("no answer within {}s", after.as_secs_f64())]
    #[diagnostic(
        code(ict::metrics::timeout),
        help("is node_exporter running on the server? raise `--timeout` for slow links")
    )]
    Timeout { after: Duration },

    #[error("cannot fetch {what}: {reason}")]
    #[diagnostic(
        code(ict::metrics::fetch),
        help("check that node_exporter runs and listens where the server's `metrics` option says")
    )]
    Fetch { what: String, reason: String },

    #[error("{what} answered HTTP {status}")]
    #[diagnostic(
        code(ict::metrics::status),
        help("the port answers but is not node_exporter's /metrics")
    )]
    Status { what: String, status: u16 },

    #[error("SSH: {0}")]
    #[diagnostic(
        code(ict::metrics::ssh),
        help("ict logs in as the server's user to tunnel to node_exporter; see `ict exec` for SSH set-up")
    )]
    Ssh(String),

    #[error("{0}")]
    #[diagnostic(
        code(ict::metrics::parse),
        help("the exporter's answer is not Prometheus text format")
    )]
    Parse(String),
}

/// The outcome of scraping one server once.
#[derive(Debug, Clone)]
pub struct HostScrape {
    pub name: String,
    /// [`Endpoint::describe`] of where it was scraped.
    pub endpoint: String,
    /// The exposition text, or why there is none.
    pub result: Result<String, ScrapeError>,
    /// How long the scrape took (connect included).
    pub took: Duration,
    /// When the answer arrived; rates divide by the time between two of these.
    pub at: Instant,
}

/// A server's figures (or the error that left it without), as `ict metrics --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostFigures {
    pub name: String,
    pub endpoint: String,
    /// `None` when the last scrape failed (see `error`).
    pub figures: Option<NodeFigures>,
    pub error: Option<String>,
    /// Milliseconds the last scrape took.
    pub scrape_ms: f64,
}

/// Scraping settings.
#[derive(Debug, Clone)]
pub struct ScrapeOptions {
    /// Limit for one server's scrape, SSH login included.
    pub timeout: Duration,
}

impl Default for ScrapeOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
        }
    }
}

/// How long a server's SSH session stays open unused between rounds.
pub const SESSION_IDLE: Duration = Duration::from_secs(600);

/// Scrapes servers; cheap to clone (clones share sessions and connections).
#[derive(Clone)]
pub struct Scraper {
    inner: Arc<Inner>,
    hypervisor: Option<Arc<dyn Hypervisor>>,
}

struct Inner {
    http: reqwest::Client,
    /// How to log in for SSH endpoints, or why we cannot.
    auth: Result<Auth, String>,
    verifier: Arc<dyn HostKeyVerifier>,
    options: ScrapeOptions,
    /// Open SSH sessions.
    sessions: Pool,
}

impl std::fmt::Debug for Scraper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scraper")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Scraper {
    /// A scraper that logs in with `auth` (or reports its error on SSH endpoints) and checks
    /// host keys with `verifier`.
    pub fn new(
        auth: Result<Auth, String>,
        verifier: Arc<dyn HostKeyVerifier>,
        options: ScrapeOptions,
    ) -> Result<Scraper, ScrapeError> {
        let http = crate::http::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .no_proxy()
            .tcp_nodelay(true)
            .user_agent(concat!("ict/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ScrapeError::Fetch {
                what: "HTTP client".to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Scraper {
            inner: Arc::new(Inner {
                http,
                auth,
                verifier,
                options,
                sessions: Pool::new(SESSION_IDLE),
            }),
            hypervisor: None,
        })
    }

    /// This scraper, asking `hypervisor` for [`Endpoint::Hypervisor`] targets.
    #[must_use]
    pub fn with_hypervisor(mut self, hypervisor: Arc<dyn Hypervisor>) -> Scraper {
        self.hypervisor = Some(hypervisor);
        self
    }

    /// Scrapes every target at once; results come back in the targets' order.
    pub async fn scrape_all(&self, targets: &[ScrapeTarget]) -> Vec<HostScrape> {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, target) in targets.iter().enumerate() {
            let this = self.clone();
            let target = target.clone();
            tasks.spawn(async move { (index, this.scrape(&target).await) });
        }
        let mut results: Vec<Option<HostScrape>> = vec![None; targets.len()];
        while let Some(joined) = tasks.join_next().await {
            if let Ok((index, scrape)) = joined {
                results[index] = Some(scrape);
            }
        }
        results
            .into_iter()
            .zip(targets)
            .map(|(result, target)| {
                result.unwrap_or_else(|| HostScrape {
                    name: target.name.clone(),
                    endpoint: target.endpoint.describe(),
                    result: Err(ScrapeError::Fetch {
                        what: target.endpoint.describe(),
                        reason: "the scrape task failed".to_owned(),
                    }),
                    took: Duration::ZERO,
                    at: Instant::now(),
                })
            })
            .collect()
    }

    /// Two rounds `interval` apart, turned into figures (one round and no rates when
    /// `interval` is zero).
    pub async fn sample(&self, targets: &[ScrapeTarget], interval: Duration) -> Vec<HostFigures> {
        let first = self.scrape_all(targets).await;
        if interval.is_zero() {
            return figures_between(&[], &first);
        }
        tokio::time::sleep(interval).await;
        let second = self.scrape_all(targets).await;
        figures_between(&first, &second)
    }

    /// Closes the SSH sessions.
    pub async fn close(&self) {
        self.inner.sessions.close().await;
    }

    /// Scrapes one target within the timeout.
    async fn scrape(&self, target: &ScrapeTarget) -> HostScrape {
        let started = Instant::now();
        let endpoint = target.endpoint.describe();
        let timeout = self.inner.options.timeout;
        let fetched = tokio::time::timeout(timeout, self.fetch(&target.endpoint)).await;
        let result = if let Ok(result) = fetched {
            result
        } else {
            if let Endpoint::Ssh { target, .. } = &target.endpoint {
                self.forget(target);
            }
            Err(ScrapeError::Timeout { after: timeout })
        };
        let at = Instant::now();
        HostScrape {
            name: target.name.clone(),
            endpoint,
            result,
            took: at - started,
            at,
        }
    }

    async fn fetch(&self, endpoint: &Endpoint) -> Result<String, ScrapeError> {
        match endpoint {
            Endpoint::Unavailable { reason } => Err(ScrapeError::Unavailable {
                reason: reason.clone(),
            }),
            Endpoint::Hypervisor { server, source } => match &self.hypervisor {
                Some(hypervisor) => {
                    hypervisor
                        .exposition(*server)
                        .await
                        .map_err(|reason| ScrapeError::Fetch {
                            what: source.clone(),
                            reason,
                        })
                }
                None => Err(ScrapeError::Unavailable {
                    reason: format!("{source} is not connected"),
                }),
            },
            Endpoint::Http { url } => {
                let fail = |e: reqwest::Error| ScrapeError::Fetch {
                    what: url.clone(),
                    reason: error_chain(&e),
                };
                let response = self.inner.http.get(url).send().await.map_err(fail)?;
                let status = response.status();
                if !status.is_success() {
                    return Err(ScrapeError::Status {
                        what: url.clone(),
                        status: status.as_u16(),
                    });
                }
                response.text().await.map_err(fail)
            }
            Endpoint::Ssh { target, port } => {
                let what = endpoint.describe();
                let session = self.session(target).await?;
                let tunneled = async {
                    let tunnel = session.tunnel("127.0.0.1", *port).await?;
                    tunnel.fetch_http("/metrics").await
                };
                match tunneled.await {
                    Ok(response) if (200..300).contains(&response.status) => Ok(response.text()),
                    Ok(response) => Err(ScrapeError::Status {
                        what,
                        status: response.status,
                    }),
                    Err(error) => {
                        self.forget(target);
                        Err(ScrapeError::Fetch {
                            what,
                            reason: error.to_string(),
                        })
                    }
                }
            }
        }
    }

    /// An open session to `target`, reused or new.
    async fn session(&self, target: &Target) -> Result<Arc<Session>, ScrapeError> {
        let auth = self
            .inner
            .auth
            .as_ref()
            .map_err(|e| ScrapeError::Ssh(e.clone()))?;
        let options = ConnectOptions::with_timeout(self.inner.options.timeout);
        self.inner
            .sessions
            .session(target, auth, self.inner.verifier.as_ref(), &options)
            .await
            .map_err(|e| ScrapeError::Ssh(e.to_string()))
    }

    /// Drops a session that failed, so the next round logs in again.
    fn forget(&self, target: &Target) {
        self.inner.sessions.forget(target);
    }
}

/// A reqwest error with its causes ("error sending request: ... Connection refused").
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = if error.is_connect() {
        "cannot connect".to_owned()
    } else if error.is_timeout() {
        "timed out".to_owned()
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    let mut last = String::new();
    while let Some(cause) = source {
        last = cause.to_string();
        source = cause.source();
    }
    if !last.is_empty() && !text.contains(&last) {
        text = format!("{text}: {last}");
    }
    text
}

/// Figures of each server in `current`: gauges from its current scrape, rates against its
/// scrape in `previous` (matched by name; none when it is missing or failed).
pub fn figures_between(previous: &[HostScrape], current: &[HostScrape]) -> Vec<HostFigures> {
    let before: HashMap<&str, &HostScrape> =
        previous.iter().map(|s| (s.name.as_str(), s)).collect();
    current
        .iter()
        .map(|scrape| {
            let prior = before
                .get(scrape.name.as_str())
                .and_then(|p| Some((p.result.as_ref().ok()?, p.at)));
            let (figures, error) = match figures_of(scrape, prior) {
                Ok(figures) => (Some(figures), None),
                Err(error) => (None, Some(error.to_string())),
            };
            HostFigures {
                name: scrape.name.clone(),
                endpoint: scrape.endpoint.clone(),
                figures,
                error,
                scrape_ms: scrape.took.as_secs_f64() * 1000.0,
            }
        })
        .collect()
}

fn figures_of(
    scrape: &HostScrape,
    prior: Option<(&String, Instant)>,
) -> Result<NodeFigures, ScrapeError> {
    let text = scrape.result.as_ref().map_err(Clone::clone)?;
    let current = super::parse(text).map_err(|e| ScrapeError::Parse(e.to_string()))?;
    let Some((prior_text, prior_at)) = prior else {
        return Ok(node::instant(&current));
    };
    match super::parse(prior_text) {
        Ok(previous) => Ok(node::figures(
            &previous,
            &current,
            scrape.at.saturating_duration_since(prior_at),
        )),
        Err(_) => Ok(node::instant(&current)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(name: &str, text: Result<&str, ScrapeError>, at: Instant) -> HostScrape {
        HostScrape {
            name: name.to_owned(),
            endpoint: "test".to_owned(),
            result: text.map(str::to_owned),
            took: Duration::from_millis(3),
            at,
        }
    }

    #[test]
    fn rates_come_from_matching_previous_scrapes_only() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        let before = "node_network_receive_bytes_total{device=\"eth0\"} 1000\n";
        let after = "node_network_receive_bytes_total{device=\"eth0\"} 5000\n";
        let previous = [
            scrape("a", Ok(before), t0),
            scrape(
                "b",
                Err(ScrapeError::Timeout {
                    after: Duration::from_secs(1),
                }),
                t0,
            ),
        ];
        let current = [
            scrape("a", Ok(after), t1),
            scrape("b", Ok(after), t1),
            scrape(
                "c",
                Err(ScrapeError::Unavailable {
                    reason: "not created yet".into(),
                }),
                t1,
            ),
            scrape("d", Ok("garbage{\n"), t1),
        ];
        let rows = figures_between(&previous, &current);
        let rx = |i: usize| {
            rows[i]
                .figures
                .as_ref()
                .and_then(|f| f.network_rx_bytes_per_second)
        };
        assert_eq!(rx(0), Some(2000.0));
        assert_eq!(rx(1), None, "no usable previous scrape: no rate");
        assert!(rows[1].figures.is_some());
        assert_eq!(rows[2].error.as_deref(), Some("not created yet"));
        assert!(
            rows[3]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("line 1")),
            "{:?}",
            rows[3].error
        );
        assert!((rows[0].scrape_ms - 3.0).abs() < 1e-9);
    }

    #[test]
    fn endpoints_describe_themselves() {
        assert_eq!(
            Endpoint::http("10.0.0.1", 9100).describe(),
            "http://10.0.0.1:9100/metrics"
        );
        let ssh = Endpoint::Ssh {
            target: Target::new("web", "10.0.0.2", 22, "root"),
            port: 9100,
        };
        assert_eq!(ssh.describe(), "ssh root@10.0.0.2 -> 127.0.0.1:9100");
    }
}
