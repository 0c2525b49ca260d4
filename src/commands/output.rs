//! `output(...)` values: recorded in the state after each apply (`record`), printed after it
//! and by `ict output FILE [NAME] [--json]`, which reads the state only — other tools can ask
//! for an IP without a cloud call. A value holding a secret is stored as its `${secret:NAME}`
//! token, never as the secret, and shown as `(sensitive)` unless asked for by name (then read
//! from the environment, like everywhere else).

use std::path::Path;

use serde_json::{Map, Value as Json};

use super::hosts;
use super::Error;
use crate::config::{Config, OutputOptions};
use crate::connect::Connection;
use crate::exit::ExitCode;
use crate::inventory;
use crate::model::{self, Desired, SENSITIVE};
use crate::provider::{Kinds, Provider as _};
use crate::state::{State, StateDir, Store};
use crate::ui::Ui;

/// The state's section holding the outputs.
const SECTION: &str = "outputs";

/// Computes the script's outputs from the cloud as it is now and records them in the state;
/// returns them as shown (`name`, text), secrets as `(sensitive)`.
pub(super) async fn record(
    conn: &Connection,
    desired: &Desired,
    store: &mut Store,
) -> Result<Vec<(String, String)>, Error> {
    if desired.outputs.is_empty() {
        if store.state().extra(SECTION).is_some() {
            store.commit(|s| {
                s.set_extra(SECTION, None);
                Ok(())
            })?;
        }
        return Ok(Vec::new());
    }
    let observed = conn.client.observe(Kinds::SERVERS).await?;
    let fleet = hosts::fleet(desired, store.state(), &observed);
    let resolve = hosts::resolver(&fleet);
    let keep_secret = |name: &str| Some(model::secret_token(name));
    let mut section = Map::new();
    let mut shown = Vec::new();
    for (name, output) in &desired.outputs {
        let value = inventory::resolve_value(&output.value, &keep_secret, &resolve)
            .map_err(|name| Error::SecretNotSet { name })?;
        let sensitive = output.sensitive();
        shown.push((name.clone(), display(&value, sensitive)));
        section.insert(
            name.clone(),
            serde_json::json!({ "value": value, "sensitive": sensitive }),
        );
    }
    store.commit(|s| {
        s.set_extra(SECTION, Some(Json::Object(section)));
        Ok(())
    })?;
    Ok(shown)
}

/// A value as text: strings raw, anything else as JSON; `(sensitive)` for secrets.
fn display(value: &Json, sensitive: bool) -> String {
    if sensitive {
        return SENSITIVE.to_owned();
    }
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `ict output`.
pub(super) fn output(config: &Config, ui: &Ui, args: &OutputOptions) -> Result<ExitCode, Error> {
    let script: &Path = &args.file;
    let dir = StateDir::for_script(script, &config.env)?;
    let state = State::load(&dir)?;
    let recorded = state
        .extra(SECTION)
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
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
        let value = reveal(&entry["value"])?;
        if args.json {
            ui.json(&value).map_err(Error::Json)?;
        } else {
            ui.out(&format!("{}\n", display(&value, false)));
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
            .map(|(name, value, sensitive)| (name.clone(), display(value, *sensitive)))
            .collect();
        ui.outputs(&lines);
    }
    Ok(ExitCode::Success)
}

/// A stored value with its `${secret:NAME}` tokens replaced by the environment's values.
fn reveal(value: &Json) -> Result<Json, Error> {
    Ok(match value {
        Json::String(s) => {
            let template = model::Value::from_script_string(s);
            inventory::resolve_value(&template, &|n: &str| std::env::var(n).ok(), &|_| None)
                .map_err(|name| Error::OutputSecretNotSet { name })?
        }
        Json::Array(items) => Json::Array(items.iter().map(reveal).collect::<Result<_, _>>()?),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| reveal(v).map(|v| (k.clone(), v)))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}
