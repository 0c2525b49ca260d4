//! Errors of the state layer. Each variant has a stable code (`ict::state::…`) and a help line
//! that says what to do next; none of them ever carries a secret.

use std::io;
use std::path::{Path, PathBuf};

use miette::{Diagnostic, NamedSource, SourceSpan};

use super::holder::{Liveness, LockHolder};
use super::journal::Seq;

/// Why reading, writing or locking a state failed.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum StateError {
    /// Another live ict process holds the lock (or its liveness cannot be checked).
    #[error("the state of environment `{env}` is locked by {holder}, {liveness}")]
    #[diagnostic(
        code(ict::state::locked),
        help(
            "wait for that command to finish; if it is no longer running, break the lock with \
             `{break_hint}` (lock: {lock})"
        )
    )]
    Locked {
        env: String,
        /// Where the lock is: the lock file, or the backend's lock.
        lock: String,
        holder: Box<LockHolder>,
        liveness: Liveness,
        break_hint: String,
    },

    /// The lock file exists but cannot be read as a lock.
    #[error("the lock file {} cannot be read: {reason}", path.display())]
    #[diagnostic(
        code(ict::state::locked),
        help("if no other ict is running, break the lock with `{break_hint}`")
    )]
    LockUnreadable {
        path: PathBuf,
        reason: String,
        break_hint: String,
    },

    /// The state file is not valid JSON or does not have the expected shape.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Corrupt(Box<CorruptState>),

    /// The state file was written by a newer ict.
    #[error(
        "the state file {} has schema version {found}, newer than the {supported} this ict supports",
        path.display()
    )]
    #[diagnostic(
        code(ict::state::version),
        help("upgrade ict to work with this state; an older ict must not rewrite it")
    )]
    Version {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    /// The state file belongs to another environment than the one asked for.
    #[error(
        "the state file {} belongs to environment `{found}`, not `{expected}`",
        path.display()
    )]
    #[diagnostic(
        code(ict::state::corrupt),
        help("state files live in .ict/<env>/; was the directory copied or renamed?")
    )]
    EnvMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },

    /// The state file is gone but its backup is there: refuse to start from nothing, which
    /// would create every resource a second time.
    #[error("the state file {} is missing but its backup {} exists", path.display(), backup.display())]
    #[diagnostic(
        code(ict::state::missing),
        help(
            "restore the backup (`mv {} {}`), or delete it too if you really want to start \
             from an empty state",
            backup.display(),
            path.display()
        )
    )]
    Missing { path: PathBuf, backup: PathBuf },

    /// An environment name that cannot be used as a directory name.
    #[error("`{env}` is not a valid environment name")]
    #[diagnostic(
        code(ict::state::env_name),
        help("use letters, digits, `-`, `_` and `.` (not only dots), at most 64 characters")
    )]
    EnvName { env: String },

    /// A journal entry that does not exist (finished twice, or never begun).
    #[error("journal entry {seq} does not exist")]
    #[diagnostic(
        code(ict::state::journal),
        help("this is a bug in ict: every entry is finished exactly once")
    )]
    UnknownSeq { seq: Seq },

    /// A state that `ict state migrate` moved to another backend: what is left is a read-only
    /// copy, and starting from nothing here would create every resource a second time.
    #[error("the state of environment `{env}` was moved to another backend; {backup} is a read-only copy")]
    #[diagnostic(
        code(ict::state::migrated),
        help(
            "declare that backend(...) in the script again, or bring the state back with \
             `ict state migrate FILE --to-local` while it is declared; delete the copy to start \
             from an empty state"
        )
    )]
    Migrated { env: String, backup: String },

    /// `ict state migrate` into a backend that already holds a state of the environment.
    #[error("{location} already holds a state of environment `{env}`; nothing was migrated")]
    #[diagnostic(
        code(ict::state::migrate),
        help("compare the two states; remove the one you do not want, then migrate again")
    )]
    TargetHoldsState { env: String, location: String },

    /// `ict state migrate` in a script that declares no `backend(...)`.
    #[error("the script declares no backend(...): the state of environment `{env}` is already in .ict/{env}/")]
    #[diagnostic(
        code(ict::state::migrate),
        help(
            "declare where the state should go, e.g. \
             backend(\"postgres\", #{{ url: secret(\"ICT_STATE_URL\") }}), then migrate again"
        )
    )]
    NoBackend { env: String },

    /// `ict state migrate` from a backend that holds no state of the environment.
    #[error("{location} holds no state of environment `{env}`; nothing was migrated")]
    #[diagnostic(code(ict::state::migrate))]
    NothingToMigrate { env: String, location: String },

    /// This process held the lock of a shared backend, but its lease ran out and another ict
    /// took it over (or someone broke it): writing now could lose that one's updates.
    #[error("lost the lock of environment `{env}` in {location}: {why}")]
    #[diagnostic(
        code(ict::state::lock_lost),
        help(
            "nothing more was written; run the command again: operations in flight are checked \
             against the cloud"
        )
    )]
    LockLost {
        env: String,
        location: String,
        why: String,
    },

    /// A shared backend could not be reached or refused a request.
    #[error("cannot {action} the state in {location}: {reason}")]
    #[diagnostic(
        code(ict::state::backend),
        help("check that the server is reachable and the credentials given to backend(...) are valid")
    )]
    Backend {
        action: &'static str,
        location: String,
        reason: String,
    },

    /// A `backend(...)` declaration ict cannot use.
    #[error("backend(\"{kind}\"): {message}")]
    #[diagnostic(code(ict::state::backend_config))]
    Config {
        kind: String,
        message: String,
        #[help]
        help: Option<String>,
    },

    /// A file-system operation failed.
    #[error("cannot {action} {}", path.display())]
    #[diagnostic(
        code(ict::state::io),
        help("check that the directory exists, is writable by you and the disk is not full")
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl StateError {
    /// A corrupt-file error at 1-based `line` and `column` of `text` (the content of `path`).
    pub(crate) fn corrupt(
        path: &Path,
        text: &str,
        line: usize,
        column: usize,
        error: &serde_json::Error,
        help: String,
    ) -> Self {
        let line_start: usize = text
            .split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum();
        let offset = (line_start + column.saturating_sub(1)).min(text.len());
        // serde_json's message ends with " at line L column C"; the diagnostic says that itself.
        let message = error.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(head, _)| head)
            .to_owned();
        StateError::Corrupt(Box::new(CorruptState {
            path: path.to_path_buf(),
            line,
            column,
            message,
            help,
            source_code: NamedSource::new(path.display().to_string(), text.to_owned()),
            span: (offset, usize::from(offset < text.len())).into(),
        }))
    }

    /// Wraps an I/O error with what ict was doing and on which file.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StateError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Where and why a state file is corrupt (boxed in [`StateError::Corrupt`]).
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("the state file {} is corrupt at line {line}, column {column}: {message}", path.display())]
#[diagnostic(code(ict::state::corrupt))]
pub struct CorruptState {
    pub path: PathBuf,
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column of the problem.
    pub column: usize,
    pub message: String,
    #[help]
    pub help: String,
    #[source_code]
    pub source_code: NamedSource<String>,
    #[label("here")]
    pub span: SourceSpan,
}
