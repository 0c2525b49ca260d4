//! Listening on a server's address again after a power cycle: the address the server's last
//! socket had can still be held for a moment, because a process that the emulator (any thread
//! of it) is starting holds a copy of every descriptor between its fork and its exec, and on a
//! loaded computer that moment is long enough to meet. May depend on nothing else in the
//! emulator.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};

/// How long an address may stay in use before listening on it fails, and how often it is
/// tried meanwhile.
const WAIT: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(20);

/// Listens on `addr` (with `SO_REUSEADDR`, so that connections of the address's last socket
/// that are still closing do not count), trying again for a while when it is in use.
pub(super) async fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match bind(addr) {
            Err(e)
                if e.kind() == io::ErrorKind::AddrInUse
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(POLL).await;
            }
            result => return result,
        }
    }
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_address_in_use_is_tried_again_until_it_is_free() {
        let held = bind("127.0.0.1:0".parse().expect("address")).expect("first");
        let addr = held.local_addr().expect("its address");
        let freed = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            drop(held);
        });
        let again = listen(addr).await.expect("listens once it is free");
        assert_eq!(again.local_addr().expect("address"), addr);
        freed.await.expect("freed");
    }
}
