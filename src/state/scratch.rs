//! Private work folders inside a state directory (`.ict/<env>/<prefix>XXXXXX/`, mode 0700) for
//! files a command needs only while it runs — `ict run` keeps Ansible's inventory there, with
//! 0600 `host_vars/`, `group_vars/` and extra-vars files holding secret values. The folder is
//! removed when its [`TempDir`] drops; a crash or `kill -9` leaves it, so each folder holds an
//! [`OWNER`] file naming its process (a [`LockHolder`]), and [`sweep`] — run whenever the state
//! lock is taken — removes the folders whose owner is gone. A folder whose owner is running, or
//! cannot be checked from this host, is never removed.

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::dir::StateDir;
use super::error::StateError;
use super::holder::{Liveness, LockHolder};

/// The file in each work folder that names the process it belongs to.
pub const OWNER: &str = ".ict-owner";

/// The prefix of `ict run`'s Ansible folders, which older versions left without an owner file.
const ANSIBLE_PREFIX: &str = "ansible-";

/// Creates a work folder in `dir` whose name starts with `prefix`, owned by this process.
pub fn create(dir: &StateDir, prefix: &str) -> Result<TempDir, StateError> {
    dir.ensure()?;
    let folder = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(dir.path())
        .map_err(|error| StateError::io("create a work folder in", dir.path(), error))?;
    let owner = folder.path().join(OWNER);
    let text = serde_json::to_string(&LockHolder::current(&format!("work folder {prefix}")))
        .map_err(|error| StateError::io("write", &owner, error.into()))?;
    fs::write(&owner, text).map_err(|error| StateError::io("write", &owner, error))?;
    Ok(folder)
}

/// Removes the work folders in `dir` whose process is gone, and returns them. Called with the
/// state lock held, so no live command is between creating a folder and naming its owner: a
/// folder of `ict run` with no owner file was left by a crash at that moment or by an older ict.
pub(crate) fn sweep(dir: &StateDir) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir.path()) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir() && abandoned(path))
        .filter(|path| fs::remove_dir_all(path).is_ok())
        .collect()
}

/// Whether the work folder at `path` belongs to a process that is gone.
fn abandoned(path: &Path) -> bool {
    match fs::read_to_string(path.join(OWNER)) {
        Ok(text) => serde_json::from_str::<LockHolder>(&text)
            .is_ok_and(|owner| owner.liveness() == Liveness::Dead),
        Err(_) => path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with(ANSIBLE_PREFIX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn only_folders_of_processes_that_are_gone_are_swept() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::for_script(&root.path().join("infra.ict"), "dev").expect("valid");
        let live = create(&dir, "ansible-").expect("created");
        assert!(live.path().join(OWNER).is_file());

        // A folder a killed run left: its owner file names a process that has exited.
        let dead = create(&dir, "ansible-").expect("created");
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let mut owner = LockHolder::current("ict run");
        owner.pid = child.id();
        child.wait().expect("reaped");
        fs::write(
            dead.path().join(OWNER),
            serde_json::to_string(&owner).expect("JSON"),
        )
        .expect("written");
        fs::write(dead.path().join("vars-1.json"), "{\"password\":\"x\"}").expect("written");
        let dead = dead.keep();

        // One of another host cannot be checked: kept.
        let remote = create(&dir, "ansible-").expect("created");
        let mut elsewhere = LockHolder::current("ict run");
        elsewhere.host = format!("not-{}", elsewhere.host);
        fs::write(
            remote.path().join(OWNER),
            serde_json::to_string(&elsewhere).expect("JSON"),
        )
        .expect("written");

        // An older ict's folder, without an owner file; and other folders are not ours.
        let legacy = dir.path().join("ansible-abc123");
        fs::create_dir(&legacy).expect("created");
        let other = dir.path().join("watch");
        fs::create_dir(&other).expect("created");

        let mut swept = sweep(&dir);
        swept.sort();
        let mut expected = vec![dead.clone(), legacy.clone()];
        expected.sort();
        assert_eq!(swept, expected);
        assert!(!dead.exists() && !legacy.exists());
        assert!(live.path().is_dir() && remote.path().is_dir() && other.is_dir());
    }
}
