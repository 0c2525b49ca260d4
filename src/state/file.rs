//! Reading and writing `state.json`: version check and migration on load, positioned errors
//! for corrupt files, and atomic saves that keep the previous good version as
//! `state.json.backup`.
//!
//! A save writes a temporary file in the same directory (mode 0600), fsyncs it, hard-links the
//! current `state.json` to the backup name, renames the temporary file over `state.json` and
//! fsyncs the directory. At every instant `state.json` is either the old or the new complete
//! file; a crash leaves at worst a stray `.state.json.*.tmp`, removed by the next locked run.
//! Between full saves, commits go to the append-only `state.log` (see `log.rs`), replayed here.

use std::fs::{self, File};
use std::io;
use std::path::Path;

use serde::Deserialize;

use crate::atomic;

use super::dir::StateDir;
use super::document::{State, SCHEMA_VERSION};
use super::error::StateError;
use super::log;

const TEMP_PREFIX: &str = ".state.json.";
const TEMP_SUFFIX: &str = ".tmp";

/// Loads the state of `dir`: `state.json` with `state.log` replayed over it; `None` if
/// neither was ever written.
///
/// Readers do not take the lock, so a locked run may compact the log between the two reads
/// (a new `state.json`, the old log gone): then the snapshot is read again, a bounded number
/// of times.
pub(crate) fn load(dir: &StateDir) -> Result<Option<State>, StateError> {
    const ATTEMPTS: usize = 5;
    let mut loaded = None;
    for _ in 0..ATTEMPTS {
        let before = identity(&dir.state_file());
        loaded = load_once(dir)?;
        if identity(&dir.state_file()) == before {
            break;
        }
    }
    Ok(loaded)
}

/// What changes when `state.json` is replaced: its inode (Unix) and modification time.
fn identity(path: &Path) -> Option<(u64, Option<std::time::SystemTime>)> {
    let metadata = fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = metadata.len();
    Some((inode, metadata.modified().ok()))
}

fn load_once(dir: &StateDir) -> Result<Option<State>, StateError> {
    let path = dir.state_file();
    let log = dir.log_file();
    let snapshot = match fs::read_to_string(&path) {
        Ok(text) => Some(parse(dir, &text)?),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            let migrated = dir.migrated_file();
            if migrated.exists() {
                return Err(StateError::Migrated {
                    env: dir.env().to_owned(),
                    backup: migrated.display().to_string(),
                });
            }
            let backup = dir.backup_file();
            if backup.exists() {
                return Err(StateError::Missing { path, backup });
            }
            None
        }
        Err(error) => return Err(StateError::io("read the state file", path, error)),
    };
    if snapshot.is_none() && !log.exists() {
        return Ok(None);
    }
    let mut state = snapshot.unwrap_or_else(|| State::new(dir.env()));
    log::replay(&log, &mut state)?;
    state.take_changes();
    Ok(Some(state))
}

/// Parses state text: the version first (so a newer schema is refused before its shape is
/// judged), then the whole document.
pub(crate) fn parse(dir: &StateDir, text: &str) -> Result<State, StateError> {
    #[derive(Deserialize)]
    struct Probe {
        version: Option<u32>,
    }
    let path = dir.state_file();
    let probe: Probe = serde_json::from_str(text).map_err(|error| corrupt(dir, text, &error))?;
    if let Some(found) = probe.version {
        if found > SCHEMA_VERSION {
            return Err(StateError::Version {
                path,
                found,
                supported: SCHEMA_VERSION,
            });
        }
    }
    let mut state: State =
        serde_json::from_str(text).map_err(|error| corrupt(dir, text, &error))?;
    migrate(&mut state);
    if state.env() != dir.env() {
        return Err(StateError::EnvMismatch {
            path,
            expected: dir.env().to_owned(),
            found: state.env().to_owned(),
        });
    }
    Ok(state)
}

/// Brings an older schema up to [`SCHEMA_VERSION`]. Version 1 is the first; a migration step
/// per version goes here when the schema changes.
fn migrate(state: &mut State) {
    state.set_version(SCHEMA_VERSION);
}

fn corrupt(dir: &StateDir, text: &str, error: &serde_json::Error) -> StateError {
    let backup = dir.backup_file();
    let help = if backup.is_file() {
        format!(
            "ict did not change anything. The previous good state is kept in {}; fix the file \
             or restore that copy over it",
            backup.display()
        )
    } else {
        "ict did not change anything, and there is no earlier copy (state.json.backup) to go \
         back to: fix the file by hand"
            .to_owned()
    };
    StateError::corrupt(
        &dir.state_file(),
        text,
        error.line(),
        error.column(),
        error,
        help,
    )
}

/// Saves `state` in full, atomically (see the module documentation), then removes the change
/// log it includes.
pub(crate) fn save(dir: &StateDir, state: &State) -> Result<(), StateError> {
    let mut bytes = serde_json::to_vec_pretty(state).map_err(|error| {
        StateError::io("serialize the state for", dir.state_file(), error.into())
    })?;
    bytes.push(b'\n');
    dir.ensure()?;
    let path = dir.state_file();
    let temp = atomic::stage(dir.path(), TEMP_PREFIX, TEMP_SUFFIX, &bytes, 0o600)
        .map_err(|error| StateError::io("write a temporary file in", dir.path(), error))?;
    keep_backup(dir)?;
    temp.rename_to(&path)
        .map_err(|error| StateError::io("replace", &path, error))?;
    sync_dir(dir.path())?;
    let log = dir.log_file();
    match fs::remove_file(&log) {
        Ok(()) => sync_dir(dir.path()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(StateError::io("remove the replayed", log, error)),
    }
}

/// Keeps `state` only as the read-only `state.json.migrated` (mode 0400) and removes
/// `state.json`, its backup and the log: the state now lives in another backend, and a later
/// run must not start from this copy (see [`StateError::Migrated`]).
pub(crate) fn retire(dir: &StateDir, state: &State) -> Result<(), StateError> {
    let bytes = serde_json::to_vec_pretty(state).map_err(|error| {
        StateError::io("serialize the state for", dir.migrated_file(), error.into())
    })?;
    dir.ensure()?;
    let temp = atomic::stage(dir.path(), TEMP_PREFIX, TEMP_SUFFIX, &bytes, 0o400)
        .map_err(|error| StateError::io("write a temporary file in", dir.path(), error))?;
    let migrated = dir.migrated_file();
    temp.rename_to(&migrated)
        .map_err(|error| StateError::io("replace", &migrated, error))?;
    sync_dir(dir.path())?;
    for path in [dir.state_file(), dir.backup_file(), dir.log_file()] {
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(StateError::io("remove the migrated", path, error)),
        }
    }
    sync_dir(dir.path())
}

/// Makes the current `state.json` (if any) the backup, without copying and without a moment
/// where neither exists: hard-link it to a temporary name, then rename that over the backup.
fn keep_backup(dir: &StateDir) -> Result<(), StateError> {
    let current = dir.state_file();
    let backup = dir.backup_file();
    let staging = dir.path().join(format!("{TEMP_PREFIX}backup{TEMP_SUFFIX}"));
    let _ = fs::remove_file(&staging);
    match fs::hard_link(&current, &staging) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        // File systems without hard links: copy instead.
        Err(_) => {
            fs::copy(&current, &staging)
                .and_then(|_| File::open(&staging)?.sync_all())
                .map_err(|error| StateError::io("back up", &current, error))?;
        }
    }
    fs::rename(&staging, &backup).map_err(|error| StateError::io("back up", &current, error))
}

pub(super) fn sync_dir(path: &Path) -> Result<(), StateError> {
    atomic::sync_dir(path).map_err(|error| StateError::io("sync the directory", path, error))
}

/// Removes temporary files a crashed save left behind. Call only while holding the lock.
pub(crate) fn remove_stale_temp_files(dir: &StateDir) -> Result<usize, StateError> {
    let entries = match fs::read_dir(dir.path()) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(StateError::io("list", dir.path(), error)),
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(TEMP_PREFIX)
            && name.ends_with(TEMP_SUFFIX)
            && fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Kind;
    use crate::state::{Action, Address, HostKey, JournalOp};

    fn dir_in(root: &tempfile::TempDir) -> StateDir {
        StateDir::for_script(&root.path().join("infra.ict"), "dev").expect("valid env")
    }

    fn sample(env: &str) -> State {
        let mut state = State::new(env);
        let web = Address::new(Kind::Server, "web-1").expect("valid");
        state.record_created(&web, 101, serde_json::json!({"cpu": 2, "ram": 2048}));
        state.record_adopted(
            &Address::new(Kind::Network, "lan").expect("valid"),
            7,
            serde_json::Value::Null,
        );
        state.check_host_key(&web, HostKey::new("ssh-ed25519", "AAAAC3Nz", "SHA256:abc"));
        state.begin(
            JournalOp::new(web, Action::Power)
                .on_id(101)
                .with("state", "off"),
        );
        state.set_extra("releases", Some(serde_json::json!([{"ref": "v1"}])));
        state
    }

    fn temp_files(dir: &StateDir) -> Vec<String> {
        fs::read_dir(dir.path())
            .expect("listable")
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(TEMP_SUFFIX))
            .collect()
    }

    #[test]
    fn saved_state_loads_back_equal() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        assert_eq!(load(&dir).expect("no state yet"), None);
        let state = sample("dev");
        save(&dir, &state).expect("saved");
        assert_eq!(load(&dir).expect("loads"), Some(state));
    }

    #[test]
    fn output_is_sorted_whatever_the_insertion_order() {
        let mut a = State::new("dev");
        let mut b = State::new("dev");
        let names = ["c", "a", "b"];
        for (index, name) in names.iter().enumerate() {
            let address = Address::new(Kind::Server, name).expect("valid");
            a.record_created(&address, index as u64, serde_json::Value::Null);
        }
        for (index, name) in names.iter().enumerate().rev() {
            let address = Address::new(Kind::Server, name).expect("valid");
            b.record_created(&address, index as u64, serde_json::Value::Null);
        }
        // Creation times may differ by a second between the two loops; compare the order.
        let keys = |state: &State| -> Vec<String> {
            let json = serde_json::to_string(state).expect("serializes");
            let value: serde_json::Value = serde_json::from_str(&json).expect("parses");
            value["resources"]
                .as_object()
                .expect("a map")
                .keys()
                .cloned()
                .collect()
        };
        assert_eq!(keys(&a), ["server.a", "server.b", "server.c"]);
        assert_eq!(keys(&a), keys(&b));
    }

    #[cfg(unix)]
    #[test]
    fn save_is_private_leaves_no_temp_files_and_keeps_the_previous_version() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        let first = State::new("dev");
        save(&dir, &first).expect("first save");
        assert!(!dir.backup_file().exists(), "nothing to back up yet");
        let second = sample("dev");
        save(&dir, &second).expect("second save");

        let mode = fs::metadata(dir.state_file())
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(dir.path())
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert_eq!(temp_files(&dir), Vec::<String>::new());

        let backup = fs::read_to_string(dir.backup_file()).expect("backup exists");
        let backup: State = serde_json::from_str(&backup).expect("backup is a state");
        assert_eq!(backup, first);
        assert_eq!(load(&dir).expect("loads"), Some(second));
    }

    #[test]
    fn corrupt_file_is_reported_with_line_and_column_and_the_backup_survives() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        let good = sample("dev");
        save(&dir, &good).expect("saved");
        save(&dir, &good).expect("saved again, so a backup exists");
        let backup_before = fs::read(dir.backup_file()).expect("backup");

        let text = fs::read_to_string(dir.state_file()).expect("state");
        let broken = text.replacen("\"kind\": \"server\",", "\"kind\": \"server\" oops,", 1);
        assert_ne!(broken, text);
        fs::write(dir.state_file(), &broken).expect("written");
        let expected_line = broken
            .lines()
            .position(|line| line.contains("oops"))
            .expect("present")
            + 1;

        let Err(StateError::Corrupt(corrupt)) = load(&dir) else {
            panic!("expected a corrupt-state error");
        };
        assert!(
            corrupt.help.contains("previous good state is kept in")
                && corrupt.help.contains("state.json.backup"),
            "{}",
            corrupt.help
        );
        assert_eq!(corrupt.line, expected_line);
        assert!(corrupt.column > 1);
        assert_eq!(corrupt.path, dir.state_file());
        let rendered = corrupt.to_string();
        assert!(
            rendered.contains(&format!("line {expected_line}")),
            "{rendered}"
        );
        assert!(rendered.contains("state.json"), "{rendered}");
        let offset: usize = corrupt.span.offset();
        assert_eq!(&broken[offset..offset + 4], "oops");
        assert_eq!(fs::read(dir.backup_file()).expect("backup"), backup_before);
        let restored: State =
            serde_json::from_slice(&backup_before).expect("backup is a good state");
        assert_eq!(restored, good);
    }

    #[test]
    fn the_corrupt_state_hint_names_a_backup_only_when_one_exists() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        save(&dir, &sample("dev")).expect("saved once: no backup yet");
        assert!(!dir.backup_file().exists());
        fs::write(dir.state_file(), "{ oops").expect("written");
        let Err(StateError::Corrupt(corrupt)) = load(&dir) else {
            panic!("expected a corrupt-state error");
        };
        assert_eq!(
            corrupt.help,
            "ict did not change anything, and there is no earlier copy (state.json.backup) to \
             go back to: fix the file by hand"
        );
    }

    #[test]
    fn wrong_shapes_are_corrupt_too() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        for text in [
            "",
            "{\"version\": 1}",
            "{\"version\": 1, \"env\": \"dev\", \"resourcez\": {}}",
            "{\"version\": 1, \"env\": \"dev\", \"resources\": {\"nodot\": {}}}",
            "[1, 2]",
        ] {
            assert!(
                matches!(parse(&dir, text), Err(StateError::Corrupt(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn newer_schema_versions_are_refused_and_older_fields_default() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        let newer = format!(
            "{{\"version\": {}, \"env\": \"dev\", \"shiny\": true}}",
            SCHEMA_VERSION + 1
        );
        assert!(matches!(
            parse(&dir, &newer),
            Err(StateError::Version { found, supported: SCHEMA_VERSION, .. })
                if found == SCHEMA_VERSION + 1
        ));
        let minimal = parse(&dir, "{\"version\": 1, \"env\": \"dev\"}").expect("accepted");
        assert_eq!(minimal, State::new("dev"));
    }

    #[test]
    fn a_state_of_another_environment_is_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        save(&dir, &State::new("prod")).expect("saved");
        assert!(matches!(
            load(&dir),
            Err(StateError::EnvMismatch { found, .. }) if found == "prod"
        ));
    }

    #[test]
    fn a_missing_state_with_a_backup_is_not_silently_empty() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        save(&dir, &sample("dev")).expect("saved");
        save(&dir, &sample("dev")).expect("saved");
        fs::remove_file(dir.state_file()).expect("removed");
        assert!(matches!(load(&dir), Err(StateError::Missing { .. })));
    }

    #[test]
    fn stale_temp_files_are_removed_and_others_kept() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        save(&dir, &State::new("dev")).expect("saved");
        fs::write(dir.path().join(".state.json.abc123.tmp"), "{").expect("written");
        assert_eq!(remove_stale_temp_files(&dir).expect("cleaned"), 1);
        assert_eq!(temp_files(&dir), Vec::<String>::new());
        assert!(dir.state_file().exists());
    }
}
