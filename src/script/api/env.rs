//! Environments and inputs: `environments(...)`, `environment()`, `variable(...)`, `env(...)` and
//! `secret(...)`. These are the only ways a script sees the outside world, and all are read-only.
//!
//! ```rhai
//! let size = environments(#{ dev: #{ web: 1 }, prod: #{ web: 3 } });   // selected with --env
//! let count = variable("web_count", size.web);     // --var web_count=5 overrides
//! let region = env("REGION", "SdnSpb");        // process environment, with a default
//! let db_password = secret("DB_PASSWORD");     // prints as (sensitive), everywhere
//! ```

use rhai::{Dynamic, Engine, EvalAltResult, Map, NativeCallContext};

use super::{function, Shared};
use crate::model::{secret_token, Environments};
use crate::script::error::HostError;

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    let b = builder.clone();
    let doc = "Declares the environments (`--env` selects one; `dev` by default), with the \
               settings of each as a map, and returns the selected one's; or, given a list of \
               names, declares them without settings.";
    function("environments", &["settings: map"], "map", doc).register_into_engine(
        engine,
        move |ctx: NativeCallContext, envs: Map| {
            let names: Vec<String> = envs.keys().map(ToString::to_string).collect();
            let selected = declare(&b, &ctx, names)?;
            Ok::<_, Box<EvalAltResult>>(
                envs.get(selected.as_str())
                    .cloned()
                    .filter(|v| !v.is_unit())
                    .unwrap_or_else(|| Dynamic::from_map(Map::new())),
            )
        },
    );
    let b = builder.clone();
    function("environments", &["names: array"], "", doc).register_into_engine(
        engine,
        move |ctx: NativeCallContext, envs: rhai::Array| {
            let names: Vec<String> = envs.iter().map(ToString::to_string).collect();
            declare(&b, &ctx, names).map(|_| ())
        },
    );
    let b = builder.clone();
    let doc = "The selected environment's name.";
    function("environment", &[], "string", doc)
        .register_into_engine(engine, move || b.borrow().options.env.clone());

    let b = builder.clone();
    let doc = "The value of `--var name=value`. Without a default it must be given; with one, \
               the value is converted to the default's type. A `--var` no script reads is an \
               error.";
    function("variable", &["name: string"], "string", doc).register_into_engine(
        engine,
        move |ctx: NativeCallContext, name: &str| {
            let mut b = b.borrow_mut();
            b.vars_read.insert(name.to_owned());
            b.options.vars.get(name).cloned().ok_or_else(|| {
                HostError {
                    code: "ict::script::missing_var",
                    message: format!("variable `{name}` is not set"),
                    help: Some(format!(
                        "pass `--var {name}=VALUE`, or give a default: variable(\"{name}\", ...)"
                    )),
                    span: None,
                }
                .into_rhai(ctx.call_position())
            })
        },
    );
    let b = builder.clone();
    function("variable", &["name: string", "default"], "", doc).register_into_engine(
        engine,
        move |ctx: NativeCallContext, name: &str, default: Dynamic| {
            let value = {
                let mut b = b.borrow_mut();
                b.vars_read.insert(name.to_owned());
                b.options.vars.get(name).cloned()
            };
            match value {
                None => Ok(default),
                Some(text) => typed_like(&text, &default).ok_or_else(|| {
                    HostError {
                        code: "ict::script::bad_var",
                        message: format!(
                            "`--var {name}={text}` is not {}",
                            super::value::type_name(&default)
                        ),
                        help: Some(
                            "the default value given in the script sets the variable's type".into(),
                        ),
                        span: None,
                    }
                    .into_rhai(ctx.call_position())
                }),
            }
        },
    );

    let doc = "A variable of ict's process environment: without a default it must be set.";
    function("env", &["name: string"], "string", doc).register_into_engine(
        engine,
        |ctx: NativeCallContext, name: &str| {
            std::env::var(name).map_err(|_| {
                HostError {
                    code: "ict::script::missing_env",
                    message: format!("environment variable `{name}` is not set"),
                    help: Some(format!("set it, or give a default: env(\"{name}\", ...)")),
                    span: None,
                }
                .into_rhai(ctx.call_position())
            })
        },
    );
    function("env", &["name: string", "default"], "", doc)
        .register_into_engine(engine, |name: &str, default: Dynamic| {
            std::env::var(name).map_or(default, Dynamic::from)
        });
    let b = builder.clone();
    let doc = "A secret from ict's process environment. It prints as `(sensitive)` everywhere \
               and is never stored; `ict check` does not need its value.";
    function("secret", &["name: string"], "string", doc).register_into_engine(
        engine,
        move |ctx: NativeCallContext, name: &str| {
        let set = std::env::var_os(name).is_some_and(|v| !v.is_empty());
        if set || !b.borrow().options.need_secrets {
            Ok(secret_token(name))
        } else {
            Err(HostError {
                code: "ict::script::missing_secret",
                message: format!("secret `{name}` is not set"),
                help: Some(format!(
                    "export {name}=... before running ict; secrets are read from the environment and never stored"
                )),
                span: None,
            }
            .into_rhai(ctx.call_position()))
        }
        },
    );
}

/// Records the declared environments and returns the selected one, or an error naming them.
fn declare(
    builder: &Shared,
    ctx: &NativeCallContext,
    names: Vec<String>,
) -> Result<String, Box<EvalAltResult>> {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    if let Some(first) = &b.desired.environments {
        let first = b.sources.location(first.span);
        return Err(HostError {
            code: "ict::script::environments_twice",
            message: "environments are declared twice".into(),
            help: Some(format!("first declared at {first}")),
            span: Some(site.call),
        }
        .into_rhai(ctx.call_position()));
    }
    if let Some(bad) = names.iter().find(|n| !Environments::valid_name(n)) {
        let at = site.key(bad);
        return Err(HostError {
            code: "ict::script::env_name",
            message: format!("`{bad}` is not a valid environment name"),
            help: Some(format!(
                "{} (each environment keeps its state in .ict/<name>/)",
                Environments::NAME_RULE
            )),
            span: Some(if at == site.call {
                site.string(bad, at)
            } else {
                at
            }),
        }
        .into_rhai(ctx.call_position()));
    }
    let selected = b.options.env.clone();
    if !names.contains(&selected) {
        return Err(HostError {
            code: "ict::script::unknown_env",
            message: format!("unknown environment `{selected}` (from --env)"),
            help: Some(format!(
                "this script declares: {}; choose one with --env NAME",
                names.join(", ")
            )),
            span: Some(site.call),
        }
        .into_rhai(ctx.call_position()));
    }
    b.desired.environments = Some(Environments {
        names,
        span: site.call,
    });
    Ok(selected)
}

/// Parses `text` into the type of `like` (integer, float, boolean, or string).
fn typed_like(text: &str, like: &Dynamic) -> Option<Dynamic> {
    if like.is_int() {
        text.trim().parse::<i64>().ok().map(Dynamic::from)
    } else if like.is_float() {
        text.trim().parse::<f64>().ok().map(Dynamic::from)
    } else if like.is_bool() {
        match text.trim() {
            "true" | "yes" | "1" => Some(Dynamic::TRUE),
            "false" | "no" | "0" => Some(Dynamic::FALSE),
            _ => None,
        }
    } else {
        Some(Dynamic::from(text.to_owned()))
    }
}
