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
             `{break_hint}` (lock file: {})",
            path.display()
        )
    )]
    Locked {
        env: String,
        path: PathBuf,
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
