//! The Prometheus `file_sd` targets file (`.ict/<env>/watch/targets.json`): one entry per
//! server with a known address, so a Prometheus server can scrape the same `node_exporter`s:
//! `[{"targets": ["<ip>:9100"], "labels": {"host": "web-1", "group": "web"}}]`.

use std::path::Path;

use serde_json::{json, Value};

use crate::model::Desired;

/// The `node_exporter` port.
pub const NODE_EXPORTER_PORT: u16 = 9100;

/// The `file_sd` document for the servers of `desired` whose address is known, in declaration
/// order. `group` is the server's groups joined by `,` (empty when it has none).
pub fn file_sd<'a>(desired: &Desired, address: impl Fn(&str) -> Option<&'a str>) -> Value {
    let entries: Vec<Value> = desired
        .servers
        .values()
        .filter_map(|server| {
            let ip = address(&server.name)?;
            let target = if ip.contains(':') {
                format!("[{ip}]:{NODE_EXPORTER_PORT}")
            } else {
                format!("{ip}:{NODE_EXPORTER_PORT}")
            };
            let groups: Vec<&str> = server.groups.iter().map(|g| g.name.as_str()).collect();
            Some(json!({
                "targets": [target],
                "labels": { "host": server.name, "group": groups.join(",") },
            }))
        })
        .collect();
    Value::Array(entries)
}

/// Writes `doc` to `path` atomically (Prometheus re-reads the file when it changes).
pub fn write(path: &Path, doc: &Value) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(doc).map_err(std::io::Error::other)?;
    text.push('\n');
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    crate::atomic::atomic_write(path, text.as_bytes(), 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_server_with_an_address() {
        let script = r#"server("web-1", #{ groups: [group("web"), group("front")] });
            server("web-2"); server("db-1");"#;
        let d = crate::script::evaluate_text(script).expect("valid");
        let doc = file_sd(&d, |host| match host {
            "web-1" => Some("10.0.0.5"),
            "db-1" => Some("fd00::1"),
            _ => None,
        });
        assert_eq!(
            doc,
            json!([
                { "targets": ["10.0.0.5:9100"], "labels": { "host": "web-1", "group": "web,front" } },
                { "targets": ["[fd00::1]:9100"], "labels": { "host": "db-1", "group": "" } },
            ])
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("targets.json");
        write(&path, &doc).expect("write");
        let back: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(back, doc);
    }
}
