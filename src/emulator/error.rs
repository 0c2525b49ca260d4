//! Why the emulator could not start, run or save. Depends on nothing.

use std::io;
use std::path::PathBuf;

/// An emulator failure. Errors of single API requests are answers, not this type.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EmulatorError {
    #[error("invalid emulator setting: {0}")]
    #[diagnostic(
        code(ict::emulator::config),
        help("--fail-rate takes a share between 0 and 1 (e.g. 0.1); --token must not be empty")
    )]
    Config(String),

    #[error("cannot listen on {addr}")]
    #[diagnostic(
        code(ict::emulator::bind),
        help("the port may be in use: pick another with --listen, or port 0 for any free one")
    )]
    Bind {
        addr: String,
        #[source]
        source: io::Error,
    },

    #[error("cannot read the emulator state file {}", path.display())]
    #[diagnostic(
        code(ict::emulator::state_read),
        help("check the file's permissions, or start without --state")
    )]
    StateRead {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Said in one sentence (file, place, reason), as the in-process emulator's failure is
    /// reported inside another command's error.
    #[error("the emulator state file {} is corrupt: {reason}", path.display())]
    #[diagnostic(
        code(ict::emulator::state_parse),
        help("it was edited by hand or written by another version; move it away to start with an empty emulated account")
    )]
    StateParse {
        path: PathBuf,
        reason: serde_json::Error,
    },

    #[error("the emulator state file {} has format {found}, this ict reads format {expected}", path.display())]
    #[diagnostic(
        code(ict::emulator::state_format),
        help("use the ict version that wrote it, or move the file away to start empty")
    )]
    StateFormat {
        path: PathBuf,
        found: u32,
        expected: u32,
    },

    #[error("cannot write the emulator state file {}", path.display())]
    #[diagnostic(
        code(ict::emulator::state_write),
        help("check that the directory exists, is writable and the disk is not full")
    )]
    StateWrite {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("the emulator's HTTP server failed")]
    #[diagnostic(
        code(ict::emulator::serve),
        help("see the cause above; restart the emulator")
    )]
    Serve {
        #[source]
        source: io::Error,
    },
}
