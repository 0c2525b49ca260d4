//! A pipeline run's notification: the JSON a webhook receives and a command reads on stdin,
//! and the `ICT_PIPELINE_*` variables of a command. Sent with the watch notifier
//! ([`crate::watch::send`]) to every target the pipeline declares.

use std::time::Duration;

use serde::Serialize;

use super::record::{Action, Outcome, Record};
use crate::model::Notify;
use crate::watch::{send, Message, NotifyError};

/// The body of a pipeline notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// Always `pipeline`, so one receiver can tell pipeline runs from alerts.
    pub kind: &'static str,
    pub pipeline: String,
    pub env: String,
    /// `deploy` or `rollback`.
    pub action: Action,
    /// `success` or `failed`.
    pub outcome: Outcome,
    pub release: String,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub commit: String,
    pub hosts: Vec<String>,
    pub failed_host: Option<String>,
    pub failed_stage: Option<String>,
    /// The failing step's last lines (secrets removed).
    pub log_tail: Option<String>,
    pub summary: String,
    pub at: String,
}

impl Notice {
    pub fn new(pipeline: &str, env: &str, record: &Record) -> Notice {
        let short = record.commit.get(..7).unwrap_or(&record.commit);
        let summary = match (record.outcome, record.action) {
            (Outcome::Success, Action::Deploy) => format!(
                "{pipeline} {} ({short}) deployed to {env} on {}",
                record.ref_name,
                record.hosts.join(", ")
            ),
            (Outcome::Success, Action::Rollback) => {
                format!("{pipeline} in {env} rolled back to {}", record.release)
            }
            (Outcome::Failed, _) => format!(
                "{pipeline} {} ({short}) failed in {env}: stage {} on {}",
                record.ref_name,
                record.failed_stage.as_deref().unwrap_or("?"),
                record.failed_host.as_deref().unwrap_or("?")
            ),
        };
        Notice {
            kind: "pipeline",
            pipeline: pipeline.to_owned(),
            env: env.to_owned(),
            action: record.action,
            outcome: record.outcome,
            release: record.release.clone(),
            ref_name: record.ref_name.clone(),
            commit: record.commit.clone(),
            hosts: record.hosts.clone(),
            failed_host: record.failed_host.clone(),
            failed_stage: record.failed_stage.clone(),
            log_tail: record.error.clone(),
            summary,
            at: record.finished_at.to_string(),
        }
    }
}

impl Message for Notice {
    fn env(&self) -> Vec<(&'static str, String)> {
        let or_empty = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            ("ICT_PIPELINE", self.pipeline.clone()),
            ("ICT_PIPELINE_ENV", self.env.clone()),
            ("ICT_PIPELINE_OUTCOME", self.outcome.as_str().to_owned()),
            ("ICT_PIPELINE_RELEASE", self.release.clone()),
            ("ICT_PIPELINE_REF", self.ref_name.clone()),
            ("ICT_PIPELINE_COMMIT", self.commit.clone()),
            ("ICT_PIPELINE_HOSTS", self.hosts.join(",")),
            ("ICT_PIPELINE_FAILED_HOST", or_empty(&self.failed_host)),
            ("ICT_PIPELINE_FAILED_STAGE", or_empty(&self.failed_stage)),
            ("ICT_PIPELINE_LOG_TAIL", or_empty(&self.log_tail)),
            ("ICT_PIPELINE_SUMMARY", self.summary.clone()),
        ]
    }
}

/// Sends `notice` to every target; returns each target's description and result.
pub async fn notify_all(
    targets: &[Notify],
    notice: &Notice,
    timeout: Duration,
) -> Vec<(String, Result<(), NotifyError>)> {
    let client = crate::http::client();
    let mut out = Vec::new();
    for target in targets {
        let result = send(&client, target, notice, timeout).await;
        let name = match target {
            Notify::Webhook { url } => format!("webhook {url}"),
            Notify::Command { command } => format!("command `{command}`"),
        };
        out.push((name, result));
    }
    out
}
