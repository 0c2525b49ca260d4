//! `Session`: one authenticated SSH connection (russh), with `exec` and direct-tcpip tunnels.
//!
//! The TCP stream is dialled here (not by russh) so that `TCP_NODELAY`/`TCP_QUICKACK` are set
//! (see `socket`). The host key is checked by the caller's `HostKeyVerifier` during the
//! handshake: russh's handler forwards the key over a channel to `connect`, which holds the
//! verifier and answers, so the verifier can be borrowed and nothing is accepted by default.
//! Depends on `ssh::{auth, error, handler, host_keys, target, socket, tunnel}`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::PublicKey;
use russh::{kex, ChannelMsg, Disconnect, Preferred};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::auth::{authenticate, Auth};
use super::error::SshError;
use super::handler::Client;
use super::host_keys::{fingerprint, HostKeyVerifier, Verdict};
use super::socket::TunedStream;
use super::target::Target;
use super::tunnel::Tunnel;

/// How to dial and handshake.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Limit for TCP connect + handshake + authentication.
    pub timeout: Duration,
    /// Set `TCP_NODELAY` (default on).
    pub nodelay: bool,
    /// Re-arm `TCP_QUICKACK` after every read (Linux; default on).
    pub quickack: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            nodelay: true,
            quickack: true,
        }
    }
}

impl ConnectOptions {
    /// The defaults with another timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout,
            ..Self::default()
        }
    }
}

/// What a remote command produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecResult {
    /// Standard output (lossily decoded as UTF-8).
    pub stdout: String,
    /// Standard error (lossily decoded as UTF-8).
    pub stderr: String,
    /// Exit status; `None` when the command was killed by a signal or the server sent none.
    pub exit_status: Option<u32>,
    /// The signal name when the command was killed by one (`KILL`, `TERM`, …).
    pub exit_signal: Option<String>,
}

impl ExecResult {
    /// True when the command exited with status 0.
    pub fn success(&self) -> bool {
        self.exit_status == Some(0)
    }
}

/// An authenticated SSH connection to one target. Channels (exec, tunnels) may be opened
/// concurrently through `&self`.
pub struct Session {
    handle: Handle<Client>,
    target: Target,
    host_key: PublicKey,
    kex: Arc<OnceLock<String>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Connects, checks the host key with `verifier`, authenticates; all within `timeout`.
    pub async fn connect(
        target: &Target,
        auth: &Auth,
        verifier: &dyn HostKeyVerifier,
        timeout: Duration,
    ) -> Result<Self, SshError> {
        Self::connect_with(
            target,
            auth,
            verifier,
            &ConnectOptions::with_timeout(timeout),
        )
        .await
    }

    /// [`Self::connect`] with explicit socket options.
    pub async fn connect_with(
        target: &Target,
        auth: &Auth,
        verifier: &dyn HostKeyVerifier,
        options: &ConnectOptions,
    ) -> Result<Self, SshError> {
        let attempt = async {
            let mut session = handshake(target, verifier, options).await?;
            authenticate(&mut session.handle, target, auth).await?;
            Ok(session)
        };
        tokio::time::timeout(options.timeout, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(SshError::Timeout {
                    server: target.to_string(),
                    what: "connect".to_owned(),
                    after: options.timeout,
                })
            })
    }

    /// The target this session is connected to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The host key the server presented (and the verifier accepted).
    pub fn host_key(&self) -> &PublicKey {
        &self.host_key
    }

    /// The negotiated key-exchange algorithm, e.g. `curve25519-sha256`.
    pub fn kex_algorithm(&self) -> &str {
        self.kex.get().map_or("", String::as_str)
    }

    /// Runs `command` (through the remote user's shell) and collects its output and status.
    pub async fn exec(&self, command: &str, timeout: Duration) -> Result<ExecResult, SshError> {
        self.exec_streaming(command, None, timeout, |_, _| {}).await
    }

    /// Runs `command`, writes `stdin` to its standard input (then closes it), and hands every
    /// complete line of output to `on_line` as it arrives (a last unterminated line at the
    /// end); also collects everything, like [`Session::exec`]. Data on standard input never
    /// shows in the remote process list, so secrets travel there.
    pub async fn exec_streaming(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        timeout: Duration,
        mut on_line: impl FnMut(Stream, &str),
    ) -> Result<ExecResult, SshError> {
        let what = || format!("exec `{command}`");
        let run = async {
            let mut channel = self
                .handle
                .channel_open_session()
                .await
                .map_err(|e| self.channel_error(&what(), &e))?;
            channel
                .exec(true, command)
                .await
                .map_err(|e| self.channel_error(&what(), &e))?;
            if let Some(input) = stdin {
                channel
                    .data(input)
                    .await
                    .map_err(|e| self.channel_error(&what(), &e))?;
            }
            channel
                .eof()
                .await
                .map_err(|e| self.channel_error(&what(), &e))?;
            let mut out = Lines::new(Stream::Stdout);
            let mut err = Lines::new(Stream::Stderr);
            let mut result = ExecResult::default();
            while let Some(msg) = channel.wait().await {
                match msg {
                    ChannelMsg::Data { data } => out.push(&data, &mut on_line),
                    ChannelMsg::ExtendedData { data, ext: 1 } => err.push(&data, &mut on_line),
                    ChannelMsg::ExitStatus { exit_status } => {
                        result.exit_status = Some(exit_status);
                    }
                    ChannelMsg::ExitSignal { signal_name, .. } => {
                        result.exit_signal = Some(format!("{signal_name:?}"));
                    }
                    ChannelMsg::Failure => {
                        return Err(SshError::Channel {
                            server: self.target.to_string(),
                            what: what(),
                            reason: "the server refused to run the command".to_owned(),
                        });
                    }
                    ChannelMsg::Close => break,
                    _ => {}
                }
            }
            result.stdout = out.finish(&mut on_line);
            result.stderr = err.finish(&mut on_line);
            Ok(result)
        };
        tokio::time::timeout(timeout, run)
            .await
            .unwrap_or_else(|_| {
                Err(SshError::Timeout {
                    server: self.target.to_string(),
                    what: what(),
                    after: timeout,
                })
            })
    }

    /// Opens a direct-tcpip channel: a TCP connection made by the server to
    /// `remote_host:remote_port` (e.g. `127.0.0.1:9100` for `node_exporter` on its loopback).
    pub async fn tunnel(&self, remote_host: &str, remote_port: u16) -> Result<Tunnel, SshError> {
        let channel = self
            .handle
            .channel_open_direct_tcpip(remote_host, u32::from(remote_port), "127.0.0.1", 0)
            .await
            .map_err(|e| {
                self.channel_error(&format!("tunnel to {remote_host}:{remote_port}"), &e)
            })?;
        Ok(Tunnel::new(
            channel.into_stream(),
            self.target.to_string(),
            remote_host,
            remote_port,
        ))
    }

    /// Says goodbye to the server (best effort) and drops the connection.
    pub async fn close(self) {
        self.disconnect().await;
    }

    /// Says goodbye to the server (best effort), for a session shared by its users (see
    /// `pool`): the connection ends.
    pub async fn disconnect(&self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
    }

    /// Whether the connection has ended (the server closed it, or it failed).
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    fn channel_error(&self, what: &str, error: &russh::Error) -> SshError {
        SshError::Channel {
            server: self.target.to_string(),
            what: what.to_owned(),
            reason: error.to_string(),
        }
    }
}

/// russh's client configuration: curve25519 key exchange first (cheap and everywhere; a
/// post-quantum hybrid costs ~65 ms of client CPU per handshake, see the bench README),
/// the other safe algorithms as fallbacks.
fn client_config() -> Arc<client::Config> {
    const KEX: &[kex::Name] = &[
        kex::CURVE25519,
        kex::CURVE25519_PRE_RFC_8731,
        kex::MLKEM768X25519_SHA256,
        kex::DH_GEX_SHA256,
        kex::DH_G16_SHA512,
        kex::DH_G14_SHA256,
        kex::EXTENSION_SUPPORT_AS_CLIENT,
        kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
    ];
    Arc::new(client::Config {
        preferred: Preferred {
            kex: KEX.into(),
            ..Preferred::DEFAULT
        },
        nodelay: true,
        ..client::Config::default()
    })
}

/// TCP connect + SSH handshake, with the host key checked by `verifier`.
async fn handshake(
    target: &Target,
    verifier: &dyn HostKeyVerifier,
    options: &ConnectOptions,
) -> Result<Session, SshError> {
    let connect_error = |reason: String| SshError::Connect {
        server: target.to_string(),
        reason,
    };
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| connect_error(e.to_string()))?;
    let stream = TunedStream::new(tcp, options.nodelay, options.quickack)
        .map_err(|e| connect_error(e.to_string()))?;

    let (checks, mut requests) = mpsc::channel(1);
    let client = Client::new(checks);
    let kex = Arc::clone(&client.kex);
    let handshake = client::connect_stream(client_config(), stream, client);
    tokio::pin!(handshake);
    let name = target.known_hosts_name();
    let mut seen: Option<(PublicKey, Verdict)> = None;
    let result = loop {
        tokio::select! {
            result = &mut handshake => break result,
            Some(check) = requests.recv() => {
                let verdict = verifier.check(&name, &check.key);
                let _ = check.reply.send(verdict.accepts());
                seen = Some((check.key, verdict));
            }
        }
    };
    match (seen, result) {
        (Some((key, verdict)), _) if !verdict.accepts() => {
            Err(refusal(target, verifier, &key, verdict))
        }
        (Some((host_key, _)), Ok(handle)) => Ok(Session {
            handle,
            target: target.clone(),
            host_key,
            kex,
        }),
        (_, Err(e)) => Err(connect_error(e.to_string())),
        (None, Ok(_)) => Err(connect_error("the server presented no host key".to_owned())),
    }
}

fn refusal(
    target: &Target,
    verifier: &dyn HostKeyVerifier,
    key: &PublicKey,
    verdict: Verdict,
) -> SshError {
    let server = target.to_string();
    let actual = fingerprint(key);
    match verdict {
        Verdict::Changed { expected } => SshError::HostKeyChanged {
            server,
            expected: fingerprint(&expected),
            actual,
        },
        Verdict::Revoked => SshError::HostKeyUnknown {
            server,
            actual: format!("{actual}, marked @revoked"),
            source_name: verifier.source_name(),
        },
        Verdict::Unknown | Verdict::Known | Verdict::Pinned => SshError::HostKeyUnknown {
            server,
            actual,
            source_name: verifier.source_name(),
        },
    }
}

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One stream's bytes: everything received, and where the next unreported line starts.
struct Lines {
    stream: Stream,
    all: Vec<u8>,
    reported: usize,
}

impl Lines {
    fn new(stream: Stream) -> Lines {
        Lines {
            stream,
            all: Vec::new(),
            reported: 0,
        }
    }

    /// Adds `data` and reports the lines it completes.
    fn push(&mut self, data: &[u8], on_line: &mut impl FnMut(Stream, &str)) {
        self.all.extend_from_slice(data);
        while let Some(end) = self.all[self.reported..].iter().position(|b| *b == b'\n') {
            let line = &self.all[self.reported..self.reported + end];
            on_line(self.stream, &String::from_utf8_lossy(line));
            self.reported += end + 1;
        }
    }

    /// Reports a last unterminated line; returns the whole text.
    fn finish(self, on_line: &mut impl FnMut(Stream, &str)) -> String {
        if self.reported < self.all.len() {
            on_line(
                self.stream,
                &String::from_utf8_lossy(&self.all[self.reported..]),
            );
        }
        String::from_utf8_lossy(&self.all).into_owned()
    }
}
