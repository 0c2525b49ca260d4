//! Why a command failed: the errors of the layers below, passed through as they are, and the
//! commands' own, each a named variant with a stable code (`ict::command::…`) and, where it
//! helps, a hint. `ui` renders it like any other diagnostic; [`Error::exit_code`] gives the
//! process exit status of each variant, following the table in the README. May depend on the
//! error types of every layer.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::exit::ExitCode;
use crate::script::{Failure, Problems};
use crate::state::{Address, AddressError};

/// Why a command failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// The script has problems (each one shown with its file, then a summary line).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Script(Problems),

    /// Reading, writing or locking the state failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    State(#[from] crate::state::StateError),

    /// An SSH connection failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Ssh(#[from] crate::ssh::SshError),

    /// A `--hosts` list cannot be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    HostList(#[from] crate::ssh::HostListError),

    /// Ansible could not be run.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Ansible(#[from] crate::ansible::AnsibleError),

    /// The emulator could not start or stopped with an error.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Emulator(#[from] crate::emulator::EmulatorError),

    /// The project's emulator daemon could not be started, reached or stopped.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Daemon(#[from] crate::daemon::DaemonError),

    /// The cloud API (or the client's setup) failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Provider(#[from] crate::provider::ProviderError),

    /// A pipeline could not run.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineError),

    /// `ict watch` could not keep its files.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Watch(#[from] crate::watch::WatchError),

    /// The metrics scraper could not be set up.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Scrape(#[from] crate::metrics::ScrapeError),

    // Arguments that name nothing.
    /// `--target` or `--replace` names nothing the script declares.
    #[error("`{flag} {name}` matches nothing")]
    #[diagnostic(code(ict::command::no_match))]
    NoMatch {
        flag: &'static str,
        name: String,
        /// "did you mean `web-1`?", or what there is to choose from.
        #[help]
        choices: Option<String>,
    },

    /// `--limit` selects no server of the script (or no host of the list).
    #[error("`--limit {limit}` matches no {what} in {}", file.display())]
    #[diagnostic(
        code(ict::command::limit),
        help(
            "a pattern is a name, a group, a glob or a combination: `web`, `web-*`, `web:!web-3`"
        )
    )]
    LimitMatchesNothing {
        limit: String,
        /// "server" or "host".
        what: &'static str,
        file: PathBuf,
    },

    /// A REPL query's pattern selects no declared server.
    #[error("`{pattern}` matches no declared server")]
    #[diagnostic(code(ict::command::limit))]
    PatternMatchesNothing { pattern: String },

    /// `ict inventory --host NAME` names no server.
    #[error("no server named `{name}` in {}", file.display())]
    #[diagnostic(code(ict::command::no_server))]
    NoServer { name: String, file: PathBuf },

    /// `ict pipeline` or `ict rollback` on a script without pipelines.
    #[error("{} declares no pipelines", file.display())]
    #[diagnostic(code(ict::command::no_pipeline))]
    NoPipelines { file: PathBuf },

    /// `ict pipeline` or `ict rollback` names a pipeline the script does not declare.
    #[error("no pipeline `{name}` in {}", file.display())]
    #[diagnostic(code(ict::command::no_pipeline), help("declared: {declared}"))]
    UnknownPipeline {
        name: String,
        file: PathBuf,
        declared: String,
    },

    /// `ict pipeline logs` names a run the state does not remember.
    #[error("pipeline `{name}` has {what} in environment `{env}`")]
    #[diagnostic(code(ict::command::no_pipeline_run), help("{hint}"))]
    NoPipelineRun {
        name: String,
        /// `no runs yet` or `no run "abc"`.
        what: String,
        env: String,
        hint: String,
    },

    /// `ict schedule run` names a schedule the script does not declare.
    #[error("no schedule `{name}` in {}", file.display())]
    #[diagnostic(code(ict::command::no_schedule), help("{hint}"))]
    UnknownSchedule {
        name: String,
        file: PathBuf,
        hint: String,
    },

    /// The pipeline has no entry for the selected environment.
    #[error("pipeline `{name}` does not deploy to environment `{env}`")]
    #[diagnostic(
        code(ict::command::pipeline_env),
        help("choose one with --env: {environments}")
    )]
    PipelineEnvironment {
        name: String,
        env: String,
        environments: String,
    },

    /// `ict output NAME` names no recorded output.
    #[error("no output `{name}` was recorded in environment `{env}`")]
    #[diagnostic(code(ict::command::no_output), help("{hint}"))]
    NoOutput {
        name: String,
        env: String,
        /// "did you mean `x`? recorded: …", or what is recorded.
        hint: String,
    },

    // The state.
    /// `ict state …` names nothing the state owns.
    #[error("the state knows no `{name}`")]
    #[diagnostic(code(ict::command::not_owned), help("{hint}"))]
    NotInState {
        name: String,
        /// "did you mean `x`? known: …", or what is known.
        hint: String,
    },

    /// A name that several owned objects have.
    #[error("`{name}` is ambiguous: {matches}")]
    #[diagnostic(code(ict::command::ambiguous), help("give the full address"))]
    AmbiguousName { name: String, matches: String },

    /// Text that is not a name of the expected kind.
    #[error("`{name}` is not a {what}: {error}")]
    #[diagnostic(code(ict::command::name))]
    NotAName {
        name: String,
        /// "name" or "server name".
        what: &'static str,
        error: AddressError,
    },

    /// `ict state mv` to another kind of object.
    #[error("cannot move {from} to {to}: a move keeps the kind of object")]
    #[diagnostic(code(ict::command::move_kind))]
    MoveChangesKind { from: Address, to: Address },

    /// The state already owns something under this address.
    #[error("{address} is already owned by ict")]
    #[diagnostic(
        code(ict::command::owned),
        help("`ict state forget` it first if it is stale")
    )]
    AlreadyOwned { address: Address },

    /// `ict state import NAME` where the script declares nothing importable by that name.
    #[error("the script declares no server, network or SSH key named `{name}`")]
    #[diagnostic(code(ict::command::not_declared))]
    NotDeclared { name: String },

    /// `ict state import NAME` where several kinds have that name.
    #[error("several kinds are named `{name}`")]
    #[diagnostic(
        code(ict::command::ambiguous),
        help("give the address (`server.{name}`)")
    )]
    SeveralKinds { name: String },

    /// `ict state import` of a kind that cannot be imported.
    #[error("ict cannot import a {kind}")]
    #[diagnostic(
        code(ict::command::import_kind),
        help("servers, networks and SSH keys can be imported")
    )]
    NotImportable { kind: String },

    /// `ict state import` of an ID the account does not have.
    #[error("there is no {kind} with ID {id} in the account")]
    #[diagnostic(code(ict::command::no_id), help("`ict cloud ...` lists them"))]
    NoSuchId { kind: String, id: u64 },

    /// `ict state forget-host-key` for a server without a pinned key.
    #[error("no host key is pinned for server `{name}` in environment `{env}` ({pinned})")]
    #[diagnostic(code(ict::command::no_host_key))]
    NoPinnedKey {
        name: String,
        env: String,
        /// "pinned: web-1, web-2" or "no server has a pinned key yet".
        pinned: String,
    },

    // Plans and confirmation.
    /// `--json` without an approval given beforehand.
    #[error("--json needs {approval}: JSON output asks no question")]
    #[diagnostic(code(ict::command::json_needs_yes))]
    JsonNeedsApproval { approval: &'static str },

    /// A question to confirm with no terminal to ask it on.
    #[error("no terminal to confirm on")]
    #[diagnostic(
        code(ict::command::no_terminal),
        help("run `ict {command}` with --yes to {command} without asking")
    )]
    NoTerminal { command: String },

    /// The REPL's `:apply` with no terminal to ask on.
    #[error("no terminal to confirm on; use `:apply --yes` to apply without asking")]
    #[diagnostic(code(ict::command::no_terminal))]
    NoTerminalInRepl,

    /// The answer to the question could not be read.
    #[error("cannot read the answer: {0}")]
    #[diagnostic(code(ict::command::answer))]
    Answer(io::Error),

    /// The question was answered with something else than `yes`.
    #[error("{command} cancelled")]
    #[diagnostic(code(ict::command::cancelled))]
    Cancelled { command: String },

    /// The saved plan no longer matches the script, the state or the cloud.
    #[error(
        "the saved plan is stale: the script, the state or the cloud changed since it was made"
    )]
    #[diagnostic(code(ict::command::stale_plan), help("run `ict plan --out` again"))]
    StalePlan,

    /// A file that looks like a saved plan but cannot be read as one.
    #[error("{} is not a valid saved plan: {error}", path.display())]
    #[diagnostic(code(ict::command::saved_plan))]
    BadSavedPlan {
        path: PathBuf,
        error: serde_json::Error,
    },

    /// A plan saved by another version of ict.
    #[error("{} was saved by another version of ict", path.display())]
    #[diagnostic(code(ict::command::saved_plan), help("run `ict plan --out` again"))]
    SavedPlanVersion { path: PathBuf },

    // Reaching the servers.
    /// No key to log in with over SSH.
    #[error("no SSH key to log in with")]
    #[diagnostic(
        code(ict::command::no_ssh_key),
        help(
            "pass --identity FILE, set ICT_SSH_KEY, keep the private key next to the declared \
             public_key_file, or start ssh-agent"
        )
    )]
    NoSshKey,

    /// A server's sshd did not answer in time after it was created.
    #[error("{target}: SSH did not come up: {error}")]
    #[diagnostic(code(ict::command::ssh_wait))]
    SshWait {
        target: String,
        error: crate::ssh::SshError,
    },

    /// Logging in to a server failed.
    #[error("{target}: {error}")]
    #[diagnostic(code(ict::command::login))]
    Login {
        target: String,
        error: crate::ssh::SshError,
    },

    /// A server that is needed has no address yet.
    #[error("{role} `{name}` has no address yet")]
    #[diagnostic(code(ict::command::no_address), help("create it first with `ict run`"))]
    NoAddress {
        /// "server" or "database server".
        role: &'static str,
        name: String,
    },

    /// `ict run` would run playbooks that cannot run on this machine.
    #[error(
        "the script declares {playbooks} but ansible-playbook is not on PATH; nothing was changed"
    )]
    #[diagnostic(
        code(ict::command::no_ansible),
        help("install it with `{install}`, or change only the cloud with `ict apply`")
    )]
    NoAnsible {
        /// "2 playbooks".
        playbooks: String,
        install: &'static str,
    },

    /// A secret the script uses is not set.
    #[error("secret `{name}` is not set in the environment")]
    #[diagnostic(code(ict::command::secret), help("set it, e.g. `export {name}=...`"))]
    SecretNotSet { name: String },

    /// An output asked for by name holds a secret that is not set.
    #[error("this output holds the secret `{name}`, which is not set in the environment")]
    #[diagnostic(code(ict::command::secret), help("set it, e.g. `export {name}=...`"))]
    OutputSecretNotSet { name: String },

    /// A pipeline's database host pattern selects no server or several.
    #[error(
        "the database host `{host}` of pipeline `{pipeline}` must select one server, not {count}"
    )]
    #[diagnostic(code(ict::command::database_host))]
    DatabaseHost {
        host: String,
        pipeline: String,
        count: usize,
    },

    /// `ict rollback --to` matches several kept releases.
    #[error("`{to}` matches several kept releases of `{pipeline}`: {matches}")]
    #[diagnostic(
        code(ict::command::release),
        help("give more of the release id or commit")
    )]
    AmbiguousRelease {
        to: String,
        pipeline: String,
        matches: String,
    },

    /// `ict rollback --to` matches no kept release.
    #[error("`{to}` is not a kept release (or its commit) of `{pipeline}`")]
    #[diagnostic(code(ict::command::release), help("kept: {kept}"))]
    UnknownRelease {
        to: String,
        pipeline: String,
        kept: String,
    },

    /// `ict rollback` with nothing before the current release.
    #[error("`{pipeline}` has no kept release before the current one")]
    #[diagnostic(code(ict::command::release), help("kept: {kept}"))]
    NoEarlierRelease { pipeline: String, kept: String },

    // Files, processes and the terminal.
    /// The project (the folder holding `.ict/`) could not be found.
    #[error("cannot find the project: {0}")]
    #[diagnostic(code(ict::command::project))]
    Project(io::Error),

    /// A file could not be read.
    #[error("cannot read {}: {error}", path.display())]
    #[diagnostic(code(ict::command::read))]
    Read { path: PathBuf, error: io::Error },

    /// A file could not be written.
    #[error("cannot write {what}: {error}")]
    #[diagnostic(code(ict::command::write))]
    Write {
        /// The file's path, or what it is ("the inventory").
        what: String,
        error: io::Error,
    },

    /// The `known_hosts` file `ict exec --hosts` checks keys against cannot be read.
    #[error("cannot read the known_hosts file {}: {error}", path.display())]
    #[diagnostic(
        code(ict::command::known_hosts),
        help("give another file with --known-hosts")
    )]
    KnownHosts { path: PathBuf, error: io::Error },

    /// The SSH key could not be copied to a file only its owner can read (for Ansible).
    #[error("cannot make a private copy of the SSH key {}: {error}", path.display())]
    #[diagnostic(code(ict::command::write))]
    PrivateKey { path: PathBuf, error: io::Error },

    /// A database password could not be generated or read back.
    #[error("cannot keep the database password in {}: {error}", path.display())]
    #[diagnostic(code(ict::command::write))]
    DatabasePassword { path: PathBuf, error: io::Error },

    /// ict's own executable could not be found (to write an inventory script that runs it).
    #[error("cannot find the ict executable: {0}")]
    #[diagnostic(code(ict::command::executable))]
    CurrentExe(io::Error),

    /// Output for `--json` could not be written.
    #[error("cannot write JSON: {0}")]
    #[diagnostic(code(ict::command::json))]
    Json(serde_json::Error),

    /// `ict watch --listen` could not bind its address.
    #[error("cannot listen on {addr}: {error}")]
    #[diagnostic(code(ict::command::listen))]
    Listen { addr: SocketAddr, error: io::Error },

    /// The async runtime could not be built.
    #[error("cannot start the async runtime: {0}")]
    #[diagnostic(code(ict::command::runtime))]
    Runtime(io::Error),

    /// `ict top`'s live view failed (or has no terminal).
    #[error("ict top: {0}")]
    #[diagnostic(code(ict::command::top))]
    Top(io::Error),

    /// The REPL's `metrics(name)` could not scrape the server.
    #[error("cannot scrape `{server}`: {reason}")]
    #[diagnostic(code(ict::command::metrics))]
    Unscraped { server: String, reason: String },
}

impl From<crate::connect::ConnectError> for Error {
    fn from(error: crate::connect::ConnectError) -> Error {
        match error {
            crate::connect::ConnectError::Provider(e) => Error::Provider(e),
            crate::connect::ConnectError::Emulator(e) => Error::Daemon(e),
        }
    }
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Error {
        Error::Script(Problems::from(failure))
    }
}

impl Error {
    /// `--target` or `--replace` (`flag`) naming nothing: for `map_err`.
    /// A one-line description with its hint, for a REPL diagnostic.
    pub fn one_line(&self) -> String {
        use miette::Diagnostic as _;
        if let Error::Script(problems) = self {
            return format!(
                "what is declared has problems: {} (`:check` shows them all)",
                problems.first_error()
            );
        }
        match self.help() {
            Some(help) => format!("{self} (hint: {help})"),
            None => self.to_string(),
        }
    }

    pub fn no_match(flag: &'static str) -> impl FnOnce(crate::model::UnknownName) -> Error {
        move |unknown| Error::NoMatch {
            flag,
            name: unknown.name,
            choices: Some(unknown.choices),
        }
    }

    /// The exit code this error ends the process with (the README's table): 1, "error,
    /// nothing more was done after it", for every failure a command reports by returning an
    /// error. Commands that go on after some hosts or resources fail (3), skip steps (4) or are
    /// interrupted (130) report that with their exit code, not with an error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Script(_)
            | Error::State(_)
            | Error::Ssh(_)
            | Error::HostList(_)
            | Error::Ansible(_)
            | Error::Emulator(_)
            | Error::Daemon(_)
            | Error::Provider(_)
            | Error::Pipeline(_)
            | Error::Watch(_)
            | Error::Scrape(_)
            | Error::NoMatch { .. }
            | Error::LimitMatchesNothing { .. }
            | Error::PatternMatchesNothing { .. }
            | Error::NoServer { .. }
            | Error::NoPipelines { .. }
            | Error::UnknownPipeline { .. }
            | Error::NoPipelineRun { .. }
            | Error::UnknownSchedule { .. }
            | Error::PipelineEnvironment { .. }
            | Error::NoOutput { .. }
            | Error::NotInState { .. }
            | Error::AmbiguousName { .. }
            | Error::NotAName { .. }
            | Error::MoveChangesKind { .. }
            | Error::AlreadyOwned { .. }
            | Error::NotDeclared { .. }
            | Error::SeveralKinds { .. }
            | Error::NotImportable { .. }
            | Error::NoSuchId { .. }
            | Error::NoPinnedKey { .. }
            | Error::JsonNeedsApproval { .. }
            | Error::NoTerminal { .. }
            | Error::NoTerminalInRepl
            | Error::Answer(_)
            | Error::Cancelled { .. }
            | Error::StalePlan
            | Error::BadSavedPlan { .. }
            | Error::SavedPlanVersion { .. }
            | Error::NoSshKey
            | Error::SshWait { .. }
            | Error::Login { .. }
            | Error::NoAddress { .. }
            | Error::NoAnsible { .. }
            | Error::SecretNotSet { .. }
            | Error::OutputSecretNotSet { .. }
            | Error::DatabaseHost { .. }
            | Error::AmbiguousRelease { .. }
            | Error::UnknownRelease { .. }
            | Error::NoEarlierRelease { .. }
            | Error::Project(_)
            | Error::Read { .. }
            | Error::Write { .. }
            | Error::KnownHosts { .. }
            | Error::PrivateKey { .. }
            | Error::DatabasePassword { .. }
            | Error::CurrentExe(_)
            | Error::Json(_)
            | Error::Listen { .. }
            | Error::Runtime(_)
            | Error::Top(_)
            | Error::Unscraped { .. } => ExitCode::Error,
        }
    }
}

#[cfg(test)]
mod tests {
    use miette::Diagnostic as _;

    use super::Error;
    use crate::exit::ExitCode;

    /// Issue 17 item 3: a command's own errors are diagnostics with a stable code, a hint where
    /// one helps, and the exit code of the README's table.
    #[test]
    fn command_errors_are_diagnostics_with_codes_and_exit_codes() {
        let cases = [
            (Error::StalePlan, "ict::command::stale_plan", true),
            (
                Error::Cancelled {
                    command: "apply".to_owned(),
                },
                "ict::command::cancelled",
                false,
            ),
            (Error::NoSshKey, "ict::command::no_ssh_key", true),
            (
                Error::NoMatch {
                    flag: "--target",
                    name: "wbe-1".to_owned(),
                    choices: Some("did you mean `web-1`?".to_owned()),
                },
                "ict::command::no_match",
                true,
            ),
            (
                Error::NoMatch {
                    flag: "--target",
                    name: "x".to_owned(),
                    choices: None,
                },
                "ict::command::no_match",
                false,
            ),
        ];
        for (error, code, helps) in cases {
            assert_eq!(
                error.code().map(|c| c.to_string()).as_deref(),
                Some(code),
                "{error}"
            );
            assert_eq!(error.help().is_some(), helps, "{error}");
            assert_eq!(error.exit_code(), ExitCode::Error, "{error}");
        }
    }
}
