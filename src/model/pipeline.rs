//! A declared deploy pipeline: where the code comes from, which refs deploy to which hosts in
//! each environment, the stages that must pass (filled in by a framework preset, each
//! overridable), the app's environment variables, its service and where notifications go.
//!
//! Declared with `pipeline(name, #{ repo, preset, environments, env, stages, service, database,
//! keep, user, sandbox, path, notify, poll })`; run by `ict pipeline run` and triggered by `ict watch`
//! (`crate::pipeline`). A pipeline environment is an ict environment (`--env`): its releases
//! are recorded in that environment's state. Pure: no I/O.

use std::time::Duration;

use indexmap::IndexMap;
use serde::Serialize;

use super::{pattern, DidYouMean, FieldSpans, ModelError, Notify, Span, Value};

/// A framework preset: the default stages and service of a kind of app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// Stdlib Python: byte-compile, `unittest` discovery, `python3 app.py`.
    Python,
    /// Django: `manage.py check`, `migrate`, `test`, `runserver`.
    Django,
    /// Node: `npm ci`, `npm run build`, `npm test`, `npm start`.
    Node,
    /// Rust: `cargo build --release`, `cargo test`, the release binary.
    Rust,
    /// No default stages: only what `stages` declares.
    Commands,
}

/// Where a pipeline's stages run on a host (`sandbox:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sandbox {
    /// In a bubblewrap container where the host can make one, else as the user only.
    Auto,
    /// Always in a bubblewrap container: a host that cannot make one fails at `prepare`.
    On,
    /// As the pipeline's user only.
    Off,
}

impl Sandbox {
    /// The names accepted in scripts, in the order of [`Sandbox::from_index`].
    pub const NAMES: [&'static str; 3] = ["auto", "on", "off"];

    pub fn from_index(i: usize) -> Sandbox {
        match i {
            1 => Sandbox::On,
            2 => Sandbox::Off,
            _ => Sandbox::Auto,
        }
    }
}

/// The stage names every preset knows, in the order they run.
pub const STANDARD_STAGES: [&str; 3] = ["build", "migrate", "test"];

impl Preset {
    /// The names accepted in scripts, in the order of [`Preset::from_index`].
    pub const NAMES: [&'static str; 5] = ["python", "django", "node", "rust", "commands"];

    pub fn from_index(i: usize) -> Preset {
        match i {
            0 => Preset::Python,
            1 => Preset::Django,
            2 => Preset::Node,
            3 => Preset::Rust,
            _ => Preset::Commands,
        }
    }

    pub fn as_str(self) -> &'static str {
        Preset::NAMES[self as usize]
    }

    /// The preset's command for a standard stage, if it has one.
    pub fn stage(self, stage: &str) -> Option<&'static str> {
        let command = match (self, stage) {
            (Preset::Python, "build") => {
                "if [ -f requirements.txt ]; then python3 -m venv .venv && \
                 .venv/bin/pip install -q -r requirements.txt; fi; python3 -m compileall -q ."
            }
            (Preset::Python, "test") => "python3 -m unittest discover -v",
            (Preset::Django, "build") => {
                "if [ -f requirements.txt ]; then python3 -m venv .venv && \
                 .venv/bin/pip install -q -r requirements.txt; fi; \
                 PY=python3; [ -x .venv/bin/python ] && PY=.venv/bin/python; $PY manage.py check"
            }
            (Preset::Django, "migrate") => {
                "PY=python3; [ -x .venv/bin/python ] && PY=.venv/bin/python; \
                 $PY manage.py migrate --noinput"
            }
            (Preset::Django, "test") => {
                "PY=python3; [ -x .venv/bin/python ] && PY=.venv/bin/python; $PY manage.py test"
            }
            (Preset::Node, "build") => "npm ci && npm run build --if-present",
            (Preset::Node, "test") => "npm test",
            (Preset::Rust, "build") => "cargo build --release --locked",
            (Preset::Rust, "test") => "cargo test --release --locked",
            _ => return None,
        };
        Some(command)
    }

    /// The preset's health check: `http` for the presets that start a web app.
    pub fn health(self) -> Health {
        match self {
            Preset::Python | Preset::Django | Preset::Node => Health::Http { path: "/".into() },
            Preset::Rust | Preset::Commands => Health::Off,
        }
    }

    /// The preset's service command, if it has one.
    pub fn service(self) -> Option<&'static str> {
        match self {
            Preset::Python => Some("exec python3 app.py"),
            Preset::Django => Some(
                "PY=python3; [ -x .venv/bin/python ] && PY=.venv/bin/python; \
                 exec $PY manage.py runserver --noreload \"$ICT_HOST_IP:${PORT:-8000}\"",
            ),
            Preset::Node => Some("exec npm start"),
            Preset::Rust => Some("exec ./target/release/\"$ICT_PIPELINE\""),
            Preset::Commands => None,
        }
    }
}

/// One environment of a pipeline: which refs deploy there and onto which hosts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineEnv {
    /// Branch names and tag globs (`main`, `v*`, `release/*`).
    pub refs: Vec<String>,
    /// Ansible host pattern of the servers to deploy to.
    pub hosts: String,
    /// Where the environment was written.
    #[serde(skip)]
    pub span: Span,
    /// Where `hosts` was written (or the environment).
    #[serde(skip)]
    pub hosts_span: Span,
}

impl PipelineEnv {
    /// Whether `name` (a branch or tag name, without `refs/heads/` or `refs/tags/`) deploys here.
    pub fn accepts(&self, name: &str) -> bool {
        self.refs.iter().any(|r| pattern::glob(r, name))
    }
}

/// A stage: a shell command run in the release directory as the pipeline's user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    pub name: String,
    pub command: String,
}

/// How ict checks, after a restart, that the app answers (from the host itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Health {
    /// No check: the service only has to survive its first second.
    Off,
    /// `GET http://ICT_HOST_IP:port<path>` answers 2xx or 3xx.
    Http { path: String },
    /// `ICT_HOST_IP:port` accepts a TCP connection.
    Tcp,
}

/// The app's service: its command and how its health is checked after a restart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    /// Run from the release folder as the pipeline's user.
    pub command: String,
    pub health: Health,
    /// The port checked: a number or `$VAR` / `${VAR}` read from the app's environment.
    pub port: String,
    /// How long the app has to answer.
    #[serde(serialize_with = "super::serialize_seconds")]
    pub timeout: Duration,
}

impl Service {
    /// The default health settings around `command`.
    pub fn new(command: String, health: Health) -> Service {
        Service {
            command,
            health,
            port: "$PORT".into(),
            timeout: Duration::from_secs(20),
        }
    }
}

/// Whether `port` is a port number (1..=65535) or a `$VAR` / `${VAR}` reference.
pub fn check_port(port: &str) -> bool {
    let var = port
        .strip_prefix("${")
        .and_then(|p| p.strip_suffix('}'))
        .or_else(|| port.strip_prefix('$'));
    match var {
        Some(name) => {
            name.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => port.parse::<u16>().is_ok_and(|p| p > 0),
    }
}

/// The database engines ict can provision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DbEngine {
    Postgresql,
}

impl DbEngine {
    pub const NAMES: [&'static str; 1] = ["postgresql"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// The database an app needs, provisioned on one declared server before the stages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Database {
    pub engine: DbEngine,
    /// The major version (`"15"`): the Debian package is `postgresql-<version>`.
    pub version: String,
    /// A server name or a pattern that selects exactly one server.
    pub host: String,
    /// The database's name (default: the pipeline's, `-` as `_`).
    pub name: String,
    /// The role the app logs in as (default: like `name`).
    pub user: String,
    /// `secret(...)` or a string; `None`: generated once and kept in `.ict/<env>/secrets/`.
    pub password: Option<Value>,
    #[serde(skip)]
    pub host_span: Span,
}

/// Whether `version` is a `PostgreSQL` major version (`"15"`).
pub fn check_db_version(version: &str) -> bool {
    version.parse::<u32>().is_ok_and(|v| (10..=99).contains(&v)) && !version.starts_with('0')
}

/// Whether `name` can be a database or role name without quoting surprises.
pub fn check_db_name(name: &str) -> bool {
    name.len() <= 63
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `pipeline(name, #{ ... })`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pipeline {
    pub name: String,
    /// The git repository (any URL `git` understands: `https://`, `ssh://`, `file://`).
    pub repo: String,
    pub preset: Preset,
    /// By environment name (an ict `--env`), in declaration order.
    pub environments: IndexMap<String, PipelineEnv>,
    /// The app's environment variables (secrets stay [`Value::Template`]s until the run).
    pub env: IndexMap<String, Value>,
    /// The stages to run, in order, presets filled in and overrides applied.
    pub stages: Vec<Stage>,
    /// The app's service (run from the release directory) and its health check, if any.
    pub service: Option<Service>,
    /// The database provisioned before the stages; the app gets `DATABASE_URL`.
    pub database: Option<Database>,
    /// How many releases to keep on each host (the current one is always kept).
    pub keep: u32,
    /// The system user that runs stages and the service.
    pub user: String,
    /// Whether the stages run in a container.
    pub sandbox: Sandbox,
    /// Where releases live on each host: `<path>/releases/<id>`, `<path>/current`.
    pub path: String,
    pub notify: Vec<Notify>,
    /// How often `ict watch` asks the repository for new commits.
    #[serde(serialize_with = "super::serialize_seconds")]
    pub poll: Duration,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub fields: FieldSpans,
}

/// Why a ref pattern is not usable; `None` when it is fine. Follows `git check-ref-format`
/// for the parts that matter, plus `*`/`?` globs.
pub fn check_ref(pattern: &str) -> Option<String> {
    let bad = |why: &str| Some(format!("ref `{pattern}` {why}"));
    if pattern.is_empty() {
        return bad("is empty");
    }
    if pattern.starts_with("refs/") {
        return bad("must be a branch or tag name, without `refs/heads/` or `refs/tags/`");
    }
    if pattern.starts_with('/') || pattern.ends_with('/') || pattern.contains("//") {
        return bad("has an empty path part");
    }
    if pattern.contains("..")
        || pattern.contains("@{")
        || pattern.to_ascii_lowercase().ends_with(".lock")
    {
        return bad("is not a valid git ref name");
    }
    if let Some(c) = pattern
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '~' | '^' | ':' | '\\' | '['))
    {
        return bad(&format!(
            "contains {c:?}, which git does not allow in ref names"
        ));
    }
    None
}

/// Problems of pipelines that need the whole model: hosts that select no server, and
/// environments the script does not declare.
pub fn validate(desired: &super::Desired) -> Vec<ModelError> {
    let mut errors = Vec::new();
    for pipeline in desired.pipelines.values() {
        for (name, env) in &pipeline.environments {
            let dev_only = ["dev".to_owned()];
            let declared = desired
                .environments
                .as_ref()
                .map_or(&dev_only[..], |e| &e.names[..]);
            {
                if !declared.contains(name) {
                    errors.push(ModelError::InvalidValue {
                        field: "environments".into(),
                        message: format!(
                            "pipeline `{}` deploys to environment `{name}`, which the script does not declare",
                            pipeline.name
                        ),
                        help: Some(env_help(name, declared, desired.environments.is_none())),
                        at: env.span,
                    });
                }
            }
            // Hosts only need to exist in the environment being evaluated.
            if *name == desired.env && pattern::select(&env.hosts, desired).is_empty() {
                errors.push(pattern::no_match(&env.hosts, env.hosts_span, desired));
            }
        }
        if let Some(db) = &pipeline.database {
            if let Some(e) = check_db_host(db, desired) {
                errors.push(e);
            }
        }
    }
    errors
}

/// The help of a pipeline environment the script does not declare.
fn env_help(name: &str, declared: &[String], implicit: bool) -> String {
    let hint = DidYouMean::new(name, declared.iter().map(String::as_str));
    if implicit && hint.suggestion().is_none() {
        return "a script without environments(...) has only `dev`; declare them with \
                environments(#{ dev: #{}, prod: #{} })"
            .to_owned();
    }
    hint.listed("declared").to_string()
}

/// The database host must select exactly one server.
fn check_db_host(db: &Database, desired: &super::Desired) -> Option<ModelError> {
    let selected = pattern::select(&db.host, desired);
    match selected.len() {
        1 => None,
        0 => Some(pattern::no_match(&db.host, db.host_span, desired)),
        _ => Some(ModelError::InvalidValue {
            field: "database".into(),
            message: format!(
                "the database host `{}` matches {} servers ({}); it must be one",
                db.host,
                selected.len(),
                selected.join(", ")
            ),
            help: Some("name one server, e.g. `host: \"db-1\"`".into()),
            at: db.host_span,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_patterns() {
        for ok in ["main", "v*", "release/*", "feature/x-1", "v?.?"] {
            assert_eq!(check_ref(ok), None, "{ok}");
        }
        for bad in [
            "",
            "refs/heads/main",
            "a..b",
            "x y",
            "/x",
            "x/",
            "a~1",
            "v[0-9]",
            "x.lock",
        ] {
            assert!(check_ref(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn environments_accept_branches_and_tag_globs() {
        let env = PipelineEnv {
            refs: vec!["main".into(), "v*".into()],
            hosts: "all".into(),
            span: Span::default(),
            hosts_span: Span::default(),
        };
        assert!(env.accepts("main"));
        assert!(env.accepts("v1.2.0"));
        assert!(!env.accepts("dev"));
        assert!(!env.accepts("mainline"));
    }

    #[test]
    fn every_preset_but_commands_has_a_service_and_tests() {
        for (i, name) in Preset::NAMES.iter().enumerate() {
            let p = Preset::from_index(i);
            assert_eq!(p.as_str(), *name);
            let has = p != Preset::Commands;
            assert_eq!(p.service().is_some(), has, "{name}");
            assert_eq!(p.stage("test").is_some(), has, "{name}");
        }
        assert!(Preset::Django.stage("migrate").is_some());
        assert!(Preset::Python.stage("migrate").is_none());
    }
}
