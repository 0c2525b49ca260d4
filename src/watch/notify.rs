//! Sending notifications: a JSON `POST` to a webhook, or a shell command with the event as
//! JSON on its standard input and in `ICT_*` environment variables. Both have a timeout; the
//! command never sees the event's values in its command line (only in its environment and
//! input), so nothing a server reports is ever interpreted by the shell. Alerts send a
//! [`Payload`]; any other [`Message`] (a pipeline run's result) goes through the same code.

use std::process::Stdio;

use std::time::Duration;
use tokio::io::AsyncWriteExt as _;

use serde::Serialize;

use crate::metrics::alert::Notice;
use crate::model::Notify;
use crate::state::Timestamp;

/// The JSON body of a webhook, and the source of the `ICT_ALERT_*` variables.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payload {
    pub rule: String,
    pub host: String,
    /// `firing` or `resolved`.
    pub state: String,
    pub severity: String,
    /// The rule's first figure at the time (`null` when unknown).
    pub value: Option<f64>,
    pub summary: String,
    /// The condition as written.
    pub when: String,
    /// When the condition started to hold (RFC 3339).
    pub started_at: String,
    /// When the alert fired or resolved (RFC 3339).
    pub at: String,
}

/// Something that can be notified: its JSON form is the webhook body and the command's input.
pub trait Message: Serialize + Sync {
    /// The environment of a notification command.
    fn env(&self) -> Vec<(&'static str, String)>;
}

impl Message for Payload {
    fn env(&self) -> Vec<(&'static str, String)> {
        Payload::env(self)
    }
}

impl Payload {
    pub fn new(notice: &Notice) -> Payload {
        Payload {
            rule: notice.rule.name.clone(),
            host: notice.host.clone(),
            state: notice.state().to_owned(),
            severity: notice.rule.severity.as_str().to_owned(),
            value: notice.value,
            summary: notice.summary(),
            when: notice.rule.when_text.clone(),
            started_at: Timestamp::from_unix(notice.started_at).to_string(),
            at: Timestamp::from_unix(notice.at).to_string(),
        }
    }

    /// The environment of a notification command.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ICT_ALERT_RULE", self.rule.clone()),
            ("ICT_ALERT_HOST", self.host.clone()),
            ("ICT_ALERT_STATE", self.state.clone()),
            ("ICT_ALERT_SEVERITY", self.severity.clone()),
            (
                "ICT_ALERT_VALUE",
                self.value.map(|v| v.to_string()).unwrap_or_default(),
            ),
            ("ICT_ALERT_SUMMARY", self.summary.clone()),
            ("ICT_ALERT_WHEN", self.when.clone()),
            ("ICT_ALERT_STARTED_AT", self.started_at.clone()),
            ("ICT_ALERT_AT", self.at.clone()),
        ]
    }
}

/// Why a notification was not delivered.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum NotifyError {
    #[error("webhook {url} failed: {reason}")]
    #[diagnostic(
        code(ict::watch::webhook),
        help("check the URL and that the receiver answers with a 2xx status within the timeout")
    )]
    Webhook { url: String, reason: String },

    #[error("notification command `{command}` failed: {reason}")]
    #[diagnostic(
        code(ict::watch::command),
        help("the command runs with `sh -c` and gets the event as JSON on stdin and in ICT_* variables")
    )]
    Command { command: String, reason: String },
}

/// Delivers `payload` to `target`, giving up after `timeout`.
pub async fn send<M: Message>(
    client: &reqwest::Client,
    target: &Notify,
    payload: &M,
    timeout: Duration,
) -> Result<(), NotifyError> {
    match target {
        Notify::Webhook { url } => {
            let fail = |reason: String| NotifyError::Webhook {
                url: url.clone(),
                reason,
            };
            let response = client
                .post(url)
                .timeout(timeout)
                .json(payload)
                .send()
                .await
                .map_err(|e| fail(e.to_string()))?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(fail(format!("status {}", response.status())))
            }
        }
        Notify::Command { command } => {
            let fail = |reason: String| NotifyError::Command {
                command: command.clone(),
                reason,
            };
            let mut child = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .envs(payload.env())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| fail(e.to_string()))?;
            // A command that does not read its input must not block: write from a task and
            // ignore a closed pipe.
            if let Some(mut stdin) = child.stdin.take() {
                let mut json = serde_json::to_vec(payload).unwrap_or_default();
                json.push(b'\n');
                tokio::spawn(async move {
                    let _ = stdin.write_all(&json).await;
                });
            }
            let output = tokio::time::timeout(timeout, child.wait_with_output())
                .await
                .map_err(|_| fail(format!("still running after {}s", timeout.as_secs())))?
                .map_err(|e| fail(e.to_string()))?;
            if output.status.success() {
                Ok(())
            } else {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let last = stderr.lines().last().unwrap_or("").trim();
                Err(fail(format!("{} {last}", output.status).trim().to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> Payload {
        Payload {
            rule: "hot".into(),
            host: "web-1".into(),
            state: "firing".into(),
            severity: "warning".into(),
            value: Some(95.5),
            summary: "it is $(touch pwned) hot; `rm -rf /`".into(),
            when: "cpu > 90".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            at: "2026-01-01T00:05:00Z".into(),
        }
    }

    #[tokio::test]
    async fn commands_get_the_alert_in_their_environment_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let command = format!(
            "printf '%s|%s|%s|%s' \"$ICT_ALERT_RULE\" \"$ICT_ALERT_STATE\" \"$ICT_ALERT_VALUE\" \"$ICT_ALERT_SUMMARY\" > {}",
            out.display()
        );
        let client = crate::http::client();
        send(
            &client,
            &Notify::Command { command },
            &payload(),
            Duration::from_secs(5),
        )
        .await
        .expect("command runs");
        let written = std::fs::read_to_string(&out).expect("output");
        assert_eq!(
            written,
            "hot|firing|95.5|it is $(touch pwned) hot; `rm -rf /`"
        );
        assert!(!std::path::Path::new("pwned").exists());
    }

    #[tokio::test]
    async fn commands_get_the_event_as_json_on_stdin() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let command = format!("cat > {}", out.display());
        let client = crate::http::client();
        send(
            &client,
            &Notify::Command { command },
            &payload(),
            Duration::from_secs(5),
        )
        .await
        .expect("command runs");
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).expect("output")).expect("json");
        assert_eq!(written["rule"], "hot");
        assert_eq!(written["value"], 95.5);
    }

    #[tokio::test]
    async fn failing_and_slow_commands_are_errors() {
        let client = crate::http::client();
        let fail = Notify::Command {
            command: "echo nope >&2; exit 3".into(),
        };
        let e = send(&client, &fail, &payload(), Duration::from_secs(5))
            .await
            .expect_err("exit 3");
        assert!(e.to_string().contains("nope"), "{e}");
        let slow = Notify::Command {
            command: "sleep 5".into(),
        };
        let started = std::time::Instant::now();
        let e = send(&client, &slow, &payload(), Duration::from_millis(200))
            .await
            .expect_err("timeout");
        assert!(e.to_string().contains("still running"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn a_webhook_answering_an_error_is_a_failure() {
        use axum::http::StatusCode;
        let app = axum::Router::new()
            .route(
                "/ok",
                axum::routing::post(|| async { StatusCode::NO_CONTENT }),
            )
            .route(
                "/bad",
                axum::routing::post(|| async { StatusCode::BAD_GATEWAY }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let client = crate::http::client();
        let hook = |path: &str| Notify::Webhook {
            url: format!("http://{addr}{path}"),
        };
        let timeout = Duration::from_secs(5);
        send(&client, &hook("/ok"), &payload(), timeout)
            .await
            .expect("2xx is delivered");
        let e = send(&client, &hook("/bad"), &payload(), timeout)
            .await
            .expect_err("502");
        assert!(e.to_string().contains("502"), "{e}");
        server.abort();
    }
}
