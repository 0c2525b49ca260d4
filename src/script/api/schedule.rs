//! `schedule(name, #{ cron | every, tz, action, servers, keep, pipeline, command, catch_up,
//! notify })`:
//! declares an action that `ict watch` runs at set times (and `ict schedule run` runs now).
//!
//! The cron expression and the time zone are parsed here, so a typo is reported at the value
//! with a hint; `servers` and `pipeline` are checked once the whole script has run
//! (`model::schedule::validate`).
//!
//! ```rhai
//! schedule("night-stop", #{ cron: "0 20 * * 1-5", tz: "Europe/Moscow", action: "power_off", servers: "dev-*" });
//! schedule("reconcile", #{ every: "1h", action: "apply" });
//! ```

use rhai::{Engine, EvalAltResult, Map, NativeCallContext};

use super::fields::Fields;
use super::{check_name, function, Shared};
use crate::model::alert::parse_duration;
use crate::model::schedule::{parse_cron, parse_tz, Action, When};
use crate::model::{ModelError, Schedule};

const FIELDS: &[&str] = &[
    "cron", "every", "tz", "action", "servers", "keep", "pipeline", "command", "catch_up", "notify",
];

/// What `schedule(...)` returns.
#[derive(Debug, Clone)]
pub(crate) struct ScheduleHandle {
    name: String,
    action: &'static str,
}

const DOC: &str = "Declares an action run at set times by `ict watch`: `power_off`, `power_on`, \
`reboot`, `image`, `apply`, `pipeline` or `command`, at a `cron` expression in a time zone `tz` \
(UTC by default) or `every` period.";

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    engine
        .register_type_with_name::<ScheduleHandle>("Schedule")
        .register_get("name", |s: &mut ScheduleHandle| s.name.clone())
        .register_get("action", |s: &mut ScheduleHandle| s.action.to_owned())
        .register_fn("to_string", |s: &mut ScheduleHandle| {
            format!("Schedule(\"{}\")", s.name)
        })
        .register_fn("to_debug", |s: &mut ScheduleHandle| {
            format!("Schedule(\"{}\")", s.name)
        });
    let b = builder.clone();
    function(
        "schedule",
        &["name: string", "options: map"],
        "Schedule",
        DOC,
    )
    .register_into_engine(
        engine,
        move |ctx: NativeCallContext,
              name: &str,
              options: Map|
              -> Result<ScheduleHandle, Box<EvalAltResult>> {
            Ok(declare(&b, &ctx, name, options))
        },
    );
}

fn declare(builder: &Shared, ctx: &NativeCallContext, name: &str, options: Map) -> ScheduleHandle {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    check_name(&mut b, &site, "schedule", name);
    let mut f = Fields::new("schedule", FIELDS, options, &site, &mut b);
    let has_action = f.has("action");
    let when = when(&mut f);
    let tz = f.string("tz").and_then(|text| match parse_tz(&text) {
        Ok(tz) => Some(tz),
        Err((message, help)) => {
            let at = site.string(&text, f.span("tz"));
            f.builder().error(ModelError::InvalidValue {
                field: "tz".into(),
                message,
                help,
                at,
            });
            None
        }
    });
    let action = action(&mut f);
    let servers = f.string("servers");
    let catch_up = f.bool("catch_up", false);
    let notify = match f.raw("notify") {
        Some(v) => super::alert::notify_from(&mut f, "notify", v),
        None => Vec::new(),
    };
    if let Some(action) = &action {
        if action.on_servers() && servers.is_none() {
            f.invalid(
                "action",
                format!("`{}` needs the servers it works on", action.as_str()),
                Some("add `servers: \"dev-*\"` (a server, group or pattern)".into()),
            );
        } else if !action.on_servers() && servers.is_some() {
            f.invalid(
                "servers",
                format!("`{}` does not work on chosen servers", action.as_str()),
                Some("remove `servers`".into()),
            );
        }
    }
    let fields = std::mem::take(&mut f.spans);
    drop(f);
    if !has_action {
        b.error(ModelError::MissingField {
            decl: "schedule",
            field: "action",
            at: site.call,
            help: "add what to do, e.g. `action: \"power_off\"`",
        });
    }
    let handle = ScheduleHandle {
        name: name.to_owned(),
        action: action.as_ref().map_or("", Action::as_str),
    };
    if let (Some(when), Some(action)) = (when, action) {
        let schedule = Schedule {
            name: name.to_owned(),
            when,
            tz: tz.unwrap_or(chrono_tz::UTC),
            action,
            servers,
            catch_up,
            notify,
            span: site.call,
            fields,
        };
        if let Err(e) = b.desired.add_schedule(schedule) {
            b.error(e);
        }
    }
    handle
}

/// `cron` or `every`, exactly one.
fn when(f: &mut Fields<'_>) -> Option<When> {
    if f.has("cron") && f.has("every") {
        f.invalid(
            "every",
            "give either `cron` or `every`, not both".into(),
            None,
        );
        return None;
    }
    if let Some(text) = f.string("cron") {
        return match parse_cron(&text) {
            Ok(cron) => Some(When::Cron {
                text,
                cron: Box::new(cron),
            }),
            Err(message) => {
                f.invalid(
                    "cron",
                    message,
                    Some("minute hour day month weekday, e.g. \"0 20 * * 1-5\"".into()),
                );
                None
            }
        };
    }
    if let Some(text) = f.string("every") {
        return match parse_duration(&text) {
            Ok(d) if d.as_secs() >= 60 => Some(When::Every(d)),
            Ok(_) => {
                f.invalid(
                    "every",
                    format!("\"{text}\" is shorter than a minute"),
                    None,
                );
                None
            }
            Err(message) => {
                f.invalid(
                    "every",
                    message,
                    Some("periods look like \"15m\", \"1h\" or \"1d\"".into()),
                );
                None
            }
        };
    }
    f.invalid(
        "cron",
        "a schedule needs `cron` or `every`".into(),
        Some("e.g. `cron: \"0 20 * * 1-5\"` or `every: \"1h\"`".into()),
    );
    None
}

/// `action` and the fields that belong to it (`keep`, `pipeline`, `command`).
fn action(f: &mut Fields<'_>) -> Option<Action> {
    let index = f.choice("action", &Action::NAMES, usize::MAX);
    let name = Action::NAMES.get(index).copied();
    for (field, owner) in [
        ("keep", "image"),
        ("pipeline", "pipeline"),
        ("command", "command"),
    ] {
        if f.has(field) && name.is_some_and(|n| n != owner) {
            f.invalid(
                field,
                format!("`{field}` belongs to `action: \"{owner}\"`"),
                None,
            );
        }
    }
    let required = |f: &mut Fields<'_>, field: &str, example: &str| {
        let value = f.string(field);
        if value.is_none() {
            f.invalid(
                "action",
                format!("`action: \"{}\"` needs `{field}`", name.unwrap_or_default()),
                Some(format!("add `{field}: {example}`")),
            );
        }
        value
    };
    Some(match name? {
        "power_off" => Action::PowerOff,
        "power_on" => Action::PowerOn,
        "reboot" => Action::Reboot,
        "image" => Action::Image {
            keep: f.uint("keep", 7).max(1),
        },
        "apply" => Action::Apply,
        "pipeline" => Action::Pipeline {
            pipeline: required(f, "pipeline", "\"shop\"")?,
        },
        _ => Action::Command {
            command: required(f, "command", "\"systemctl restart app\"")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::model::schedule::{Action, When};
    use crate::script::evaluate_text as evaluate;

    const SERVERS: &str = r#"server("dev-1", #{}); server("db-1", #{});"#;

    fn problems(text: &str) -> Vec<String> {
        evaluate(&format!("{SERVERS}\n{text}")).expect_err("problems")
    }

    #[test]
    fn schedules_of_every_action_are_declared() {
        let d = evaluate(&format!(
            r#"{SERVERS}
            pipeline("shop", #{{ repo: "file:///tmp/shop.git", preset: "commands", environments: #{{ dev: #{{ refs: "main", hosts: "dev-1" }} }} }});
            let s = schedule("night-stop", #{{ cron: "0 20 * * 1-5", tz: "Europe/Moscow", action: "power_off", servers: "dev-*" }});
            if s.action != "power_off" {{ throw "handle"; }}
            schedule("db-image", #{{ cron: "30 3 * * *", action: "image", servers: "db-1", keep: 3 }});
            schedule("reconcile", #{{ every: "1h", action: "apply", catch_up: true }});
            schedule("release", #{{ cron: "0 10 * * 2", action: "pipeline", pipeline: "shop" }});
            schedule("logs", #{{ every: "1d", action: "command", command: "journalctl --vacuum-time=7d", servers: "all" }});"#
        ))
        .expect("valid");
        let s = &d.schedules;
        assert_eq!(s["night-stop"].tz.name(), "Europe/Moscow");
        assert_eq!(s["night-stop"].action, Action::PowerOff);
        assert_eq!(s["db-image"].action, Action::Image { keep: 3 });
        assert_eq!(s["db-image"].tz, chrono_tz::UTC);
        assert_eq!(
            s["reconcile"].when,
            When::Every(std::time::Duration::from_secs(3600))
        );
        assert!(s["reconcile"].catch_up);
        assert_eq!(
            s["release"].action,
            Action::Pipeline {
                pipeline: "shop".into()
            }
        );
        assert_eq!(s["logs"].servers.as_deref(), Some("all"));
    }

    #[test]
    fn schedule_mistakes_are_each_reported() {
        let got = problems(
            r#"schedule("a", #{ cron: "0 25 * * *", action: "reboot", servers: "dev-1" });
            schedule("b", #{ cron: "0 8 * * *", tz: "Europe/Moskow", action: "power_on", servers: "dev-1" });
            schedule("c", #{ every: "1h", action: "power_of", servers: "dev-1" });
            schedule("d", #{ every: "1h", action: "reboot", servers: "web-*" });
            schedule("e", #{ every: "1h", action: "pipeline", pipeline: "shop" });
            schedule("f", #{ action: "apply" });
            schedule("g", #{ every: "1h", action: "reboot" });"#,
        );
        // In the order of the script.
        assert_eq!(
            got,
            [
                "\"0 25 * * *\" is not a cron expression: Component error: Number out of bounds.",
                "unknown time zone \"Europe/Moskow\"",
                "`action` must be one of power_off, power_on, reboot, image, apply, pipeline, \
                 command, got \"power_of\"",
                "hosts pattern `web-*` matches no server",
                "unknown pipeline `shop`",
                "a schedule needs `cron` or `every`",
                "`reboot` needs the servers it works on",
            ]
        );
    }
}
