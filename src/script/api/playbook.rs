//! `playbook(path, #{ hosts, vars, tags })`: declares an Ansible playbook. Playbooks run in
//! declaration order after the servers exist; `hosts` is an Ansible host pattern.
//!
//! A path under `ict/playbooks/` names a playbook shipped inside ict (see `script::stdlib`).
//!
//! ```rhai
//! playbook("playbooks/nginx.yml", #{ hosts: "web", vars: #{ port: 80 }, tags: ["nginx"] });
//! ```

use std::path::{Path, PathBuf};

use rhai::{Engine, EvalAltResult, Map, NativeCallContext};

use super::fields::Fields;
use super::handles::PlaybookHandle;
use super::Shared;
use crate::model::{ModelError, Playbook};
use crate::script::stdlib;

const FIELDS: &[&str] = &["hosts", "vars", "tags", "name"];

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    let b = builder.clone();
    engine.register_fn(
        "playbook",
        move |ctx: NativeCallContext,
              path: &str,
              options: Map|
              -> Result<PlaybookHandle, Box<EvalAltResult>> {
            Ok(declare(&b, &ctx, path, options))
        },
    );
    let b = builder.clone();
    engine.register_fn(
        "playbook",
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
    let stem = Path::new(path)
        .file_stem()
        .map_or_else(|| path.to_owned(), |s| s.to_string_lossy().into_owned());
    let name = f.string("name").unwrap_or(stem);
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
    let playbook = Playbook {
        name: name.clone(),
        path: path.to_owned(),
        resolved,
        hosts,
        vars,
        tags,
        span: site.call,
        fields,
    };
    if let Err(e) = b.desired.add_playbook(playbook) {
        b.error(e);
    }
    PlaybookHandle { name }
}
