//! Deploy pipelines: build, test and release an app on the servers on every push, with
//! releases, rollback and notifications — without a CI server.
//!
//! - [`git`]: `git ls-remote` here, and resolving a ref to the one commit a run deploys.
//! - [`remote`]: the shell scripts sent to each host (pure strings).
//! - [`database`]: the database setup script, `DATABASE_URL` and the generated password.
//! - [`run`]: the runner over SSH: the database, stages on every host, then (`activate`) an
//!   atomic switch, restart and [`health`] check, reverted automatically when it fails.
//! - [`record`]: the release history kept in the environment's state.
//! - [`notice`]: the notification of a run's result (through `watch::send`).
//! - [`trigger`]: the `ict watch` side: poll repositories, run when a watched ref moves.
//!
//! May depend on `model`, `ssh`, `state` (records) and `watch` (the notifier). The commands
//! layer builds the list of hosts and owns the state lock; nothing here prints.

mod activate;
pub mod database;
pub mod git;
pub mod health;
pub mod notice;
pub mod record;
pub mod remote;
pub mod run;
pub mod trigger;

pub use git::{RemoteRef, Resolved};
pub use notice::Notice;
pub use record::{Action, History, Outcome, Record};
pub use run::{DbJob, Event, Failure, Host, Job, Report};

/// Why a pipeline could not run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PipelineError {
    #[error("cannot list the refs of {repo}: {reason}")]
    #[diagnostic(
        code(ict::pipeline::git),
        help("ict runs `git ls-remote` on this machine: check the URL, your network and your git credentials")
    )]
    Git { repo: String, reason: String },

    #[error("the repository has no branch or tag `{name}`")]
    #[diagnostic(
        code(ict::pipeline::unknown_ref),
        help("refs in the repository: {known}")
    )]
    UnknownRef { name: String, known: String },

    #[error("ref `{name}` does not deploy to this environment")]
    #[diagnostic(
        code(ict::pipeline::ref_not_allowed),
        help("this environment deploys {refs}; choose another ref or add it to the pipeline's `refs`")
    )]
    RefNotAllowed { name: String, refs: String },

    #[error("no ref to deploy: the environment only has globs ({refs})")]
    #[diagnostic(
        code(ict::pipeline::no_default_ref),
        help("say which one with --ref, e.g. --ref v1.2.0")
    )]
    NoDefaultRef { refs: String },
}
