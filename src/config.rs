//! Turns raw command-line arguments and the process environment into a validated [`Config`].
//!
//! Raw clap structs stop here: everything after this point works with typed values. May depend
//! on `cli` and `exit`.

use std::ffi::OsString;

use clap::Parser;
use indexmap::IndexMap;

use crate::cli::{Cli, Command};

/// Everything a command needs to know about how it was invoked.
#[derive(Debug)]
pub struct Config {
    /// The selected environment (`--env`).
    pub env: String,
    /// `--var KEY=VALUE` pairs, in the order given; a later value for a key wins.
    pub vars: IndexMap<String, String>,
    /// Whether output may use colour.
    pub color: bool,
    /// 0 normal, 1 `-v`, 2 `-vv` and more.
    pub verbosity: u8,
    /// `--provider`, if given.
    pub provider: Option<crate::connect::ProviderChoice>,
    /// The command to run.
    pub command: Command,
}

impl Config {
    /// Parses the arguments. On `--help`, `--version` or a usage error the message is printed
    /// here (by clap, the one exception to "only `ui` prints") and the exit code returned.
    pub fn from_args<I, T>(args: I) -> Result<Config, u8>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let cli = match Cli::try_parse_from(args) {
            Ok(cli) => cli,
            Err(error) => {
                // Broken pipes while printing help are not worth reporting.
                let _ = error.print();
                return Err(u8::from(error.use_stderr()));
            }
        };
        let mut vars = IndexMap::new();
        for pair in &cli.global.vars {
            let Some((key, value)) = pair.split_once('=') else {
                let _ = clap::Error::raw(
                    clap::error::ErrorKind::InvalidValue,
                    format!("`--var {pair}` must look like KEY=VALUE\n"),
                )
                .print();
                return Err(1);
            };
            vars.insert(key.trim().to_owned(), value.to_owned());
        }
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ok(Config {
            env: cli.global.env,
            vars,
            color: !(cli.global.no_color || no_color_env),
            verbosity: cli.global.verbose,
            provider: cli.global.provider,
            command: cli.command,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_keep_order_and_last_wins() {
        let config = Config::from_args([
            "ict", "--var", "a=1", "--var", "b=x=y", "--var", "a=3", "check", "f.ict",
        ])
        .expect("valid arguments");
        assert_eq!(config.vars.get("a").map(String::as_str), Some("3"));
        assert_eq!(config.vars.get("b").map(String::as_str), Some("x=y"));
        assert_eq!(config.env, "dev");
    }

    #[test]
    fn malformed_var_is_an_error() {
        assert_eq!(
            Config::from_args(["ict", "--var", "oops", "check", "f.ict"]).err(),
            Some(1)
        );
    }
}
