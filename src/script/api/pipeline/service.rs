//! The `service` and `database` fields of `pipeline(...)`:
//!
//! - `service: "cmd"`, `false`, or `#{ command, health: "http" | "tcp" | false, port: "$PORT",
//!   path: "/", timeout: "20s" }` (health defaults to the preset's);
//! - `database: #{ engine: "postgresql", version: "15", host: "db-1", name, user,
//!   password: secret("...") }` (the host must select one server: checked in
//!   `model::pipeline::validate`).
//!
//! Each mistake points at the nested key or string that caused it.

use std::time::Duration;

use rhai::{Dynamic, Map};

use super::{error, nested_key, Fields, Site};
use crate::model::alert::parse_duration;
use crate::model::pipeline::{
    check_db_name, check_db_version, check_port, Database, DbEngine, Health, Service,
};
use crate::model::{DidYouMean, Preset, Span, Value};

const SERVICE_KEYS: [&str; 5] = ["command", "health", "port", "path", "timeout"];
const DATABASE_KEYS: [&str; 6] = ["engine", "version", "host", "name", "user", "password"];

/// `service: "command"`, `service: #{ command: "...", health, port, path, timeout }` or
/// `service: false`.
pub(super) fn service(f: &mut Fields<'_>, site: &Site, preset: Preset) -> Option<Service> {
    let default = preset
        .service()
        .map(|c| Service::new(c.to_owned(), preset.health()));
    let Some(v) = f.raw("service") else {
        return default;
    };
    if v.is_string() {
        return Some(Service::new(v.to_string(), preset.health()));
    }
    if v.as_bool() == Ok(false) {
        return None;
    }
    let Some(map) = v.read_lock::<Map>().map(|m| m.clone()) else {
        f.wrong_type(
            "service",
            "a command string, #{ command: \"...\" } or false",
            &v,
        );
        return default;
    };
    let field = f.span("service");
    let mut service = default.unwrap_or_else(|| Service::new(String::new(), Health::Off));
    let mut health = None;
    let mut path = "/".to_owned();
    for (key, value) in sorted(site, field, map) {
        let at = nested_key(site, field, &key);
        match key.as_str() {
            "command" if value.is_string() && !value.to_string().trim().is_empty() => {
                service.command = value.to_string();
            }
            "command" => bad(
                f,
                "service",
                at,
                "`command` must be a non-empty shell command",
                None,
            ),
            "health" => match value.clone().into_string().ok().as_deref() {
                Some("http") => health = Some(true),
                Some("tcp") => health = Some(false),
                _ if value.as_bool() == Ok(false) => service.health = Health::Off,
                _ => bad(
                    f,
                    "service",
                    at,
                    "`health` must be \"http\", \"tcp\" or false",
                    Some("\"http\": a GET answers 2xx/3xx; \"tcp\": the port accepts"),
                ),
            },
            "port" => {
                let text = if value.is_int() {
                    value.to_string()
                } else {
                    value.clone().into_string().unwrap_or_default()
                };
                if check_port(&text) {
                    service.port = text;
                } else {
                    bad(
                        f,
                        "service",
                        at,
                        "`port` must be a port number or a variable like \"$PORT\"",
                        None,
                    );
                }
            }
            "path" => match value.clone().into_string() {
                Ok(p) if is_url_path(&p) => path = p,
                _ => bad(
                    f,
                    "service",
                    at,
                    "`path` must be a URL path starting with `/`",
                    Some("e.g. \"/health\" (no spaces or quotes)"),
                ),
            },
            "timeout" => match value.clone().into_string().map(|t| parse_duration(&t)) {
                Ok(Ok(d)) if (Duration::from_secs(1)..=Duration::from_secs(600)).contains(&d) => {
                    service.timeout = d;
                }
                _ => bad(
                    f,
                    "service",
                    at,
                    "`timeout` must be a duration from 1s to 10m",
                    Some("e.g. \"20s\""),
                ),
            },
            other => unknown(f, at, "service", other, &SERVICE_KEYS),
        }
    }
    match health {
        Some(true) => service.health = Health::Http { path },
        Some(false) => service.health = Health::Tcp,
        None => {
            if let Health::Http { path: p } = &mut service.health {
                *p = path;
            }
        }
    }
    if service.command.is_empty() {
        bad(
            f,
            "service",
            field,
            "the service has no `command`",
            Some("e.g. #{ command: \"exec python3 app.py\" }, or `service: false`"),
        );
        return None;
    }
    Some(service)
}

/// `database: #{ engine, version, host, name, user, password }`.
pub(super) fn database(f: &mut Fields<'_>, site: &Site, pipeline: &str) -> Option<Database> {
    let v = f.raw("database")?;
    let Some(map) = v.read_lock::<Map>().map(|m| m.clone()) else {
        f.wrong_type(
            "database",
            "a map like #{ engine: \"postgresql\", version: \"15\", host: \"db-1\" }",
            &v,
        );
        return None;
    };
    let field = f.span("database");
    let default_name = pipeline.replace('-', "_").to_ascii_lowercase();
    let mut db = Database {
        engine: DbEngine::Postgresql,
        version: String::new(),
        host: String::new(),
        name: default_name.clone(),
        user: default_name,
        password: None,
        host_span: field,
    };
    let mut ok = true;
    for (key, value) in sorted(site, field, map) {
        let at = nested_key(site, field, &key);
        let text = if value.is_int() {
            Some(value.to_string())
        } else {
            value.clone().into_string().ok()
        };
        match (key.as_str(), text) {
            ("engine", Some(e)) if DbEngine::NAMES.contains(&e.as_str()) => {}
            ("engine", e) => {
                ok = false;
                let help = DidYouMean::new(e.as_deref().unwrap_or_default(), DbEngine::NAMES)
                    .listed_otherwise("engines")
                    .to_string();
                let shown = e.unwrap_or_else(|| "that".into());
                let message = format!("unknown database engine `{shown}`");
                error(f, "database", at, message, Some(help));
            }
            ("version", Some(ver)) if check_db_version(&ver) => db.version = ver,
            ("version", _) => {
                ok = false;
                bad(
                    f,
                    "database",
                    at,
                    "`version` must be a PostgreSQL major version like \"15\"",
                    Some("ict installs the Debian package postgresql-<version> when it is missing"),
                );
            }
            ("host", Some(h)) if !h.trim().is_empty() => {
                db.host_span = within(site, at, &h);
                db.host = h;
            }
            ("name" | "user", Some(n)) if check_db_name(&n) => {
                if key == "name" {
                    db.name = n;
                } else {
                    db.user = n;
                }
            }
            ("host" | "name" | "user", _) => {
                ok = false;
                let message = format!("invalid database `{key}`");
                let help = if key == "host" {
                    "a server name or a pattern selecting one server"
                } else {
                    "lowercase letters, digits and `_`, starting with a letter (at most 63)"
                };
                bad(f, "database", at, &message, Some(help));
            }
            ("password", _) => {
                if let Ok(p @ (Value::Str(_) | Value::Template(_))) =
                    super::super::value::to_value(&value)
                {
                    db.password = Some(p);
                } else {
                    ok = false;
                    bad(
                        f,
                        "database",
                        at,
                        "`password` must be secret(\"NAME\") or a string",
                        None,
                    );
                }
            }
            (other, _) => unknown(f, at, "database", other, &DATABASE_KEYS),
        }
    }
    for required in ["version", "host"] {
        let missing = if required == "version" {
            db.version.is_empty()
        } else {
            db.host.is_empty()
        };
        if missing && ok {
            ok = false;
            let message = format!("the database has no `{required}`");
            bad(
                f,
                "database",
                field,
                &message,
                Some("e.g. #{ engine: \"postgresql\", version: \"15\", host: \"db-1\" }"),
            );
        }
    }
    if !check_db_name(&db.name) || !check_db_name(&db.user) {
        ok = false;
        bad(
            f,
            "database",
            field,
            "the pipeline's name is not a database name; set the database's `name` and `user`",
            Some("lowercase letters, digits and `_`, starting with a letter (at most 63)"),
        );
    }
    ok.then_some(db)
}

/// The entries of a nested map in the order they were written.
fn sorted(site: &Site, field: Span, map: Map) -> Vec<(String, Dynamic)> {
    let mut entries: Vec<(String, Dynamic)> =
        map.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    entries.sort_by_key(|(k, _)| nested_key(site, field, k).offset);
    entries
}

/// The span of the string literal `"value"` inside `span`, or `span`.
fn within(site: &Site, span: Span, value: &str) -> Span {
    let text = site
        .text
        .get(span.offset..span.offset + span.len)
        .unwrap_or("");
    text.find(&format!("\"{value}\"")).map_or(span, |i| Span {
        source: span.source,
        offset: span.offset + i,
        len: value.len() + 2,
    })
}

fn is_url_path(p: &str) -> bool {
    p.starts_with('/')
        && p.chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\' | '`' | '$'))
}

fn bad(f: &mut Fields<'_>, field: &str, at: Span, message: &str, help: Option<&str>) {
    error(f, field, at, message.to_owned(), help.map(str::to_owned));
}

fn unknown(f: &mut Fields<'_>, at: Span, field: &str, key: &str, known: &[&str]) {
    let help = DidYouMean::new(key, known.iter().copied())
        .listed_otherwise("known settings")
        .to_string();
    error(
        f,
        field,
        at,
        format!("unknown setting `{key}` in `{field}`"),
        Some(help),
    );
}
