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
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}
