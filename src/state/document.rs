//! The state document: what ict owns in one environment (ownership records), the journal of
//! in-flight operations, pinned host keys and an `extra` map for later features.
//!
//! Pure data with invariant-keeping methods; reading and writing files is in `file.rs` and
//! [`super::Store`]. Everything is kept in `BTreeMap`s so the JSON is sorted and diffs cleanly.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::address::{Address, Kind};
use super::error::StateError;
use super::host_key::{HostKey, HostKeyCheck};
use super::journal::{Journal, JournalEntry, JournalOp, Outcome, Seq};
use super::log::Change;
use super::timestamp::Timestamp;

/// The schema version this ict writes. Older versions are migrated on load (there are none
/// yet); newer ones are refused.
pub const SCHEMA_VERSION: u32 = 1;

/// One resource ict owns: created by it or explicitly adopted by the script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceRecord {
    pub kind: Kind,
    pub name: String,
    /// The cloud's ID of the object.
    pub id: u64,
    /// Adopted (existed before ict managed it) rather than created by ict.
    #[serde(default)]
    pub adopted: bool,
    pub created_at: Timestamp,
    /// Last known attributes as the provider reported them (never secrets).
    #[serde(default)]
    pub attributes: serde_json::Value,
}

/// What [`State::abandon`] dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Abandoned {
    pub record: Option<ResourceRecord>,
    pub deposed: Vec<u64>,
    pub journal: Vec<JournalEntry>,
}

impl Abandoned {
    /// Whether there was nothing to drop.
    pub fn is_empty(&self) -> bool {
        self.record.is_none() && self.deposed.is_empty() && self.journal.is_empty()
    }
}

/// The whole state of one environment.
///
/// Every mutation goes through one of a few primitive assignments, each recorded as a
/// [`Change`] so that [`super::Store`] can append it to the log instead of rewriting the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    version: u32,
    env: String,
    #[serde(default)]
    resources: BTreeMap<Address, ResourceRecord>,
    #[serde(default)]
    journal: Journal,
    /// Old objects that a replacement made (create before destroy) and that are still to be
    /// deleted: owned, not bound to their address any more.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    deposed: BTreeMap<Address, BTreeSet<u64>>,
    #[serde(default)]
    host_keys: BTreeMap<Address, HostKey>,
    #[serde(default)]
    extra: BTreeMap<String, serde_json::Value>,
    /// Changes not yet written to disk.
    #[serde(skip)]
    pending: Vec<Change>,
}

/// Two states are equal when their contents are, whatever is still to be written.
impl PartialEq for State {
    fn eq(&self, other: &State) -> bool {
        self.version == other.version
            && self.env == other.env
            && self.resources == other.resources
            && self.journal == other.journal
            && self.deposed == other.deposed
            && self.host_keys == other.host_keys
            && self.extra == other.extra
    }
}

impl State {
    /// An empty state for `env`.
    pub fn new(env: &str) -> State {
        State {
            version: SCHEMA_VERSION,
            env: env.to_owned(),
            resources: BTreeMap::new(),
            journal: Journal::default(),
            deposed: BTreeMap::new(),
            host_keys: BTreeMap::new(),
            extra: BTreeMap::new(),
            pending: Vec::new(),
        }
    }

    /// The schema version (after loading, always [`SCHEMA_VERSION`]).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The environment this state belongs to.
    pub fn env(&self) -> &str {
        &self.env
    }

    // ----- ownership -----

    /// Every owned resource, sorted by address.
    pub fn resources(&self) -> &BTreeMap<Address, ResourceRecord> {
        &self.resources
    }

    /// The record of one owned resource.
    pub fn resource(&self, address: &Address) -> Option<&ResourceRecord> {
        self.resources.get(address)
    }

    /// The owned resource with this cloud ID, if any.
    pub fn find_by_id(&self, kind: Kind, id: u64) -> Option<(&Address, &ResourceRecord)> {
        self.resources
            .iter()
            .find(|(address, record)| address.kind() == kind && record.id == id)
    }

    /// Whether ict owns the object `id` of `kind`: bound to an address or deposed.
    pub fn owns(&self, kind: Kind, id: u64) -> bool {
        self.find_by_id(kind, id).is_some()
            || self
                .deposed
                .iter()
                .any(|(address, ids)| address.kind() == kind && ids.contains(&id))
    }

    /// Old objects replaced by new ones and not deleted yet, by address.
    pub fn deposed(&self) -> &BTreeMap<Address, BTreeSet<u64>> {
        &self.deposed
    }

    /// Records that ict created `address` as cloud object `id`. Replaces an earlier record
    /// (a resource replaced by a new object).
    pub fn record_created(&mut self, address: &Address, id: u64, attributes: serde_json::Value) {
        self.insert_record(address, id, false, attributes);
    }

    /// Records that the script adopted the existing cloud object `id` as `address`.
    pub fn record_adopted(&mut self, address: &Address, id: u64, attributes: serde_json::Value) {
        self.insert_record(address, id, true, attributes);
    }

    fn insert_record(
        &mut self,
        address: &Address,
        id: u64,
        adopted: bool,
        attributes: serde_json::Value,
    ) {
        // A new object behind the same address has a new host key.
        if self.resources.get(address).is_some_and(|old| old.id != id) {
            self.change(Change::RemoveHostKey(address.clone()));
        }
        let record = ResourceRecord {
            kind: address.kind(),
            name: address.name().to_owned(),
            id,
            adopted,
            created_at: Timestamp::now(),
            attributes,
        };
        self.change(Change::PutResource(address.clone(), record));
    }

    /// Replaces the last known attributes of an owned resource; false if it is not owned.
    pub fn set_attributes(&mut self, address: &Address, attributes: serde_json::Value) -> bool {
        match self.resources.get(address) {
            Some(record) => {
                let record = ResourceRecord {
                    attributes,
                    ..record.clone()
                };
                self.change(Change::PutResource(address.clone(), record));
                true
            }
            None => false,
        }
    }

    /// Stops owning the object `id` of `address` (it was deleted, or is gone): a deposed
    /// object is dropped from the deposed list; the object bound to the address is forgotten
    /// with its host key. Another object now bound to the address is kept.
    pub fn forget_object(&mut self, address: &Address, id: u64) {
        if self
            .deposed
            .get(address)
            .is_some_and(|ids| ids.contains(&id))
        {
            self.change(Change::RemoveDeposed(address.clone(), id));
        }
        if self.resources.get(address).is_some_and(|r| r.id == id) {
            self.forget(address);
        }
    }

    /// Stops owning `address` (it was deleted): drops its record and its pinned host key, so a
    /// new server with the same name is not refused for a "changed" key.
    pub fn forget(&mut self, address: &Address) -> Option<ResourceRecord> {
        if self.host_keys.contains_key(address) {
            self.change(Change::RemoveHostKey(address.clone()));
        }
        let record = self.resources.get(address).cloned();
        if record.is_some() {
            self.change(Change::RemoveResource(address.clone()));
        }
        record
    }

    /// `ict state forget`: stops managing `address` without touching the cloud. Drops its
    /// ownership record, the old objects a replacement deposed, its pinned host key and the
    /// unfinished journal entries about it. Returns what was dropped.
    pub fn abandon(&mut self, address: &Address) -> Abandoned {
        let entries: Vec<JournalEntry> = self
            .journal
            .unfinished()
            .iter()
            .filter(|e| &e.op.address == address)
            .cloned()
            .collect();
        for entry in &entries {
            self.change(Change::Finish(entry.seq));
        }
        let deposed: Vec<u64> = self
            .deposed
            .get(address)
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default();
        for id in &deposed {
            self.change(Change::RemoveDeposed(address.clone(), *id));
        }
        Abandoned {
            record: self.forget(address),
            deposed,
            journal: entries,
        }
    }

    /// Rebinds everything the state holds for `from` to `to` (a rename in the script that keeps
    /// the object: `moved(...)`, `ict state mv`): the ownership record, deposed objects and the
    /// pinned host key. False when `from` owns nothing or `to` is taken.
    pub fn rename(&mut self, from: &Address, to: &Address) -> bool {
        if from == to || self.resources.contains_key(to) {
            return false;
        }
        let Some(record) = self.resources.get(from).cloned() else {
            return false;
        };
        let key = self.host_keys.get(from).cloned();
        let deposed: Vec<u64> = self
            .deposed
            .get(from)
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default();
        self.forget(from);
        for id in &deposed {
            self.change(Change::RemoveDeposed(from.clone(), *id));
            self.change(Change::PutDeposed(to.clone(), *id));
        }
        let record = ResourceRecord {
            kind: to.kind(),
            name: to.name().to_owned(),
            ..record
        };
        self.change(Change::PutResource(to.clone(), record));
        if let Some(key) = key {
            self.change(Change::PutHostKey(to.clone(), key));
        }
        true
    }

    /// Every address the state knows: owned, with deposed objects, or in the journal.
    pub fn addresses(&self) -> BTreeSet<&Address> {
        self.resources
            .keys()
            .chain(self.deposed.keys())
            .chain(self.journal.unfinished().iter().map(|e| &e.op.address))
            .collect()
    }

    // ----- journal -----

    /// The journal of in-flight operations.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Records the intent of an operation (see [`Journal::begin`]).
    pub fn begin(&mut self, op: JournalOp) -> Seq {
        let entry = self.journal.next_entry(op);
        let seq = entry.seq;
        self.change(Change::Begin(entry));
        seq
    }

    /// Finishes a journal entry and applies what its outcome means for ownership:
    /// a successful `create` records the new object, a successful `delete` forgets it, a
    /// successful `update` or `power` refreshes nothing (use [`State::set_attributes`]).
    /// A failure changes no ownership. Returns the finished entry.
    pub fn finish(&mut self, seq: Seq, outcome: &Outcome) -> Result<JournalEntry, StateError> {
        let entry = self
            .journal
            .get(seq)
            .cloned()
            .ok_or(StateError::UnknownSeq { seq })?;
        self.change(Change::Finish(seq));
        if let Outcome::Done { id } = outcome {
            let address = &entry.op.address;
            match entry.op.action {
                super::Action::Create => {
                    let current = self.resources.get(address);
                    let attributes = current
                        .filter(|record| record.id == *id)
                        .map(|record| record.attributes.clone())
                        .unwrap_or_default();
                    // Create before destroy: the replaced object stays owned until deleted.
                    if let Some(old) = entry.op.replaces {
                        if old != *id && current.is_some_and(|record| record.id == old) {
                            self.change(Change::PutDeposed(address.clone(), old));
                        }
                    }
                    self.record_created(address, *id, attributes);
                }
                super::Action::Delete => {
                    self.forget_object(address, entry.op.id.unwrap_or(*id));
                }
                _ => {}
            }
        }
        Ok(entry)
    }

    // ----- host keys -----

    /// The pinned host key of a server.
    pub fn host_key(&self, address: &Address) -> Option<&HostKey> {
        self.host_keys.get(address)
    }

    /// Checks a presented host key: pins it if none is pinned, otherwise compares. A changed
    /// key is never replaced here (see [`State::repin_host_key`]).
    pub fn check_host_key(&mut self, address: &Address, presented: HostKey) -> HostKeyCheck {
        match self.host_keys.get(address) {
            None => {
                self.change(Change::PutHostKey(address.clone(), presented));
                HostKeyCheck::Pinned
            }
            Some(pinned) if pinned.same_key(&presented) => HostKeyCheck::Known,
            Some(pinned) => HostKeyCheck::Changed {
                pinned: pinned.clone(),
            },
        }
    }

    /// Every pinned host key, sorted by address.
    pub fn host_keys(&self) -> impl Iterator<Item = (&Address, &HostKey)> {
        self.host_keys.iter()
    }

    /// Drops the pinned key of a server (`ict state forget-host-key`, after a rebuild), so the
    /// next contact pins whatever key it presents. Returns the key that was pinned.
    pub fn forget_host_key(&mut self, address: &Address) -> Option<HostKey> {
        let previous = self.host_keys.get(address).cloned();
        if previous.is_some() {
            self.change(Change::RemoveHostKey(address.clone()));
        }
        previous
    }

    /// Replaces a pinned key after the user confirmed the change (e.g. a rebuilt server).
    pub fn repin_host_key(&mut self, address: &Address, key: HostKey) -> Option<HostKey> {
        let previous = self.host_keys.get(address).cloned();
        self.change(Change::PutHostKey(address.clone(), key));
        previous
    }

    // ----- extra -----

    /// A free-form section for later features (releases, metrics history pointers).
    pub fn extra(&self, key: &str) -> Option<&serde_json::Value> {
        self.extra.get(key)
    }

    /// Sets (`Some`) or removes (`None`) a free-form section.
    pub fn set_extra(&mut self, key: &str, value: Option<serde_json::Value>) {
        self.change(match value {
            Some(value) => Change::PutExtra(key.to_owned(), value),
            None => Change::RemoveExtra(key.to_owned()),
        });
    }

    // ----- changes -----

    /// Applies a primitive change and remembers it for the log.
    fn change(&mut self, change: Change) {
        self.apply(change.clone());
        self.pending.push(change);
    }

    /// Applies a primitive change (also used to replay the log).
    pub(crate) fn apply(&mut self, change: Change) {
        match change {
            Change::Begin(entry) => self.journal.insert(entry),
            Change::Finish(seq) => self.journal.remove(seq),
            Change::PutResource(address, record) => {
                self.resources.insert(address, record);
            }
            Change::RemoveResource(address) => {
                self.resources.remove(&address);
            }
            Change::PutDeposed(address, id) => {
                self.deposed.entry(address).or_default().insert(id);
            }
            Change::RemoveDeposed(address, id) => {
                if let Some(ids) = self.deposed.get_mut(&address) {
                    ids.remove(&id);
                    if ids.is_empty() {
                        self.deposed.remove(&address);
                    }
                }
            }
            Change::PutHostKey(address, key) => {
                self.host_keys.insert(address, key);
            }
            Change::RemoveHostKey(address) => {
                self.host_keys.remove(&address);
            }
            Change::PutExtra(key, value) => {
                self.extra.insert(key, value);
            }
            Change::RemoveExtra(key) => {
                self.extra.remove(&key);
            }
        }
    }

    /// Takes the changes made since the last call.
    pub(crate) fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.pending)
    }

    /// Puts back changes that could not be written, ahead of newer ones.
    pub(crate) fn restore_changes(&mut self, mut changes: Vec<Change>) {
        changes.append(&mut self.pending);
        self.pending = changes;
    }

    // ----- loading -----

    /// Reads the state of `dir` without locking it (for `plan`, inventories, status): an empty
    /// state if none was saved yet.
    pub fn load(dir: &super::StateDir) -> Result<State, StateError> {
        Ok(super::file::load(dir)?.unwrap_or_else(|| State::new(dir.env())))
    }

    pub(crate) fn set_version(&mut self, version: u32) {
        self.version = version;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Action;
    use crate::state::Kind;

    fn address(name: &str) -> Address {
        Address::new(Kind::Server, name).expect("valid")
    }

    #[test]
    fn create_and_delete_outcomes_change_ownership() {
        let mut state = State::new("dev");
        let web = address("web");
        let seq = state.begin(JournalOp::new(web.clone(), Action::Create));
        assert!(state.resource(&web).is_none());
        state.finish(seq, &Outcome::Done { id: 17 }).expect("open");
        let record = state.resource(&web).expect("recorded");
        assert_eq!(
            (record.kind, record.name.as_str(), record.id),
            (Kind::Server, "web", 17)
        );
        assert!(!record.adopted);
        assert_eq!(
            state.find_by_id(Kind::Server, 17).map(|(a, _)| a),
            Some(&web)
        );
        assert!(state.find_by_id(Kind::Network, 17).is_none());

        let failed = state.begin(JournalOp::new(web.clone(), Action::Delete).on_id(17));
        state
            .finish(
                failed,
                &Outcome::Failed {
                    message: "busy".into(),
                },
            )
            .expect("open");
        assert!(
            state.resource(&web).is_some(),
            "a failed delete keeps ownership"
        );

        let seq = state.begin(JournalOp::new(web.clone(), Action::Delete).on_id(17));
        state.finish(seq, &Outcome::Done { id: 17 }).expect("open");
        assert!(state.resource(&web).is_none());
        assert!(state.journal().is_empty());
    }

    #[test]
    fn a_failed_create_records_nothing() {
        let mut state = State::new("dev");
        let seq = state.begin(JournalOp::new(address("x"), Action::Create));
        state
            .finish(
                seq,
                &Outcome::Failed {
                    message: "quota".into(),
                },
            )
            .expect("open");
        assert!(state.resources().is_empty());
    }

    #[test]
    fn host_keys_pin_then_compare_and_are_forgotten_with_the_server() {
        let mut state = State::new("dev");
        let web = address("web");
        state.record_created(&web, 1, serde_json::Value::Null);
        let key = HostKey::new("ssh-ed25519", "AAAA1", "SHA256:one");
        assert_eq!(
            state.check_host_key(&web, key.clone()),
            HostKeyCheck::Pinned
        );
        assert_eq!(state.check_host_key(&web, key.clone()), HostKeyCheck::Known);
        let other = HostKey::new("ssh-ed25519", "AAAA2", "SHA256:two");
        assert_eq!(
            state.check_host_key(&web, other),
            HostKeyCheck::Changed {
                pinned: key.clone()
            }
        );
        assert_eq!(
            state.host_key(&web),
            Some(&key),
            "a changed key is not pinned"
        );

        state.forget(&web);
        assert!(state.host_key(&web).is_none());
    }

    #[test]
    fn a_forgotten_host_key_is_pinned_afresh() {
        let mut state = State::new("dev");
        let web = Address::new(Kind::Server, "web-1").expect("address");
        let one = HostKey::new("ssh-ed25519", "AAAA1", "SHA256:one");
        state.check_host_key(&web, one.clone());
        assert_eq!(state.host_keys().count(), 1);
        assert_eq!(state.forget_host_key(&web), Some(one));
        assert_eq!(state.forget_host_key(&web), None, "nothing left to forget");
        let two = HostKey::new("ssh-ed25519", "AAAA2", "SHA256:two");
        assert_eq!(state.check_host_key(&web, two), HostKeyCheck::Pinned);
    }

    #[test]
    fn recreating_an_address_as_a_new_object_drops_its_host_key() {
        let mut state = State::new("dev");
        let web = address("web");
        state.record_created(&web, 1, serde_json::Value::Null);
        state.check_host_key(&web, HostKey::new("ssh-ed25519", "AAAA1", "SHA256:one"));
        state.record_created(&web, 1, serde_json::json!({"cpu": 2}));
        assert!(state.host_key(&web).is_some(), "same object keeps its key");
        state.record_created(&web, 2, serde_json::Value::Null);
        assert!(state.host_key(&web).is_none(), "new object, new key");
    }

    #[test]
    fn set_attributes_only_touches_owned_resources() {
        let mut state = State::new("dev");
        let web = address("web");
        assert!(!state.set_attributes(&web, serde_json::json!({"cpu": 1})));
        state.record_adopted(&web, 5, serde_json::Value::Null);
        assert!(state.set_attributes(&web, serde_json::json!({"cpu": 1})));
        let record = state.resource(&web).expect("owned");
        assert!(record.adopted);
        assert_eq!(record.attributes["cpu"], 1);
    }
}
