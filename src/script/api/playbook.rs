//! `playbook(path, #{ hosts, vars, tags, separate })`: declares an Ansible playbook. Playbooks
//! run in declaration order after the servers exist, in one `ansible-playbook` unless `separate`;
//! `hosts` is an Ansible host pattern.
//!
//! A path under `ict/playbooks/` names a playbook shipped inside ict (see `script::stdlib`).
//!
//! A playbook's name (its key) defaults to the file stem; the same file declared again for other
//! hosts is named after them too (`node_exporter-db`), so that a module such as
//! `ict/node_exporter` can be used for several host patterns. The same file for the same hosts
//! twice is still declared twice.
//!
//! ```rhai
//! playbook("playbooks/nginx.yml", #{ hosts: "web", vars: #{ port: 80 }, tags: ["nginx"] });
//! ```

use std::path::{Path, PathBuf};

use rhai::{Engine, EvalAltResult, Map, NativeCallContext};

use super::fields::Fields;
use super::handles::PlaybookHandle;
use super::{function, Shared};
use crate::model::{ModelError, Playbook};
use crate::script::stdlib;

const FIELDS: &[&str] = &["hosts", "vars", "tags", "name", "separate"];

const DOC: &str = "Declares an Ansible playbook (a path relative to the script, or \
`ict/playbooks/...` for one shipped with ict), run by `ict run` in declaration order on the \
hosts it names, once the servers exist.";

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    let b = builder.clone();
    function(
        "playbook",
        &["path: string", "options: map"],
        "Playbook",
        DOC,
    )
    .register_into_engine(
        engine,
        move |ctx: NativeCallContext,
              path: &str,
              options: Map|
              -> Result<PlaybookHandle, Box<EvalAltResult>> {
            Ok(declare(&b, &ctx, path, options))
        },
    );
    let b = builder.clone();
    function("playbook", &["path: string"], "Playbook", DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext, path: &str| -> Result<PlaybookHandle, Box<EvalAltResult>> {
            Ok(declare(&b, &ctx, path, Map::new()))
        },
    );
}

fn declare(builder: &Shared, ctx: &NativeCallContext, path: &str, options: Map) -> PlaybookHandle {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    let mut f = Fields::new("playbook", FIELDS, options, &site, &mut b);
    let hosts = f.string("hosts").unwrap_or_else(|| "all".to_owned());
    let vars = f.vars("vars");
    let tags = f.strings("tags");
    let separate = f.bool("separate", false);
    let stem = Path::new(path)
        .file_stem()
        .map_or_else(|| path.to_owned(), |s| s.to_string_lossy().into_owned());
    let given_name = f.string("name");
    let (resolved, problem) = if path.starts_with(stdlib::PLAYBOOK_PREFIX) {
        // A playbook shipped inside ict; `ict run` writes it out before Ansible runs.
        let problem = stdlib::playbook(path).is_none().then(|| {
            format!(
                "ict ships no such playbook (it has {})",
                stdlib::playbook_paths().join(", ")
            )
        });
        (PathBuf::from(format!("stdlib:{path}")), problem)
    } else {
        let resolved = site.dir.join(path);
        let problem = (!resolved.is_file()).then(|| {
            if resolved.exists() {
                "it is not a file".to_owned()
            } else {
                "no such file".to_owned()
            }
        });
        (resolved, problem)
    };
    if let Some(reason) = problem {
        let at = site.string(path, site.call);
        f.builder().error(ModelError::File {
            path: path.to_owned(),
            reason,
            at,
        });
    }
    let fields = std::mem::take(&mut f.spans);
    drop(f);
    let name = given_name.unwrap_or_else(|| default_name(&b.desired.playbooks, stem, &hosts));
    let playbook = Playbook {
        name: name.clone(),
        path: path.to_owned(),
        resolved,
        hosts,
        vars,
        tags,
        separate,
        span: site.call,
        fields,
    };
    if let Err(e) = b.desired.add_playbook(playbook) {
        b.error(e);
    }
    PlaybookHandle { name }
}

/// The name of a playbook declared without `name`: its file stem; when a playbook of that name
/// already runs on other hosts, the stem and the hosts pattern (`node_exporter-db`).
fn default_name(declared: &[Playbook], stem: String, hosts: &str) -> String {
    match declared.iter().find(|p| p.name == stem) {
        Some(first) if first.hosts != hosts => {
            let hosts: String = hosts
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("{stem}-{hosts}")
        }
        _ => stem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(name: &str, hosts: &str) -> Playbook {
        Playbook {
            name: name.to_owned(),
            path: format!("{name}.yml"),
            resolved: PathBuf::new(),
            hosts: hosts.to_owned(),
            vars: indexmap::IndexMap::new(),
            tags: Vec::new(),
            separate: false,
            span: crate::model::Span::default(),
            fields: crate::model::FieldSpans::new(),
        }
    }

    #[test]
    fn a_playbook_declared_again_for_other_hosts_is_named_after_them() {
        let first = [declared("node_exporter", "web")];
        let name = |hosts: &str| default_name(&first, "node_exporter".into(), hosts);
        assert_eq!(
            default_name(&[], "node_exporter".into(), "web"),
            "node_exporter"
        );
        assert_eq!(name("db"), "node_exporter-db");
        assert_eq!(name("web:!web-3"), "node_exporter-web__web-3");
        // The same hosts again keep the name, and so are declared twice.
        assert_eq!(name("web"), "node_exporter");
    }
}
