//! Durable file writes: a file ict writes is replaced whole or not at all, and once the write
//! returns it survives a crash or a power cut.
//!
//! [`atomic_write`] is the whole recipe: write a temporary file in the same folder (so the
//! rename below cannot cross file systems), with the requested permission bits from the start
//! (a secret is never readable by others, not even for a moment), fsync it, rename it over the
//! target, fsync the folder (so the rename itself is durable). Readers see the old file or the
//! new one, never a half-written one; a crash leaves at worst a stray temporary file.
//!
//! Callers that put the file in place their own way use the two halves: [`stage`] (a complete,
//! fsynced temporary file) and [`Staged::rename_to`] followed by [`sync_dir`]. The state keeps
//! its previous snapshot as a backup between the two; the state lock hard-links the staged file
//! instead of renaming it, so an existing lock is never replaced.
//!
//! A leaf: depends on nothing else in ict (std and `tempfile` only).

use std::fs::{File, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

/// Writes `bytes` to `path` atomically and durably, with permission bits `mode` (`0o600` for
/// anything private, whatever the umask). See the module documentation.
pub fn atomic_write(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = folder(path);
    stage(dir, ".tmp-", "", bytes, mode)?.rename_to(path)?;
    sync_dir(dir)
}

/// A complete temporary file, written and fsynced; removed when dropped unless renamed.
#[derive(Debug)]
pub struct Staged(tempfile::NamedTempFile);

/// Writes `bytes` to a new temporary file in `dir` named `{prefix}{random}{suffix}`, with
/// permission bits `mode`, and fsyncs it: the first half of an [`atomic_write`].
pub fn stage(
    dir: &Path,
    prefix: &str,
    suffix: &str,
    bytes: &[u8],
    mode: u32,
) -> io::Result<Staged> {
    // tempfile creates the file 0600; the bits are set before anything is written to it.
    let mut file = tempfile::Builder::new()
        .prefix(prefix)
        .suffix(suffix)
        .tempfile_in(dir)?;
    file.as_file()
        .set_permissions(Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    Ok(Staged(file))
}

impl Staged {
    /// Where the staged file is, under its temporary name.
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Renames the staged file over `path` (atomically, in the same folder). Follow with
    /// [`sync_dir`] to make the rename durable.
    pub fn rename_to(self, path: &Path) -> io::Result<()> {
        self.0
            .persist(path)
            .map(|_file| ())
            .map_err(|error| error.error)
    }
}

/// Fsyncs the folder `dir`, so that files created, renamed or removed in it stay so.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|dir| dir.sync_all())
}

/// The folder holding `path` (`.` for a bare file name).
fn folder(path: &Path) -> &Path {
    path.parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn atomic_write_replaces_the_file_with_the_given_mode_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("known_hosts");
        atomic_write(&path, b"one\n", 0o600).expect("first write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "one\n");
        assert_eq!(mode(&path), 0o600);
        // An existing file, even a readable one, ends up with the requested bits.
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).expect("chmod");
        atomic_write(&path, b"two\n", 0o600).expect("second write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "two\n");
        assert_eq!(mode(&path), 0o600);
        atomic_write(&path, b"three\n", 0o700).expect("executable");
        assert_eq!(mode(&path), 0o700);
        assert_eq!(names(dir.path()), ["known_hosts"]);
    }

    #[test]
    fn a_staged_file_is_complete_before_it_is_put_in_place_and_gone_if_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let staged = stage(dir.path(), ".lock.", ".tmp", b"{}\n", 0o600).expect("stage");
        let name = staged
            .path()
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let random = name
            .strip_prefix(".lock.")
            .and_then(|n| n.strip_suffix(".tmp"));
        assert!(random.is_some_and(|r| !r.is_empty()), "{name}");
        assert_eq!(std::fs::read(staged.path()).expect("read"), b"{}\n");
        assert_eq!(mode(staged.path()), 0o600);
        drop(staged);
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn atomic_write_into_a_missing_folder_fails_without_creating_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("missing").join("file");
        let error = atomic_write(&path, b"x", 0o600).expect_err("no folder");
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(names(dir.path()).is_empty());
    }
}
