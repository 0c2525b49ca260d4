//! Issue 8's acceptance: `ict pipeline run`, `ict pipeline status`, `ict rollback` and the
//! `ict watch` trigger against emulated servers — isolated machines with a real sshd on their
//! loopback IPs —, deploying from a local bare git repository (`file://`, which the servers
//! see beneath their own layer) holding the example app (`examples/apps/hello`). The system
//! users, files, apps and databases a pipeline makes live on the servers, so nothing is left
//! on this computer; the tests read the servers' files through their machines. Tests that
//! check the app between commands keep one emulator up for the whole test. Same requirements
//! as `tests/deploy`.

mod database;
mod health;
mod run;
mod watch;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::deploy::{machine_root, running_root};
use crate::test::root;

/// A bare repository with the example app on `main`, and a working copy to commit from.
pub struct Repo {
    pub bare: PathBuf,
    pub work: PathBuf,
}

impl Repo {
    pub fn new(dir: &Path) -> Repo {
        let bare = dir.join("hello.git");
        let work = dir.join("work");
        git(dir, &["init", "-q", "--bare", "-b", "main", "hello.git"]);
        git(dir, &["init", "-q", "-b", "main", "work"]);
        for file in ["app.py", "test_app.py"] {
            std::fs::copy(
                root().join("examples/apps/hello").join(file),
                work.join(file),
            )
            .expect("copy app");
        }
        let repo = Repo { bare, work };
        repo.commit("the app");
        repo
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    /// Commits everything and pushes `main`; returns the commit.
    pub fn commit(&self, message: &str) -> String {
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "-q", "-m", message]);
        git(
            &self.work,
            &[
                "push",
                "-q",
                self.bare.to_str().expect("utf-8"),
                "HEAD:main",
            ],
        );
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// Replaces `old` with `new` in `file` of the working copy.
    pub fn edit(&self, file: &str, old: &str, new: &str) {
        let path = self.work.join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(old), "{file} has no {old:?}");
        std::fs::write(&path, text.replace(old, new)).expect("write");
    }
}

/// Whether bubblewrap can make a container on this machine (the emulated hosts' machine).
pub fn bwrap_works() -> bool {
    Command::new("bwrap")
        .args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"])
        .args(["--perms", "1777", "--tmpfs", "/tmp"])
        .args([
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ])
        .arg("true")
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.email=test@example.com", "-c", "user.name=test"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Where a test's app is installed on its server, `web-1`: `/srv/<user>` inside the server.
pub struct Install {
    pub user: String,
}

impl Install {
    pub fn new(user: &str) -> Install {
        Install {
            user: user.to_owned(),
        }
    }

    /// The folder on the server.
    pub fn path(&self) -> PathBuf {
        Path::new("/srv").join(&self.user)
    }

    /// The folder seen from this computer, on `web-1` of the project in `dir` (running).
    pub fn on_server(&self, dir: &Path) -> PathBuf {
        self.seen_from(&machine_root(dir, "web-1"))
    }

    fn seen_from(&self, root: &Path) -> PathBuf {
        root.join(self.path().strip_prefix("/").expect("absolute"))
    }

    /// The release `current` points at.
    #[track_caller]
    pub fn current(&self, dir: &Path) -> String {
        self.deployed(dir)
            .expect("current is a symlink on a running web-1")
    }

    /// The release `current` points at, if `web-1` runs and has one.
    pub fn deployed(&self, dir: &Path) -> Option<String> {
        let root = running_root(dir, "web-1")?;
        let link = std::fs::read_link(self.seen_from(&root).join("current")).ok()?;
        Some(link.file_name()?.to_string_lossy().into_owned())
    }

    /// The kept release folders, oldest first.
    pub fn releases(&self, dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.on_server(dir).join("releases"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// GET `http://addr/`: the body, or `None` when nothing answers. One try.
pub fn http_get(addr: &str) -> Option<String> {
    let mut stream =
        TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET / HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.trim().to_owned())
}

/// Waits up to 10 s for the app at `addr` to answer.
pub fn wait_for_app(addr: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(body) = http_get(addr) {
            return body;
        }
        assert!(Instant::now() < deadline, "nothing answers on {addr}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A webhook receiver on 127.0.0.1: every JSON body posted to it, until dropped.
pub struct Hook {
    pub url: String,
    bodies: mpsc::Receiver<serde_json::Value>,
}

impl Hook {
    pub fn start() -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let (send, bodies) = mpsc::channel();
        std::thread::spawn(move || {
            // Ends when the test drops the receiver (a send fails) or the process ends.
            for stream in listener.incoming().flatten() {
                let Some(body) = read_post(stream) else {
                    continue;
                };
                if send.send(body).is_err() {
                    break;
                }
            }
        });
        Hook { url, bodies }
    }

    /// The next notification, waiting up to 10 s.
    pub fn next(&self) -> serde_json::Value {
        self.bodies
            .recv_timeout(Duration::from_secs(10))
            .expect("a webhook notification")
    }
}

fn read_post(mut stream: TcpStream) -> Option<serde_json::Value> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let body_start = loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..body_start]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())?;
    while data.len() < body_start + length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
    serde_json::from_slice(&data[body_start..]).ok()
}
