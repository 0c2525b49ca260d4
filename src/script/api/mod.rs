//! The script API: the functions a `.ict` script calls to declare infrastructure.
//!
//! One file per namespace, each with its own `register`. Every declaration function records
//! into the shared [`Builder`] and returns a small handle with read-only properties. Problems
//! with a declaration's fields are recorded (not thrown) so that one run reports all of them;
//! only errors that make going on meaningless are thrown. `rhai::Dynamic` and `rhai::Map` stop
//! here: the model receives typed values.
//!
//! Every script function is registered through [`function`], with its parameter names, result
//! type and documentation, so that `reference` reads the API back from the engine's metadata
//! for error hints, the REPL and docs/language.md.

mod alert;
mod backend;
mod dns;
mod env;
mod fields;
mod group;
mod handles;
mod image;
mod moved;
mod network;
mod pipeline;
mod playbook;
mod provider;
mod reference;
mod schedule;
mod server;
mod ssh_key;
mod storage;
mod value;

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use indexmap::IndexMap;
use rhai::{Engine, FuncRegistration, NativeCallContext};

use super::engine::Clock;
use super::error::Problem;
use super::Options;
use crate::model::{Desired, ModelError, SourceId, Sources, Span};

pub(crate) use reference::{functions, properties, signature_help, FUNCTIONS};

/// What the script has declared so far, plus what the host needs to record it.
#[derive(Debug, Clone)]
pub(crate) struct Builder {
    pub(crate) desired: Desired,
    pub(crate) problems: Vec<Problem>,
    pub(crate) sources: Sources,
    /// Folder of each loaded source, for relative paths (`public_key_file`, playbooks, imports).
    pub(crate) dirs: IndexMap<SourceId, PathBuf>,
    pub(crate) options: Options,
    /// The source evaluated at top level (the entry script).
    pub(crate) entry: SourceId,
    /// The files being evaluated, outermost first (the entry script when it is a file, then each
    /// module whose import is in progress), as (key, name): see `resolver`.
    pub(crate) importing: Vec<(String, String)>,
    /// Per call site (file, offset): the call's extent and its literal keys. A declaration in a
    /// loop is located once, not once per iteration.
    pub(crate) sites: std::collections::HashMap<(SourceId, usize), CallShape>,
    /// Names of the variables `variable(...)` was asked for.
    pub(crate) vars_read: std::collections::BTreeSet<String>,
    /// The wall-clock budget of the evaluation in progress.
    pub(crate) clock: Rc<Clock>,
}

/// Where a call's parts are in its text.
#[derive(Debug, Clone)]
pub(crate) struct CallShape {
    extent: Option<(usize, usize)>,
    keys: Arc<[(String, usize, usize)]>,
}

/// The builder, shared by every registered function during one evaluation.
pub(crate) type Shared = Rc<RefCell<Builder>>;

impl Builder {
    pub(crate) fn new(options: Options) -> Builder {
        Builder {
            desired: Desired::new(&options.env),
            clock: Clock::new(options.time_limit),
            problems: Vec::new(),
            sources: Sources::default(),
            dirs: IndexMap::new(),
            options,
            entry: SourceId::default(),
            importing: Vec::new(),
            vars_read: std::collections::BTreeSet::new(),
            sites: std::collections::HashMap::new(),
        }
    }

    pub(crate) fn error(&mut self, error: ModelError) {
        self.problems.push(Problem::Model(error));
    }

    /// Where the current native call was written.
    pub(crate) fn site(&mut self, ctx: &NativeCallContext) -> Site {
        let source = ctx
            .call_source()
            .and_then(|s| self.sources.find(s))
            .unwrap_or(self.entry);
        let pos = ctx.call_position();
        let name_len = ctx.fn_name().len();
        let call = match pos.line() {
            Some(line) => self
                .sources
                .span_at(source, line, pos.position().unwrap_or(1), name_len),
            None => Span {
                source,
                offset: 0,
                len: 0,
            },
        };
        let text = self
            .sources
            .get(source)
            .map_or_else(|| Arc::from(""), |f| f.text.clone());
        let shape = self.sites.entry((source, call.offset)).or_insert_with(|| {
            let extent = super::locate::call_extent(&text, call.offset);
            let keys = extent
                .map(|e| super::locate::keys(&text, e))
                .unwrap_or_default();
            CallShape {
                extent,
                keys: keys.into(),
            }
        });
        let (extent, keys) = (shape.extent, shape.keys.clone());
        let dir = self.dirs.get(&source).cloned().unwrap_or_default();
        Site {
            call,
            extent,
            keys,
            text,
            dir,
        }
    }
}

/// The place of one declaration call in the source.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    /// The function name of the call.
    pub(crate) call: Span,
    /// The whole call `name(...)`, when it could be found.
    pub(crate) extent: Option<(usize, usize)>,
    /// Keys written literally in the call's options map, with their spans.
    keys: Arc<[(String, usize, usize)]>,
    pub(crate) text: Arc<str>,
    /// Folder of the file the call is in.
    pub(crate) dir: PathBuf,
}

impl Site {
    /// Span of `key: value` in the call's options map, or of the call.
    pub(crate) fn key(&self, key: &str) -> Span {
        self.keys
            .iter()
            .find(|(k, _, _)| k == key)
            .map_or(self.call, |&(_, offset, len)| Span {
                source: self.call.source,
                offset,
                len,
            })
    }

    /// Span of the string literal `"value"` in the call, or the fallback. When the fallback is
    /// a field of the call (`children: ["web"]`), the literal is looked for there first.
    pub(crate) fn string(&self, value: &str, fallback: Span) -> Span {
        let field = (fallback != self.call && fallback.source == self.call.source)
            .then_some((fallback.offset, fallback.offset + fallback.len));
        field
            .into_iter()
            .chain(self.extent)
            .find_map(|e| super::locate::find_string(&self.text, e, value))
            .map_or(fallback, |(offset, len)| Span {
                source: self.call.source,
                offset,
                len,
            })
    }
}

/// How script function `name` is registered, with what the engine's metadata then says of it
/// (read back by `reference`): `params` as `"name: type"` (or just `"name"` when any type
/// goes), the type of the result (`""` for none) and `doc`, a markdown paragraph.
pub(crate) fn function(name: &str, params: &[&str], returns: &str, doc: &str) -> FuncRegistration {
    let info = params
        .iter()
        .copied()
        .chain((!returns.is_empty()).then_some(returns));
    let comments = doc
        .lines()
        .map(|line| format!("/// {line}"))
        .collect::<Vec<_>>()
        .join("\n");
    FuncRegistration::new(name)
        .with_params_info(info)
        .with_comments([comments])
}

/// Registers the whole API on `engine`, recording into `builder`.
pub(crate) fn register(engine: &mut Engine, builder: &Shared) {
    handles::register(engine);
    server::register(engine, builder);
    ssh_key::register(engine, builder);
    image::register(engine, builder);
    network::register(engine, builder);
    group::register(engine, builder);
    playbook::register(engine, builder);
    dns::register(engine, builder);
    alert::register(engine, builder);
    pipeline::register(engine, builder);
    schedule::register(engine, builder);
    env::register(engine, builder);
    backend::register(engine, builder);
    provider::register(engine, builder);
    storage::register(engine, builder);
    moved::register(engine, builder);
}

/// Names become Ansible host names and file names: letters, digits, `-`, `_` and `.`,
/// starting with a letter or digit, at most 63 characters. Cloud objects (servers, SSH keys,
/// networks) may also use letters of any script and inner spaces, as the 1cloud panel allows,
/// so that objects made there can be adopted under their own names.
pub(crate) fn check_name(builder: &mut Builder, site: &Site, kind: &str, name: &str) -> bool {
    let panel = matches!(kind, "server" | "ssh key" | "network");
    let letter = |c: char| {
        if panel {
            c.is_alphanumeric()
        } else {
            c.is_ascii_alphanumeric()
        }
    };
    let ok = !name.is_empty()
        && name.chars().count() <= 63
        && name.chars().next().is_some_and(letter)
        && !name.ends_with(' ')
        && name
            .chars()
            .all(|c| letter(c) || matches!(c, '-' | '_' | '.') || (panel && c == ' '));
    if !ok {
        let at = site.string(name, site.call);
        builder.error(ModelError::InvalidValue {
            field: "name".into(),
            message: format!("invalid {kind} name {name:?}"),
            help: Some(if panel {
                "use letters, digits, `-`, `_`, `.` and inner spaces, starting with a letter or \
                 digit (at most 63 characters)"
                    .into()
            } else {
                "use letters, digits, `-`, `_` and `.`, starting with a letter or digit \
                 (at most 63 characters)"
                    .into()
            }),
            at,
        });
    }
    ok
}
