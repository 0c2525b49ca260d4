//! Turns raw command-line arguments and the process environment into the project's own
//! validated options: the global [`Config`] and the [`Command`] to run, once (ripgrep's low and
//! high arguments). Raw clap structs stop here: this file and `cli.rs` are the only ones that
//! name clap (a test below checks it); everything after works with typed values (paths,
//! durations, enums) that the REPL and tests can build too. May depend on `cli`, `connect`
//! (the provider choice) and `emulator` (the standalone emulator's settings).

mod command;

use std::ffi::OsString;
use std::time::Duration;

use clap::{CommandFactory as _, Parser as _};
use indexmap::IndexMap;

use crate::cli::{self, Cli};
use crate::connect::ProviderChoice;
use crate::emulator::{DnsQuirk, EmulatorConfig};

pub use command::{
    ApplyOptions, CloudListing, CloudOptions, Command, DestroyOptions, EmulatorCommand, ExecHosts,
    ExecOptions, GraphFormat, InventoryFormat, InventoryOptions, LockCommand, MetricsOptions,
    OutputOptions, PipelineCommand, PipelineLogsOptions, PipelineRunOptions, PipelineStatusOptions,
    PlanOptions, PowerAction, PowerOptions, RollbackOptions, RunOptions, ScheduleCommand, Scope,
    Scrape, SshOptions, StateCommand, TopOptions, WatchOptions,
};

/// Everything a command needs to know about how it was invoked, besides the command itself.
#[derive(Debug, Clone)]
pub struct Config {
    /// The selected environment (`--env`).
    pub env: String,
    /// `--var KEY=VALUE` pairs, in the order given; a later value for a key wins.
    pub vars: IndexMap<String, String>,
    /// `--time-limit`: how long one evaluation of the script may take.
    pub time_limit: Duration,
    /// Whether output may use colour.
    pub color: bool,
    /// Whether log lines carry the time (the project's emulator daemon, whose log is a file).
    pub log_times: bool,
    /// 0 normal, 1 `-v`, 2 `-vv` and more.
    pub verbosity: u8,
    /// `--provider`, if given.
    pub provider: Option<ProviderChoice>,
    /// `--now` (`ICT_NOW`): the time to take as now, if not the clock's.
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

impl Config {
    /// Parses and validates the arguments. On `--help`, `--version` or a usage error the
    /// message is printed here (by clap, the one exception to "only `ui` prints") and the exit
    /// code returned.
    pub fn from_args<I, T>(args: I) -> Result<(Config, Command), u8>
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
        let log_times = matches!(
            &cli.command,
            cli::Command::Emulator(cli::EmulatorCommandArgs {
                command: Some(cli::EmulatorCommand::Daemon { .. }),
                ..
            })
        );
        let now = match &cli.global.now {
            Some(text) => Some(text.parse().map_err(|_| {
                invalid(format!(
                    "`--now {text}` must be an RFC 3339 time, e.g. 2026-12-07T18:00:00Z"
                ))
            })?),
            None => None,
        };
        let command = command(cli.command).map_err(invalid)?;
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let config = Config {
            env: cli.global.env,
            vars,
            time_limit,
            color: !(cli.global.no_color || no_color_env),
            log_times,
            verbosity: cli.global.verbose,
            provider: cli.global.provider.map(|choice| match choice {
                cli::ProviderChoice::Emulator => ProviderChoice::Emulator,
                cli::ProviderChoice::OneCloud => ProviderChoice::OneCloud,
                cli::ProviderChoice::Libvirt => ProviderChoice::Libvirt,
            }),
            now,
        };
        Ok((config, command))
    }

    /// How to evaluate the script: `--env`, `--var`, `--time-limit` (and `ICT_PATH`).
    pub fn script_options(&self) -> crate::script::Options {
        crate::script::Options {
            time_limit: self.time_limit,
            ..crate::script::Options::new(&self.env, self.vars.clone())
        }
    }
}

/// The command and its validated options; the error is the usage message.
fn command(raw: cli::Command) -> Result<Command, String> {
    use cli::Command as Raw;
    Ok(match raw {
        Raw::Check(file) => Command::Check { file: file.file },
        Raw::Graph { file, format } => Command::Graph {
            file: file.file,
            format: match format {
                cli::GraphFormat::Text => GraphFormat::Text,
                cli::GraphFormat::Json => GraphFormat::Json,
                cli::GraphFormat::Dot => GraphFormat::Dot,
            },
        },
        Raw::Repl { file } => Command::Repl { file },
        Raw::Lock(cli::LockCommand::Status(file)) => {
            Command::Lock(LockCommand::Status { file: file.file })
        }
        Raw::Lock(cli::LockCommand::Break(args)) => Command::Lock(LockCommand::Break {
            file: args.file.file,
            force: args.force,
        }),
        Raw::State(state) => Command::State(state_command(state)),
        Raw::Plan(args) => Command::Plan(PlanOptions {
            file: args.file.file,
            json: args.json,
            detailed_exitcode: args.detailed_exitcode,
            out: args.out,
            scope: scope(args.scope),
        }),
        Raw::Apply(args) => Command::Apply {
            apply: apply(args.apply),
            json: args.json,
        },
        Raw::Destroy(args) => Command::Destroy(DestroyOptions {
            file: args.file.file,
            yes: args.yes,
            json: args.json,
            target: args.target,
            parallelism: args.parallelism,
        }),
        Raw::Output(args) => Command::Output(OutputOptions {
            file: args.file.file,
            name: args.name,
            json: args.json,
        }),
        Raw::Run(args) => Command::Run(RunOptions {
            apply: apply(args.apply),
            check: args.check,
            diff: args.diff,
            no_metrics: args.no_metrics,
            ssh: ssh(args.ssh),
        }),
        Raw::Inventory(args) => Command::Inventory(InventoryOptions {
            file: args.file.file,
            format: match args.format {
                cli::InventoryFormat::Yaml => InventoryFormat::Yaml,
                cli::InventoryFormat::Ini => InventoryFormat::Ini,
            },
            list: args.list,
            host: args.host,
            script: args.script,
        }),
        Raw::Exec(args) => Command::Exec(exec(args)?),
        Raw::Power(args) => Command::Power(PowerOptions {
            file: args.file.file,
            action: match args.action {
                cli::PowerAction::Start => PowerAction::Start,
                cli::PowerAction::Stop => PowerAction::Stop,
                cli::PowerAction::Reboot => PowerAction::Reboot,
            },
            limit: args.limit,
        }),
        Raw::Metrics(args) => Command::Metrics(MetricsOptions {
            file: args.file.file,
            scrape: scrape(args.scrape)?,
            interval: seconds("--interval", args.interval, true)?,
            json: args.json,
        }),
        Raw::Top(args) => Command::Top(TopOptions {
            file: args.file.file,
            scrape: scrape(args.scrape)?,
            interval: seconds("--interval", args.interval, false)?,
        }),
        Raw::Cloud(args) => Command::Cloud(CloudOptions {
            what: match args.what {
                cli::CloudCommand::Servers => CloudListing::Servers,
                cli::CloudCommand::Images => CloudListing::Images,
                cli::CloudCommand::Dcs => CloudListing::Dcs,
                cli::CloudCommand::Networks => CloudListing::Networks,
                cli::CloudCommand::Keys => CloudListing::Keys,
                cli::CloudCommand::Dns => CloudListing::Dns,
                cli::CloudCommand::Balance => CloudListing::Balance,
                cli::CloudCommand::Pools => CloudListing::Pools,
                cli::CloudCommand::Volumes => CloudListing::Volumes,
            },
            json: args.json,
            project: args.project,
        }),
        Raw::Watch(args) => Command::Watch(watch(args)?),
        Raw::Pipeline(cli::PipelineCommand::Run(args)) => {
            Command::Pipeline(PipelineCommand::Run(PipelineRunOptions {
                file: args.file.file,
                name: args.name,
                git_ref: args.git_ref,
                stage_timeout: Duration::from_secs(args.stage_timeout.max(1)),
                ssh: ssh(args.ssh),
            }))
        }
        Raw::Pipeline(cli::PipelineCommand::Status(args)) => {
            Command::Pipeline(PipelineCommand::Status(PipelineStatusOptions {
                file: args.file.file,
                name: args.name,
                json: args.json,
            }))
        }
        Raw::Pipeline(cli::PipelineCommand::Logs(args)) => {
            Command::PipelineLogs(PipelineLogsOptions {
                file: args.file.file,
                name: args.name,
                run: args.run,
            })
        }
        Raw::Schedule(cli::ScheduleCommand::List(args)) => {
            Command::Schedule(ScheduleCommand::List {
                file: args.file.file,
                json: args.json,
            })
        }
        Raw::Schedule(cli::ScheduleCommand::Run(args)) => Command::Schedule(ScheduleCommand::Run {
            file: args.file.file,
            name: args.name,
        }),
        Raw::Rollback(args) => Command::Rollback(RollbackOptions {
            file: args.file.file,
            name: args.name,
            to: args.to,
            ssh: ssh(args.ssh),
        }),
        Raw::Emulator(args) => Command::Emulator(emulator(args)),
        Raw::Doctor { json } => Command::Doctor { json },
        Raw::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ict", &mut script);
            Command::Completions {
                script: String::from_utf8_lossy(&script).into_owned(),
            }
        }
    })
}

fn state_command(raw: cli::StateCommand) -> StateCommand {
    use cli::StateCommand as Raw;
    match raw {
        Raw::List { file, json } => StateCommand::List {
            file: file.file,
            json,
        },
        Raw::Forget { file, addresses } => StateCommand::Forget {
            file: file.file,
            addresses,
        },
        Raw::Mv { file, from, to } => StateCommand::Mv {
            file: file.file,
            from,
            to,
        },
        Raw::Import { file, name, id } => StateCommand::Import {
            file: file.file,
            name,
            id,
        },
        Raw::Migrate { file, to_local } => StateCommand::Migrate {
            file: file.file,
            to_local,
        },
        Raw::ForgetHostKey { file, name } => StateCommand::ForgetHostKey {
            file: file.file,
            name,
        },
    }
}

fn scope(raw: cli::ScopeArgs) -> Scope {
    Scope {
        replace: raw.replace,
        target: raw.target,
    }
}

fn ssh(raw: cli::SshArgs) -> SshOptions {
    SshOptions {
        identity: raw.identity,
    }
}

fn apply(raw: cli::ApplyArgs) -> ApplyOptions {
    ApplyOptions {
        file: raw.file,
        yes: raw.yes,
        parallelism: raw.parallelism,
        scope: scope(raw.scope),
    }
}

fn scrape(raw: cli::ScrapeArgs) -> Result<Scrape, String> {
    Ok(Scrape {
        timeout: seconds("--timeout", raw.timeout, false)?,
        limit: raw.limit,
        ssh: ssh(raw.ssh),
    })
}

fn exec(raw: cli::ExecArgs) -> Result<ExecOptions, String> {
    let hosts = match (raw.hosts, raw.file) {
        (Some(list), _) => ExecHosts::Listed {
            list,
            known_hosts: raw.known_hosts,
            user: raw.user,
        },
        (None, Some(script)) => ExecHosts::Declared(script),
        // clap requires one of them; say so anyway rather than panic.
        (None, None) => return Err("`ict exec` needs a script FILE or --hosts FILE".to_owned()),
    };
    Ok(ExecOptions {
        hosts,
        limit: raw.limit,
        parallelism: raw.parallelism,
        timeout: Duration::from_secs(raw.timeout),
        group_output: raw.group_output,
        json: raw.json,
        ssh: ssh(raw.ssh),
        command: raw.command,
    })
}

fn watch(raw: cli::WatchArgs) -> Result<WatchOptions, String> {
    let interval = Duration::try_from_secs_f64(raw.interval)
        .ok()
        .filter(|d| *d >= Duration::from_millis(10))
        .ok_or_else(|| {
            format!(
                "--interval must be a number of seconds of at least 0.01, not {}",
                raw.interval
            )
        })?;
    Ok(WatchOptions {
        file: raw.file.file,
        interval,
        listen: raw.listen,
        token: raw.token,
        history: raw.history,
        drift_every: raw.drift_every,
        scrape: scrape(raw.scrape)?,
    })
}

/// A positive (or, with `zero_ok`, non-negative) number of seconds from the command line.
fn seconds(flag: &str, value: f64, zero_ok: bool) -> Result<Duration, String> {
    match Duration::try_from_secs_f64(value) {
        Ok(d) if zero_ok || !d.is_zero() => Ok(d),
        _ => Err(format!(
            "`{flag} {value}` must be a number of seconds{}",
            if zero_ok { " (0 or more)" } else { " above 0" }
        )),
    }
}

fn emulator(raw: cli::EmulatorCommandArgs) -> EmulatorCommand {
    use cli::EmulatorCommand as Raw;
    match raw.command {
        None => serve(raw.serve),
        Some(Raw::Serve(args)) => serve(args),
        Some(Raw::Start(at)) => EmulatorCommand::Start { project: at.path },
        Some(Raw::Status { project, json }) => EmulatorCommand::Status {
            project: project.path,
            json,
        },
        Some(Raw::Stop(at)) => EmulatorCommand::Stop { project: at.path },
        Some(Raw::Logs { project, follow }) => EmulatorCommand::Logs {
            project: project.path,
            follow,
        },
        Some(Raw::Daemon { dir, port }) => EmulatorCommand::Daemon { dir, port },
    }
}

/// The standalone emulator's settings from its options.
fn serve(raw: cli::EmulatorArgs) -> EmulatorCommand {
    EmulatorCommand::Serve {
        listen: raw.listen,
        settings: Box::new(EmulatorConfig {
            state_file: raw.state,
            token: raw.token,
            task_delay: Duration::from_millis(raw.task_delay),
            latency: Duration::from_millis(raw.latency),
            fail_rate: raw.fail_rate,
            seed: raw.seed,
            fault_delay: Duration::from_millis(raw.fault_delay),
            ssh_backing: raw.ssh,
            sshd: crate::emulator::sshd_program(),
            node_exporter: !raw.no_metrics,
            broken_paths: raw.broken_path,
            dns_quirk: match raw.dns_quirk {
                cli::DnsQuirk::None => DnsQuirk::Off,
                cli::DnsQuirk::Lego => DnsQuirk::Lego,
            },
            ..EmulatorConfig::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_keep_order_and_last_wins() {
        let (config, _) = Config::from_args([
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
        let (config, _) = Config::from_args(["ict", "--time-limit", "0.5", "check", "f.ict"])
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
