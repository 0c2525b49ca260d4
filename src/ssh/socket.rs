//! The TCP stream under an SSH session: `TCP_NODELAY`, and on Linux `TCP_QUICKACK` re-armed
//! after every read.
//!
//! Why: on loopback and real networks alike, Nagle plus delayed ACKs stall the small
//! request/response packets of a handshake by up to ~40 ms each (see shared/bench/README.md,
//! "Delayed-ACK stalls"). The kernel clears `TCP_QUICKACK` on its own, hence the re-arm after
//! each read. Depends on nothing else in ict.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A `TcpStream` that optionally re-arms `TCP_QUICKACK` after each successful read.
#[derive(Debug)]
pub(crate) struct TunedStream {
    inner: TcpStream,
    quickack: bool,
}

impl TunedStream {
    /// Applies `nodelay` now; `quickack` is applied now and after every read (Linux only;
    /// ignored elsewhere).
    pub(crate) fn new(inner: TcpStream, nodelay: bool, quickack: bool) -> io::Result<Self> {
        inner.set_nodelay(nodelay)?;
        let stream = Self {
            inner,
            quickack: quickack && cfg!(target_os = "linux"),
        };
        stream.rearm();
        Ok(stream)
    }

    fn rearm(&self) {
        #[cfg(target_os = "linux")]
        if self.quickack {
            // Best effort: failing to set a latency hint must not fail the session.
            let _ = socket2::SockRef::from(&self.inner).set_tcp_quickack(true);
        }
    }
}

impl AsyncRead for TunedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.rearm();
        }
        poll
    }
}

impl AsyncWrite for TunedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
