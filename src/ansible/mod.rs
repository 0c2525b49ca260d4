//! Running `ansible-playbook` for the declared playbooks: all of them in one process when they
//! can share it ([`Run::imported`]: a file of ict's imports each playbook with its vars, and with
//! its hosts as a condition when they are fewer than the run's), else one playbook as it is, with
//! its vars in a 0600 extra-vars file (never on the command line). The hosts go as `--limit`;
//! Ansible's other settings are ict's choices where the user's own leave them open
//! ([`settings`]); the output is streamed line by line to the caller, and each playbook's recap
//! is read from the run's. ansible-playbook dies with ict, even with a `kill -9` of ict (see
//! [`die_with_ict`]); the folder of a run that died is removed by the next command that takes
//! the state lock (`state::scratch`). May depend on `atomic`.

mod control;
mod facts;
pub mod mitogen;
pub mod python;
mod recap;
pub mod settings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

pub use control::ControlDir;
pub use facts::FactCache;
pub use recap::HostRecap;

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

/// A playbook in a [`Run`].
#[derive(Debug, Clone)]
pub struct Playbook {
    pub name: String,
    pub file: PathBuf,
    /// Its variables: play variables of its plays when [`Run::imported`], else extra variables
    /// (a 0600 JSON file passed as `-e @file`).
    pub vars: serde_json::Map<String, serde_json::Value>,
    /// The hosts it runs on, when they are fewer than the run's (only when [`Run::imported`]).
    pub only: Option<Vec<String>>,
}

/// One `ansible-playbook` invocation.
#[derive(Debug, Clone)]
pub struct Run {
    /// In declaration order.
    pub playbooks: Vec<Playbook>,
    /// Whether each playbook is imported by a file of ict's (any number of them in one run),
    /// or the run is one playbook run as it is.
    pub imported: bool,
    /// The inventory file (its folder may hold 0600 `host_vars/` and `group_vars/`).
    pub inventory: PathBuf,
    /// Host pattern for `--limit`.
    pub limit: String,
    pub tags: Vec<String>,
    pub check: bool,
    pub diff: bool,
    /// Environment for the process (ict's [`settings`]).
    pub env: Vec<(String, String)>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub exit_code: Option<i32>,
    /// Each playbook that ran, in order, with what it did on each host.
    pub recaps: Vec<(String, BTreeMap<String, HostRecap>)>,
}

impl Outcome {
    /// Whether every host succeeded.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
            && !self
                .recaps
                .iter()
                .flat_map(|(_, hosts)| hosts.values())
                .any(HostRecap::is_failure)
    }
}

/// Runs `spec`, calling `on_line` for each line it prints (stdout and stderr). Its files (the
/// importing playbooks, the extra variables) go into the private folder `work_dir`, removed
/// with it.
pub async fn run(
    spec: &Run,
    work_dir: &Path,
    mut on_line: impl FnMut(&str),
) -> Result<Outcome, AnsibleError> {
    let program = on_path("ansible-playbook").ok_or(AnsibleError::Missing)?;
    let mut command = Command::new("/bin/sh");
    command
        .args(["-c", SUPERVISOR, "ansible-playbook"])
        .arg(program)
        .arg("-i")
        .arg(&spec.inventory)
        .arg("--limit")
        .arg(&spec.limit);
    if !spec.tags.is_empty() {
        command.arg("--tags").arg(spec.tags.join(","));
    }
    if spec.check {
        command.arg("--check");
    }
    if spec.diff {
        command.arg("--diff");
    }
    let files = write_files(spec, work_dir)?;
    command.args(&files);
    command.envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    command
        .env("ANSIBLE_FORCE_COLOR", "0")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("PYTHONUNBUFFERED", "1");
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    die_with_ict(&mut command);
    let mut child = command.spawn().map_err(AnsibleError::Spawn)?;
    let group = StopGroupOnDrop(child.id());
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
    std::mem::forget(group);
    let recaps = recap::per_playbook(&recap::blocks(&output));
    Ok(Outcome {
        exit_code: status.code(),
        recaps: spec
            .playbooks
            .iter()
            .zip(recaps)
            .map(|(playbook, mut hosts)| {
                if let Some(only) = &playbook.only {
                    hosts.retain(|host, _| only.contains(host));
                }
                (playbook.name.clone(), hosts)
            })
            .collect(),
    })
}

/// The playbook files to name on the command line, and the `-e @file` arguments before them:
/// a 0600 file of ict's per playbook importing it (with its vars, and its hosts as a condition
/// on each of its tasks), or, for a playbook run as it is, the playbook and its extra-vars file.
/// Ansible prints a recap after each file, each counting from the start of the run.
fn write_files(spec: &Run, work_dir: &Path) -> Result<Vec<PathBuf>, AnsibleError> {
    let write = |name: String, value: serde_json::Value| {
        let file = work_dir.join(name);
        let file = std::path::absolute(&file).unwrap_or(file);
        crate::atomic::atomic_write(&file, value.to_string().as_bytes(), 0o600)
            .map_err(AnsibleError::VarsFile)?;
        Ok::<_, AnsibleError>(file)
    };
    if !spec.imported {
        let mut args = Vec::new();
        for playbook in &spec.playbooks {
            let vars = write(
                format!("vars-{}.json", playbook.name),
                serde_json::Value::Object(playbook.vars.clone()),
            )?;
            args.push(PathBuf::from("-e"));
            args.push(PathBuf::from(format!("@{}", vars.display())));
        }
        args.extend(spec.playbooks.iter().map(|p| p.file.clone()));
        return Ok(args);
    }
    spec.playbooks
        .iter()
        .map(|playbook| {
            let mut import = serde_json::Map::new();
            import.insert(
                "import_playbook".into(),
                playbook.file.display().to_string().into(),
            );
            if !playbook.vars.is_empty() {
                import.insert("vars".into(), playbook.vars.clone().into());
            }
            if let Some(only) = &playbook.only {
                let hosts = serde_json::Value::from(only.clone());
                import.insert(
                    "when".into(),
                    format!("inventory_hostname in {hosts}").into(),
                );
            }
            // JSON is YAML: Ansible reads it as a playbook of one entry.
            write(
                format!("import-{}.yml", playbook.name),
                serde_json::Value::Array(vec![import.into()]),
            )
        })
        .collect()
}

/// The first `program` in `PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The shell that runs ansible-playbook (`"$@"`) as its child and passes on its exit status;
/// when it gets SIGTERM (see [`die_with_ict`]) it sends SIGTERM to its whole process group:
/// ansible-playbook, its workers and whatever their tasks started. The tasks' own processes
/// are not always ansible-playbook's to stop: Mitogen's interpreters leave a `connection:
/// local` task's command running when they go.
const SUPERVISOR: &str = r#"trap 'trap - TERM; kill -TERM 0' TERM; "$@" & wait $!"#;

/// Sends SIGTERM to the supervisor of a run that ict gives up on (its future dropped), so that
/// the whole process group stops; forgotten once the run ended.
struct StopGroupOnDrop(Option<u32>);

impl Drop for StopGroupOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self
            .0
            .and_then(|id| rustix::process::Pid::from_raw(id.try_into().ok()?))
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
}

/// Makes the process `command` starts ([`SUPERVISOR`]) stop when ict does, however ict ends,
/// with everything ansible-playbook started: it gets its own process group (a terminal's
/// Ctrl-C, or a signal to ict's group, reaches ict alone) and the parent-death signal SIGTERM —
/// sent by the kernel when the thread that started it exits, which is ict's main thread here
/// (`block_on`), so even a `kill -9` of ict.
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
