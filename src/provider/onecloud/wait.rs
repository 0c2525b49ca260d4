//! Waiting for 1cloud's asynchronous tasks (docs/1cloud-api.md §5): poll an action until
//! `Completed`, a server or network until `Active`. The interval starts at `PollPolicy::initial`
//! and doubles up to `PollPolicy::max`; the whole wait, including each poll, ends at the caller's
//! deadline with an error naming the object (name and ID) and the task.

use std::future::Future;
use std::time::Duration;

use tokio::time::{sleep_until, timeout_at, Instant};

use super::{Client, PollPolicy};
use crate::provider::{
    Action, ActionId, ActionState, NetworkId, ObservedNetwork, ObservedServer, ProviderError,
    ServerId, ServerState,
};

/// The pacing of one wait.
struct Poller {
    interval: Duration,
    max: Duration,
    deadline: Instant,
    started: Instant,
}

impl Poller {
    fn new(policy: &PollPolicy, deadline: Instant) -> Poller {
        Poller {
            interval: policy.initial,
            max: policy.max,
            deadline,
            started: Instant::now(),
        }
    }

    /// Runs one poll; `None` if the deadline passes first.
    async fn poll<T>(&self, call: impl Future<Output = T>) -> Option<T> {
        timeout_at(self.deadline, call).await.ok()
    }

    /// Sleeps until the next poll; `false` (after sleeping to the deadline) if there is none.
    async fn pause(&mut self) -> bool {
        let next = Instant::now() + self.interval;
        if next >= self.deadline {
            sleep_until(self.deadline).await;
            return false;
        }
        sleep_until(next).await;
        self.interval = (self.interval * 2).min(self.max);
        true
    }

    fn waited(&self) -> Duration {
        self.started.elapsed()
    }
}

impl Client {
    /// The server's name for a message, or `?` if it cannot be fetched quickly.
    async fn server_name(&self, id: ServerId) -> String {
        let limit = Duration::from_secs(2).min(self.inner.config.request_timeout);
        match tokio::time::timeout(limit, self.server(id)).await {
            Ok(Ok(server)) => server.name,
            _ => "?".to_owned(),
        }
    }

    /// Polls `GET /server/{server}/action/{action}` until the action is `Completed`.
    pub async fn wait_action(
        &self,
        server: ServerId,
        action: ActionId,
        deadline: Instant,
    ) -> Result<Action, ProviderError> {
        let mut poller = Poller::new(&self.inner.config.poll, deadline);
        let mut kind = String::new();
        loop {
            let Some(current) = poller.poll(self.action(server, action)).await else {
                break;
            };
            let current = current?;
            kind.clone_from(&current.kind);
            match &current.state {
                ActionState::Completed => return Ok(current),
                ActionState::Other(state) if looks_failed(state) => {
                    return Err(ProviderError::ActionFailed {
                        name: self.server_name(server).await,
                        server,
                        task: task_name(action, &current.kind),
                        state: state.clone(),
                    });
                }
                ActionState::InProgress | ActionState::Postponed | ActionState::Other(_) => {}
            }
            if !poller.pause().await {
                break;
            }
        }
        Err(ProviderError::WaitTimeout {
            kind: "server",
            name: self.server_name(server).await,
            id: server.0,
            task: task_name(action, &kind),
            waited: poller.waited(),
        })
    }

    /// Waits until no task runs on the server (another run's, or one started in the panel):
    /// each action its history shows in progress is waited for.
    pub async fn wait_idle(
        &self,
        server: ServerId,
        deadline: Instant,
    ) -> Result<(), ProviderError> {
        let actions = self.actions(server).await?;
        for action in actions
            .iter()
            .filter(|a| matches!(a.state, ActionState::InProgress | ActionState::Postponed))
        {
            self.wait_action(server, action.id, deadline).await?;
        }
        Ok(())
    }

    /// Polls `GET /server/{id}` until the server is `Active`. `NeedMoney` and `Blocked` end the
    /// wait at once: they do not change by themselves.
    pub async fn wait_server_active(
        &self,
        id: ServerId,
        deadline: Instant,
    ) -> Result<ObservedServer, ProviderError> {
        let mut poller = Poller::new(&self.inner.config.poll, deadline);
        let mut last: Option<(String, String)> = None;
        loop {
            let Some(server) = poller.poll(self.server(id)).await else {
                break;
            };
            let server = server?;
            match server.state {
                ServerState::Active => return Ok(server),
                ServerState::NeedMoney | ServerState::Blocked => {
                    return Err(ProviderError::ServerStuck {
                        state: server.state.to_string(),
                        name: server.name,
                        server: id,
                    });
                }
                ServerState::New | ServerState::Other(_) => {
                    last = Some((server.name, server.state.to_string()));
                }
            }
            if !poller.pause().await {
                break;
            }
        }
        let (name, state) = match last {
            Some(last) => last,
            None => (self.server_name(id).await, "unknown".to_owned()),
        };
        Err(ProviderError::WaitTimeout {
            kind: "server",
            name,
            id: id.0,
            task: format!("state Active (last seen: {state})"),
            waited: poller.waited(),
        })
    }

    /// Polls `GET /network/{id}` until the network is `Active`.
    pub async fn wait_network_active(
        &self,
        id: NetworkId,
        deadline: Instant,
    ) -> Result<ObservedNetwork, ProviderError> {
        let mut poller = Poller::new(&self.inner.config.poll, deadline);
        let mut last: Option<(String, String)> = None;
        loop {
            let Some(network) = poller.poll(self.network(id)).await else {
                break;
            };
            let network = network?;
            if network.state.eq_ignore_ascii_case("Active") {
                return Ok(network);
            }
            last = Some((network.name, network.state));
            if !poller.pause().await {
                break;
            }
        }
        let (name, state) = last.unwrap_or_else(|| ("?".to_owned(), "unknown".to_owned()));
        Err(ProviderError::WaitTimeout {
            kind: "network",
            name,
            id: id.0,
            task: format!("state Active (last seen: {state})"),
            waited: poller.waited(),
        })
    }
}

fn task_name(action: ActionId, kind: &str) -> String {
    if kind.is_empty() {
        format!("action {action}")
    } else {
        format!("action {action} ({kind})")
    }
}

/// Undocumented action states that can only mean the task will not complete.
fn looks_failed(state: &str) -> bool {
    let state = state.to_ascii_lowercase();
    ["fail", "error", "cancel", "abort"]
        .iter()
        .any(|word| state.contains(word))
}
