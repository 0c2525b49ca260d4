//! Emulated servers export metrics: for every Active, powered-on server the emulator serves a
//! `node_exporter`-style `GET /metrics` on `<server ip>:9100`, so `ict metrics` and `ict top`
//! work on the built-in emulator out of the box.
//!
//! Started and stopped from the same [`ServerEvent`]s as the sshd backing: Active starts (or
//! restarts) the listener, power off stops it, power on starts it again with a fresh boot time
//! (and the size of the last resize), delete stops it for good. Everything runs in-process: one tokio listener per server and a
//! small HTTP/1.1 responder (keep-alive, `Content-Length`), no extra processes. The listener is
//! bound synchronously inside the event, so a server reported Active already answers. Stopping
//! aborts the server's task, which also drops (and closes) its open connections.
//!
//! The figures come from [`machine::Machine`]: counters that grow with a per-server load
//! pattern, sized by the server's declared CPU, RAM and disk. A server whose address cannot be
//! bound (another program on port 9100) gets one warning and no metrics.
//! Depends on `events`, `listen` and `clock`-free system time.

mod machine;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::task::{JoinHandle, JoinSet};

use self::machine::Machine;
use super::events::{ServerEvent, ServerInfo};

/// The port `node_exporter` listens on.
pub const NODE_EXPORTER_PORT: u16 = 9100;

/// Largest request head accepted before the connection is closed.
const MAX_REQUEST: usize = 16 * 1024;

/// The exporters of all servers.
pub(crate) struct NodeExporters {
    runtime: Handle,
    port: u16,
    servers: Mutex<HashMap<u64, Exporter>>,
}

/// One server: what it is, and its serving task while it runs.
struct Exporter {
    info: ServerInfo,
    task: Option<Serving>,
}

/// A running listener: its task, and a switch its connections read before each answer, so a
/// server stopped answers nothing more from that moment, not from when the runtime gets to the
/// aborted task.
struct Serving {
    task: JoinHandle<()>,
    on: Arc<AtomicBool>,
}

impl Exporter {
    fn stop(&mut self) {
        if let Some(serving) = self.task.take() {
            serving.on.store(false, Ordering::SeqCst);
            serving.task.abort();
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.stop();
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl NodeExporters {
    /// Exporters on `port` of each server's IP; `None` outside a tokio runtime.
    pub(crate) fn new(port: u16) -> Option<NodeExporters> {
        let runtime = Handle::try_current().ok()?;
        Some(NodeExporters {
            runtime,
            port,
            servers: Mutex::new(HashMap::new()),
        })
    }

    /// Applies one event: start, stop, restart or forget a server's exporter.
    pub(crate) fn on_event(&self, event: &ServerEvent) {
        let mut servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            ServerEvent::Active { server, restored } => {
                let now = unix_now();
                let machine = if *restored {
                    Machine::restored(server, now)
                } else {
                    Machine::new(server, now)
                };
                let exporter = servers.entry(server.id).or_insert_with(|| Exporter {
                    info: server.clone(),
                    task: None,
                });
                exporter.stop();
                exporter.info = server.clone();
                exporter.task = Some(self.start(server.ip, machine));
            }
            ServerEvent::Power { id, on, .. } => {
                if let Some(exporter) = servers.get_mut(id) {
                    exporter.stop();
                    if *on {
                        let machine = Machine::new(&exporter.info, unix_now());
                        exporter.task = Some(self.start(exporter.info.ip, machine));
                    }
                }
            }
            ServerEvent::Resized { server } => {
                // The new figures show from the next boot on.
                if let Some(exporter) = servers.get_mut(&server.id) {
                    exporter.info = server.clone();
                }
            }
            ServerEvent::Deleted { id, .. } => {
                servers.remove(id);
            }
            ServerEvent::Imaged { .. } | ServerEvent::ImageDeleted { .. } => {}
        }
    }

    /// Stops every exporter.
    pub(crate) fn shutdown(&self) {
        self.servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Listens on `ip:port` and serves, in a task (the exporter this one replaces may still
    /// be letting go of the address); a warning if it cannot listen.
    fn start(&self, ip: Ipv4Addr, machine: Machine) -> Serving {
        let addr = SocketAddr::from((ip, self.port));
        let on = Arc::new(AtomicBool::new(true));
        let serving = Arc::clone(&on);
        let task = self.runtime.spawn(async move {
            match super::listen::listen(addr).await {
                Ok(listener) => {
                    tracing::debug!(%addr, "node_exporter listening");
                    serve(listener, Arc::new(machine), serving).await;
                }
                Err(error) => tracing::warn!(
                    "emulated server {ip} exports no metrics: cannot listen on {addr}: {error}"
                ),
            }
        });
        Serving { task, on }
    }
}

/// Accepts connections until aborted; aborting drops the `JoinSet`, which aborts them all.
async fn serve(listener: TcpListener, machine: Arc<Machine>, on: Arc<AtomicBool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if on.load(Ordering::SeqCst) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(respond(stream, Arc::clone(&machine), Arc::clone(&on)));
                }
                Ok(_) => return,
                Err(error) => {
                    tracing::debug!("node_exporter accept failed: {error}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Answers requests on one connection until the client closes it or asks to.
async fn respond(mut stream: TcpStream, machine: Arc<Machine>, on: Arc<AtomicBool>) {
    let mut buffer = Vec::with_capacity(1024);
    loop {
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if buffer.len() > MAX_REQUEST {
                return;
            }
            let mut chunk = [0u8; 2048];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        if !on.load(Ordering::SeqCst) {
            return;
        }
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        buffer.drain(..head_end);
        let (status, content_type, body) = answer(&head, &machine);
        let close = wants_close(&head);
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{}\r\n",
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        );
        let sent = async {
            stream.write_all(response.as_bytes()).await?;
            stream.write_all(body.as_bytes()).await?;
            stream.flush().await
        };
        if sent.await.is_err() || close {
            return;
        }
    }
}

/// Status line, content type and body for a request head.
fn answer(head: &str, machine: &Machine) -> (&'static str, &'static str, String) {
    let mut words = head.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            machine.exposition(unix_now()),
        ),
        ("GET", "/") => (
            "200 OK",
            "text/html; charset=utf-8",
            "<html><head><title>Node Exporter (ict emulator)</title></head>\
             <body><a href=\"/metrics\">Metrics</a></body></html>\n"
                .to_owned(),
        ),
        ("GET", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "404 page not found\n".to_owned(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "method not allowed\n".to_owned(),
        ),
    }
}

/// HTTP/1.0 closes unless it asks for keep-alive; HTTP/1.1 keeps alive unless it asks to close.
fn wants_close(head: &str) -> bool {
    let http10 = head.lines().next().is_some_and(|l| l.ends_with("HTTP/1.0"));
    let connection = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("connection")
            .then(|| value.trim().to_ascii_lowercase())
    });
    match connection.as_deref() {
        Some("close") => true,
        Some("keep-alive") => false,
        _ => http10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_header_decides_keep_alive() {
        assert!(!wants_close("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(wants_close(
            "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n"
        ));
        assert!(wants_close("GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n"));
        assert!(!wants_close(
            "GET /metrics HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n"
        ));
    }
}
