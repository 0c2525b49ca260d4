//! The `ict` executable: hands the arguments to [`ict::run`] and exits with its code.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(ict::run(std::env::args_os()))
}
