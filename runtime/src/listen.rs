//! The one way a Roomshard process opens a listening port: `SO_REUSEADDR` (a restarted
//! process binds again at once) and a backlog of [`BACKLOG`], so a burst of new
//! connections (a tournament's start, every player of a shard reconnecting) waits in the
//! kernel's queue instead of being dropped and retried a second later, as it is past the
//! 128 that a plain `TcpListener::bind` asks for.

use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpSocket};

/// Pending connections the kernel queues before they are accepted (capped by the system's
/// `net.core.somaxconn`).
pub const BACKLOG: u32 = 1024;

/// Binds `addr`. Accepted connections inherit the listening socket's send buffer size:
/// `send_buffer` bytes (the kernel doubles it for its bookkeeping), or the system's
/// autotuned default when 0.
pub fn bind(addr: SocketAddr, send_buffer: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    if send_buffer > 0 {
        socket.set_send_buffer_size(send_buffer)?;
    }
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_a_free_port_and_accepts() -> io::Result<()> {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)), 0)?;
        let addr = listener.local_addr()?;
        let (client, accepted) =
            tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
        assert_eq!(client?.peer_addr()?, addr);
        assert!(accepted.is_ok());
        Ok(())
    }
}
