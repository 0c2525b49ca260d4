//! `output(...)` values: recorded in the state after each apply ([`record`]), read back by
//! `ict output` from the state only — other tools can ask for an IP without a cloud call. A
//! value holding a secret is stored as its `${secret:NAME}` token, never as the secret, and
//! shown as `(sensitive)` unless asked for by name (then read from the environment, like
//! everywhere else, with [`reveal`]).

use serde_json::{Map, Value as Json};

use super::hosts;
use super::{Error, Session};
use crate::inventory;
use crate::model::{self, SENSITIVE};
use crate::state::{State, Store};

/// The state's section holding the outputs.
const SECTION: &str = "outputs";

/// Computes the script's outputs from the cloud as it is now and records them in the state;
/// returns them as shown (`name`, text), secrets as `(sensitive)`.
pub async fn record(
    session: Session<'_>,
    store: &mut Store,
) -> Result<Vec<(String, String)>, Error> {
    let desired = &session.evaluated.desired;
    if desired.outputs.is_empty() {
        if store.state().extra(SECTION).is_some() {
            store.commit(|s| {
                s.set_extra(SECTION, None);
                Ok(())
            })?;
        }
        return Ok(Vec::new());
    }
    let fleet = session.fleet(store.state()).await?;
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
pub fn display(value: &Json, sensitive: bool) -> String {
    if sensitive {
        return SENSITIVE.to_owned();
    }
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The outputs recorded in `state`, by name: `{ "value": …, "sensitive": … }` each.
pub fn recorded(state: &State) -> Map<String, Json> {
    state
        .extra(SECTION)
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default()
}

/// A stored value with its `${secret:NAME}` tokens replaced by the environment's values.
pub fn reveal(value: &Json) -> Result<Json, Error> {
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
