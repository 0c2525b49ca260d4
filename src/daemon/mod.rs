//! One emulator per project (DESIGN decision 9): the built-in 1cloud emulator runs as a
//! background daemon tied to the project — the folder holding `.ict/` — started by the first
//! command that needs it and shared by every later command, in any shell, over HTTP with the
//! project's token. It stops on `ict emulator stop`, after an idle period that no command
//! using it holds open, or when its project folder goes away.
//!
//! Its files in `.ict/`: `emulator.json` (the account), `emulator.lock` (who runs it; starters
//! lock it), `emulator.addr` (its URL), `emulator.token` (0600) and `emulator.log`. A file is
//! never trusted alone: the PID it names must run, and the daemon must answer as that PID.
//!
//! May depend on `emulator` (the server it runs), `state` (lock holders and their liveness) and
//! nothing above them. Prints nothing: the daemon logs with `tracing` into `emulator.log`.

mod client;
mod error;
mod files;
mod process;
mod project;
mod serve;
mod settings;
mod start;
mod stop;

pub use client::{Found, Link};
pub use error::DaemonError;
pub use files::random_token;
pub use project::Project;
pub use serve::serve;
pub use settings::{Requested, DEFAULT_IDLE};
pub use start::ensure;
pub use stop::{stop, Stopped};

/// What the project's files and a status request say about its daemon (without starting it
/// and without keeping it alive).
pub fn status(project: &Project) -> Result<Found, DaemonError> {
    let http = client::Http::new()?;
    Ok(client::find(project, &http, false))
}
