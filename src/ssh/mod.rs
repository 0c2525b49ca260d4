//! SSH to the servers ict manages: sessions on russh with checked host keys, command
//! fan-out (over a pool of open sessions where a front end keeps one), direct-tcpip tunnels, waiting for a booting server's sshd, and host lists for
//! hosts no script declares.
//!
//! Host keys are always verified (DESIGN decision 7) by a [`HostKeyVerifier`]: [`PinnedKeys`]
//! pins on first contact and refuses a changed key; [`KnownHosts`] reads an OpenSSH
//! `known_hosts` file and refuses unknown hosts. There is no accept-all verifier.
//!
//! May depend on: `state` (for persisted pins, wired by the caller). Performs network I/O; it
//! returns values and never prints.

mod auth;
mod error;
mod fanout;
mod handler;
mod host_keys;
mod host_list;
mod known_hosts;
mod pool;
mod session;
mod socket;
mod target;
mod tunnel;
mod wait;

pub use auth::Auth;
pub use error::SshError;
pub use fanout::{exec_many, exec_stream, FanoutOptions, HostResult};
pub use host_keys::{fingerprint, HostKeyVerifier, PinnedKeys, Verdict};
pub use host_list::{load as load_host_list, parse as parse_host_list, HostListError};
pub use known_hosts::{render as render_known_hosts, KnownHosts};
pub use pool::Pool;
pub use russh::keys::PublicKey;
pub use session::{ConnectOptions, ExecResult, Session, Stream};
pub use target::{known_hosts_name, Target};
pub use tunnel::{HttpResponse, Tunnel, MAX_HTTP_RESPONSE};
pub use wait::{wait_for_ssh, SshReady, FIRST_BACKOFF, MAX_BACKOFF};
