//! `ict output FILE [NAME] [--json]`: the outputs the last apply recorded ([`app::outputs`]),
//! read from the state only.

use std::path::Path;

use serde_json::{Map, Value as Json};

use super::Error;
use crate::app::{outputs, Project};
use crate::config::{Config, OutputOptions};
use crate::exit::ExitCode;
use crate::model::{self, SENSITIVE};
use crate::ui::Ui;

/// `ict output`.
pub(super) fn output(config: &Config, ui: &Ui, args: &OutputOptions) -> Result<ExitCode, Error> {
    let script: &Path = &args.file;
    let state = Project::new(config, script).state()?;
    let recorded = outputs::recorded(&state);
    if let Some(name) = &args.name {
        let Some(entry) = recorded.get(name) else {
            let names: Vec<&str> = recorded.keys().map(String::as_str).collect();
            let hint = model::DidYouMean::new(name, names.iter().copied())
                .listed("recorded")
                .when_empty("recorded: none (run `ict apply` first)");
            return Err(Error::NoOutput {
                name: name.clone(),
                env: config.env.clone(),
                hint: hint.to_string(),
            });
        };
        // Asked for by name: a secret is read from the environment now.
        let value = outputs::reveal(&entry["value"])?;
        if args.json {
            ui.json(&value).map_err(Error::Json)?;
        } else {
            ui.out(&format!("{}\n", outputs::display(&value, false)));
        }
        return Ok(ExitCode::Success);
    }
    let shown: Vec<(String, Json, bool)> = recorded
        .iter()
        .map(|(name, entry)| {
            let sensitive = entry["sensitive"].as_bool().unwrap_or(false);
            (name.clone(), entry["value"].clone(), sensitive)
        })
        .collect();
    if args.json {
        let map: Map<String, Json> = shown
            .into_iter()
            .map(|(name, value, sensitive)| {
                let value = if sensitive {
                    Json::from(SENSITIVE)
                } else {
                    value
                };
                (
                    name,
                    serde_json::json!({ "value": value, "sensitive": sensitive }),
                )
            })
            .collect();
        ui.json(&map).map_err(Error::Json)?;
    } else if shown.is_empty() {
        ui.note(&format!(
            "no outputs recorded in environment `{}` (declare them with `output(...)` and run `ict apply`)",
            config.env
        ));
    } else {
        let lines: Vec<(String, String)> = shown
            .iter()
            .map(|(name, value, sensitive)| (name.clone(), outputs::display(value, *sensitive)))
            .collect();
        ui.outputs(&lines);
    }
    Ok(ExitCode::Success)
}
