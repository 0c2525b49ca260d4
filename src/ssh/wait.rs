//! `wait_for_ssh`: wait until a freshly booted server's sshd answers, with capped exponential
//! backoff, until a deadline.
//!
//! "Answers" means the TCP connection is accepted and the server sends an SSH identification
//! line (`SSH-2.0-…`): a port that accepts but says nothing (a booting host, a load balancer)
//! is not ready yet. No authentication is attempted. Depends on `ssh::{error, target}`.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::error::SshError;
use super::target::Target;

/// First pause between attempts; doubled after each failure up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Longest pause between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Longest a single attempt (connect + banner) may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// How the wait went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshReady {
    /// The server's identification line, e.g. `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`.
    pub banner: String,
    /// Attempts made, including the successful one.
    pub attempts: u32,
    /// Time spent waiting.
    pub elapsed: Duration,
}

/// Retries until `target` answers with an SSH banner or `within` has passed.
pub async fn wait_for_ssh(target: &Target, within: Duration) -> Result<SshReady, SshError> {
    let started = Instant::now();
    let deadline = started + within;
    let mut backoff = FIRST_BACKOFF;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let last_error =
            match tokio::time::timeout(remaining.min(ATTEMPT_TIMEOUT), banner(target)).await {
                Ok(Ok(banner)) => {
                    return Ok(SshReady {
                        banner,
                        attempts,
                        elapsed: started.elapsed(),
                    });
                }
                Ok(Err(error)) => error,
                Err(_) => "no SSH banner in time".to_owned(),
            };
        let now = Instant::now();
        if now + backoff >= deadline {
            tracing::debug!(target: "ict::ssh", %target, attempts, %last_error, "ssh not ready");
            return Err(SshError::Timeout {
                server: target.to_string(),
                what: format!("wait for ssh ({attempts} attempts, last: {last_error})"),
                after: within,
            });
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One attempt: connect and read the identification line.
async fn banner(target: &Target) -> Result<String, String> {
    let mut stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| e.to_string())?;
    let mut line = Vec::with_capacity(64);
    let mut byte = [0u8; 1];
    // RFC 4253 allows other lines before the identification; the line is at most 255 bytes.
    for _ in 0..4096 {
        if stream.read(&mut byte).await.map_err(|e| e.to_string())? == 0 {
            return Err("connection closed before the SSH banner".to_owned());
        }
        if byte[0] == b'\n' {
            let text = String::from_utf8_lossy(&line).trim_end().to_owned();
            if text.starts_with("SSH-") {
                return Ok(text);
            }
            line.clear();
        } else if line.len() < 256 {
            line.push(byte[0]);
        }
    }
    Err("no SSH banner in the first 4 KiB".to_owned())
}
