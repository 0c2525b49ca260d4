//! The change log `state.log`: what makes saving after every operation cheap.
//!
//! A full `state.json` of thousands of resources is megabytes; rewriting it around every API
//! call of a large apply would cost tens of milliseconds each. Instead, each commit appends
//! one JSON line holding that commit's [`Change`]s and fsyncs it — a cost independent of the
//! size of the state. Loading replays the log over `state.json`; a locked run compacts it (a
//! full atomic save, then the log is removed) when it opens, when it closes and when the log
//! grows large.
//!
//! Every change is an assignment to one key (a resource, a host key, a journal entry, an
//! `extra` section), so replaying a log over a snapshot that already contains it gives the
//! same state: a crash between writing the snapshot and removing the log is harmless. A crash
//! while appending leaves at most a torn last line, which is ignored: that commit never
//! completed, and the API call it would have preceded was never made.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::address::Address;
use super::document::{ResourceRecord, State};
use super::error::StateError;
use super::host_key::HostKey;
use super::journal::{JournalEntry, Seq};

/// One assignment to the state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Change {
    Begin(JournalEntry),
    Finish(Seq),
    PutResource(Address, ResourceRecord),
    RemoveResource(Address),
    /// An old object of `address`, replaced by a new one and still to be deleted.
    PutDeposed(Address, u64),
    RemoveDeposed(Address, u64),
    PutHostKey(Address, HostKey),
    RemoveHostKey(Address),
    PutExtra(String, serde_json::Value),
    RemoveExtra(String),
}

/// Appends one commit's changes as a single line and syncs it. Opens (and creates) the log on
/// first use; `handle` keeps it open for the next commit.
pub(crate) fn append(
    handle: &mut Option<File>,
    path: &Path,
    changes: &[Change],
) -> Result<(), StateError> {
    let mut line = serde_json::to_vec(changes)
        .map_err(|error| StateError::io("serialize changes for", path, error.into()))?;
    line.push(b'\n');
    append_line(handle, path, &line)
}

/// One commit as a log line (without the newline), as a shared backend stores it.
pub(crate) fn line(changes: &[Change]) -> Result<String, serde_json::Error> {
    serde_json::to_string(changes)
}

/// Applies one commit's line to `state`.
pub(crate) fn apply_line(line: &str, state: &mut State) -> Result<(), serde_json::Error> {
    for change in serde_json::from_str::<Vec<Change>>(line)? {
        state.apply(change);
    }
    Ok(())
}

fn append_line(handle: &mut Option<File>, path: &Path, line: &[u8]) -> Result<(), StateError> {
    if handle.is_none() {
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(path)
            .map_err(|error| StateError::io("open the state log", path, error))?;
        // The log's directory entry must be durable too.
        if let Some(dir) = path.parent() {
            super::file::sync_dir(dir)?;
        }
        *handle = Some(file);
    }
    let Some(file) = handle.as_mut() else {
        unreachable!("opened above");
    };
    file.write_all(line)
        .and_then(|()| file.sync_data())
        .map_err(|error| StateError::io("append to the state log", path, error))
}

/// Replays the log at `path` (if any) over `state`. Returns the number of commits replayed.
pub(crate) fn replay(path: &Path, state: &mut State) -> Result<usize, StateError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(StateError::io("read", path, error)),
    };
    // A torn write may end inside a multi-byte character: keep the valid prefix, whose last
    // line is then torn and ignored.
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text.to_owned(),
        Err(utf8) => String::from_utf8_lossy(&bytes[..utf8.valid_up_to()]).into_owned(),
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut replayed = 0;
    for (index, line) in lines.iter().enumerate() {
        match apply_line(line, state) {
            Ok(()) => replayed += 1,
            // A torn final line: that commit never completed.
            Err(_) if index + 1 == lines.len() => break,
            Err(error) => {
                return Err(StateError::corrupt(
                    path,
                    &text,
                    index + error.line(),
                    error.column(),
                    &error,
                    "ict did not change anything. Lines of the state log are commits in order; \
                     remove the damaged line and everything after it to go back to the last \
                     good commit (operations in flight then are checked against the cloud)"
                        .to_owned(),
                ));
            }
        }
    }
    Ok(replayed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Kind;
    use crate::state::{Action, JournalOp, Lock, Outcome, StateDir, Store};

    fn setup() -> (tempfile::TempDir, StateDir, Address) {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::for_script(&root.path().join("infra.ict"), "dev").expect("valid");
        (root, dir, Address::new(Kind::Server, "web").expect("valid"))
    }

    fn open(dir: &StateDir) -> Store {
        Store::open(Lock::acquire(dir, "ict apply").expect("free").lock).expect("opens")
    }

    /// A run that commits and then "crashes" (drops the store without closing it).
    fn crashed_run(dir: &StateDir, web: &Address) -> Seq {
        let mut store = open(dir);
        store.save().expect("a snapshot to replay over");
        let created = store
            .begin(JournalOp::new(web.clone(), Action::Create))
            .expect("logged");
        store
            .finish(created, &Outcome::Done { id: 3 })
            .expect("logged");
        store
            .begin(JournalOp::new(web.clone(), Action::Power).on_id(3))
            .expect("logged")
    }

    #[test]
    fn commits_are_in_the_log_and_the_next_run_folds_them_in() {
        let (_root, dir, web) = setup();
        let in_flight = crashed_run(&dir, &web);
        let log_text = fs::read_to_string(dir.log_file()).expect("a log");
        assert_eq!(log_text.lines().count(), 3);
        assert!(!log_text.contains("\n\n"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.log_file())
                .expect("log")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let seen = crate::state::State::load(&dir).expect("loads");
        assert_eq!(seen.resource(&web).map(|r| r.id), Some(3));
        assert_eq!(seen.journal().unfinished()[0].seq, in_flight);

        let store = open(&dir);
        assert!(!dir.log_file().exists(), "folded into state.json");
        assert_eq!(store.state(), &seen);
        let snapshot = fs::read_to_string(dir.state_file()).expect("state");
        assert!(snapshot.contains("server.web"), "{snapshot}");
    }

    #[test]
    fn a_torn_last_line_is_ignored() {
        let (_root, dir, web) = setup();
        crashed_run(&dir, &web);
        let mut log = fs::read(dir.log_file()).expect("a log");
        let complete = crate::state::State::load(&dir).expect("loads");
        // Half of a fourth commit, cut inside a multi-byte character.
        log.extend_from_slice("[{\"put_extra\":[\"note\",\"caf\u{e9}\"]}]".as_bytes());
        log.pop();
        log.pop();
        log.pop();
        fs::write(dir.log_file(), &log).expect("written");
        assert_eq!(crate::state::State::load(&dir).expect("loads"), complete);
    }

    #[test]
    fn a_damaged_line_before_the_end_is_corrupt_with_its_position() {
        let (_root, dir, web) = setup();
        crashed_run(&dir, &web);
        let text = fs::read_to_string(dir.log_file()).expect("a log");
        let damaged = text.replacen("\"finish\"", "\"finnish\"", 1);
        assert_ne!(damaged, text);
        fs::write(dir.log_file(), &damaged).expect("written");
        let Err(StateError::Corrupt(corrupt)) = crate::state::State::load(&dir) else {
            panic!("expected a corrupt log");
        };
        assert_eq!(corrupt.path, dir.log_file());
        assert_eq!(corrupt.line, 2);
        assert!(corrupt.help.contains("state log"), "{}", corrupt.help);
        assert!(
            Lock::acquire(&dir, "x")
                .map(|acquired| Store::open(acquired.lock))
                .expect("lock free")
                .is_err(),
            "a locked run refuses it too"
        );
        assert_eq!(fs::read_to_string(dir.log_file()).expect("kept"), damaged);
    }

    #[test]
    fn replaying_over_a_snapshot_that_already_has_the_changes_is_harmless() {
        let (_root, dir, web) = setup();
        crashed_run(&dir, &web);
        let expected = crate::state::State::load(&dir).expect("loads");
        // A crash after writing state.json but before removing the log.
        let log = fs::read(dir.log_file()).expect("a log");
        drop(open(&dir));
        fs::write(dir.log_file(), &log).expect("restored");
        assert_eq!(crate::state::State::load(&dir).expect("loads"), expected);
    }
}
