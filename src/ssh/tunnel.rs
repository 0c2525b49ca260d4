//! `Tunnel`: a direct-tcpip channel as a byte stream (`AsyncRead + AsyncWrite`), plus a minimal
//! HTTP/1.0 GET over it, enough to scrape `node_exporter` on a server's loopback.
//!
//! HTTP/1.0 with `Connection: close` keeps the client trivial: no chunked encoding, the body
//! ends when the server closes. Depends on `ssh::error`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use russh::client::Msg;
use russh::ChannelStream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::error::SshError;

/// Largest HTTP response `fetch_http` accepts (a big `node_exporter` scrape is ~0.2 MB).
pub const MAX_HTTP_RESPONSE: u64 = 64 * 1024 * 1024;

/// A TCP connection made by the SSH server on our behalf.
pub struct Tunnel {
    stream: ChannelStream<Msg>,
    server: String,
    remote: String,
}

impl std::fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tunnel")
            .field("server", &self.server)
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code, e.g. 200.
    pub status: u16,
    /// Header `(name, value)` pairs in order; names as sent.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Tunnel {
    pub(crate) fn new(stream: ChannelStream<Msg>, server: String, host: &str, port: u16) -> Self {
        Self {
            stream,
            server,
            remote: format!("{host}:{port}"),
        }
    }

    /// `GET path` over this tunnel (HTTP/1.0, `Connection: close`), consuming it.
    pub async fn fetch_http(mut self, path: &str) -> Result<HttpResponse, SshError> {
        let what = format!("GET http://{}{path}", self.remote);
        let fail = |reason: String| SshError::Channel {
            server: self.server.clone(),
            what: what.clone(),
            reason,
        };
        let request = format!(
            "GET {path} HTTP/1.0\r\nHost: {}\r\nUser-Agent: ict\r\nAccept: */*\r\n\
             Connection: close\r\n\r\n",
            self.remote
        );
        self.stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| fail(e.to_string()))?;
        self.stream.flush().await.map_err(|e| fail(e.to_string()))?;
        let mut raw = Vec::new();
        (&mut self.stream)
            .take(MAX_HTTP_RESPONSE + 1)
            .read_to_end(&mut raw)
            .await
            .map_err(|e| fail(e.to_string()))?;
        if raw.len() as u64 > MAX_HTTP_RESPONSE {
            return Err(fail(format!(
                "response larger than {MAX_HTTP_RESPONSE} bytes"
            )));
        }
        parse_response(&raw).map_err(fail)
    }
}

/// Parses `HTTP/1.x status reason\r\nheaders\r\n\r\nbody`.
fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no HTTP header in a {}-byte response", raw.len()))?;
    let head =
        std::str::from_utf8(&raw[..end]).map_err(|_| "HTTP header is not UTF-8".to_owned())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1 response: {status_line:?}"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad HTTP status line {status_line:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(HttpResponse {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}

impl AsyncRead for Tunnel {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tunnel {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_headers_and_body() {
        let raw =
            b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\n\r\nhello\r\n\r\nworld";
        let response = parse_response(raw).expect("parses");
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("text/plain"));
        assert_eq!(response.header("x-b"), None);
        assert_eq!(response.text(), "hello\r\n\r\nworld");
    }

    #[test]
    fn rejects_non_http() {
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 abc\r\n\r\n").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\n").is_err(),
            "no end of header"
        );
    }
}
