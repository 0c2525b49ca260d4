//! The S3 backend: the state of every environment in a bucket (any S3-protocol store: 1cloud's
//! object storage, `MinIO`, AWS), shared like the `PostgreSQL` backend.
//!
//! Under `<prefix>/<env>/` it keeps `state.json` (the snapshot, with the version it includes),
//! `log/<version>.json` (one object per commit since the snapshot) and `lock.json` (the
//! holder, a token and the lease's end). S3 has no transactions, so every write is a
//! conditional one: a commit creates the next version's object only if it does not exist
//! (`If-None-Match: *`), so two writers can never both add version N; the snapshot and the
//! lock are replaced only if their `ETag` is the one the writer read (`If-Match`). A holder
//! renews its lease every third of its length; one that stops is taken over once the lease
//! ran out (judged by the clocks of the machines, which should agree within a second or two).
//! Credentials are kept in memory only.
//!
//! Depends on `object_store` (its S3 client, on a runtime of its own: `remote.rs`) and the
//! rest of `state`.

mod objects;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use self::objects::{Bucket, Written};
use super::backend::{expired, held_by, new_holder, Backend, Held, Lease, LeaseGuard};
use super::dir::StateDir;
use super::document::State;
use super::error::StateError;
use super::file;
use super::holder::{Liveness, LockHolder};
use super::lock::{Broken, LockStatus, TakenOver};
use super::log::{self, Change};

pub(crate) use self::objects::Settings;

/// The lock object.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LockDoc {
    /// `None` once released or broken.
    holder: Option<LockHolder>,
    token: String,
    /// When the lease ends, in milliseconds since the Unix epoch.
    expires_ms: u64,
}

impl LockDoc {
    fn expired(&self) -> bool {
        self.expires_ms < now_ms()
    }
}

/// The snapshot object: the state and the version it includes.
#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    version: u64,
    #[serde(default)]
    migrated: bool,
    state: serde_json::Value,
}

/// The state of one environment in an S3 bucket.
#[derive(Debug)]
pub(crate) struct S3 {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    dir: StateDir,
    settings: Settings,
    lease: Duration,
    bucket: Mutex<Option<Arc<Bucket>>>,
}

/// What a read found: the state, the version it is at and the snapshot's `ETag`.
struct Read {
    state: Option<State>,
    /// Whether commits were replayed over the snapshot.
    pending: bool,
    migrated: bool,
    version: u64,
    snapshot_tag: Option<String>,
}

impl S3 {
    pub(crate) fn new(dir: StateDir, settings: Settings, lease: Duration) -> S3 {
        S3 {
            shared: Arc::new(Shared {
                dir,
                settings,
                lease,
                bucket: Mutex::new(None),
            }),
        }
    }
}

impl Shared {
    fn bucket(&self, action: &'static str) -> Result<Arc<Bucket>, StateError> {
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bucket) = bucket.as_ref() {
            return Ok(bucket.clone());
        }
        let opened = Arc::new(
            Bucket::open(&self.settings, self.dir.env())
                .map_err(|reason| self.fail(action, reason))?,
        );
        *bucket = Some(opened.clone());
        Ok(opened)
    }

    fn location(&self) -> String {
        format!(
            "{} (environment `{}`)",
            self.settings.describe(),
            self.dir.env()
        )
    }

    fn fail(&self, action: &'static str, reason: String) -> StateError {
        StateError::Backend {
            action,
            location: self.location(),
            reason,
        }
    }

    /// Reads the snapshot and the commits after it, again if a compaction ran meanwhile.
    fn read(&self, bucket: &Bucket) -> Result<Read, StateError> {
        const ATTEMPTS: usize = 5;
        let fail = |reason| self.fail("read", reason);
        for _ in 0..ATTEMPTS {
            let snapshot = bucket.get(&bucket.snapshot()).map_err(fail)?;
            let (base, migrated, mut state, tag) = match snapshot {
                None => (0, false, None, None),
                Some((bytes, tag)) => {
                    let snapshot: Snapshot = serde_json::from_slice(&bytes)
                        .map_err(|error| fail(format!("state.json is damaged: {error}")))?;
                    let state = file::parse(&self.dir, &snapshot.state.to_string())?;
                    (snapshot.version, snapshot.migrated, Some(state), tag)
                }
            };
            let commits = bucket.commits().map_err(fail)?;
            let after: Vec<u64> = commits.into_iter().filter(|v| *v > base).collect();
            let consecutive = after
                .iter()
                .zip(base + 1..)
                .all(|(v, expected)| *v == expected);
            let mut lines = Vec::new();
            for version in &after {
                match bucket.get(&bucket.commit(*version)).map_err(fail)? {
                    Some((bytes, _)) => lines.push(bytes),
                    None => break,
                }
            }
            let same = bucket.tag(&bucket.snapshot()).map_err(fail)? == tag;
            if !consecutive || lines.len() != after.len() || !same {
                continue; // Compacted or committed to meanwhile: read again.
            }
            if !after.is_empty() {
                let state = state.get_or_insert_with(|| State::new(self.dir.env()));
                for (bytes, version) in lines.iter().zip(&after) {
                    let text = String::from_utf8_lossy(bytes);
                    log::apply_line(&text, state)
                        .map_err(|error| fail(format!("commit {version} is damaged: {error}")))?;
                }
                state.take_changes();
            }
            return Ok(Read {
                state,
                pending: !after.is_empty(),
                migrated,
                version: after.last().copied().unwrap_or(base),
                snapshot_tag: tag,
            });
        }
        Err(fail(
            "the state kept changing while it was read; try again".to_owned(),
        ))
    }

    fn lock_doc(&self, bucket: &Bucket) -> Result<Option<(LockDoc, String)>, StateError> {
        let found = bucket
            .get(&bucket.lock())
            .map_err(|reason| self.fail("read the lock of", reason))?;
        let Some((bytes, tag)) = found else {
            return Ok(None);
        };
        let doc = serde_json::from_slice(&bytes).map_err(|error| StateError::LockUnreadable {
            path: format!("the lock of {}", self.location()).into(),
            reason: error.to_string(),
            break_hint: self.dir.break_hint(),
        })?;
        Ok(Some((doc, tag.unwrap_or_default())))
    }
}

impl Backend for S3 {
    fn dir(&self) -> &StateDir {
        &self.shared.dir
    }

    fn location(&self) -> String {
        self.shared.location()
    }

    fn load(&self) -> Result<Option<State>, StateError> {
        let shared = &self.shared;
        let read = shared.read(&*shared.bucket("read")?)?;
        if read.migrated {
            return Err(StateError::Migrated {
                env: shared.dir.env().to_owned(),
                backup: shared.location(),
            });
        }
        Ok(read.state)
    }

    fn hold(&self, command: &str) -> Result<(Box<dyn Held>, Option<TakenOver>), StateError> {
        const ATTEMPTS: usize = 3;
        let shared = &self.shared;
        let bucket = shared.bucket("take the lock of")?;
        let fail = |reason| shared.fail("take the lock of", reason);
        let (holder, token) = new_holder(command);
        for _ in 0..ATTEMPTS {
            let current = shared.lock_doc(&bucket)?;
            let (previous, tag) = match current {
                Some((doc, tag)) => match doc.holder {
                    Some(other) if !doc.expired() => {
                        return Err(held_by(
                            &shared.dir,
                            &shared.location(),
                            other,
                            shared.dir.break_hint(),
                        ));
                    }
                    other => (other, Some(tag)),
                },
                None => (None, None),
            };
            let ours = LockDoc {
                holder: Some(holder.clone()),
                token: token.clone(),
                expires_ms: now_ms() + millis(shared.lease),
            };
            let sent = Instant::now();
            let written = bucket
                .put_json(&bucket.lock(), &ours, tag.as_deref())
                .map_err(fail)?;
            let Written::Done(tag) = written else {
                continue; // Someone else wrote the lock meanwhile: look again.
            };
            let lease = Lease::new(shared.lease, sent);
            let taken_over = previous.map(|previous| expired(previous, &shared.location()));
            let lock_tag = Arc::new(Mutex::new(tag));
            let lost = Arc::new(AtomicBool::new(false));
            let renewal = bucket.spawn(renew(
                bucket.clone(),
                ours,
                lock_tag.clone(),
                lease.clone(),
                lost.clone(),
            ));
            let held = S3Held {
                shared: shared.clone(),
                bucket,
                lock_tag,
                lost,
                lease,
                renewal,
                version: 0,
                snapshot_tag: None,
                released: false,
            };
            return Ok((Box::new(held), taken_over));
        }
        Err(fail(
            "the lock changed hands while it was being taken; try again".to_owned(),
        ))
    }

    fn status(&self) -> Result<LockStatus, StateError> {
        let shared = &self.shared;
        let current = shared.lock_doc(&*shared.bucket("read the lock of")?)?;
        Ok(match current {
            Some((doc, _)) => match doc.holder.clone() {
                Some(holder) => LockStatus::Held {
                    holder,
                    liveness: if doc.expired() {
                        Liveness::Expired
                    } else {
                        Liveness::Unknown
                    },
                },
                None => LockStatus::Unlocked,
            },
            None => LockStatus::Unlocked,
        })
    }

    fn break_lock(&self, force: bool) -> Result<Broken, StateError> {
        let shared = &self.shared;
        let bucket = shared.bucket("break the lock of")?;
        let (doc, tag) = match shared.lock_doc(&bucket) {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(Broken::NotLocked),
            Err(StateError::LockUnreadable { .. }) => {
                bucket
                    .delete(&bucket.lock())
                    .map_err(|reason| shared.fail("break the lock of", reason))?;
                return Ok(Broken::Unreadable);
            }
            Err(error) => return Err(error),
        };
        let Some(holder) = doc.holder.clone() else {
            return Ok(Broken::NotLocked);
        };
        if !doc.expired() && !force {
            let hint = format!("{} --force", shared.dir.break_hint());
            return Err(held_by(&shared.dir, &shared.location(), holder, hint));
        }
        let free = LockDoc {
            holder: None,
            ..doc
        };
        match bucket
            .put_json(&bucket.lock(), &free, Some(&tag))
            .map_err(|reason| shared.fail("break the lock of", reason))?
        {
            Written::Done(_) => Ok(Broken::Held(holder)),
            Written::Conflict => Ok(Broken::NotLocked),
        }
    }
}

/// Renews the lease every third of its length; a renewal that finds the lock changed marks it
/// `lost`, and the next write refuses.
async fn renew(
    bucket: Arc<Bucket>,
    mut doc: LockDoc,
    tag: Arc<Mutex<String>>,
    lease: Lease,
    lost: Arc<AtomicBool>,
) {
    loop {
        tokio::time::sleep(lease.length() / 3).await;
        let sent = Instant::now();
        doc.expires_ms = now_ms() + millis(lease.length());
        let current = tag.lock().unwrap_or_else(PoisonError::into_inner).clone();
        match bucket
            .put_json_async(&bucket.lock(), &doc, Some(&current))
            .await
        {
            Ok(Written::Done(new)) => {
                *tag.lock().unwrap_or_else(PoisonError::into_inner) = new;
                lease.renewed(sent);
            }
            Ok(Written::Conflict) => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            // A failed renewal is retried; the lease covers two more tries.
            Err(_) => {}
        }
    }
}

/// The lock of an S3 backend, held.
#[derive(Debug)]
struct S3Held {
    shared: Arc<Shared>,
    bucket: Arc<Bucket>,
    lock_tag: Arc<Mutex<String>>,
    lost: Arc<AtomicBool>,
    lease: Lease,
    renewal: Option<tokio::task::AbortHandle>,
    /// The version the state is at, as this holder last wrote or read it.
    version: u64,
    snapshot_tag: Option<String>,
    released: bool,
}

impl S3Held {
    fn lost(&self) -> StateError {
        StateError::LockLost {
            env: self.shared.dir.env().to_owned(),
            location: self.shared.location(),
            why: "another ict wrote it after this command's lease ran out".to_owned(),
        }
    }

    fn check(&self) -> Result<(), StateError> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(self.lost());
        }
        Ok(())
    }

    /// Replaces the snapshot with `state` at the current version, then removes the commits
    /// it includes.
    fn write(&mut self, state: &State, migrated: bool) -> Result<(), StateError> {
        self.check()?;
        let fail = |reason| self.shared.fail("save", reason);
        let snapshot = Snapshot {
            version: self.version,
            migrated,
            state: serde_json::to_value(state).map_err(|error| fail(error.to_string()))?,
        };
        let written = self
            .bucket
            .put_json(
                &self.bucket.snapshot(),
                &snapshot,
                self.snapshot_tag.as_deref(),
            )
            .map_err(fail)?;
        let Written::Done(tag) = written else {
            return Err(self.lost());
        };
        self.snapshot_tag = Some(tag);
        let included: Vec<u64> = self
            .bucket
            .commits()
            .map_err(fail)?
            .into_iter()
            .filter(|v| *v <= self.version)
            .collect();
        for version in included {
            self.bucket
                .delete(&self.bucket.commit(version))
                .map_err(fail)?;
        }
        Ok(())
    }

    fn unlock(&mut self) -> Result<(), StateError> {
        if std::mem::replace(&mut self.released, true) {
            return Ok(());
        }
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        let tag = self
            .lock_tag
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let free = LockDoc {
            holder: None,
            token: String::new(),
            expires_ms: 0,
        };
        // Not ours any more (broken, taken over): nothing to release.
        self.bucket
            .put_json(&self.bucket.lock(), &free, Some(&tag))
            .map(|_| ())
            .map_err(|reason| self.shared.fail("release the lock of", reason))
    }
}

impl Held for S3Held {
    fn load(&mut self) -> Result<(Option<State>, bool), StateError> {
        let read = self.shared.read(&self.bucket)?;
        self.version = read.version;
        self.snapshot_tag = read.snapshot_tag;
        if read.migrated {
            return Err(StateError::Migrated {
                env: self.shared.dir.env().to_owned(),
                backup: self.shared.location(),
            });
        }
        Ok((read.state, read.pending))
    }

    fn append(&mut self, changes: &[Change]) -> Result<(), StateError> {
        self.check()?;
        let fail = |reason| self.shared.fail("save", reason);
        let line = log::line(changes).map_err(|error| fail(error.to_string()))?;
        let next = self.version + 1;
        match self
            .bucket
            .put(&self.bucket.commit(next), line.into_bytes(), None)
            .map_err(fail)?
        {
            Written::Done(_) => {
                self.version = next;
                Ok(())
            }
            Written::Conflict => Err(self.lost()),
        }
    }

    fn save(&mut self, state: &State, retired: bool) -> Result<(), StateError> {
        self.write(state, retired)
    }

    fn send_guard(&self) -> Option<LeaseGuard> {
        Some(self.lease.guard(&self.lost))
    }

    fn release(mut self: Box<Self>) -> Result<(), StateError> {
        self.unlock()
    }
}

impl Drop for S3Held {
    fn drop(&mut self) {
        let _ = self.unlock();
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, millis)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
