//! What a plan is cut to and kept as: `--target` (the targets and what they need), destroy's
//! deletions only, what `destroy` keeps (protected servers and what they use), and plans saved
//! with `--out` to be applied exactly later. Pure functions of the plan and the script.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{Error, Project};
use crate::config::Scope;
use crate::model::Desired;
use crate::reconcile::{self, Plan};
use crate::state::Address;
use crate::state::Kind;

/// Version tag of saved plans.
const SAVED_PLAN_VERSION: u32 = 1;

/// Keeps only the steps for `targets` (names or addresses) and the steps they depend on.
pub(super) fn target(mut plan: Plan, targets: &[String]) -> Plan {
    if targets.is_empty() {
        return plan;
    }
    let mut keep: std::collections::BTreeSet<String> = plan
        .steps
        .iter()
        .filter(|s| {
            targets
                .iter()
                .any(|t| *t == s.address.to_string() || t == s.address.name())
        })
        .map(|s| s.address.to_string())
        .collect();
    loop {
        let before = keep.len();
        for step in &plan.steps {
            if keep.contains(&step.address.to_string()) {
                keep.extend(step.after.iter().map(ToString::to_string));
            }
        }
        if keep.len() == before {
            break;
        }
    }
    plan.steps.retain(|s| keep.contains(&s.address.to_string()));
    plan
}

/// Keeps only the deletions of a plan (of `only`, when given).
pub fn only_deletions(mut plan: Plan, only: Option<&BTreeSet<Address>>) -> Plan {
    plan.steps.retain(|s| {
        s.action == reconcile::Action::Delete
            && only.is_none_or(|only| match &s.work {
                reconcile::Work::Delete { object, .. } => only.contains(object),
                _ => false,
            })
    });
    plan.moves.clear();
    plan
}

/// What `destroy` keeps: protected servers and the keys and networks they use.
pub fn protected_only(desired: &Desired) -> Desired {
    let mut keep = Desired::new(&desired.env);
    keep.environments.clone_from(&desired.environments);
    for server in desired.servers.values().filter(|s| s.protect) {
        let _ = keep.add_server(server.clone());
        for k in &server.ssh_keys {
            if let Some(key) = desired.ssh_keys.get(&k.name) {
                let _ = keep.add_ssh_key(key.clone());
            }
        }
        for n in &server.networks {
            if let Some(net) = desired.networks.get(&n.name) {
                let _ = keep.add_network(net.clone());
            }
        }
    }
    // Groups the kept servers name stay declared (they are not cloud resources).
    keep.groups.clone_from(&desired.groups);
    keep
}

/// The script without the `doomed` resources, except protected servers (which stay, with what
/// they use).
pub fn without(desired: &Desired, doomed: &BTreeSet<Address>) -> Desired {
    let gone = |kind: Kind, name: &str| doomed.iter().any(|a| a.kind() == kind && a.name() == name);
    let mut keep = desired.clone();
    keep.servers
        .retain(|name, server| server.protect || !gone(Kind::Server, name));
    let used: BTreeSet<(Kind, String)> = keep
        .servers
        .values()
        .flat_map(|s| {
            s.ssh_keys
                .iter()
                .map(|k| (Kind::SshKey, k.name.clone()))
                .chain(s.networks.iter().map(|n| (Kind::Network, n.name.clone())))
        })
        .collect();
    keep.ssh_keys.retain(|name, _| {
        used.contains(&(Kind::SshKey, name.clone())) || !gone(Kind::SshKey, name)
    });
    keep.networks.retain(|name, _| {
        used.contains(&(Kind::Network, name.clone())) || !gone(Kind::Network, name)
    });
    keep.dns_records.retain(|r| !gone(Kind::DnsRecord, &r.id));
    keep
}

/// A plan saved with `--out`.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SavedPlan {
    ict_plan: u32,
    /// The script it was made from.
    pub script: PathBuf,
    /// Its environment.
    pub env: String,
    /// Its `--var` values.
    pub vars: Vec<(String, String)>,
    /// Its `--replace` and `--target`.
    #[serde(skip)]
    pub scope: Scope,
    replace: Vec<String>,
    target: Vec<String>,
    /// The plan, as JSON: applying it refuses if the plan made now differs.
    pub plan: serde_json::Value,
}

impl SavedPlan {
    /// Writes `plan`, made for `project` with `scope`, to `out` (0600, atomically).
    pub fn save(out: &Path, project: &Project, scope: &Scope, plan: &Plan) -> Result<(), Error> {
        let script = &project.script;
        let saved = SavedPlan {
            ict_plan: SAVED_PLAN_VERSION,
            script: std::path::absolute(script).unwrap_or_else(|_| script.clone()),
            env: project.env().to_owned(),
            vars: project
                .options
                .vars
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            scope: scope.clone(),
            replace: scope.replace.clone(),
            target: scope.target.clone(),
            plan: serde_json::to_value(plan).map_err(Error::Json)?,
        };
        let text = serde_json::to_string_pretty(&saved).map_err(Error::Json)?;
        crate::atomic::atomic_write(out, text.as_bytes(), 0o600).map_err(|error| Error::Write {
            what: out.display().to_string(),
            error,
        })
    }

    /// The saved plan in `file`, or `None` if `file` is a script.
    pub fn read(file: &Path) -> Result<Option<SavedPlan>, Error> {
        let Ok(text) = std::fs::read_to_string(file) else {
            return Ok(None);
        };
        if !text.trim_start().starts_with('{') || !text.contains("\"ict_plan\"") {
            return Ok(None);
        }
        let mut saved: SavedPlan =
            serde_json::from_str(&text).map_err(|error| Error::BadSavedPlan {
                path: file.to_path_buf(),
                error,
            })?;
        if saved.ict_plan != SAVED_PLAN_VERSION {
            return Err(Error::SavedPlanVersion {
                path: file.to_path_buf(),
            });
        }
        saved.scope = Scope {
            replace: saved.replace.clone(),
            target: saved.target.clone(),
        };
        Ok(Some(saved))
    }
}
