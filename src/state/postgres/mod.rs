//! The `PostgreSQL` backend: the state of every environment of a project in three tables
//! (see `sql.rs`), so that everyone who runs the script — people and CI jobs, on any machine —
//! works on one state under one lock.
//!
//! The lock is a row naming its holder (user@host, pid, command, since) with a lease the
//! holder renews in the background every third of its length; a holder that stops renewing
//! (killed, or cut off) is taken over once the lease ran out — PIDs mean nothing across
//! machines. Every write renews the lease by the holder's token and compares-and-swaps the
//! state's version, so a holder that lost its lock can never overwrite its successor's work.
//! Credentials live only in the URL, which is never stored or shown.
//!
//! Depends on tokio-postgres (on a runtime of its own, see `worker.rs`) and the rest of
//! `state`.

mod sql;
mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use self::worker::Worker;
use super::backend::{expired, held_by, new_holder, Backend, Held, Lease, LeaseGuard};
use super::dir::StateDir;
use super::document::State;
use super::error::StateError;
use super::file;
use super::holder::{Liveness, LockHolder};
use super::lock::{Broken, LockStatus, TakenOver};
use super::log::{self, Change};

/// The state of one environment of one project in a `PostgreSQL` database.
pub(crate) struct Postgres {
    dir: StateDir,
    project: String,
    /// Never shown: it may hold a password.
    url: String,
    lease: Duration,
    /// `postgres host:port/db` without credentials, for messages.
    server: String,
    worker: Mutex<Option<Arc<Worker>>>,
}

/// Never shows the URL (it may hold a password).
impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.location())
    }
}

impl Postgres {
    pub(crate) fn new(dir: StateDir, url: String, project: String, lease: Duration) -> Postgres {
        let server = describe(&url);
        Postgres {
            dir,
            project,
            url,
            lease,
            server,
            worker: Mutex::new(None),
        }
    }

    /// The connection, made on first use (which also creates the tables if needed).
    fn worker(&self, action: &'static str) -> Result<Arc<Worker>, StateError> {
        let mut worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(worker) = worker.as_ref() {
            return Ok(worker.clone());
        }
        let connected =
            Arc::new(Worker::connect(&self.url).map_err(|reason| self.fail(action, reason))?);
        *worker = Some(connected.clone());
        Ok(connected)
    }

    fn fail(&self, action: &'static str, reason: String) -> StateError {
        StateError::Backend {
            action,
            location: self.location(),
            reason,
        }
    }

    fn key(&self) -> (String, String) {
        (self.project.clone(), self.dir.env().to_owned())
    }

    /// The snapshot with the commits after it replayed, the version it is at and whether
    /// there were commits to replay; `None` when nothing was ever saved.
    fn read(&self, worker: &Worker) -> Result<Option<(State, i64, bool)>, StateError> {
        let (project, env) = self.key();
        let row = worker
            .run(|client| async move { client.query_opt(sql::LOAD, &[&project, &env]).await })
            .map_err(|reason| self.fail("read", reason))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let document: Option<String> = row.get(0);
        let migrated: bool = row.get(1);
        let commits: Vec<String> = row.get(2);
        let version: i64 = row.get(3);
        if migrated {
            return Err(StateError::Migrated {
                env: self.dir.env().to_owned(),
                backup: self.location(),
            });
        }
        if document.is_none() && commits.is_empty() {
            return Ok(None);
        }
        let mut state = match document {
            Some(text) => file::parse(&self.dir, &text)?,
            None => State::new(self.dir.env()),
        };
        for (index, line) in commits.iter().enumerate() {
            log::apply_line(line, &mut state).map_err(|error| {
                self.fail(
                    "read",
                    format!(
                        "commit {} of {} is damaged: {error}",
                        index + 1,
                        commits.len()
                    ),
                )
            })?;
        }
        state.take_changes();
        Ok(Some((state, version, !commits.is_empty())))
    }

    fn lease_secs(&self) -> f64 {
        self.lease.as_secs_f64()
    }

    /// Takes the lock: `Ok(previous)` with the expired holder taken over, if any; or the
    /// holder that keeps it.
    fn take(
        &self,
        worker: &Worker,
        holder: &LockHolder,
        token: &str,
    ) -> Result<Result<Option<LockHolder>, LockHolder>, StateError> {
        let (project, env) = self.key();
        let json = serde_json::to_string(holder)
            .map_err(|error| self.fail("take the lock of", error.to_string()))?;
        let token = token.to_owned();
        let lease = self.lease_secs();
        let row = worker
            .run(move |client| async move {
                client
                    .query_one(sql::LOCK, &[&project, &env, &json, &token, &lease])
                    .await
            })
            .map_err(|reason| self.fail("take the lock of", reason))?;
        let taken: bool = row.get(0);
        let previous: Option<String> = row.get(1);
        let expired: bool = row.get(2);
        let previous = previous.map(|json| self.holder(&json)).transpose()?;
        match (taken, previous) {
            (true, previous) => Ok(Ok(previous.filter(|_| expired))),
            (false, Some(holder)) => Ok(Err(holder)),
            (false, None) => Err(self.fail(
                "take the lock of",
                "the lock changed hands while it was being taken; try again".to_owned(),
            )),
        }
    }

    fn holder(&self, json: &str) -> Result<LockHolder, StateError> {
        serde_json::from_str(json).map_err(|error| StateError::LockUnreadable {
            path: format!("the lock of {}", self.location()).into(),
            reason: error.to_string(),
            break_hint: self.break_hint(),
        })
    }

    /// The lock's holder, its token and whether its lease ran out.
    fn current(&self) -> Result<Option<(String, String, bool)>, StateError> {
        let worker = self.worker("read the lock of")?;
        let (project, env) = self.key();
        let row = worker
            .run(|client| async move { client.query_opt(sql::STATUS, &[&project, &env]).await })
            .map_err(|reason| self.fail("read the lock of", reason))?;
        Ok(row.map(|row| (row.get(0), row.get(1), row.get(2))))
    }
}

impl Backend for Postgres {
    fn dir(&self) -> &StateDir {
        &self.dir
    }

    fn location(&self) -> String {
        format!(
            "{} (project `{}`, environment `{}`)",
            self.server,
            self.project,
            self.dir.env()
        )
    }

    fn load(&self) -> Result<Option<State>, StateError> {
        let worker = self.worker("read")?;
        Ok(self.read(&worker)?.map(|(state, ..)| state))
    }

    fn hold(&self, command: &str) -> Result<(Box<dyn Held>, Option<TakenOver>), StateError> {
        let worker = self.worker("take the lock of")?;
        let (holder, token) = new_holder(command);
        let sent = Instant::now();
        let previous = match self.take(&worker, &holder, &token)? {
            Ok(previous) => previous,
            Err(other) => {
                return Err(held_by(
                    &self.dir,
                    &self.location(),
                    other,
                    self.break_hint(),
                ))
            }
        };
        let taken_over = previous.map(|previous| expired(previous, &self.location()));
        let lost = Arc::new(AtomicBool::new(false));
        let lease = Lease::new(self.lease, sent);
        let renewal = worker.spawn(renew(
            worker.client(),
            self.key(),
            token.clone(),
            lease.clone(),
            lost.clone(),
        ));
        let held = PostgresHeld {
            backend: Postgres::new(
                self.dir.clone(),
                self.url.clone(),
                self.project.clone(),
                self.lease,
            ),
            worker,
            token,
            version: 0,
            lost,
            lease,
            renewal,
            released: false,
        };
        Ok((Box::new(held), taken_over))
    }

    fn status(&self) -> Result<LockStatus, StateError> {
        Ok(match self.current()? {
            None => LockStatus::Unlocked,
            Some((json, _, expired)) => LockStatus::Held {
                holder: self.holder(&json)?,
                liveness: if expired {
                    Liveness::Expired
                } else {
                    Liveness::Unknown
                },
            },
        })
    }

    fn break_lock(&self, force: bool) -> Result<Broken, StateError> {
        let Some((json, token, expired)) = self.current()? else {
            return Ok(Broken::NotLocked);
        };
        let holder = self.holder(&json);
        if let Ok(holder) = &holder {
            if !expired && !force {
                let hint = format!("{} --force", self.break_hint());
                return Err(held_by(&self.dir, &self.location(), holder.clone(), hint));
            }
        }
        let worker = self.worker("break the lock of")?;
        let (project, env) = self.key();
        let removed =
            worker
                .run(|client| async move {
                    client.execute(sql::UNLOCK, &[&project, &env, &token]).await
                })
                .map_err(|reason| self.fail("break the lock of", reason))?;
        Ok(match holder {
            _ if removed == 0 => Broken::NotLocked,
            Ok(holder) => Broken::Held(holder),
            Err(_) => Broken::Unreadable,
        })
    }
}

/// Renews the lease every third of its length until the lock is released; a renewal that
/// finds the lock gone marks it `lost`, and the next write refuses.
async fn renew(
    client: Arc<tokio_postgres::Client>,
    (project, env): (String, String),
    token: String,
    lease: Lease,
    lost: Arc<AtomicBool>,
) {
    let secs = lease.length().as_secs_f64();
    loop {
        tokio::time::sleep(lease.length() / 3).await;
        // A failed renewal is retried; the lease covers two more tries.
        let sent = Instant::now();
        let renewed = client
            .execute(sql::RENEW, &[&project, &env, &token, &secs])
            .await;
        match renewed {
            Ok(0) => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Ok(_) => lease.renewed(sent),
            Err(_) => {}
        }
    }
}

/// The lock of a `PostgreSQL` backend, held.
#[derive(Debug)]
struct PostgresHeld {
    backend: Postgres,
    worker: Arc<Worker>,
    token: String,
    /// The version the state is at, as this holder last wrote or read it.
    version: i64,
    lost: Arc<AtomicBool>,
    lease: Lease,
    renewal: Option<tokio::task::AbortHandle>,
    released: bool,
}

impl PostgresHeld {
    fn lost(&self) -> StateError {
        StateError::LockLost {
            env: self.backend.dir.env().to_owned(),
            location: self.backend.location(),
            why: "it was taken over after this command's lease ran out, or broken".to_owned(),
        }
    }

    /// Runs `statement` ([`sql::COMMIT`] with a commit, [`sql::SAVE`] with a snapshot and
    /// whether it is `retired`), guarded by this holder's token and version: the version it
    /// returns, or [`StateError::LockLost`] when the lock or the version is not ours any more.
    fn guarded(
        &self,
        statement: &'static str,
        payload: String,
        retired: Option<bool>,
    ) -> Result<i64, StateError> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(self.lost());
        }
        let (project, env) = self.backend.key();
        let (token, lease, version) = (self.token.clone(), self.backend.lease_secs(), self.version);
        let sent = Instant::now();
        let row = self
            .worker
            .run(move |client| async move {
                let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                    vec![&project, &env, &token, &lease, &version, &payload];
                if let Some(retired) = &retired {
                    params.push(retired);
                }
                client.query_opt(statement, &params).await
            })
            .map_err(|reason| self.backend.fail("save", reason))?;
        let version = row.map(|row| row.get(0)).ok_or_else(|| self.lost())?;
        // Every guarded write renews the lease too.
        self.lease.renewed(sent);
        Ok(version)
    }
}

impl Held for PostgresHeld {
    fn load(&mut self) -> Result<(Option<State>, bool), StateError> {
        let (project, env) = self.backend.key();
        // The version is read even when the state was migrated away (to replace it).
        let version: i64 = self
            .worker
            .run(|client| async move { client.query_one(sql::VERSION, &[&project, &env]).await })
            .map_err(|reason| self.backend.fail("read", reason))?
            .get(0);
        self.version = version;
        let loaded = self.backend.read(&self.worker)?;
        Ok(match loaded {
            Some((state, version, pending)) => {
                self.version = version;
                (Some(state), pending)
            }
            None => (None, false),
        })
    }

    fn append(&mut self, changes: &[Change]) -> Result<(), StateError> {
        let line =
            log::line(changes).map_err(|error| self.backend.fail("save", error.to_string()))?;
        self.version = self.guarded(sql::COMMIT, line, None)?;
        Ok(())
    }

    fn save(&mut self, state: &State, retired: bool) -> Result<(), StateError> {
        let document = serde_json::to_string_pretty(state)
            .map_err(|error| self.backend.fail("save", error.to_string()))?;
        self.guarded(sql::SAVE, document, Some(retired)).map(drop)
    }

    fn send_guard(&self) -> Option<LeaseGuard> {
        Some(self.lease.guard(&self.lost))
    }

    fn release(mut self: Box<Self>) -> Result<(), StateError> {
        self.unlock()
    }
}

impl PostgresHeld {
    fn unlock(&mut self) -> Result<(), StateError> {
        if self.released {
            return Ok(());
        }
        self.released = true;
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        let (project, env) = self.backend.key();
        let token = self.token.clone();
        self.worker
            .run(|client| async move { client.execute(sql::UNLOCK, &[&project, &env, &token]).await })
            .map(|_| ())
            .map_err(|reason| self.backend.fail("release the lock of", reason))
    }
}

impl Drop for PostgresHeld {
    fn drop(&mut self) {
        let _ = self.unlock();
    }
}

/// `postgres host:port/database` from a connection URL, leaving out the user and password.
fn describe(url: &str) -> String {
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return "postgres (an unreadable URL)".to_owned();
    };
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("postgres");
    format!("postgres {host}:{port}/{db}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_is_never_shown() {
        let dir = StateDir::at("/tmp/ict-unused", "prod").expect("valid");
        let url = "postgresql://ict:pa55word@db.internal:6543/infra".to_owned();
        let backend = Postgres::new(dir, url, "shop".into(), Duration::from_secs(30));
        let shown = format!("{backend:?} {}", backend.location());
        assert_eq!(
            backend.location(),
            "postgres db.internal:6543/infra (project `shop`, environment `prod`)"
        );
        assert!(!shown.contains("pa55word"), "{shown}");
    }
}
