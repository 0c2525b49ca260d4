//! Why the project's emulator daemon could not be started, reached or stopped.

use std::path::PathBuf;

/// A daemon error, with a stable code (`ict::emulator::…`) and a hint.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DaemonError {
    /// An `ICT_EMULATOR_*` variable holds a value that means nothing.
    #[error("{0}")]
    #[diagnostic(code(ict::emulator::setting))]
    Setting(String),

    /// A file of the daemon's could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    #[diagnostic(code(ict::emulator::io))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The daemon process could not be started or ended before it was ready.
    #[error("the project's emulator did not start: {reason}")]
    #[diagnostic(
        code(ict::emulator::start),
        help("its log is {}; `ict emulator logs` shows it", log.display())
    )]
    NotStarted { reason: String, log: PathBuf },

    /// Another daemon of the project runs already (a racing start): its starter connects to it.
    #[error("another emulator of this project runs already")]
    #[diagnostic(
        code(ict::emulator::already_running),
        help("`ict emulator status` shows it; its log is {}", log.display())
    )]
    AlreadyRunning { log: PathBuf },

    /// Another command holds the start lock for too long.
    #[error(
        "another ict command has been starting or stopping the project's emulator for {waited} s"
    )]
    #[diagnostic(
        code(ict::emulator::busy),
        help("wait for it, or see `ict emulator status`; the lock is {}", lock.display())
    )]
    Busy { waited: u64, lock: PathBuf },

    /// The daemon's process runs but does not answer.
    #[error("the project's emulator (pid {pid}) does not answer at {url}: {reason}")]
    #[diagnostic(
        code(ict::emulator::unreachable),
        help("`ict emulator stop` stops it; its log is {}", log.display())
    )]
    Unreachable {
        pid: u32,
        url: String,
        reason: String,
        log: PathBuf,
    },

    /// The daemon did not stop, not even when killed.
    #[error(
        "the project's emulator (pid {pid}) is still running {waited} s after it was told to stop"
    )]
    #[diagnostic(code(ict::emulator::stuck), help("stop it with `kill -9 {pid}`"))]
    Stuck { pid: u32, waited: u64 },

    /// The emulator itself failed (a broken account file, a port in use).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Emulator(#[from] crate::emulator::EmulatorError),
}

impl DaemonError {
    /// `DaemonError::Io` for `action` on `path`.
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> DaemonError {
        let path = path.to_path_buf();
        move |source| DaemonError::Io {
            action,
            path,
            source,
        }
    }
}

impl DaemonError {
    /// The error on one line: what, why (its sources) and the hint.
    pub fn one_line(&self) -> String {
        use miette::Diagnostic as _;
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            if !text.contains(&cause_text) {
                text = format!("{text}: {cause_text}");
            }
            source = cause.source();
        }
        if let Some(help) = self.help() {
            text = format!("{text} ({help})");
        }
        text.replace('\n', " ")
    }
}
