//! The folder of the SSH control sockets of a run (OpenSSH `ControlMaster`): one connection
//! per host for all of a run's tasks and playbooks, closed when the run ends.
//!
//! A socket path has at most 107 bytes, and OpenSSH names a socket `%C` (40 characters) and
//! first creates it with a 17-character suffix: the folder is `cp` inside the run's private
//! folder when that is short enough, else a private folder of its own in `/tmp`.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The longest folder a control socket fits in: 107 bytes less `/`, 40 and 17 characters.
const LONGEST: usize = 107 - 1 - 40 - 17;

/// How long each master has to answer `ssh -O exit`.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// A folder for control sockets, removed (its masters told to exit) by [`ControlDir::close`].
#[derive(Debug)]
pub struct ControlDir {
    path: PathBuf,
    /// The folder in `/tmp`, when the private folder's path was too long.
    _own: Option<tempfile::TempDir>,
}

impl ControlDir {
    /// `work/cp`, or a new private folder in `/tmp` when that path is too long.
    pub fn new(work: &Path) -> std::io::Result<Self> {
        let inside = std::path::absolute(work.join("cp"))?;
        if inside.as_os_str().len() <= LONGEST {
            std::fs::create_dir_all(&inside)?;
            return Ok(Self {
                path: inside,
                _own: None,
            });
        }
        let own = tempfile::Builder::new()
            .prefix("ict-cp.")
            .tempdir_in("/tmp")?;
        Ok(Self {
            path: own.path().to_owned(),
            _own: Some(own),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Tells each master with a socket here to exit (at once, each bounded by [`CLOSE_WAIT`]),
    /// then removes the folder.
    pub async fn close(self) {
        let sockets: Vec<PathBuf> = std::fs::read_dir(&self.path)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        let mut exits = tokio::task::JoinSet::new();
        for socket in sockets {
            exits.spawn(async move {
                let exit = tokio::process::Command::new("ssh")
                    .arg("-O")
                    .arg("exit")
                    .arg("-o")
                    .arg(format!("ControlPath={}", socket.display()))
                    .arg("ict-control-master")
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .status();
                let _ = tokio::time::timeout(CLOSE_WAIT, exit).await;
            });
        }
        while exits.join_next().await.is_some() {}
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
