//! `backend(kind, #{...})`: keeps the state in a database or bucket the team shares instead of
//! `.ict/<env>/`. Credentials come through `secret(...)`: they stay names of environment
//! variables in the model and are read only when the backend is opened.
//!
//! ```rhai
//! backend("postgres", #{ url: secret("ICT_STATE_URL") });
//! ```

use rhai::{Engine, EvalAltResult, Map, NativeCallContext};

use super::fields::Fields;
use super::{function, Shared};
use crate::model::{Backend, BackendKind, ModelError, Value};
use crate::script::error::HostError;

const DOC: &str = "Keeps the state of every environment in a shared backend instead of \
`.ict/<env>/`: `\"postgres\"` (`url`, `project`, `lease`) or `\"s3\"` (`bucket`, `prefix`, \
`endpoint`, `region`, `access_key`, `secret_key`, `lease`). Give credentials with `secret(...)`; \
`lease` is how many seconds a lock outlives a holder that stopped renewing it (30).";

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    let b = builder.clone();
    function("backend", &["kind: string", "settings: map"], "", DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext, kind: &str, settings: Map| declare(&b, &ctx, kind, settings),
    );
}

fn declare(
    builder: &Shared,
    ctx: &NativeCallContext,
    kind: &str,
    settings: Map,
) -> Result<(), Box<EvalAltResult>> {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    if let Some(first) = &b.desired.backend {
        let first = b.sources.location(first.span);
        return Err(HostError {
            code: "ict::script::backend_twice",
            message: "backend(...) is declared twice".into(),
            help: Some(format!(
                "first declared at {first}; the state of a script is kept in one place (choose \
                 it per environment with ordinary script logic)"
            )),
            span: Some(site.call),
        }
        .into_rhai(ctx.call_position()));
    }
    let Some(parsed) = BackendKind::parse(kind) else {
        let at = site.string(kind, site.call);
        b.error(ModelError::InvalidValue {
            field: "kind".into(),
            message: format!("unknown backend `{kind}`"),
            help: Some(format!(
                "use one of: {}; without backend(...) the state stays in .ict/<env>/",
                BackendKind::NAMES.join(", ")
            )),
            at,
        });
        return Ok(());
    };
    let (allowed, required) = parsed.fields();
    let mut f = Fields::new("backend", allowed, settings, &site, &mut b);
    let lease_secs = f.uint("lease", Backend::DEFAULT_LEASE_SECS);
    if lease_secs == 0 {
        f.invalid("lease", "`lease` must be at least 1 second".into(), None);
    }
    let mut values = indexmap::IndexMap::new();
    for field in allowed.iter().filter(|field| **field != "lease") {
        if let Some(text) = f.string(field) {
            values.insert((*field).to_owned(), Value::from_script_string(&text));
        }
    }
    for field in required {
        if !values.contains_key(*field) {
            f.builder().error(ModelError::MissingField {
                decl: "backend",
                field,
                at: site.call,
                help: "backend(\"postgres\", ...) needs `url`, backend(\"s3\", ...) needs `bucket` (docs/state.md)",
            });
        }
    }
    drop(f);
    b.desired.backend = Some(Backend {
        kind: parsed,
        settings: values,
        lease_secs,
        span: site.call,
    });
    Ok(())
}
