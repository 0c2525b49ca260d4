//! A pool of open SSH sessions, one per target, for a front end that reaches the same hosts
//! again and again (`ict repl`'s `exec`): the second command on a host opens a channel on the
//! session the first one left open, with no new handshake. A session unused for the pool's
//! idle time is closed (by a task started with the first session, which ends with the pool); a
//! session that failed or that the server closed is replaced by a new one on next use. The host
//! key was checked when the session was made. Depends on `ssh::{auth, error, host_keys,
//! session, target}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::auth::Auth;
use super::error::SshError;
use super::host_keys::HostKeyVerifier;
use super::session::{ConnectOptions, Session};
use super::target::Target;

/// Open sessions by target; cheap to clone (clones share the sessions).
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    idle: Duration,
    sessions: Mutex<HashMap<Target, Entry>>,
    sweeping: std::sync::atomic::AtomicBool,
}

struct Entry {
    session: Arc<Session>,
    used: Instant,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("idle", &self.inner.idle)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// An empty pool whose sessions close after `idle` unused.
    pub fn new(idle: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                idle,
                sessions: Mutex::new(HashMap::new()),
                sweeping: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// An open session to `target`: the pool's, if it has one still open, else a new one
    /// (connected, its host key checked by `verifier`, authenticated), kept for next time.
    pub async fn session(
        &self,
        target: &Target,
        auth: &Auth,
        verifier: &dyn HostKeyVerifier,
        options: &ConnectOptions,
    ) -> Result<Arc<Session>, SshError> {
        if let Some(session) = self.reuse(target) {
            return Ok(session);
        }
        let session = Arc::new(Session::connect_with(target, auth, verifier, options).await?);
        let entry = Entry {
            session: Arc::clone(&session),
            used: Instant::now(),
        };
        if let Some(old) = self.sessions().insert(target.clone(), entry) {
            tokio::spawn(async move { old.session.disconnect().await });
        }
        self.sweep_in_background();
        Ok(session)
    }

    /// Drops the session to `target` (after it failed), so that the next use makes a new one.
    pub fn forget(&self, target: &Target) {
        if let Some(old) = self.sessions().remove(target) {
            tokio::spawn(async move { old.session.disconnect().await });
        }
    }

    /// Closes every session.
    pub async fn close(&self) {
        let all: Vec<Entry> = self.sessions().drain().map(|(_, e)| e).collect();
        for entry in all {
            entry.session.disconnect().await;
        }
    }

    /// The pool's open session to `target`, marked used now.
    fn reuse(&self, target: &Target) -> Option<Arc<Session>> {
        let mut sessions = self.sessions();
        let entry = sessions.get_mut(target)?;
        if entry.session.is_closed() || entry.used.elapsed() >= self.inner.idle {
            sessions.remove(target);
            return None;
        }
        entry.used = Instant::now();
        Some(Arc::clone(&entry.session))
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<Target, Entry>> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts (once) the task that closes idle sessions; it ends when the pool is dropped.
    fn sweep_in_background(&self) {
        use std::sync::atomic::Ordering;
        if self.inner.sweeping.swap(true, Ordering::Relaxed) {
            return;
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let every = self.inner.idle;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every / 2).await;
                let Some(inner) = weak.upgrade() else { break };
                let idle: Vec<Entry> = {
                    let mut sessions = inner
                        .sessions
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    let old: Vec<Target> = sessions
                        .iter()
                        .filter(|(_, e)| e.used.elapsed() >= inner.idle)
                        .map(|(t, _)| t.clone())
                        .collect();
                    old.iter().filter_map(|t| sessions.remove(t)).collect()
                };
                drop(inner);
                for entry in idle {
                    entry.session.disconnect().await;
                }
            }
        });
    }
}
