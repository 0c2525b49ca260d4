//! An `ict` process a test runs in the background (`ict watch`, say): killed and reaped when
//! dropped, its standard error read line by line as it comes, with a bounded wait for a line;
//! and a plain HTTP GET for what such a process serves.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The child, killed and reaped if the test ends early.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The lines a child writes to standard error.
pub struct Lines {
    receiver: mpsc::Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

/// Starts `command` with standard output discarded and standard error read line by line.
pub fn spawn(mut command: Command) -> (Running, Lines) {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ict");
    let stderr = child.stderr.take().expect("piped stderr");
    let (send, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let lines = Lines {
        receiver,
        seen: Vec::new(),
    };
    (Running(child), lines)
}

impl Lines {
    /// The next line containing `what`, waiting at most 60 s.
    #[track_caller]
    pub fn wait_for(&mut self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.receiver.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(what) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no line with {what:?} in:\n{}", self.seen.join("\n"));
    }

    /// The address `ict watch --listen` serves `/metrics` on, once it says so.
    #[track_caller]
    pub fn metrics_address(&mut self) -> String {
        let line = self.wait_for("serving Prometheus metrics on http://");
        line.rsplit("http://")
            .next()
            .and_then(|a| a.strip_suffix("/metrics"))
            .expect("address")
            .to_owned()
    }

    /// Takes in every line until the child closes its standard error (it has ended), waiting
    /// at most 60 s.
    pub fn until_closed(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.receiver.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => return,
            }
        }
    }

    /// Takes in the lines that arrived so far.
    pub fn drain(&mut self) {
        self.seen.extend(self.receiver.try_iter());
    }
}

/// The body of `GET path` from `addr` (HTTP/1.0, so the server closes the connection).
pub fn http_get(addr: &str, path: &str) -> String {
    http(addr, "GET", path, &[], "").1
}

/// The status and body of a `method` request for `path` to `addr`, with `headers` and a
/// `body` (HTTP/1.0, so the server closes the connection).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.0\r\nHost: localhost\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}
