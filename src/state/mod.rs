//! Crash-safe state: what ict owns in each environment, the journal of in-flight operations,
//! pinned SSH host keys and room for later features, in `.ict/<env>/state.json` next to the
//! script, guarded by `.ict/<env>/state.lock` (DESIGN decisions 3–5 and 7) — or, when the
//! script declares `backend(...)`, in a `PostgreSQL` database or an S3 bucket a team shares
//! (`backend.rs`).
//!
//! - [`State`] is the document: pure data with invariant-keeping methods.
//! - [`State::load`] reads it without a lock (plan, inventory, status).
//! - [`Lock::acquire`] takes the lock (failing fast on a live holder, taking over a dead one)
//!   and removes the work folders ([`scratch`]) that crashed commands left;
//!   [`Store::open`] turns a lock into the writable state, which saves atomically after every
//!   journal step and ownership change.
//! - A `Backend` (the local folder, `postgres/`, `s3/`) is where the document and its lock
//!   are kept; the application opens the one the script declares.
//!
//! Invariants: a saved file is always complete (temp file, fsync, rename, fsync dir); the
//! previous good version is kept as `state.json.backup`; files are 0600, directories 0700;
//! nothing secret is ever stored. Depends on `model` (the declared backend), `atomic` and
//! `http` (the S3 client's HTTP client) only.

mod address;
mod backend;
mod dir;
mod document;
mod error;
mod file;
mod holder;
mod host_key;
mod journal;
mod lock;
mod log;
mod migrate;
mod postgres;
mod process;
mod remote;
mod s3;
pub mod scratch;
mod store;
mod timestamp;

pub use address::{Address, AddressError, Kind};
pub(crate) use backend::{backend, Backend};
pub use backend::{LeaseGuard, Local, Opened};
pub use dir::{StateDir, STATE_FOLDER};
pub use document::{Abandoned, ResourceRecord, State, SCHEMA_VERSION};
pub use error::{CorruptState, StateError};
pub use holder::{Liveness, LockHolder};
pub use host_key::{HostKey, HostKeyCheck};
pub use journal::{Action, Journal, JournalEntry, JournalOp, Outcome, Seq};
pub use lock::{Acquired, Broken, Lock, LockStatus, TakenOver};
pub(crate) use migrate::migrate;
pub use migrate::Migrated;
pub use store::{Store, COMPACT_AFTER};
pub use timestamp::Timestamp;
