//! `alert(name, #{ when, during, hosts, severity, notify, summary })`: declares an alert rule for
//! `ict watch`, and `webhook(url)` / `command(cmd)`: its notification targets.
//!
//! `during` is how long the condition must hold before the alert fires (Prometheus calls it
//! `for`, a Rhai keyword: write `during`, or the quoted key `"for"`).
//!
//! The `when` expression is parsed here, so a typo is reported with its position inside the
//! string and a "did you mean". `hosts` is checked against the servers once the whole script
//! has run (`model::alert::validate`).
//!
//! ```rhai
//! alert("cpu-hot", #{
//!     when: "cpu > 90", during: "5m", hosts: "web", severity: "warning",
//!     notify: [webhook("https://hooks.example.com/ict"), command("logger -t ict alert")],
//!     summary: "CPU is at {value}% on {host}",
//! });
//! ```

use std::time::Duration;

use rhai::{Dynamic, Engine, EvalAltResult, Map, NativeCallContext};

use super::fields::{one_or_many, Fields};
use super::{check_name, function, Shared, Site};
use crate::model::alert::{condition, parse_duration};
use crate::model::{Alert, ModelError, Notify, Severity, Span};

/// `for` is a Rhai keyword, so the hold time is `during` (or the quoted key `"for"`).
const FIELDS: &[&str] = &[
    "when", "during", "for", "hosts", "severity", "notify", "summary",
];

/// What `alert(...)` returns.
#[derive(Debug, Clone)]
pub(crate) struct AlertHandle {
    name: String,
    severity: Severity,
}

/// What `webhook(...)` and `command(...)` return: a notification target for `notify`.
#[derive(Debug, Clone)]
pub(crate) struct Notifier(Notify);

const DOC: &str = "Declares an alert rule that `ict watch` evaluates on live node_exporter \
figures, and whom it notifies.";

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    engine
        .register_type_with_name::<AlertHandle>("Alert")
        .register_get("name", |a: &mut AlertHandle| a.name.clone())
        .register_get("severity", |a: &mut AlertHandle| {
            a.severity.as_str().to_owned()
        })
        .register_fn("to_string", |a: &mut AlertHandle| {
            format!("Alert(\"{}\")", a.name)
        })
        .register_fn("to_debug", |a: &mut AlertHandle| {
            format!("Alert(\"{}\")", a.name)
        });
    engine
        .register_type_with_name::<Notifier>("Notifier")
        .register_fn("to_string", |n: &mut Notifier| describe(&n.0))
        .register_fn("to_debug", |n: &mut Notifier| describe(&n.0));

    let b = builder.clone();
    function("alert", &["name: string", "options: map"], "Alert", DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext,
              name: &str,
              options: Map|
              -> Result<AlertHandle, Box<EvalAltResult>> {
            Ok(declare(&b, &ctx, name, options))
        },
    );
    let b = builder.clone();
    let doc = "A notification target for `notify`: a JSON POST to an http:// or https:// URL.";
    function("webhook", &["url: string"], "Notifier", doc).register_into_engine(
        engine,
        move |ctx: NativeCallContext, url: &str| {
            let mut b = b.borrow_mut();
            let site = b.site(&ctx);
            if let Err((message, help)) = check_url(url) {
                let at = site.string(url, site.call);
                b.error(ModelError::InvalidValue {
                    field: "url".into(),
                    message,
                    help: Some(help),
                    at,
                });
            }
            Notifier(Notify::Webhook {
                url: url.to_owned(),
            })
        },
    );
    let doc = "A notification target for `notify`: a shell command, run with the alert in \
               `ICT_ALERT_*` environment variables.";
    function("command", &["shell_command: string"], "Notifier", doc).register_into_engine(
        engine,
        |command: &str| {
            Notifier(Notify::Command {
                command: command.to_owned(),
            })
        },
    );
}

fn describe(n: &Notify) -> String {
    match n {
        Notify::Webhook { url } => format!("webhook(\"{url}\")"),
        Notify::Command { command } => format!("command(\"{command}\")"),
    }
}

fn check_url(url: &str) -> Result<(), (String, String)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(()),
        _ => Err((
            format!("webhook URL {url:?} is not an http:// or https:// address"),
            "write the full address, e.g. \"https://hooks.example.com/ict\"".into(),
        )),
    }
}

fn declare(builder: &Shared, ctx: &NativeCallContext, name: &str, options: Map) -> AlertHandle {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    check_name(&mut b, &site, "alert", name);
    let has_when = options.contains_key("when");
    let mut f = Fields::new("alert", FIELDS, options, &site, &mut b);
    let when_text = f.string("when");
    let when = when_text
        .as_deref()
        .and_then(|text| match condition::parse(text) {
            Ok(c) => Some(c),
            Err(e) => {
                let at = inside(&site, text, f.span("when"), e.offset, e.len);
                f.builder().error(ModelError::InvalidValue {
                    field: "when".into(),
                    message: e.message,
                    help: e.help,
                    at,
                });
                None
            }
        });
    if f.has("for") && f.has("during") {
        f.invalid(
            "for",
            "`for` and `during` are the same setting; give only one".into(),
            None,
        );
    }
    let key = if f.has("for") { "for" } else { "during" };
    let for_ = f.string(key).map_or(Duration::ZERO, |text| {
        parse_duration(&text).unwrap_or_else(|message| {
            let at = site.string(&text, f.span(key));
            f.builder().error(ModelError::InvalidValue {
                field: key.into(),
                message,
                help: Some("durations look like \"30s\", \"5m\", \"1h\" or \"1h30m\"".into()),
                at,
            });
            Duration::ZERO
        })
    });
    let hosts = f.string("hosts").unwrap_or_else(|| "all".to_owned());
    let severity = Severity::from_index(f.choice("severity", &Severity::NAMES, 1));
    let notify = notify_list(&mut f);
    let summary = f.string("summary");
    let fields = std::mem::take(&mut f.spans);
    drop(f);
    if !has_when {
        b.error(ModelError::MissingField {
            decl: "alert",
            field: "when",
            at: site.call,
            help: "add a condition, e.g. `when: \"cpu > 90\"`",
        });
    }
    if let Some(when) = when {
        let alert = Alert {
            name: name.to_owned(),
            when,
            when_text: when_text.unwrap_or_default(),
            for_,
            hosts,
            severity,
            notify,
            summary,
            span: site.call,
            fields,
        };
        if let Err(e) = b.desired.add_alert(alert) {
            b.error(e);
        }
    }
    AlertHandle {
        name: name.to_owned(),
        severity,
    }
}

/// The span of bytes `offset..offset+len` of the `when` string, inside its literal when found.
fn inside(site: &Site, text: &str, fallback: Span, offset: usize, len: usize) -> Span {
    let literal = site.string(text, fallback);
    if literal == fallback {
        return fallback;
    }
    Span {
        source: literal.source,
        offset: literal.offset + 1 + offset.min(text.len()),
        len,
    }
}

/// `notify`: one target or a list; each a `webhook(...)`/`command(...)` or a map
/// `#{ webhook: url }` / `#{ command: cmd }`.
fn notify_list(f: &mut Fields<'_>) -> Vec<Notify> {
    match f.raw("notify") {
        Some(v) => notify_from(f, "notify", v),
        None => Vec::new(),
    }
}

/// The notification targets in `v`, the value of field `key` (shared with `pipeline(...)`).
pub(super) fn notify_from(f: &mut Fields<'_>, key: &str, v: Dynamic) -> Vec<Notify> {
    const EXPECTED: &str = "webhook(\"https://...\"), command(\"...\") or a list of them";
    let items = one_or_many(v);
    let mut out = Vec::new();
    for item in items {
        if let Some(n) = item.read_lock::<Notifier>() {
            out.push(n.0.clone());
            continue;
        }
        let Some(map) = item.read_lock::<Map>().map(|m| m.clone()) else {
            f.wrong_type(key, EXPECTED, &item);
            continue;
        };
        let get = |k: &str| {
            map.get(k)
                .filter(|v| v.is_string())
                .map(ToString::to_string)
        };
        match (map.len(), get("webhook"), get("command")) {
            (1, Some(url), None) => match check_url(&url) {
                Ok(()) => out.push(Notify::Webhook { url }),
                Err((message, help)) => f.invalid(key, message, Some(help)),
            },
            (1, None, Some(command)) => out.push(Notify::Command { command }),
            _ => f.invalid(
                key,
                "a notify map has exactly one key, `webhook` or `command`, with a string".into(),
                Some("e.g. #{ webhook: \"https://hooks.example.com/ict\" }".into()),
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::model::{Notify, Severity};
    use crate::script::evaluate_text as evaluate;

    #[test]
    fn declarations_become_typed_rules() {
        let d = evaluate(
            r#"server("web-1", #{ groups: [group("web")] });
            let a = alert("hot", #{ when: "cpu > 90", during: "5m", hosts: "web",
                severity: "CRITICAL", summary: "hot {host}",
                notify: [webhook("https://h.example/x"), command("true"),
                         #{ webhook: "http://h.example/y" }, #{ command: "logger hi" }] });
            if a.name != "hot" || a.severity != "critical" { throw "handle"; }
            alert("down", #{ when: "up == 0", "for": "1m", notify: command("true") });"#,
        )
        .expect("valid");
        let hot = &d.alerts["hot"];
        assert_eq!(hot.for_, Duration::from_secs(300));
        assert_eq!(hot.hosts, "web");
        assert_eq!(hot.severity, Severity::Critical);
        assert_eq!(hot.summary.as_deref(), Some("hot {host}"));
        assert_eq!(
            hot.notify,
            [
                Notify::Webhook {
                    url: "https://h.example/x".into()
                },
                Notify::Command {
                    command: "true".into()
                },
                Notify::Webhook {
                    url: "http://h.example/y".into()
                },
                Notify::Command {
                    command: "logger hi".into()
                },
            ]
        );
        let down = &d.alerts["down"];
        assert_eq!(down.for_, Duration::from_secs(60));
        assert_eq!(
            (down.hosts.as_str(), down.severity),
            ("all", Severity::Warning)
        );
        assert_eq!(down.when_text, "up == 0");
    }

    #[test]
    fn mistakes_are_all_reported() {
        let cases: &[(&str, &str)] = &[
            (r#"alert("a", #{ hosts: "all" });"#, "missing `when`"),
            (r#"alert("a", #{ when: 90 });"#, "`when` must be a string"),
            (
                r#"alert("a", #{ when: "cpu > 1", severity: "urgent" });"#,
                "`severity` must be one of",
            ),
            (
                r#"alert("a", #{ when: "cpu > 1", notify: ["https://x"] });"#,
                "`notify` must be webhook",
            ),
            (
                r#"alert("a", #{ when: "cpu > 1", notify: #{ url: "https://x" } });"#,
                "exactly one key",
            ),
            (
                r#"alert("a", #{ when: "cpu > 1", notify: #{ webhook: "ftp://x" } });"#,
                "not an http",
            ),
            (
                r#"alert("a", #{ when: "cpu > 1", during: "5m", "for": "5m" });"#,
                "give only one",
            ),
            (
                r#"alert("a", #{ when: "cpu > 1", dureing: "5m" });"#,
                "unknown field `dureing`",
            ),
            (
                r#"alert("a b", #{ when: "cpu > 1" });"#,
                "invalid alert name",
            ),
        ];
        for (body, expected) in cases {
            let script = format!("server(\"web-1\");\n{body}");
            let problems = evaluate(&script).expect_err(body);
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{body}: {problems:?}"
            );
        }
    }
}
