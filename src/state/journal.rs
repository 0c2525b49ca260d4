//! The journal of in-flight operations (DESIGN decision 4).
//!
//! Before each mutating API call the reconciler records its intent ([`Journal::begin`]); after
//! it, the result ([`Journal::finish`]), which removes the entry. Whatever is still in the
//! journal when a run starts was left behind by a crashed run: the reconciler checks each such
//! entry against the API (adopt by name, never create twice) and then finishes it.
//!
//! Pure data; persistence is [`super::Store`]'s job. Request summaries must never contain
//! secrets: build them from names, sizes and images, never from passwords or tokens.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::address::Address;
use super::timestamp::Timestamp;

/// The sequence number of a journal entry; never reused within one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seq(pub u64);

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What a mutating API call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
    Power,
    Attach,
    Detach,
    Rebuild,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Power => "power",
            Action::Attach => "attach",
            Action::Detach => "detach",
            Action::Rebuild => "rebuild",
        })
    }
}

/// The intent of one mutating API call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalOp {
    /// The resource the call is about.
    pub address: Address,
    pub action: Action,
    /// The cloud ID the call targets, when it targets an existing object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// A short, secret-free summary of the request (`image`, `cpu`, `state`, …). For a
    /// create, also what recovery needs to recognise the object (its name, a record's value).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request: BTreeMap<String, String>,
    /// For a create: the IDs of the objects of the same kind and name that existed just before
    /// the request was sent. Recovery after a crash adopts only an object that is not among
    /// them (a name is not an identity on 1cloud). `None` in entries written before ict
    /// recorded it: recovery then refuses to guess.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing: Option<Vec<u64>>,
    /// For a create that replaces an object (create before destroy): the old object's ID. When
    /// the create is done the old object stays owned, as deposed, until it is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<u64>,
    pub started_at: Timestamp,
}

impl JournalOp {
    /// An operation on `address` starting now, with an empty request summary.
    pub fn new(address: Address, action: Action) -> JournalOp {
        JournalOp {
            address,
            action,
            id: None,
            request: BTreeMap::new(),
            existing: None,
            replaces: None,
            started_at: Timestamp::now(),
        }
    }

    /// Records, for a create, which objects of the same kind and name already existed.
    #[must_use]
    pub fn with_existing(mut self, ids: impl IntoIterator<Item = u64>) -> JournalOp {
        let mut ids: Vec<u64> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        self.existing = Some(ids);
        self
    }

    /// Marks a create as replacing the object `id` (which becomes deposed when it is done).
    #[must_use]
    pub fn replacing(mut self, id: Option<u64>) -> JournalOp {
        self.replaces = id;
        self
    }

    /// Sets the cloud ID the call targets.
    #[must_use]
    pub fn on_id(mut self, id: u64) -> JournalOp {
        self.id = Some(id);
        self
    }

    /// Adds one entry to the request summary. Never pass a secret here.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl fmt::Display) -> JournalOp {
        self.request.insert(key.to_owned(), value.to_string());
        self
    }
}

/// One journal entry: an operation that has begun and not yet finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub seq: Seq,
    #[serde(flatten)]
    pub op: JournalOp,
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The API call succeeded; `id` is the cloud ID created or acted on.
    Done { id: u64 },
    /// The API call failed; nothing was changed (or the reconciler checked that it was not).
    Failed { message: String },
}

/// The journal: entries of operations in flight, in the order they began.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    next_seq: u64,
    entries: Vec<JournalEntry>,
}

impl Journal {
    /// The entry an operation would get if it began now.
    pub(crate) fn next_entry(&self, op: JournalOp) -> JournalEntry {
        JournalEntry {
            seq: Seq(self.next_seq),
            op,
        }
    }

    /// Adds (or replaces) an entry; sequence numbers stay ahead of every entry ever seen.
    pub(crate) fn insert(&mut self, entry: JournalEntry) {
        self.next_seq = self.next_seq.max(entry.seq.0 + 1);
        if let Some(existing) = self.entries.iter_mut().find(|e| e.seq == entry.seq) {
            *existing = entry;
        } else {
            self.entries.push(entry);
            self.entries.sort_by_key(|e| e.seq);
        }
    }

    /// Removes a finished entry (compaction); nothing if it is not there.
    pub(crate) fn remove(&mut self, seq: Seq) {
        self.entries.retain(|entry| entry.seq != seq);
    }

    /// Entries that have begun and not finished, oldest first. Right after loading a state
    /// these are the operations a crashed run left behind.
    pub fn unfinished(&self) -> &[JournalEntry] {
        &self.entries
    }

    /// The entry with this sequence number, if it is still in flight.
    pub fn get(&self, seq: Seq) -> Option<&JournalEntry> {
        self.entries.iter().find(|entry| entry.seq == seq)
    }

    /// Whether no operation is in flight.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Kind;

    fn op(name: &str, action: Action) -> JournalOp {
        JournalOp::new(Address::new(Kind::Server, name).expect("valid"), action)
    }

    fn begin(journal: &mut Journal, op: JournalOp) -> Seq {
        let entry = journal.next_entry(op);
        let seq = entry.seq;
        journal.insert(entry);
        seq
    }

    #[test]
    fn entries_stay_until_removed_and_sequence_numbers_are_never_reused() {
        let mut journal = Journal::default();
        let a = begin(&mut journal, op("a", Action::Create).with("cpu", 2));
        let b = begin(&mut journal, op("b", Action::Delete).on_id(7));
        assert!(b > a);
        assert_eq!(journal.unfinished().len(), 2);
        assert_eq!(
            journal
                .get(a)
                .and_then(|e| e.op.request.get("cpu"))
                .map(String::as_str),
            Some("2")
        );
        journal.remove(a);
        assert_eq!(journal.unfinished().len(), 1);
        assert_eq!(journal.unfinished()[0].seq, b);
        journal.remove(b);
        assert!(journal.is_empty());
        let c = begin(&mut journal, op("a", Action::Power));
        assert!(c > b, "{c} after {b}");
    }

    #[test]
    fn inserting_is_idempotent_and_keeps_order() {
        let mut journal = Journal::default();
        let first = journal.next_entry(op("a", Action::Create));
        let mut second = journal.next_entry(op("b", Action::Create));
        second.seq = Seq(first.seq.0 + 1);
        journal.insert(second.clone());
        journal.insert(first.clone());
        journal.insert(second.clone());
        let seqs: Vec<Seq> = journal.unfinished().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [first.seq, second.seq]);
        assert_eq!(
            journal.next_entry(op("c", Action::Create)).seq,
            Seq(second.seq.0 + 1)
        );
    }

    #[test]
    fn entries_serialize_flat_and_without_empty_fields() {
        let mut journal = Journal::default();
        let mut entry = op("web", Action::Create).with("image", "ubuntu-24.04");
        entry.started_at = Timestamp::from_unix(0);
        begin(&mut journal, entry);
        let json = serde_json::to_value(&journal).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "next_seq": 1,
                "entries": [{
                    "seq": 0,
                    "address": "server.web",
                    "action": "create",
                    "request": {"image": "ubuntu-24.04"},
                    "started_at": "1970-01-01T00:00:00Z"
                }]
            })
        );
        let back: Journal = serde_json::from_value(json).expect("parses");
        assert_eq!(back, journal);
    }
}
