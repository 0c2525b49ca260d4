//! Turns raw command-line arguments and the process environment into a validated [`Config`].
//!
//! Raw clap structs stop here: everything after this point works with typed values. May depend
//! on `cli` and `exit`.

use std::ffi::OsString;
use std::time::Duration;

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
    /// `--time-limit`: how long one evaluation of the script may take.
    pub time_limit: Duration,
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
        let invalid = |message: String| {
            let _ = clap::Error::raw(clap::error::ErrorKind::InvalidValue, message + "\n").print();
            1
        };
        let mut vars = IndexMap::new();
        for pair in &cli.global.vars {
            let named = pair
                .split_once('=')
                .filter(|(key, _)| !key.trim().is_empty());
            let Some((key, value)) = named else {
                return Err(invalid(format!("`--var {pair}` must look like KEY=VALUE")));
            };
            vars.insert(key.trim().to_owned(), value.to_owned());
        }
        let time_limit = Some(cli.global.time_limit)
            .filter(|s| *s > 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .ok_or_else(|| {
                invalid(format!(
                    "`--time-limit {}` must be a positive number of seconds",
                    cli.global.time_limit
                ))
            })?;
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ok(Config {
            env: cli.global.env,
            vars,
            time_limit,
            color: !(cli.global.no_color || no_color_env),
            verbosity: cli.global.verbose,
            provider: cli.global.provider,
            command: cli.command,
        })
    }

    /// How to evaluate the script: `--env`, `--var`, `--time-limit` (and `ICT_PATH`).
    pub fn script_options(&self) -> crate::script::Options {
        crate::script::Options {
            time_limit: self.time_limit,
            ..crate::script::Options::new(&self.env, self.vars.clone())
        }
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
        for bad in ["oops", "=x", " =x"] {
            assert_eq!(
                Config::from_args(["ict", "--var", bad, "check", "f.ict"]).err(),
                Some(1),
                "{bad}"
            );
        }
    }

    #[test]
    fn time_limit_is_positive_seconds() {
        let config = Config::from_args(["ict", "--time-limit", "0.5", "check", "f.ict"])
            .expect("valid arguments");
        assert_eq!(
            config.script_options().time_limit,
            Duration::from_millis(500)
        );
        for bad in ["0", "-1", "inf"] {
            assert_eq!(
                Config::from_args(["ict", "--time-limit", bad, "check", "f.ict"]).err(),
                Some(1),
                "{bad}"
            );
        }
    }
}
