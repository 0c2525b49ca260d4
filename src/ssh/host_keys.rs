//! Host-key verification: the `HostKeyVerifier` trait and `PinnedKeys`, the trust-on-first-use
//! verifier that backs ict's state (DESIGN decision 7: keys are always checked, a changed key
//! is refused, nothing is accepted blindly).
//!
//! Pure data and a mutex; no I/O except the explicit `known_hosts` helpers. Depends on
//! `ssh::known_hosts` for the OpenSSH line format.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use russh::keys::{HashAlg, PublicKey};

use super::known_hosts::{self, KnownHosts};

/// What a verifier decided about a server's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The key matches the one on record.
    Known,
    /// First contact: the key was recorded (pinned) and is accepted.
    Pinned,
    /// A different key is on record: refuse.
    Changed {
        /// The key on record.
        expected: PublicKey,
    },
    /// Nothing on record and this verifier does not pin: refuse.
    Unknown,
    /// The key is marked `@revoked`: refuse.
    Revoked,
}

impl Verdict {
    /// True when the connection may proceed.
    pub fn accepts(&self) -> bool {
        matches!(self, Self::Known | Self::Pinned)
    }
}

/// Decides whether a server's host key is trusted.
///
/// `host` is the server's `known_hosts` name (`host`, or `[host]:port` for ports other than 22;
/// see [`super::Target::known_hosts_name`]). Implementations must never accept a key they
/// have no record of unless they record it (pinning).
pub trait HostKeyVerifier: Send + Sync {
    /// Checks `key` for `host`.
    fn check(&self, host: &str, key: &PublicKey) -> Verdict;

    /// Where the keys come from, for error messages ("ict state", a `known_hosts` path).
    fn source_name(&self) -> String;
}

/// `SHA256:…` fingerprint of a key, exactly as OpenSSH prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Trust on first use, backed by a map of pinned keys (from ict's state).
///
/// A host with no pin gets its key pinned and accepted; a host whose pin differs is refused.
/// Newly pinned keys are kept apart so the caller can persist them after the run
/// ([`PinnedKeys::newly_pinned`], [`PinnedKeys::write_known_hosts`]).
#[derive(Debug, Default)]
pub struct PinnedKeys {
    inner: Mutex<Pins>,
}

#[derive(Debug, Default)]
struct Pins {
    all: BTreeMap<String, PublicKey>,
    new: BTreeMap<String, PublicKey>,
}

impl PinnedKeys {
    /// No pins yet: every first contact pins.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts from existing pins (`known_hosts name → key`), e.g. from ict's state.
    pub fn with_pins(pins: impl IntoIterator<Item = (String, PublicKey)>) -> Self {
        let all = pins
            .into_iter()
            .map(|(host, key)| (host, without_comment(&key)))
            .collect();
        Self {
            inner: Mutex::new(Pins {
                all,
                new: BTreeMap::new(),
            }),
        }
    }

    /// Starts from the plain entries of an OpenSSH `known_hosts` file that ict maintains.
    /// A missing file means no pins.
    pub fn from_known_hosts_file(path: &Path) -> std::io::Result<Self> {
        let file = KnownHosts::load_or_empty(path)?;
        Ok(Self::with_pins(file.plain_entries()))
    }

    /// The pin for `host`, if any.
    pub fn get(&self, host: &str) -> Option<PublicKey> {
        self.lock().all.get(host).cloned()
    }

    /// Removes the pin for `host` (the server was rebuilt on purpose); returns the old key.
    pub fn forget(&self, host: &str) -> Option<PublicKey> {
        let mut pins = self.lock();
        pins.new.remove(host);
        pins.all.remove(host)
    }

    /// Every pin, sorted by host.
    pub fn pins(&self) -> Vec<(String, PublicKey)> {
        self.lock()
            .all
            .iter()
            .map(|(h, k)| (h.clone(), k.clone()))
            .collect()
    }

    /// The keys pinned by this process (first contacts), sorted by host.
    pub fn newly_pinned(&self) -> Vec<(String, PublicKey)> {
        self.lock()
            .new
            .iter()
            .map(|(h, k)| (h.clone(), k.clone()))
            .collect()
    }

    /// Every pin as OpenSSH `known_hosts` text, one `host key-type base64` line per host, sorted.
    pub fn to_known_hosts(&self) -> String {
        known_hosts::render(&self.pins())
    }

    /// Writes [`Self::to_known_hosts`] to `path` atomically (temp file, fsync, rename), 0600.
    pub fn write_known_hosts(&self, path: &Path) -> std::io::Result<()> {
        crate::atomic::atomic_write(path, self.to_known_hosts().as_bytes(), 0o600)
    }

    fn lock(&self) -> MutexGuard<'_, Pins> {
        // A panic while holding the lock cannot leave the maps half-updated (single inserts).
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl HostKeyVerifier for PinnedKeys {
    fn check(&self, host: &str, key: &PublicKey) -> Verdict {
        let mut pins = self.lock();
        match pins.all.get(host) {
            Some(pinned) if pinned.key_data() == key.key_data() => Verdict::Known,
            Some(pinned) => Verdict::Changed {
                expected: pinned.clone(),
            },
            None => {
                let key = without_comment(key);
                pins.all.insert(host.to_owned(), key.clone());
                pins.new.insert(host.to_owned(), key);
                Verdict::Pinned
            }
        }
    }

    fn source_name(&self) -> String {
        "ict's pinned host keys".to_owned()
    }
}

/// The key with an empty comment (what `known_hosts` lines and state store).
pub(crate) fn without_comment(key: &PublicKey) -> PublicKey {
    PublicKey::new(key.key_data().clone(), "")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGW6m3twJMyFXyFINNTLIVcZUNQJ6EligRcGn7eer+AA a";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKlyv1DkJV9koeZEJ8FupvL1W5gdUvXhxa/P6toALZbP b";

    fn key(text: &str) -> PublicKey {
        PublicKey::from_openssh(text).expect("test key parses")
    }

    #[test]
    fn first_contact_pins_then_same_key_is_known() {
        let pins = PinnedKeys::new();
        assert_eq!(pins.check("[127.0.0.1]:2222", &key(KEY_A)), Verdict::Pinned);
        assert_eq!(pins.check("[127.0.0.1]:2222", &key(KEY_A)), Verdict::Known);
        let new = pins.newly_pinned();
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].0, "[127.0.0.1]:2222");
    }

    #[test]
    fn changed_key_is_refused_with_the_pinned_key() {
        let pins = PinnedKeys::with_pins([("h".to_owned(), key(KEY_A))]);
        let verdict = pins.check("h", &key(KEY_B));
        assert!(!verdict.accepts());
        assert_eq!(
            verdict,
            Verdict::Changed {
                expected: without_comment(&key(KEY_A))
            }
        );
        assert!(
            pins.newly_pinned().is_empty(),
            "a refused key is not pinned"
        );
        assert_eq!(
            pins.get("h").map(|k| fingerprint(&k)),
            Some(fingerprint(&key(KEY_A)))
        );
    }

    #[test]
    fn forget_allows_a_new_pin() {
        let pins = PinnedKeys::with_pins([("h".to_owned(), key(KEY_A))]);
        assert!(pins.forget("h").is_some());
        assert_eq!(pins.check("h", &key(KEY_B)), Verdict::Pinned);
    }

    #[test]
    fn fingerprint_matches_openssh_format() {
        let fp = fingerprint(&key(KEY_A));
        // `ssh-keygen -lf` of the same key prints this fingerprint.
        assert_eq!(fp, "SHA256:99dPRHvCqhsgAZpUEinZd/ZI+gTSsBnkeYWFwmCe890");
        assert_ne!(fp, fingerprint(&key(KEY_B)));
    }

    #[test]
    fn known_hosts_text_is_sorted_and_comment_free() {
        let pins = PinnedKeys::new();
        pins.check("[zeta]:2222", &key(KEY_B));
        pins.check("[alpha]:2222", &key(KEY_A));
        let text = pins.to_known_hosts();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].starts_with("[alpha]:2222 ssh-ed25519 AAAA"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("[zeta]:2222 ssh-ed25519 AAAA"),
            "{text}"
        );
        assert!(
            !text.contains(" a\n") && !text.contains(" b\n"),
            "comments dropped: {text}"
        );
    }
}
