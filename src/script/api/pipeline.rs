//! `pipeline(name, #{ repo, preset, environments, env, stages, service, database, keep, user,
//! sandbox, path, notify, poll })`: declares a deploy pipeline for `ict pipeline run` and `ict watch`.
//!
//! The preset fills in the standard stages (`build`, `migrate`, `test`) and the service; a
//! `stages` entry replaces a preset stage, `false` removes it, and any other name adds a custom
//! stage after them, in the order written. Ref patterns, host patterns, environment-variable
//! names and durations are checked here or in `model::pipeline::validate`, each error pointing
//! at the text that caused it.
//!
//! ```rhai
//! pipeline("app", #{
//!     repo: "https://git.example.com/app.git",
//!     preset: "python",
//!     environments: #{ prod: #{ refs: ["main", "v*"], hosts: "web" } },
//!     env: #{ PORT: "8000", API_KEY: secret("API_KEY") },
//!     stages: #{ lint: "python3 -m pyflakes ." },
//! });
//! ```

use std::time::Duration;

use indexmap::IndexMap;
use rhai::{Dynamic, Engine, EvalAltResult, Map, NativeCallContext};

use super::alert::notify_from;
use super::fields::{one_or_many, Fields};
use super::{check_name, function, Shared, Site};
use crate::model::alert::parse_duration;
use crate::model::pipeline::{check_ref, STANDARD_STAGES};
use crate::model::{
    DidYouMean, ModelError, Pipeline, PipelineEnv, Preset, Sandbox, Span, Stage, Value,
};

const FIELDS: &[&str] = &[
    "repo",
    "preset",
    "environments",
    "env",
    "stages",
    "service",
    "database",
    "keep",
    "user",
    "sandbox",
    "path",
    "notify",
    "poll",
];

/// What `pipeline(...)` returns.
#[derive(Debug, Clone)]
pub(crate) struct PipelineHandle {
    name: String,
    repo: String,
}

const DOC: &str = "Declares a deploy pipeline, run by `ict pipeline run` and triggered by `ict \
watch`: which refs deploy to which hosts in each environment, the stages that must pass, the \
app's environment, service and database, and whom to notify.";

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    engine
        .register_type_with_name::<PipelineHandle>("Pipeline")
        .register_get("name", |p: &mut PipelineHandle| p.name.clone())
        .register_get("repo", |p: &mut PipelineHandle| p.repo.clone())
        .register_fn("to_string", |p: &mut PipelineHandle| {
            format!("Pipeline(\"{}\")", p.name)
        })
        .register_fn("to_debug", |p: &mut PipelineHandle| {
            format!("Pipeline(\"{}\")", p.name)
        });
    let b = builder.clone();
    function(
        "pipeline",
        &["name: string", "options: map"],
        "Pipeline",
        DOC,
    )
    .register_into_engine(
        engine,
        move |ctx: NativeCallContext,
              name: &str,
              options: Map|
              -> Result<PipelineHandle, Box<EvalAltResult>> {
            Ok(declare(&b, &ctx, name, options))
        },
    );
}

fn declare(builder: &Shared, ctx: &NativeCallContext, name: &str, options: Map) -> PipelineHandle {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    check_name(&mut b, &site, "pipeline", name);
    let mut f = Fields::new("pipeline", FIELDS, options, &site, &mut b);
    let repo = f.string("repo");
    if repo.as_deref().is_some_and(str::is_empty) {
        f.invalid("repo", "`repo` is empty".into(), Some(REPO_HELP.into()));
    }
    let preset = Preset::from_index(f.choice("preset", &Preset::NAMES, 4));
    let environments = environments(&mut f, &site);
    let env = env_vars(&mut f);
    let stages = stages(&mut f, &site, preset);
    let service = service::service(&mut f, &site, preset);
    let database = service::database(&mut f, &site, name);
    if database.is_some() && env.contains_key("DATABASE_URL") {
        f.invalid(
            "env",
            "`DATABASE_URL` is set by ict for the pipeline's `database`".into(),
            Some("remove it from `env`, or remove `database` and keep your own".into()),
        );
    }
    let keep = f.uint("keep", 5);
    if keep == 0 {
        f.limit(
            "keep",
            "`keep` must be at least 1 (the current release)".into(),
        );
    }
    let user = f.string("user").unwrap_or_else(|| "app".to_owned());
    if !is_user_name(&user) {
        f.invalid(
            "user",
            format!("invalid user name {user:?}"),
            Some(
                "lowercase letters, digits, `-` and `_`, starting with a letter (at most 32)"
                    .into(),
            ),
        );
    }
    let sandbox = Sandbox::from_index(f.choice("sandbox", &Sandbox::NAMES, 0));
    let path = f.string("path").unwrap_or_else(|| format!("/srv/{name}"));
    check_path(&mut f, &path);
    let notify = match f.raw("notify") {
        Some(v) => notify_from(&mut f, "notify", split_notify_map(v)),
        None => Vec::new(),
    };
    let poll = poll(&mut f, &site);
    let fields = std::mem::take(&mut f.spans);
    drop(f);
    let Some(repo) = repo else {
        b.error(ModelError::MissingField {
            decl: "pipeline",
            field: "repo",
            at: site.call,
            help: "add the git repository to deploy, e.g. `repo: \"https://git.example.com/app.git\"`",
        });
        return PipelineHandle {
            name: name.to_owned(),
            repo: String::new(),
        };
    };
    if environments.is_empty() && !fields.contains_key("environments") {
        b.error(ModelError::MissingField {
            decl: "pipeline",
            field: "environments",
            at: site.call,
            help: "say which refs deploy where, e.g. `environments: #{ prod: #{ refs: [\"main\"], hosts: \"web\" } }`",
        });
    }
    let pipeline = Pipeline {
        name: name.to_owned(),
        repo: repo.clone(),
        preset,
        environments,
        env,
        stages,
        service,
        database,
        keep: keep.max(1),
        user,
        sandbox,
        path,
        notify,
        poll,
        span: site.call,
        fields,
    };
    if let Err(e) = b.desired.add_pipeline(pipeline) {
        b.error(e);
    }
    PipelineHandle {
        name: name.to_owned(),
        repo,
    }
}

const REPO_HELP: &str = "any URL git understands: https://, ssh://, git@host:path or file://";

/// `environments: #{ NAME: #{ refs: [...], hosts: "pattern" } }`.
fn environments(f: &mut Fields<'_>, site: &Site) -> IndexMap<String, PipelineEnv> {
    let mut out = IndexMap::new();
    let Some(v) = f.raw("environments") else {
        return out;
    };
    let Some(map) = v.read_lock::<Map>().map(|m| m.clone()) else {
        f.wrong_type(
            "environments",
            "a map like #{ prod: #{ refs: [\"main\"], hosts: \"web\" } }",
            &v,
        );
        return out;
    };
    let field = f.span("environments");
    let mut entries: Vec<(String, Dynamic)> =
        map.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    entries.sort_by_key(|(k, _)| nested_key(site, field, k).offset);
    for (name, value) in entries {
        let span = nested_key(site, field, &name);
        let Some(settings) = value.read_lock::<Map>().map(|m| m.clone()) else {
            error(f, "environments", span, format!("environment `{name}` must be a map like #{{ refs: [\"main\"], hosts: \"web\" }}"), None);
            continue;
        };
        let mut refs = Vec::new();
        let mut hosts = "all".to_owned();
        let mut hosts_span = span;
        for (key, value) in settings {
            match (key.as_str(), value) {
                ("hosts", v) if v.is_string() => {
                    hosts = v.to_string();
                    hosts_span = site.string(&hosts, span);
                }
                ("refs", v) => refs = ref_list(f, site, span, &name, v),
                (other, _) => {
                    let hint = DidYouMean::new(other, ["refs", "hosts"])
                        .listed_otherwise("known settings")
                        .to_string();
                    error(
                        f,
                        "environments",
                        span,
                        format!("unknown setting `{other}` in environment `{name}`"),
                        Some(hint),
                    );
                }
            }
        }
        if refs.is_empty() {
            error(
                f,
                "environments",
                span,
                format!("environment `{name}` has no `refs`"),
                Some("e.g. `refs: [\"main\", \"v*\"]`: branch names and tag globs".into()),
            );
        }
        out.insert(
            name,
            PipelineEnv {
                refs,
                hosts,
                span,
                hosts_span,
            },
        );
    }
    out
}

fn ref_list(f: &mut Fields<'_>, site: &Site, span: Span, env: &str, v: Dynamic) -> Vec<String> {
    let items = one_or_many(v);
    let mut refs = Vec::new();
    for item in items {
        if !item.is_string() {
            error(
                f,
                "environments",
                span,
                format!("`refs` of environment `{env}` must be a list of strings"),
                None,
            );
            continue;
        }
        let text = item.to_string();
        if let Some(problem) = check_ref(&text) {
            let at = site.string(&text, span);
            error(f, "environments", at, problem, Some("write a branch name (`main`) or a glob over branch and tag names (`v*`, `release/*`)".into()));
        } else {
            refs.push(text);
        }
    }
    refs
}

/// `env: #{ NAME: value }`: names must be shell variable names; `ICT_*` is ict's.
fn env_vars(f: &mut Fields<'_>) -> IndexMap<String, Value> {
    let vars = f.vars("env");
    for name in vars.keys() {
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            f.invalid(
                "env",
                format!("`{name}` is not an environment variable name"),
                Some("use letters, digits and `_`, not starting with a digit".into()),
            );
        } else if name.starts_with("ICT_") {
            f.invalid("env", format!("`{name}`: names starting with ICT_ are set by ict"), Some("ict sets ICT_HOST, ICT_HOST_IP, ICT_RELEASE, ICT_COMMIT, ICT_REF, ICT_ENV and ICT_PIPELINE".into()));
        }
    }
    vars
}

/// The preset's stages with `stages` applied: a string replaces, `false` removes, other names
/// are added after the standard ones in the order written.
fn stages(f: &mut Fields<'_>, site: &Site, preset: Preset) -> Vec<Stage> {
    let mut chosen: IndexMap<String, Option<String>> = STANDARD_STAGES
        .iter()
        .map(|s| ((*s).to_owned(), preset.stage(s).map(str::to_owned)))
        .collect();
    let Some(v) = f.raw("stages") else {
        return collect(chosen);
    };
    let Some(map) = v.read_lock::<Map>().map(|m| m.clone()) else {
        f.wrong_type(
            "stages",
            "a map like #{ test: \"make test\", migrate: false }",
            &v,
        );
        return collect(chosen);
    };
    let field = f.span("stages");
    let mut entries: Vec<(String, Dynamic)> =
        map.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    entries.sort_by_key(|(k, _)| nested_key(site, field, k).offset);
    for (name, value) in entries {
        let span = nested_key(site, field, &name);
        let valid = !name.is_empty()
            && name.len() <= 40
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
        if !valid {
            error(
                f,
                "stages",
                span,
                format!("invalid stage name {name:?}"),
                Some("use letters, digits, `-` and `_`".into()),
            );
            continue;
        }
        if value.is_string() {
            let command = value.to_string();
            if command.trim().is_empty() {
                error(
                    f,
                    "stages",
                    span,
                    format!("stage `{name}` has an empty command"),
                    Some("write `false` to remove a preset stage".into()),
                );
            }
            chosen.insert(name, Some(command));
        } else if value.as_bool() == Ok(false) || value.is_unit() {
            chosen.insert(name, None);
        } else {
            error(
                f,
                "stages",
                span,
                format!("stage `{name}` must be a shell command (a string) or false"),
                None,
            );
        }
    }
    collect(chosen)
}

fn collect(chosen: IndexMap<String, Option<String>>) -> Vec<Stage> {
    chosen
        .into_iter()
        .filter_map(|(name, command)| command.map(|command| Stage { name, command }))
        .collect()
}

fn poll(f: &mut Fields<'_>, site: &Site) -> Duration {
    let Some(text) = f.string("poll") else {
        return Duration::from_secs(60);
    };
    match parse_duration(&text) {
        Ok(d) if d >= Duration::from_secs(1) => d,
        Ok(_) => {
            let at = site.string(&text, f.span("poll"));
            error(f, "poll", at, "`poll` must be at least 1s".into(), None);
            Duration::from_secs(60)
        }
        Err(message) => {
            let at = site.string(&text, f.span("poll"));
            error(
                f,
                "poll",
                at,
                message,
                Some("durations look like \"30s\", \"5m\" or \"1h\"".into()),
            );
            Duration::from_secs(60)
        }
    }
}

fn check_path(f: &mut Fields<'_>, path: &str) {
    let ok = path.starts_with('/')
        && path.len() > 1
        && !path.split('/').any(|p| p == "..")
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'));
    if !ok {
        f.invalid(
            "path",
            format!("`path` must be an absolute directory path, got {path:?}"),
            Some("e.g. \"/srv/app\" (letters, digits, `/`, `-`, `_`, `.`)".into()),
        );
    }
}

fn is_user_name(user: &str) -> bool {
    user.len() <= 32
        && user.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && user
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
}

/// `#{ webhook: url, command: cmd }` (both keys) becomes two targets.
fn split_notify_map(v: Dynamic) -> Dynamic {
    let Some(map) = v.read_lock::<Map>().map(|m| m.clone()) else {
        return v;
    };
    if map.len() < 2 || !map.keys().all(|k| k == "webhook" || k == "command") {
        return v;
    }
    let items: rhai::Array = map
        .into_iter()
        .map(|(k, v)| {
            let mut one = Map::new();
            one.insert(k, v);
            Dynamic::from_map(one)
        })
        .collect();
    Dynamic::from_array(items)
}

/// The span of `key: value` written inside the nested map of a field, or the field's span.
fn nested_key(site: &Site, field: Span, key: &str) -> Span {
    let text = site
        .text
        .get(field.offset..field.offset + field.len)
        .unwrap_or("");
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text.get(from..).and_then(|t| t.find(key)).map(|i| i + from) {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let quoted = before == Some(b'"');
        let after = i + key.len() + usize::from(quoted);
        let boundary = before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == b'_'));
        let rest = text.get(after..).unwrap_or("").trim_start();
        if boundary && rest.starts_with(':') {
            let start = i - usize::from(quoted);
            let end = value_end(bytes, after);
            return Span {
                source: field.source,
                offset: field.offset + start,
                len: text[start..end].trim_end().len(),
            };
        }
        from = i + key.len();
    }
    field
}

/// Where the value starting at `from` ends: the first `,` or closing bracket outside brackets.
fn value_end(bytes: &[u8], from: usize) -> usize {
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'`' => {
                let quote = bytes[i];
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' | b',' if depth == 0 => return i,
            b')' | b']' | b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

fn error(f: &mut Fields<'_>, field: &str, at: Span, message: String, help: Option<String>) {
    f.builder().error(ModelError::InvalidValue {
        field: field.to_owned(),
        message,
        help,
        at,
    });
}

mod service;

#[cfg(test)]
mod tests;
