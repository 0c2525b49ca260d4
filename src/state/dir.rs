//! Where an environment's state lives: `.ict/<env>/` next to the script, holding
//! `state.json`, its `state.json.backup` and the `state.lock`.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::StateError;

/// The directory of one environment's state, and the script it belongs to (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    path: PathBuf,
    env: String,
    script: Option<PathBuf>,
}

/// The name of the folder next to the script that holds every environment's state.
pub const STATE_FOLDER: &str = ".ict";

impl StateDir {
    /// The state directory of `env` for the script at `script_path`: `<script dir>/.ict/<env>`.
    pub fn for_script(script_path: &Path, env: &str) -> Result<StateDir, StateError> {
        validate_env(env)?;
        let parent = match script_path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        Ok(StateDir {
            path: parent.join(STATE_FOLDER).join(env),
            env: env.to_owned(),
            script: Some(script_path.to_path_buf()),
        })
    }

    /// A state directory at an explicit path (tools and tests).
    pub fn at(path: impl Into<PathBuf>, env: &str) -> Result<StateDir, StateError> {
        validate_env(env)?;
        Ok(StateDir {
            path: path.into(),
            env: env.to_owned(),
            script: None,
        })
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The environment name.
    pub fn env(&self) -> &str {
        &self.env
    }

    /// `state.json`.
    pub fn state_file(&self) -> PathBuf {
        self.path.join("state.json")
    }

    /// `state.json.backup`: the last good state before the current one.
    pub fn backup_file(&self) -> PathBuf {
        self.path.join("state.json.backup")
    }

    /// `state.json.migrated`: the read-only copy `ict state migrate` leaves behind.
    pub fn migrated_file(&self) -> PathBuf {
        self.path.join("state.json.migrated")
    }

    /// `state.log`: commits appended since `state.json` was last written in full.
    pub fn log_file(&self) -> PathBuf {
        self.path.join("state.log")
    }

    /// `state.lock`.
    pub fn lock_file(&self) -> PathBuf {
        self.path.join("state.lock")
    }

    /// The command a user runs to break this state's lock, e.g. `ict lock break infra.ict --env prod`.
    pub fn break_hint(&self) -> String {
        let script = self
            .script
            .as_deref()
            .map_or_else(|| "FILE".to_owned(), |path| path.display().to_string());
        format!("ict lock break {script} --env {}", self.env)
    }

    /// Creates the directory (and `.ict`) with mode 0700 if it does not exist yet.
    pub(crate) fn ensure(&self) -> Result<(), StateError> {
        if self.path.is_dir() {
            return Ok(());
        }
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&self.path)
            .map_err(|error| StateError::io("create the state directory", &self.path, error))
    }
}

/// Environment names become directory names: keep them boring.
fn validate_env(env: &str) -> Result<(), StateError> {
    let valid = !env.is_empty()
        && env.len() <= 64
        && env.chars().any(|c| c != '.')
        && env
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(StateError::EnvName {
            env: env.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lives_next_to_the_script() {
        let dir = StateDir::for_script(Path::new("infra/prod.ict"), "prod").expect("valid");
        assert_eq!(dir.path(), Path::new("infra/.ict/prod"));
        assert_eq!(dir.state_file(), Path::new("infra/.ict/prod/state.json"));
        assert_eq!(dir.lock_file(), Path::new("infra/.ict/prod/state.lock"));
        assert_eq!(dir.break_hint(), "ict lock break infra/prod.ict --env prod");

        let bare = StateDir::for_script(Path::new("infra.ict"), "dev").expect("valid");
        assert_eq!(bare.path(), Path::new("./.ict/dev"));
    }

    #[test]
    fn env_names_that_escape_the_directory_are_refused() {
        for env in ["", ".", "..", "a/b", "../x", "a b", &"x".repeat(65)] {
            assert!(
                matches!(
                    StateDir::for_script(Path::new("infra.ict"), env),
                    Err(StateError::EnvName { .. })
                ),
                "{env:?}"
            );
        }
        for env in ["dev", "prod-2", "eu_west.1"] {
            assert!(StateDir::at("/tmp/x", env).is_ok(), "{env}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn ensure_creates_private_directories() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::for_script(&root.path().join("infra.ict"), "dev").expect("valid");
        dir.ensure().expect("created");
        dir.ensure().expect("idempotent");
        for path in [root.path().join(".ict"), dir.path().to_path_buf()] {
            let mode = fs::metadata(&path).expect("exists").permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", path.display());
        }
    }
}
