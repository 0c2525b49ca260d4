//! Exit codes, in one place, following Terraform's and the design's conventions.
//!
//! 0 success, 1 error, 2 changes pending (`--detailed-exitcode`), 3 partial failure,
//! 4 steps skipped for a prerequisite this machine lacks, 130 interrupted. Errors know their own code (see `commands::Error::exit_code`).

/// The process exit status of an ict command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything went well.
    Success,
    /// Something failed; a diagnostic was printed.
    Error,
    /// The plan is not empty (only with `--detailed-exitcode`).
    ChangesPending,
    /// Some resources or hosts failed while others succeeded.
    PartialFailure,
    /// Everything this machine can do was done, but steps that need what it lacks (an sshd
    /// for the emulator's servers, `ansible-playbook`) were skipped, with a summary saying how
    /// to install it. 4, like `ansible-playbook`'s "hosts unreachable".
    Skipped,
    /// Stopped by Ctrl-C.
    Interrupted,
}

impl From<ExitCode> for u8 {
    fn from(code: ExitCode) -> u8 {
        match code {
            ExitCode::Success => 0,
            ExitCode::Error => 1,
            ExitCode::ChangesPending => 2,
            ExitCode::PartialFailure => 3,
            ExitCode::Skipped => 4,
            ExitCode::Interrupted => 130,
        }
    }
}
