//! Running `ansible-playbook` for the declared playbooks: one process per playbook, in
//! declaration order, with the script's hosts pattern as `--limit`, its vars through a 0600
//! extra-vars file (never on the command line), forks = parallelism, and the output streamed
//! line by line to the caller. ansible-playbook dies with ict, even with a `kill -9` of ict (see
//! [`die_with_ict`]); the folder of a run that died is removed by the next command that takes
//! the state lock (`state::scratch`). May depend on `inventory` (the inventory folder it runs
//! against).

mod recap;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

pub use recap::{parse as parse_recap, HostRecap};

/// Why a playbook could not be run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AnsibleError {
    #[error("ansible-playbook was not found")]
    #[diagnostic(
        code(ict::ansible::missing),
        help("install Ansible: `pip install ansible-core` (or `apt-get install ansible`), then run ict again")
    )]
    Missing,
    #[error("could not run ansible-playbook: {0}")]
    #[diagnostic(code(ict::ansible::spawn))]
    Spawn(std::io::Error),
    #[error("could not write Ansible's variables file: {0}")]
    #[diagnostic(code(ict::ansible::vars_file))]
    VarsFile(std::io::Error),
}

/// One `ansible-playbook` invocation.
#[derive(Debug, Clone)]
pub struct Run {
    pub playbook: PathBuf,
    /// The inventory file (its folder may hold 0600 `host_vars/` and `group_vars/`).
    pub inventory: PathBuf,
    /// Host pattern for `--limit`.
    pub limit: String,
    /// Extra variables (written to a 0600 JSON file passed as `-e @file`).
    pub extra_vars: serde_json::Map<String, serde_json::Value>,
    pub tags: Vec<String>,
    pub forks: usize,
    pub check: bool,
    pub diff: bool,
    /// Environment for the process (e.g. ``ANSIBLE_SSH_ARGS`` pointing at ict's `known_hosts`).
    pub env: Vec<(String, String)>,
}

/// What a playbook run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub exit_code: Option<i32>,
    pub hosts: BTreeMap<String, HostRecap>,
}

impl Outcome {
    /// Whether every host succeeded.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.hosts.values().any(HostRecap::is_failure)
    }
}

/// Runs one playbook, calling `on_line` for each line it prints (stdout and stderr).
pub async fn run(
    spec: &Run,
    work_dir: &Path,
    mut on_line: impl FnMut(&str),
) -> Result<Outcome, AnsibleError> {
    let vars_file = work_dir.join(format!("vars-{}.json", std::process::id()));
    crate::atomic::atomic_write(
        &vars_file,
        serde_json::Value::Object(spec.extra_vars.clone())
            .to_string()
            .as_bytes(),
        0o600,
    )
    .map_err(AnsibleError::VarsFile)?;
    let mut command = Command::new("ansible-playbook");
    command
        .arg("-i")
        .arg(&spec.inventory)
        .arg("--limit")
        .arg(&spec.limit)
        .arg("--forks")
        .arg(spec.forks.max(1).to_string())
        .arg("-e")
        .arg(format!("@{}", vars_file.display()));
    if !spec.tags.is_empty() {
        command.arg("--tags").arg(spec.tags.join(","));
    }
    if spec.check {
        command.arg("--check");
    }
    if spec.diff {
        command.arg("--diff");
    }
    command.arg(&spec.playbook);
    command.envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    command
        .env("ANSIBLE_FORCE_COLOR", "0")
        .env("PYTHONUNBUFFERED", "1");
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    die_with_ict(&mut command);
    let mut child = command.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            AnsibleError::Missing
        } else {
            AnsibleError::Spawn(e)
        }
    })?;
    let mut output = String::new();
    let stdout = child.stdout.take().map(|s| BufReader::new(s).lines());
    let stderr = child.stderr.take().map(|s| BufReader::new(s).lines());
    if let (Some(mut out), Some(mut err)) = (stdout, stderr) {
        let (mut out_done, mut err_done) = (false, false);
        while !(out_done && err_done) {
            tokio::select! {
                line = out.next_line(), if !out_done => match line {
                    Ok(Some(l)) => { on_line(&l); output.push_str(&l); output.push('\n'); }
                    _ => out_done = true,
                },
                line = err.next_line(), if !err_done => match line {
                    Ok(Some(l)) => on_line(&l),
                    _ => err_done = true,
                },
            }
        }
    }
    let status = child.wait().await.map_err(AnsibleError::Spawn)?;
    let _ = std::fs::remove_file(&vars_file);
    Ok(Outcome {
        exit_code: status.code(),
        hosts: parse_recap(&output),
    })
}

/// Makes the process `command` starts stop when ict does, however ict ends: it gets its own
/// process group (a terminal's Ctrl-C, or a signal to ict's group, reaches ict alone) and the
/// parent-death signal SIGTERM — sent by the kernel when the thread that started it exits, which
/// is ict's main thread here (`block_on`), so even a `kill -9` of ict. ansible-playbook answers
/// SIGTERM by passing it to its workers, which stop their own process groups, then exits.
fn die_with_ict(command: &mut Command) {
    let ict = rustix::process::getpid();
    command.process_group(0);
    #[allow(
        unsafe_code,
        reason = "the only way to set a parent-death signal for a child"
    )]
    // SAFETY: the closure runs in the child between fork and exec, where only async-signal-safe
    // work is allowed: it makes two system calls through rustix (prctl, getppid) and builds an
    // error from a raw errno; nothing allocates, locks or touches the parent's memory.
    unsafe {
        command.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM))?;
            // If ict died before the signal was set, none will come: do not start at all.
            if rustix::process::getppid() != Some(ict) {
                return Err(rustix::io::Errno::SRCH.into());
            }
            Ok(())
        });
    }
}
