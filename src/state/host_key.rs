//! Pinned SSH host keys (DESIGN decision 7): the first contact with a server pins its key in
//! state; later contacts must present the same key. Pure data; the `ssh` module computes
//! fingerprints and decides what to do with a [`HostKeyCheck`].

use serde::{Deserialize, Serialize};

use super::timestamp::Timestamp;

/// One server's pinned host key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostKey {
    /// The key algorithm as OpenSSH names it, e.g. `ssh-ed25519`.
    pub algorithm: String,
    /// The public key blob, base64 as in `known_hosts`.
    pub key: String,
    /// `SHA256:…` fingerprint, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// When ict first saw (and pinned) this key.
    pub first_seen: Timestamp,
}

impl HostKey {
    /// A key first seen now.
    pub fn new(algorithm: &str, key: &str, fingerprint: &str) -> HostKey {
        HostKey {
            algorithm: algorithm.to_owned(),
            key: key.to_owned(),
            fingerprint: fingerprint.to_owned(),
            first_seen: Timestamp::now(),
        }
    }

    /// Whether `other` is the same key (the time it was seen does not matter).
    pub fn same_key(&self, other: &HostKey) -> bool {
        self.algorithm == other.algorithm && self.key == other.key
    }
}

/// The result of checking a presented host key against the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyCheck {
    /// No key was pinned: the presented one is now pinned (save the state to keep it).
    Pinned,
    /// The presented key is the pinned one.
    Known,
    /// The presented key differs from the pinned one, which is kept: refuse the connection.
    Changed {
        /// The key pinned earlier.
        pinned: HostKey,
    },
}
