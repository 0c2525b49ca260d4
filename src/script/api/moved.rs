//! `moved(from, to)` and `output(name, value)`.
//!
//! ```rhai
//! let web = server("shop-web-1", #{});
//! moved("web-1", web);                 // was `server("web-1", ...)`: keep its server
//! output("web_ip", web.ip);            // `ict output FILE web_ip` after apply
//! ```
//!
//! `from` is the old name (`"web-1"`, or `"server.web-1"`); `to` is the new declaration's
//! handle or name. Whether `to` is declared is checked once the whole script has run.

use rhai::{Dynamic, Engine, EvalAltResult, NativeCallContext};

use super::handles::{DnsRecordHandle, Handle, NetworkHandle, ServerHandle, SshKeyHandle};
use super::value::to_value;
use super::{function, Shared};
use crate::model::{ModelError, Move, Output};

const MOVED_DOC: &str = "Says that the resource once declared as `from` (its old name, or \
`kind.name`) is now `to` (the new declaration or its name): the plan keeps its cloud object \
(renaming it in the cloud where 1cloud allows) instead of destroying and creating.";

const OUTPUT_DOC: &str =
    "Declares a value other tools read after apply: printed after `ict apply` \
and by `ict output FILE [NAME]` from the state; a value holding a secret shows as \
`(sensitive)` unless asked for by name.";

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    let b = builder.clone();
    function("moved", &["from: string", "to"], "", MOVED_DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext, from: &str, to: Dynamic| -> Result<(), Box<EvalAltResult>> {
            record_move(&b, &ctx, from, &to);
            Ok(())
        },
    );
    let b = builder.clone();
    function("output", &["name: string", "value"], "", OUTPUT_DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext,
              name: &str,
              value: Dynamic|
              -> Result<(), Box<EvalAltResult>> {
            record_output(&b, &ctx, name, &value);
            Ok(())
        },
    );
}

/// The kind and name a handle or a `kind.name` / `name` string stands for.
fn target(to: &Dynamic) -> Option<(Option<String>, String)> {
    fn of<H: Handle>(value: &Dynamic) -> Option<(Option<String>, String)> {
        value
            .clone()
            .try_cast::<H>()
            .map(|h| (Some(H::KIND.to_owned()), h.name().to_owned()))
    }
    of::<ServerHandle>(to)
        .or_else(|| of::<NetworkHandle>(to))
        .or_else(|| of::<SshKeyHandle>(to))
        .or_else(|| of::<DnsRecordHandle>(to))
        .or_else(|| to.clone().into_string().ok().map(|s| split(&s)))
}

/// `server.web-1` → (`server`, `web-1`); `web-1` → (none, `web-1`).
fn split(text: &str) -> (Option<String>, String) {
    match text.split_once('.') {
        Some((kind, name)) if KINDS.contains(&kind) => (Some(kind.to_owned()), name.to_owned()),
        _ => (None, text.to_owned()),
    }
}

const KINDS: &[&str] = &["server", "network", "ssh_key", "dns_record"];

fn record_move(builder: &Shared, ctx: &NativeCallContext, from: &str, to: &Dynamic) {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    let Some((to_kind, to_name)) = target(to) else {
        b.error(ModelError::WrongType {
            field: "to".into(),
            expected: "a declared resource or its name",
            found: to.type_name().to_owned(),
            at: site.call,
        });
        return;
    };
    let (from_kind, from_name) = split(from);
    let kind = match (from_kind, to_kind) {
        (Some(a), Some(b_kind)) if a != b_kind => {
            b.error(ModelError::InvalidValue {
                field: "moved".into(),
                message: format!("`moved` cannot turn a {a} into a {b_kind}"),
                help: Some("a move keeps the same kind of object; only its name changes".into()),
                at: site.call,
            });
            return;
        }
        (a, b_kind) => a.or(b_kind),
    };
    b.desired.moves.push(Move {
        kind,
        from: from_name,
        to: to_name,
        span: site.call,
    });
}

fn record_output(builder: &Shared, ctx: &NativeCallContext, name: &str, value: &Dynamic) {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    super::check_name(&mut b, &site, "output", name);
    let value = match to_value(value) {
        Ok(value) => value,
        Err(type_name) => {
            b.error(ModelError::InvalidValue {
                field: "value".into(),
                message: format!("an output cannot hold a {type_name}"),
                help: Some("outputs are text, numbers, booleans, arrays or maps".into()),
                at: site.call,
            });
            return;
        }
    };
    if let Err(e) = b.desired.add_output(Output {
        name: name.to_owned(),
        value,
        span: site.call,
    }) {
        b.error(e);
    }
}
