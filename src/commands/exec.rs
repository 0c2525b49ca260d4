//! `ict exec`: one command on many hosts over SSH. Either the servers a script declares (their
//! addresses from the provider, host keys pinned in ict's state on first contact), or hosts
//! listed in a file (`--hosts`, like `ansible -i`), whose keys must already be in an OpenSSH
//! `known_hosts` file. Both print the same per-host output and recap and exit 0, or 3 when
//! some host failed; on the built-in emulator without an sshd behind its servers, nothing is
//! tried: a summary says how to install it, exit 4.

use std::path::Path;
use std::sync::Arc;

use super::doctor::Skipped;
use super::Error;
use crate::app::hosts;
use crate::app::{ExecJob, Executed, Session};
use crate::config::{Config, ExecHosts, ExecOptions};
use crate::exit::ExitCode;
use crate::model::pattern;
use crate::ssh::{self, FanoutOptions, HostKeyVerifier, KnownHosts};
use crate::ui::{ExecStyle, Ui};

/// The user for `--hosts` lines that name none.
const DEFAULT_USER: &str = "root";

pub(super) fn exec(config: &Config, ui: &Ui, args: &ExecOptions) -> Result<ExitCode, Error> {
    match &args.hosts {
        ExecHosts::Listed {
            list,
            known_hosts,
            user,
        } => exec_listed(ui, args, list, (known_hosts.as_deref(), user.as_deref())),
        ExecHosts::Declared(script) => exec_declared(config, ui, args, script),
    }
}

fn fanout_options(args: &ExecOptions) -> FanoutOptions {
    FanoutOptions {
        parallelism: args.parallelism.max(1),
        command_timeout: args.timeout,
        ..FanoutOptions::default()
    }
}

fn style(args: &ExecOptions) -> ExecStyle {
    if args.json {
        ExecStyle::Json
    } else if args.group_output {
        ExecStyle::Grouped
    } else {
        ExecStyle::Prefixed
    }
}

fn exit_code(failed: bool) -> ExitCode {
    if failed {
        ExitCode::PartialFailure
    } else {
        ExitCode::Success
    }
}

/// `ict exec --hosts FILE`: no script, no provider, no state; host keys are checked against
/// `--known-hosts` (default `~/.ssh/known_hosts`) and never learned.
fn exec_listed(
    ui: &Ui,
    args: &ExecOptions,
    list: &Path,
    (known_hosts, user): (Option<&Path>, Option<&str>),
) -> Result<ExitCode, Error> {
    let user = user.unwrap_or(DEFAULT_USER);
    let all = ssh::load_host_list(list, user)?;
    let names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
    let selected = pattern::select_names(&args.limit, &names);
    if selected.is_empty() {
        return Err(Error::LimitMatchesNothing {
            limit: args.limit.clone(),
            what: "host",
            file: list.to_path_buf(),
        });
    }
    let targets: Vec<ssh::Target> = all
        .iter()
        .filter(|t| selected.contains(&t.name.as_str()))
        .cloned()
        .collect();
    let known_hosts = match known_hosts {
        Some(path) => path.to_path_buf(),
        None => std::env::var_os("HOME")
            .map(std::path::PathBuf::from)
            .unwrap_or_default()
            .join(".ssh/known_hosts"),
    };
    let verifier: Arc<dyn HostKeyVerifier> = Arc::new(KnownHosts::load(&known_hosts).map_err(
        |error| Error::KnownHosts {
            path: known_hosts.clone(),
            error,
        },
    )?);
    let auth = hosts::auth_without_script(args.ssh.identity.as_deref())?;
    let command = args.command.join(" ");
    let options = fanout_options(args);
    let runtime = crate::app::runtime()?;
    let results = runtime.block_on(ssh::exec_many(
        &targets, &auth, verifier, &command, &options,
    ));
    let failed = ui.exec_results(&results, &[], style(args));
    if changed_keys(&results).next().is_some() {
        ui.note(&format!(
            "hint: a changed host key may mean a rebuilt server, or someone intercepting the \
             connection; if it was rebuilt, replace its line in {}",
            known_hosts.display()
        ));
    }
    Ok(exit_code(failed))
}

/// The names of the hosts refused for a changed host key.
fn changed_keys(results: &[ssh::HostResult]) -> impl Iterator<Item = &str> {
    results
        .iter()
        .filter(|r| matches!(r.outcome, Err(ssh::SshError::HostKeyChanged { .. })))
        .map(|r| r.target.name.as_str())
}

/// `ict exec FILE`: the servers the script declares.
fn exec_declared(
    config: &Config,
    ui: &Ui,
    args: &ExecOptions,
    script: &Path,
) -> Result<ExitCode, Error> {
    let (project, pending, evaluated) = super::open(config, ui, script)?;
    let selected: Vec<String> = pattern::select(&args.limit, &evaluated.desired)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if selected.is_empty() {
        return Err(Error::LimitMatchesNothing {
            limit: args.limit.clone(),
            what: "server",
            file: script.to_path_buf(),
        });
    }
    let auth = hosts::auth(args.ssh.identity.as_deref(), &evaluated.desired, script)?;
    let command = args.command.join(" ");
    let runtime = crate::app::runtime()?;
    runtime.block_on(async {
        let conn = pending.connect().await?;
        if let Some(why) = conn.ssh_unavailable() {
            let servers = if selected.len() == 1 {
                "server"
            } else {
                "servers"
            };
            let step = format!("`{command}` on {} {servers}", selected.len());
            let skipped = Skipped::no_ssh(step, why);
            conn.close().await;
            ui.skipped(&[skipped], args.json);
            return Ok(ExitCode::Skipped);
        }
        let session = Session {
            project: &project,
            conn: &conn,
            evaluated: &evaluated,
        };
        let job = ExecJob {
            servers: selected,
            command: command.clone(),
            auth,
            options: fanout_options(args),
        };
        let ran = session.exec(&job).await;
        conn.close().await;
        let Executed {
            results,
            missing,
            notes,
        } = ran?;
        for note in &notes {
            ui.note(note);
        }
        let missing: Vec<(&str, &str)> =
            missing.iter().map(|(n, why)| (n.as_str(), *why)).collect();
        let failed = ui.exec_results(&results, &missing, style(args));
        for name in changed_keys(&results) {
            ui.note(&format!(
                "hint: if {name} was rebuilt on purpose, forget its old key with `ict state \
                 forget-host-key {} {name}`; otherwise someone may be intercepting the connection",
                script.display()
            ));
        }
        Ok(exit_code(failed))
    })
}
