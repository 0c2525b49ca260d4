//! `SshError`: everything that can go wrong talking to one host over SSH.
//!
//! Each variant names the server (`name (addr:port)`) so that a fan-out report reads on its
//! own, carries a stable `ict::ssh::*` code and a help line. Depends on nothing else in ict.

use std::time::Duration;

use miette::Diagnostic;
use thiserror::Error;

/// An SSH failure for one server.
#[derive(Debug, Error, Diagnostic)]
pub enum SshError {
    /// The server presented a host key that differs from the pinned or known one.
    #[error(
        "host key of {server} has changed: expected {expected}, got {actual}; refusing to connect"
    )]
    #[diagnostic(
        code(ict::ssh::host_key_changed),
        help(
            "if the server was rebuilt, remove its old key (`ict state forget-host-key FILE NAME`, \
             or delete its line in the known_hosts file) and connect again; otherwise someone may \
             be intercepting the connection"
        )
    )]
    HostKeyChanged {
        /// `name (addr:port)`.
        server: String,
        /// Fingerprint (`SHA256:…`) of the key on record.
        expected: String,
        /// Fingerprint (`SHA256:…`) of the key the server presented.
        actual: String,
    },

    /// The server's key is not in the `known_hosts` file and this verifier does not pin.
    #[error("host key of {server} ({actual}) is not in {source_name}; refusing to connect")]
    #[diagnostic(
        code(ict::ssh::host_key_unknown),
        help("add the server's key to {source_name} (after checking its fingerprint out of band)")
    )]
    HostKeyUnknown {
        /// `name (addr:port)`.
        server: String,
        /// Fingerprint (`SHA256:…`) of the key the server presented.
        actual: String,
        /// Where the verifier looked, e.g. a `known_hosts` path.
        source_name: String,
    },

    /// Authentication failed or could not even be attempted (key unreadable, agent empty).
    #[error("authentication as `{user}` to {server} failed: {reason}")]
    #[diagnostic(
        code(ict::ssh::auth),
        help(
            "check that the server's authorized_keys holds the public half of the key ict uses \
             (or of a key loaded in ssh-agent), and that the user name is right"
        )
    )]
    Auth {
        /// `name (addr:port)`, or the key path when the key itself cannot be used.
        server: String,
        /// Remote user.
        user: String,
        /// What went wrong.
        reason: String,
    },

    /// A private key file could not be used (missing, unparsable, encrypted).
    #[error("cannot use private key {path}: {reason}")]
    #[diagnostic(
        code(ict::ssh::auth),
        help(
            "use an unencrypted OpenSSH key (ed25519 or rsa), pass its passphrase, or load it \
             into ssh-agent and use the agent"
        )
    )]
    Key {
        /// Path of the key file.
        path: String,
        /// What went wrong.
        reason: String,
    },

    /// The TCP connection or the SSH handshake failed (refused, reset, protocol error).
    #[error("cannot connect to {server}: {reason}")]
    #[diagnostic(
        code(ict::ssh::connect),
        help("check that the server is running, that sshd listens on that port, and the firewall")
    )]
    Connect {
        /// `name (addr:port)`.
        server: String,
        /// What went wrong.
        reason: String,
    },

    /// An operation did not finish in time.
    #[error("{what} on {server} timed out after {:.1} s", after.as_secs_f64())]
    #[diagnostic(
        code(ict::ssh::timeout),
        help("the server may be overloaded or unreachable; raise the timeout or retry later")
    )]
    Timeout {
        /// `name (addr:port)`.
        server: String,
        /// What was being done ("connect", "exec `uptime`", "wait for ssh").
        what: String,
        /// The limit that was hit.
        after: Duration,
    },

    /// The session worked but a channel operation failed (exec refused, tunnel denied, I/O).
    #[error("{what} on {server} failed: {reason}")]
    #[diagnostic(
        code(ict::ssh::channel),
        help(
            "the server refused the request; for tunnels check `AllowTcpForwarding` in sshd_config"
        )
    )]
    Channel {
        /// `name (addr:port)`.
        server: String,
        /// What was being done.
        what: String,
        /// What went wrong.
        reason: String,
    },
}

impl SshError {
    /// True when the host could not be reached at all (refused, no route, connect timeout):
    /// fan-out reports show these as "unreachable" rather than as a failed command.
    pub fn is_unreachable(&self) -> bool {
        match self {
            Self::Connect { .. } => true,
            Self::Timeout { what, .. } => what == "connect",
            _ => false,
        }
    }
}
