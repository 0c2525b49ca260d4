//! Reading and writing `state.json`: version check and migration on load, positioned errors
//! for corrupt files, and atomic saves that keep the previous good version as
//! `state.json.backup`.
//!
//! A save writes a temporary file in the same directory (mode 0600), fsyncs it, hard-links the
//! current `state.json` to the backup name, renames the temporary file over `state.json` and
//! fsyncs the directory. At every instant `state.json` is either the old or the new complete
//! file; a crash leaves at worst a stray `.state.json.*.tmp`, removed by the next locked run.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use miette::NamedSource;
use serde::Deserialize;

use super::dir::StateDir;
use super::document::{State, SCHEMA_VERSION};
use super::error::{CorruptState, StateError};

const TEMP_PREFIX: &str = ".state.json.";
const TEMP_SUFFIX: &str = ".tmp";

/// Loads the state of `dir`; `None` if it was never saved.
pub(crate) fn load(dir: &StateDir) -> Result<Option<State>, StateError> {
    let path = dir.state_file();
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            let backup = dir.backup_file();
            if backup.exists() {
                return Err(StateError::Missing { path, backup });
            }
            return Ok(None);
        }
        Err(error) => return Err(StateError::io("read the state file", path, error)),
    };
    let state = parse(dir, &text)?;
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
    let (line, column) = (error.line(), error.column());
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let offset = (line_start + column.saturating_sub(1)).min(text.len());
    let path = dir.state_file();
    // serde_json's message ends with " at line L column C"; the diagnostic says that itself.
    let message = error.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(head, _)| head)
        .to_owned();
    StateError::Corrupt(Box::new(CorruptState {
        source_code: NamedSource::new(path.display().to_string(), text.to_owned()),
        span: (offset, usize::from(offset < text.len())).into(),
        path,
        backup: dir.backup_file(),
        line,
        column,
        message,
    }))
}

/// Saves `state` atomically (see the module documentation).
pub(crate) fn save(dir: &StateDir, state: &State) -> Result<(), StateError> {
    let mut bytes = serde_json::to_vec_pretty(state).map_err(|error| {
        StateError::io("serialize the state for", dir.state_file(), error.into())
    })?;
    bytes.push(b'\n');
    dir.ensure()?;
    let path = dir.state_file();
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir.path())
        .map_err(|error| StateError::io("create a temporary file in", dir.path(), error))?;
    temp.write_all(&bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|error| StateError::io("write", temp.path().to_path_buf(), error))?;
    keep_backup(dir)?;
    temp.persist(&path)
        .map_err(|error| StateError::io("replace", &path, error.error))?;
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

fn sync_dir(path: &Path) -> Result<(), StateError> {
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(|error| StateError::io("sync the directory", path, error))
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
