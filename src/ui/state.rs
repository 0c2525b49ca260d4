//! `ict state list`: what ict owns in one environment — each resource's cloud ID, whether ict
//! created or adopted it, its last known attributes and pinned host key — as a table or JSON.
//! Pure: builds text and serializable rows from a [`State`]; depends on `state` and
//! `ui::table`.

use std::fmt::Write as _;

use serde::Serialize;

use super::table::Table;
use crate::state::{Abandoned, Address, State};

/// One owned resource, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Owned<'a> {
    pub address: String,
    pub id: u64,
    /// `created` or `adopted`.
    pub origin: &'static str,
    pub created_at: String,
    pub attributes: &'a serde_json::Value,
    /// The pinned host key's `SHA256:` fingerprint, for servers ict has logged in to.
    pub host_key: Option<&'a str>,
}

/// Every owned resource, in address order, then the old objects replacements left to delete
/// (origin `deposed`).
pub fn owned(state: &State) -> Vec<Owned<'_>> {
    static NONE: serde_json::Value = serde_json::Value::Null;
    let bound = state.resources().iter().map(|(address, record)| Owned {
        address: address.to_string(),
        id: record.id,
        origin: if record.adopted { "adopted" } else { "created" },
        created_at: record.created_at.to_string(),
        attributes: &record.attributes,
        host_key: state.host_key(address).map(|k| k.fingerprint.as_str()),
    });
    let deposed = state.deposed().iter().flat_map(|(address, ids)| {
        ids.iter().map(move |id| Owned {
            address: address.to_string(),
            id: *id,
            origin: "deposed",
            created_at: "-".to_owned(),
            attributes: &NONE,
            host_key: None,
        })
    });
    bound.chain(deposed).collect()
}

/// What `ict state migrate` did.
pub fn migrated(moved: &crate::state::Migrated) -> String {
    format!(
        "moved the state of environment `{}` ({} resources) from {} to {}; the source keeps \
         a read-only copy until you delete it\n",
        moved.env, moved.resources, moved.from, moved.to
    )
}

/// What `ict state forget` dropped for `address`.
pub fn forgotten(address: &Address, dropped: &Abandoned) -> String {
    if dropped.is_empty() {
        return format!("{address}: nothing to forget.\n");
    }
    let mut parts = Vec::new();
    if let Some(record) = &dropped.record {
        parts.push(format!("ID {}", record.id));
    }
    if !dropped.deposed.is_empty() {
        let ids: Vec<String> = dropped.deposed.iter().map(ToString::to_string).collect();
        parts.push(format!("old object(s) ID {}", ids.join(", ")));
    }
    if !dropped.journal.is_empty() {
        parts.push(format!("{} unfinished operation(s)", dropped.journal.len()));
    }
    format!(
        "Forgot {address} ({}). ict no longer manages it: whatever exists in the cloud stays there and is listed as unmanaged.\n",
        parts.join(", ")
    )
}

/// The table, or a sentence when ict owns nothing; then unfinished journal entries, if any.
pub fn text(state: &State, location: &str) -> String {
    let rows = owned(state);
    let mut out = if rows.is_empty() {
        format!(
            "ict owns nothing in environment `{}` yet ({location}).\n",
            state.env()
        )
    } else {
        let mut table = Table::new(&["ADDRESS", "ID", "ORIGIN", "SINCE", "ATTRIBUTES", "HOST KEY"])
            .right_align(&["ID"]);
        for row in &rows {
            table.row(vec![
                row.address.clone(),
                row.id.to_string(),
                row.origin.to_owned(),
                row.created_at.clone(),
                attributes(row.attributes),
                row.host_key.unwrap_or("-").to_owned(),
            ]);
        }
        table.render()
    };
    let unfinished = state.journal().unfinished().len();
    if unfinished > 0 {
        let _ = writeln!(
            out,
            "\n{unfinished} operation(s) an interrupted run left unfinished: the next `ict plan` or `ict apply` settles them against the cloud."
        );
    }
    out
}

/// `key=value` pairs of a JSON object, strings unquoted; `-` when there are none.
fn attributes(value: &serde_json::Value) -> String {
    let Some(map) = value.as_object().filter(|m| !m.is_empty()) else {
        return "-".to_owned();
    };
    map.iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Kind;
    use crate::state::{Action, Address, JournalOp};

    #[test]
    fn lists_created_and_adopted_resources_and_unfinished_work() {
        let mut state = State::new("dev");
        assert!(text(&state, ".ict/dev").contains("owns nothing in environment `dev`"));
        let web = Address::new(Kind::Server, "web-1").expect("address");
        state.record_created(
            &web,
            17,
            serde_json::json!({"ip": "127.0.0.9", "user": "root"}),
        );
        let db = Address::new(Kind::Server, "db-1").expect("address");
        state.record_adopted(&db, 4, serde_json::Value::Null);
        state.begin(JournalOp::new(
            Address::new(Kind::Server, "web-2").expect("address"),
            Action::Create,
        ));
        let out = text(&state, ".ict/dev");
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("ADDRESS"), "{out}");
        assert!(
            lines[1].starts_with("server.db-1") && lines[1].contains("adopted"),
            "{out}"
        );
        assert!(
            lines[2].contains("created") && lines[2].contains("ip=127.0.0.9 user=root"),
            "{out}"
        );
        assert!(
            out.contains("1 operation(s) an interrupted run left unfinished"),
            "{out}"
        );
        let json = serde_json::to_value(owned(&state)).expect("json");
        assert_eq!(json[1]["address"], "server.web-1");
        assert_eq!(json[1]["id"], 17);
        assert!(json[1]["host_key"].is_null());
    }
}
