//! Talking to a running daemon: finding it from the project's files and checking it with a
//! request (never trusting the files alone), over a small HTTP client of its own (these calls
//! run on plain threads, before or beside the command's tokio runtime).

use std::time::Duration;

use crate::emulator::daemon::{DaemonStatus, Lease, LEASE_PATH, STATUS_PATH};
use crate::state::LockHolder;

use super::{files, DaemonError, Project};

/// A running daemon that answered.
#[derive(Debug, Clone)]
pub struct Link {
    /// Its API base URL.
    pub url: String,
    /// The project's token, which it accepts.
    pub token: String,
    /// What it said about itself.
    pub status: DaemonStatus,
    /// Who the lock file says runs it.
    pub holder: LockHolder,
    /// What happened on the way (a restart, a replaced daemon), to tell the user.
    pub notes: Vec<String>,
}

/// What the project's files and a request say about its daemon.
#[derive(Debug)]
pub enum Found {
    /// No daemon: the lock names none, or a process that is gone.
    None {
        /// The process the lock named, when it died without cleaning up.
        gone: Option<LockHolder>,
    },
    /// Its process runs and it answered.
    Running(Box<Link>),
    /// Its process runs but it did not answer (yet).
    Silent {
        holder: LockHolder,
        url: Option<String>,
        reason: String,
    },
}

/// A blocking HTTP client for the daemon's own routes.
pub(super) struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    pub(super) fn new() -> Result<Http, DaemonError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DaemonError::Setting(format!("cannot start an async runtime: {e}")))?;
        let client = crate::http::builder()
            .no_proxy()
            // A restarted daemon listens on the same port: never reuse a connection.
            .pool_max_idle_per_host(0)
            .connect_timeout(Duration::from_secs(2))
            // A daemon that just started answers once its servers' SSH is restored.
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| DaemonError::Setting(format!("cannot set up an HTTP client: {e}")))?;
        Ok(Http { runtime, client })
    }

    /// `GET /ict/daemon`.
    fn status(&self, url: &str, token: &str) -> Result<DaemonStatus, String> {
        self.call(self.client.get(format!("{url}{STATUS_PATH}")), token)
    }

    /// `POST /ict/daemon/lease` for this process.
    fn lease(&self, url: &str, token: &str) -> Result<DaemonStatus, String> {
        let me = LockHolder::current("");
        let lease = Lease {
            pid: me.pid,
            process_start: me.process_start,
            command: command_name(std::env::args()),
        };
        self.call(
            self.client.post(format!("{url}{LEASE_PATH}")).json(&lease),
            token,
        )
    }

    fn call(&self, request: reqwest::RequestBuilder, token: &str) -> Result<DaemonStatus, String> {
        self.runtime.block_on(async {
            let response = request
                .bearer_auth(token)
                .send()
                .await
                .map_err(|e| without_url(&e))?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("it answered HTTP {}", status.as_u16()));
            }
            response
                .json::<DaemonStatus>()
                .await
                .map_err(|e| format!("its answer is not a status: {}", without_url(&e)))
        })
    }
}

/// Finds the project's daemon; with `lease`, this process also asks it to stay up while it
/// runs.
pub(super) fn find(project: &Project, http: &Http, lease: bool) -> Found {
    let Some(holder) = files::live_holder(project) else {
        return Found::None {
            gone: files::holder(project),
        };
    };
    let silent = |url: Option<String>, reason: &str| Found::Silent {
        holder: holder.clone(),
        url,
        reason: reason.to_owned(),
    };
    let Some(url) = files::addr(project) else {
        return silent(None, "it has written no address yet");
    };
    let Some(token) = files::token(project) else {
        return silent(Some(url), "the project has no emulator token");
    };
    let answer = if lease {
        http.lease(&url, &token)
    } else {
        http.status(&url, &token)
    };
    match answer {
        Ok(status) if status.pid == holder.pid => Found::Running(Box::new(Link {
            url,
            token,
            status,
            holder,
            notes: Vec::new(),
        })),
        Ok(status) => {
            let reason = format!("the emulator there is pid {}", status.pid);
            silent(Some(url), &reason)
        }
        Err(reason) => silent(Some(url), &reason),
    }
}

/// `ict <command>` from this process's arguments (no values: they may hold secrets).
fn command_name(args: impl Iterator<Item = String>) -> String {
    let mut args = args.skip(1);
    let mut words = vec!["ict".to_owned()];
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--env" | "-e" | "--var" | "--provider" => {
                args.next();
            }
            flag if flag.starts_with('-') => {}
            word => {
                words.push(word.to_owned());
                break;
            }
        }
    }
    words.join(" ")
}

/// A reqwest error's text without its URL (which is the daemon's, known to the caller).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text
            .replace(&format!(" for url ({url})"), "")
            .replace(&format!(" ({url})"), "");
    }
    if let Some(source) = std::error::Error::source(error) {
        text = format!("{text}: {source}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_name_skips_global_options_and_values() {
        let name = |args: &[&str]| command_name(args.iter().map(|a| (*a).to_owned()));
        assert_eq!(name(&["ict", "watch", "infra.ict"]), "ict watch");
        assert_eq!(
            name(&["ict", "-v", "--var", "pw=secret", "--env", "prod", "repl"]),
            "ict repl"
        );
        assert_eq!(name(&["ict"]), "ict");
    }
}
