//! The state file: the whole [`World`] as JSON, loaded at start and replaced atomically after
//! every change (temporary file in the same directory, fsync, rename, mode 0600), so a killed
//! emulator restarts with everything it acknowledged ([`crate::atomic`]). Depends on `world`,
//! `error`.

use std::fs;
use std::io;
use std::path::Path;

use super::error::EmulatorError;
use super::world::{World, FORMAT};

/// The part of the state file read first, to refuse other formats with a clear message.
#[derive(serde::Deserialize)]
struct Header {
    format: u32,
}

/// Loads the world; a missing file is an empty world.
pub(crate) fn load(path: &Path) -> Result<World, EmulatorError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(World::default()),
        Err(source) => {
            return Err(EmulatorError::StateRead {
                path: path.to_owned(),
                source,
            })
        }
    };
    let parse_error = |reason| EmulatorError::StateParse {
        path: path.to_owned(),
        reason,
    };
    // One pass in the common case; the header is read only to explain a failure.
    serde_json::from_slice(&bytes).map_err(|source| {
        match serde_json::from_slice::<Header>(&bytes) {
            Ok(header) if header.format != FORMAT => EmulatorError::StateFormat {
                path: path.to_owned(),
                found: header.format,
                expected: FORMAT,
            },
            _ => parse_error(source),
        }
    })
}

/// Writes the world atomically, readable only by its owner.
pub(crate) fn save(path: &Path, world: &World) -> Result<(), EmulatorError> {
    let write_error = |source| EmulatorError::StateWrite {
        path: path.to_owned(),
        source,
    };
    let bytes = serde_json::to_vec(world).map_err(|e| write_error(io::Error::other(e)))?;
    crate::atomic::atomic_write(path, &bytes, 0o600).map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_missing_and_broken_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let mut world = load(&path).expect("missing file is empty");
        assert!(world.servers.is_empty());
        world.new_id();
        world.ips_used = 3;
        save(&path, &world).expect("save");
        let loaded = load(&path).expect("load");
        assert_eq!((loaded.next_id, loaded.ips_used), (world.next_id, 3));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::write(&path, b"{\"format\": 99}").expect("write");
        assert!(matches!(
            load(&path),
            Err(EmulatorError::StateFormat { found: 99, .. })
        ));
        fs::write(&path, b"not json").expect("write");
        assert!(matches!(load(&path), Err(EmulatorError::StateParse { .. })));
        // Only the state file is left behind: no temporary files.
        assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 1);
    }
}
