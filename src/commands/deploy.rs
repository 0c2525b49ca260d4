//! `ict run` (alias `deploy`), `ict inventory` and `ict power`: the commands that reach into
//! the servers once they exist (`ict exec` is in `exec`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::show_warnings;
use super::{metrics, Error};
use crate::ansible;
use crate::ansible::ControlDir;
use crate::app::doctor::{self, Skipped};
use crate::app::hosts::{self, Host};
use crate::app::{Converge, Mode, Powered, Project, Session};
use crate::atomic::atomic_write;
use crate::config::{
    Config, InventoryFormat, InventoryOptions, PowerAction, PowerOptions, RunOptions,
};
use crate::connect::Connection;
use crate::exit::ExitCode;
use crate::inventory::{self, Inventory, Scope};
use crate::model::{pattern, Desired};
use crate::provider::PowerOp;
use crate::reconcile;
use crate::shell;
use crate::ssh::{self, FanoutOptions, HostKeyVerifier};
use crate::state::{State, StateDir, Store};
use crate::ui::{self, Ui};

/// How long to wait for a new server's sshd.
const SSH_WAIT: Duration = Duration::from_secs(180);
/// How long to wait for an emulated server's sshd only to pin its host key.
const EMULATOR_SSH_WAIT: Duration = Duration::from_secs(5);

pub(super) fn run(config: &Config, ui: &Ui, args: &RunOptions) -> Result<ExitCode, Error> {
    let script = &args.apply.file;
    let project = Project::new(config, script);
    let pending = project.connect();
    let evaluated = show_warnings(ui, project.evaluate()?);
    let runtime = crate::app::runtime()?;
    runtime.block_on(async {
        let conn = pending.connect().await?;
        ui.out(&format!("{}\n\n", conn.banner));
        let opened = lacking(&conn, &evaluated.desired)
            .and_then(|lacking| Ok((lacking, super::locked(ui, &project, "run")?)));
        let (lacking, store) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                conn.close().await;
                return Err(e);
            }
        };
        for skipped in &lacking {
            ui.will_skip(skipped);
        }
        let options = reconcile::Options {
            parallelism: args.apply.parallelism,
            ..reconcile::Options::default()
        };
        let session = Session {
            project: &project,
            conn: &conn,
            evaluated: &evaluated,
        };
        let job = Converge {
            desired: &evaluated.desired,
            only: None,
            scope: &args.apply.scope,
            saved: None,
            // --check shows the plan and changes nothing in the cloud; the playbooks then run
            // in check mode on the servers that exist.
            mode: Mode {
                yes: args.apply.yes,
                dry_run: args.check,
                run: true,
                ..Mode::default()
            },
            options,
        };
        let (mut store, result) = super::infra::converge(session, ui, false, &job, store).await;
        let result = match result {
            Ok(ExitCode::Success) => {
                // The servers exist: Ansible can use `.ict/<env>/inventory` from now on.
                if !args.check {
                    if let Err(e) = inventory_script(config, script) {
                        ui.note(&format!("warning: {e}"));
                    }
                }
                configure(session, ui, &mut store, args, &lacking).await
            }
            other => other,
        };
        let result = match result {
            Ok(code @ (ExitCode::Success | ExitCode::Skipped))
                if !args.no_metrics && !evaluated.desired.servers.is_empty() =>
            {
                let look = metrics::Look {
                    session: Session {
                        project: &project,
                        conn: &conn,
                        evaluated: &evaluated,
                    },
                    ui,
                    ssh: &args.ssh,
                };
                look.show_all(&mut store).await;
                Ok(code)
            }
            other => other,
        };
        let closed = store.close();
        conn.close().await;
        let code = result?;
        closed?;
        if code == ExitCode::Skipped {
            ui.skipped(&lacking, false);
        }
        Ok(code)
    })
}

/// What `ict run` cannot do on this machine, found before the cloud changes: the playbooks need
/// `ansible-playbook` on `PATH`, and logging in to the emulator's servers needs an sshd behind
/// them. On the emulator those steps are skipped (exit 4, with a summary); against the real
/// cloud a missing `ansible-playbook` is an error before anything is created.
fn lacking(conn: &Connection, desired: &Desired) -> Result<Vec<Skipped>, Error> {
    let count = desired.playbooks.len();
    if count == 0 {
        return Ok(Vec::new());
    }
    let playbooks = format!("{count} playbook{}", if count == 1 { "" } else { "s" });
    let mut lacking = Vec::new();
    if let Some(why) = conn.ssh_unavailable() {
        let step = format!("waiting for SSH, pinning host keys and {playbooks}");
        lacking.push(Skipped::no_ssh(step, why));
    }
    if doctor::ansible_playbook().is_none() {
        if !conn.is_emulator() {
            return Err(Error::NoAnsible {
                playbooks,
                install: doctor::INSTALL_ANSIBLE,
            });
        }
        lacking.push(Skipped::no_ansible(playbooks));
    }
    Ok(lacking)
}

/// After apply: render the inventory, wait for SSH, pin host keys and run the playbooks — or
/// only as much of that as this machine allows (`lacking`, see [`lacking`]): then
/// [`ExitCode::Skipped`]. Without playbooks, host keys are still pinned (so that Ansible can
/// use `.ict/<env>/inventory` at once), for the servers that declare SSH keys; a server that
/// cannot be reached then is a note, not a failure.
async fn configure(
    session: Session<'_>,
    ui: &Ui,
    store: &mut Store,
    args: &RunOptions,
    lacking: &[Skipped],
) -> Result<ExitCode, Error> {
    let (conn, desired, script) = (
        session.conn,
        &session.evaluated.desired,
        session.project.script.as_path(),
    );
    let playbooks = !desired.playbooks.is_empty();
    // The emulator's servers answer as soon as they are Active: a short wait is enough there.
    let within = if conn.is_emulator() && !playbooks {
        EMULATOR_SSH_WAIT
    } else {
        SSH_WAIT
    };
    let fleet = session.fleet_addressed(store.state(), within).await?;
    // The inventory lives in a private folder next to the state, removed afterwards (or, after
    // a crash, by the next command that takes the lock). It is rendered first, so that its
    // problems (a secret not set) show before any wait.
    let dir = store.dir().clone();
    let work = crate::state::scratch::create(&dir, "ansible-")?;
    let inventory_file = if playbooks {
        Some(write_inventory(
            ui,
            work.path(),
            (desired, &fleet),
            &dir,
            args.ssh.identity.as_deref(),
            script,
        )?)
    } else {
        None
    };
    if conn.ssh_unavailable().is_some() {
        return Ok(if playbooks {
            ExitCode::Skipped
        } else {
            ExitCode::Success
        });
    }
    let auth = match hosts::auth(args.ssh.identity.as_deref(), desired, script) {
        Ok(auth) => auth,
        Err(_) if !playbooks => return Ok(ExitCode::Success),
        Err(e) => return Err(e),
    };
    let targets: Vec<ssh::Target> = fleet
        .iter()
        .filter(|h| h.power_on)
        .filter(|h| {
            playbooks
                || desired
                    .servers
                    .get(&h.name)
                    .is_some_and(|s| !s.ssh_keys.is_empty())
        })
        .filter_map(Host::target)
        .collect();
    if targets.is_empty() && !playbooks {
        return Ok(ExitCode::Success);
    }
    ui.out(&format!(
        "\nWaiting for SSH on {} server(s)…\n",
        targets.len()
    ));
    let mut waits = tokio::task::JoinSet::new();
    for target in targets.clone() {
        waits.spawn(async move {
            let result = ssh::wait_for_ssh(&target, within).await;
            (target, result)
        });
    }
    let mut unreachable = Vec::new();
    while let Some(joined) = waits.join_next().await {
        if let Ok((target, Err(e))) = joined {
            unreachable.push(Error::SshWait {
                target: target.to_string(),
                error: e,
            });
        }
    }
    // First contact pins each host key (later contacts must present the same key).
    let pins = hosts::pins(store.state(), &fleet);
    let verifier: Arc<dyn HostKeyVerifier> = pins.clone();
    let options = FanoutOptions {
        parallelism: args.apply.parallelism.max(1),
        ..FanoutOptions::default()
    };
    // The same login finds each host's Python for Ansible (see `ansible::python`).
    let command = if playbooks {
        ansible::python::discovery_command()
    } else {
        "true".to_owned()
    };
    let results = ssh::exec_many(&targets, &auth, verifier, &command, &options).await;
    hosts::save_pins(store, &pins, &fleet)?;
    if playbooks {
        write_pythons(work.path(), &results)?;
    }
    unreachable.extend(results.into_iter().filter_map(|r| {
        let target = r.target.to_string();
        r.outcome.err().map(|error| Error::Login { target, error })
    }));
    unreachable.dedup_by(|a, b| a.to_string() == b.to_string());
    if !playbooks {
        for problem in &unreachable {
            ui.note(&format!("note: host key not pinned: {problem}"));
        }
        return Ok(ExitCode::Success);
    }
    if let Some(problem) = unreachable.into_iter().next() {
        return Err(problem);
    }
    if !lacking.is_empty() {
        return Ok(ExitCode::Skipped);
    }
    let Some(inventory_file) = inventory_file else {
        return Ok(ExitCode::Success);
    };
    // A dry run (--check) created nothing: the playbooks run on the servers that exist.
    let missing: Vec<&str> = fleet
        .iter()
        .filter(|h| h.ip.is_none())
        .map(|h| h.name.as_str())
        .collect();
    if args.check && !missing.is_empty() {
        ui.note(&format!(
            "--check: the playbooks skip {} (not created yet)",
            missing.join(", ")
        ));
    }
    run_playbooks(
        ui,
        (desired, &fleet, &missing),
        (store.state(), &dir),
        (work.path(), &inventory_file),
        args,
    )
    .await
}

/// Runs the playbooks (see [`ansible_runs`]) with the settings ict chooses, each run's output
/// and recaps shown as they come; stops after a run in which a host failed.
async fn run_playbooks(
    ui: &Ui,
    (desired, fleet, missing): (&Desired, &[Host], &[&str]),
    (state, dir): (&State, &StateDir),
    (work, inventory_file): (&Path, &Path),
    args: &RunOptions,
) -> Result<ExitCode, Error> {
    let control = ControlDir::new(work).map_err(|error| Error::Write {
        what: "the SSH control folder".to_owned(),
        error,
    })?;
    let user = ansible::settings::UserConfig::find(
        &std::env::current_dir().unwrap_or_default(),
        std::env::vars(),
    );
    let facts = ansible::FactCache::new(
        std::path::absolute(dir.path().join("facts")).unwrap_or_else(|_| dir.path().join("facts")),
    );
    let keys = fleet
        .iter()
        .filter_map(|h| {
            let key = state.host_key(&h.address)?;
            Some((h.name.clone(), key.fingerprint.clone()))
        })
        .collect();
    if let Err(error) = facts.forget_other_machines(&keys) {
        ui.note(&format!("warning: Ansible's fact cache: {error}"));
    }
    let mitogen = if user.sets_strategy() {
        None
    } else {
        let mitogen = ansible::mitogen::find().await;
        if let ansible::mitogen::Mitogen::Unsupported { why, .. } = &mitogen {
            ui.note(&format!(
                "note: Ansible runs without Mitogen: {why} (`{}=1` uses it anyway)",
                ansible::mitogen::SWITCH
            ));
        }
        mitogen.plugins().map(Path::to_path_buf)
    };
    let settings = |hosts| {
        ansible::settings::Settings {
            hosts,
            control_dir: control.path().to_owned(),
            fact_cache: facts.ansible_dir(),
            local_temp: work.join("tmp"),
            mitogen: mitogen.clone(),
        }
        .env(&user)
    };
    let runs = ansible_runs(
        desired,
        fleet,
        missing,
        (work, inventory_file),
        args,
        settings,
    )?;
    let mut failed = false;
    for run in runs {
        let names: Vec<&str> = run.playbooks.iter().map(|p| p.name.as_str()).collect();
        let on: Vec<String> = names
            .iter()
            .filter_map(|name| desired.playbooks.iter().find(|p| p.name == *name))
            .map(|p| format!("{} on `{}`", p.name, p.hosts))
            .collect();
        let s = if on.len() == 1 { "" } else { "s" };
        ui.out(&format!("\nPlaybook{s} {}\n", on.join(", ")));
        let outcome = ansible::run(&run, work, |line| ui.out(&format!("{line}\n"))).await;
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                control.close().await;
                return Err(e.into());
            }
        };
        ui.playbook_recaps(&names, &outcome);
        failed |= !outcome.success();
        if failed {
            break;
        }
    }
    control.close().await;
    Ok(if failed {
        ExitCode::PartialFailure
    } else {
        ExitCode::Success
    })
}

/// The `ansible-playbook` runs for the declared playbooks, in declaration order: one for each
/// stretch of playbooks with the same tags (usually all of them), each playbook imported with
/// its own vars and hosts; one of its own for each `separate` playbook. A playbook on no host
/// (with `--check`, before the servers exist) is left out. `settings` gives the environment of
/// a run on so many hosts.
fn ansible_runs(
    desired: &Desired,
    fleet: &[Host],
    missing: &[&str],
    (work, inventory): (&Path, &Path),
    args: &RunOptions,
    settings: impl Fn(usize) -> Vec<(String, String)>,
) -> Result<Vec<ansible::Run>, Error> {
    let resolve = hosts::resolver(fleet);
    // Each run with the hosts it reaches.
    let mut runs: Vec<(ansible::Run, Vec<&str>)> = Vec::new();
    for declared in &desired.playbooks {
        let mut vars = serde_json::Map::new();
        for (k, v) in &declared.vars {
            vars.insert(
                k.clone(),
                inventory::resolve_value(v, &|n: &str| std::env::var(n).ok(), &resolve)
                    .map_err(|name| Error::SecretNotSet { name })?,
            );
        }
        let selected: Vec<&str> = pattern::select(&declared.hosts, desired)
            .into_iter()
            .filter(|h| !missing.contains(h))
            .collect();
        if selected.is_empty() {
            continue;
        }
        let playbook = ansible::Playbook {
            name: declared.name.clone(),
            file: playbook_file(work, declared)?,
            vars,
            only: Some(selected.iter().map(|h| (*h).to_owned()).collect()),
        };
        match runs.last_mut() {
            Some((run, hosts))
                if run.imported && !declared.separate && run.tags == declared.tags =>
            {
                hosts.extend(selected);
                run.playbooks.push(playbook);
            }
            _ => runs.push((
                ansible::Run {
                    playbooks: vec![playbook],
                    imported: !declared.separate,
                    inventory: inventory.to_owned(),
                    // A separate playbook's own pattern, as Ansible reads it.
                    limit: std::iter::once(declared.hosts.clone())
                        .chain(missing.iter().map(|m| format!("!{m}")))
                        .collect::<Vec<_>>()
                        .join(":"),
                    tags: declared.tags.clone(),
                    check: args.check,
                    diff: args.diff,
                    env: Vec::new(),
                },
                selected,
            )),
        }
    }
    Ok(runs
        .into_iter()
        .map(|(mut run, hosts)| {
            let hosts: Vec<&str> = desired
                .servers
                .keys()
                .map(String::as_str)
                .filter(|name| hosts.contains(name))
                .collect();
            if run.imported {
                run.limit = hosts.join(",");
            }
            // A playbook on every host of its run needs no condition.
            for playbook in &mut run.playbooks {
                if !run.imported
                    || playbook
                        .only
                        .as_ref()
                        .is_some_and(|o| o.len() == hosts.len())
                {
                    playbook.only = None;
                }
            }
            run.env = settings(hosts.len());
            run
        })
        .collect())
}

/// The file Ansible runs for `playbook`: the script's own file, or a playbook shipped inside ict
/// (`ict/playbooks/NAME.yml`) written into the private work folder.
fn playbook_file(work: &Path, playbook: &crate::model::Playbook) -> Result<PathBuf, Error> {
    let Some(text) = crate::script::stdlib_playbook(&playbook.path) else {
        return Ok(
            std::path::absolute(&playbook.resolved).unwrap_or_else(|_| playbook.resolved.clone())
        );
    };
    let io = |error| Error::Write {
        what: playbook.path.clone(),
        error,
    };
    let folder = work.join("playbooks");
    std::fs::create_dir_all(&folder).map_err(io)?;
    let file = folder.join(format!("{}.yml", playbook.name));
    atomic_write(&file, text.as_bytes(), 0o600).map_err(io)?;
    Ok(file)
}

/// Writes `hosts.yml` and 0600 `host_vars/`, `group_vars/` files holding secret variables;
/// warns about hosts with no address yet.
fn write_inventory(
    ui: &Ui,
    work: &Path,
    (desired, fleet): (&Desired, &[Host]),
    dir: &StateDir,
    identity: Option<&Path>,
    script: &Path,
) -> Result<PathBuf, Error> {
    let resolve = hosts::resolver(fleet);
    let mut inv = Inventory::build(desired, &resolve);
    ui.inventory_warnings(&inv);
    add_ssh_vars(&mut inv, dir, identity, desired, script)?;
    for (name, value) in ansible::settings::HOST_VARS {
        inv.all_vars.insert(name.to_owned(), value.into());
    }
    let io = |error| Error::Write {
        what: "the inventory".to_owned(),
        error,
    };
    let path = work.join("hosts.yml");
    atomic_write(&path, inventory::yaml(&inv).as_bytes(), 0o600).map_err(io)?;
    let secrets = inv
        .resolve_secrets(&|n: &str| std::env::var(n).ok(), &resolve)
        .map_err(|name| Error::SecretNotSet { name })?;
    for (scope, owner, vars) in secrets {
        let folder = work.join(if scope == Scope::Host {
            "host_vars"
        } else {
            "group_vars"
        });
        std::fs::create_dir_all(&folder).map_err(io)?;
        let text = vars.iter().fold(String::new(), |mut text, (k, v)| {
            let _ = writeln!(text, "{k}: {v}");
            text
        });
        atomic_write(&folder.join(format!("{owner}.yml")), text.as_bytes(), 0o600).map_err(io)?;
    }
    Ok(path)
}

/// Each host's Python, as its login before Ansible found it, at the head of its discovery list:
/// a line of `host_vars/<host>.yml` beside the inventory (after the host's secrets, if any:
/// Ansible reads one of that file and a folder of that name, not both).
fn write_pythons(work: &Path, results: &[ssh::HostResult]) -> Result<(), Error> {
    let io = |error| Error::Write {
        what: "the inventory's host variables".to_owned(),
        error,
    };
    for result in results {
        let Some(found) = result
            .outcome
            .as_ref()
            .ok()
            .and_then(|out| ansible::python::discovered(&out.stdout))
        else {
            continue;
        };
        let folder = work.join("host_vars");
        std::fs::create_dir_all(&folder).map_err(io)?;
        let file = folder.join(format!("{}.yml", result.target.name));
        let mut text = std::fs::read_to_string(&file).unwrap_or_default();
        let list = serde_json::to_string(&ansible::python::fallback(found)).unwrap_or_default();
        let _ = writeln!(text, "{}: {list}", ansible::python::FALLBACK_VAR);
        atomic_write(&file, text.as_bytes(), 0o600).map_err(io)?;
    }
    Ok(())
}

/// `all: vars:` that make Ansible check host keys against ict's `known_hosts` and log in with
/// the same key as ict (a private one: see [`private_key`]).
fn add_ssh_vars(
    inv: &mut Inventory,
    dir: &StateDir,
    identity: Option<&Path>,
    desired: &Desired,
    script: &Path,
) -> Result<(), Error> {
    let known_hosts = hosts::known_hosts_file(dir);
    let known_hosts = std::path::absolute(&known_hosts).unwrap_or(known_hosts);
    inv.all_vars.insert(
        "ansible_ssh_common_args".into(),
        format!(
            "-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes",
            known_hosts.display()
        )
        .into(),
    );
    if let Some(key) = hosts::identity_file(identity, desired, script) {
        let key = private_key(dir, &key).map_err(|error| Error::PrivateKey {
            path: key.clone(),
            error,
        })?;
        let key = std::path::absolute(&key).unwrap_or(key);
        inv.all_vars.insert(
            "ansible_ssh_private_key_file".into(),
            key.display().to_string().into(),
        );
    }
    Ok(())
}

/// The private key file to name in inventories: `key` itself when only its owner can read it;
/// else a 0600 copy kept in the environment's state folder (`.ict/<env>/identity`, rewritten
/// atomically when the key changes), because OpenSSH refuses a key that others can read (a key
/// checked out from git is 0644) and ict does not change the user's own files.
fn private_key(dir: &StateDir, key: &Path) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let Ok(meta) = std::fs::metadata(key) else {
        return Ok(key.to_owned());
    };
    let open_to_others = meta.permissions().mode() & 0o077 != 0;
    if !open_to_others {
        return Ok(key.to_owned());
    }
    let text = std::fs::read_to_string(key)?;
    let copy = dir.path().join("identity");
    if std::fs::read_to_string(&copy).is_ok_and(|old| old == text) {
        return Ok(copy);
    }
    std::fs::create_dir_all(dir.path())?;
    atomic_write(&copy, text.as_bytes(), 0o600)?;
    Ok(copy)
}

/// Writes `.ict/<env>/inventory`: an executable dynamic inventory that runs
/// `ict --env ENV inventory SCRIPT` (which answers `--list` and `--host`), so that
/// `ansible -i .ict/<env>/inventory` always sees the servers as the cloud has them. Written by
/// `ict inventory --script` and by every `ict run`.
fn inventory_script(config: &Config, script: &Path) -> Result<PathBuf, Error> {
    let dir = StateDir::for_script(script, &config.env)?;
    std::fs::create_dir_all(dir.path()).map_err(|error| Error::Write {
        what: dir.path().display().to_string(),
        error,
    })?;
    let path = dir.path().join("inventory");
    let exe = std::env::current_exe().map_err(Error::CurrentExe)?;
    let script_abs = std::path::absolute(script).unwrap_or_else(|_| script.to_owned());
    let text = format!(
        "#!/bin/sh\n# Ansible dynamic inventory for {} (env {}), written by ict.\nexec {} --env {} inventory {} \"$@\"\n",
        script_abs.display(),
        config.env,
        shell::quote(&exe.display().to_string()),
        shell::quote(&config.env),
        shell::quote(&script_abs.display().to_string())
    );
    atomic_write(&path, text.as_bytes(), 0o700).map_err(|error| Error::Write {
        what: path.display().to_string(),
        error,
    })?;
    Ok(path)
}

pub(super) fn inventory(
    config: &Config,
    ui: &Ui,
    args: &InventoryOptions,
) -> Result<ExitCode, Error> {
    let script = &args.file;
    let (project, pending, evaluated) = super::open(config, ui, script)?;
    if args.script {
        let path = inventory_script(config, script)?;
        ui.out(&format!("{}\n", path.display()));
        return Ok(ExitCode::Success);
    }
    let runtime = crate::app::runtime()?;
    runtime.block_on(async {
        let conn = pending.connect().await?;
        let dir = project.state_dir()?;
        let state = project.state()?;
        let session = Session {
            project: &project,
            conn: &conn,
            evaluated: &evaluated,
        };
        let fleet = session.fleet(&state).await;
        conn.close().await;
        let fleet = fleet?;
        let resolve = hosts::resolver(&fleet);
        let mut inv = Inventory::build(&evaluated.desired, &resolve);
        ui.inventory_warnings(&inv);
        add_ssh_vars(&mut inv, &dir, None, &evaluated.desired, script)?;
        let text = if args.list {
            format!("{}\n", inventory::list_json(&inv))
        } else if let Some(name) = &args.host {
            let host = inv.host(name).ok_or_else(|| Error::NoServer {
                name: name.clone(),
                file: script.clone(),
            })?;
            format!(
                "{}\n",
                serde_json::Value::Object(host.vars.clone().into_iter().collect())
            )
        } else {
            match args.format {
                InventoryFormat::Yaml => inventory::yaml(&inv),
                InventoryFormat::Ini => inventory::ini(&inv),
            }
        };
        ui.out(&text);
        Ok(ExitCode::Success)
    })
}

pub(super) fn power(config: &Config, ui: &Ui, args: &PowerOptions) -> Result<ExitCode, Error> {
    let script = &args.file;
    let (project, pending, evaluated) = super::open(config, ui, script)?;
    let selected: Vec<String> = pattern::select(&args.limit, &evaluated.desired)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if selected.is_empty() {
        return Err(Error::LimitMatchesNothing {
            limit: args.limit.clone(),
            what: "server",
            file: script.clone(),
        });
    }
    let op = match args.action {
        PowerAction::Start => PowerOp::On,
        PowerAction::Stop => PowerOp::Off,
        PowerAction::Reboot => PowerOp::Reboot,
    };
    let runtime = crate::app::runtime()?;
    runtime.block_on(async {
        let conn = pending.connect().await?;
        ui.out(&format!("{}\n", conn.banner));
        let store = match super::locked(ui, &project, "power") {
            Ok(s) => s,
            Err(e) => {
                conn.close().await;
                return Err(e);
            }
        };
        let result = async {
            let session = Session {
                project: &project,
                conn: &conn,
                evaluated: &evaluated,
            };
            let powered = session.power(store.state(), &selected, op).await?;
            // A server stopped by hand that the script declares on.
            let undone = |name: &str| {
                op == PowerOp::Off
                    && evaluated
                        .desired
                        .servers
                        .get(name)
                        .is_some_and(|s| s.power == crate::model::Power::On)
            };
            ui.out(&ui::schedule::powered(&powered, op, undone));
            let failed = powered.iter().any(|(_, p)| matches!(p, Powered::Failed(_)));
            Ok::<_, Error>(if failed {
                ExitCode::PartialFailure
            } else {
                ExitCode::Success
            })
        }
        .await;
        let closed = store.close();
        conn.close().await;
        let code = result?;
        closed?;
        Ok(code)
    })
}
