//! Which project a command works on, and where that project's emulator keeps its files: the
//! folder holding `.ict/` (the script's folder), found from a script, from a folder, or — like
//! git finds its repository — upward from the current directory.

use std::io;
use std::path::{Path, PathBuf};

/// A project folder, absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    dir: PathBuf,
}

impl Project {
    /// The project of `script`: the folder it is in.
    pub fn of_script(script: &Path) -> Project {
        match script.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) => Project::at(dir),
            None => Project::at(Path::new(".")),
        }
    }

    /// The project in folder `dir` (made absolute; symbolic links resolved when it exists).
    pub fn at(dir: &Path) -> Project {
        let dir = std::fs::canonicalize(dir)
            .or_else(|_| std::path::absolute(dir))
            .unwrap_or_else(|_| dir.to_path_buf());
        Project { dir }
    }

    /// `path` when given (a script, or a project folder), otherwise the nearest folder from the
    /// current directory upward that holds `.ict/` or a `*.ict` script; the current directory
    /// when there is none.
    pub fn find(path: Option<&Path>) -> io::Result<Project> {
        match path {
            Some(path) if path.is_dir() => Ok(Project::at(path)),
            Some(path) => Ok(Project::of_script(path)),
            None => {
                let cwd = std::env::current_dir()?;
                let found = cwd.ancestors().find(|dir| is_project(dir)).unwrap_or(&cwd);
                Ok(Project::at(found))
            }
        }
    }

    /// The project folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `.ict/` in the project.
    pub fn ict_dir(&self) -> PathBuf {
        self.dir.join(".ict")
    }

    /// The emulated account: `.ict/emulator.json`.
    pub fn state_file(&self) -> PathBuf {
        self.ict_dir().join("emulator.json")
    }

    /// Who runs the daemon (PID, host, start time); starters lock it to start one at a time.
    pub fn lock_file(&self) -> PathBuf {
        self.ict_dir().join("emulator.lock")
    }

    /// The daemon's URL.
    /// Held (flock) by the running daemon for its whole life: at most one per project.
    pub fn run_file(&self) -> PathBuf {
        self.ict_dir().join("emulator.run")
    }

    pub fn addr_file(&self) -> PathBuf {
        self.ict_dir().join("emulator.addr")
    }

    /// The bearer token the daemon accepts (0600).
    pub fn token_file(&self) -> PathBuf {
        self.ict_dir().join("emulator.token")
    }

    /// What the daemon logs.
    pub fn log_file(&self) -> PathBuf {
        self.ict_dir().join("emulator.log")
    }
}

/// Whether `dir` is a project: it holds `.ict/` or a `*.ict` script.
fn is_project(dir: &Path) -> bool {
    if dir.join(".ict").is_dir() {
        return true;
    }
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            entry.path().extension().is_some_and(|ext| ext == "ict")
                && entry.file_type().is_ok_and(|t| t.is_file())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_and_its_folder_name_the_same_project() {
        let root = tempfile::tempdir().expect("tempdir");
        let script = root.path().join("infra.ict");
        std::fs::write(&script, "").expect("script");
        let by_script = Project::find(Some(&script)).expect("project");
        let by_folder = Project::find(Some(root.path())).expect("project");
        assert_eq!(by_script, by_folder);
        assert_eq!(
            by_script.state_file(),
            by_script.dir().join(".ict/emulator.json")
        );
    }

    #[test]
    fn projects_are_folders_with_dot_ict_or_a_script() {
        let root = tempfile::tempdir().expect("tempdir");
        let (with_state, with_script, plain) = (
            root.path().join("a"),
            root.path().join("b"),
            root.path().join("c"),
        );
        std::fs::create_dir_all(with_state.join(".ict")).expect("dirs");
        std::fs::create_dir_all(&with_script).expect("dirs");
        std::fs::create_dir_all(plain.join("x.ict")).expect("a folder named like a script");
        std::fs::write(with_script.join("web.ict"), "").expect("script");
        assert!(is_project(&with_state));
        assert!(is_project(&with_script));
        assert!(!is_project(&plain));
    }
}
