//! Client connections: a bounded kernel send buffer, and a deadline on writes that make no
//! progress, so a client that stops reading costs a bounded amount of memory for a bounded
//! time.
//!
//! Engine.IO queues at most a fixed number of packets per socket, but behind that queue the
//! WebSocket writer holds its own buffer and the kernel's send buffer grows, by default, to
//! megabytes per connection. A writer blocked on a client that never reads stays blocked
//! for as long as the client keeps the connection open, and keeps the connection (and its
//! buffers) alive even after the session has ended. [`Listener`] caps the kernel buffer;
//! [`Guarded`] fails the connection once its writes have been stuck for the stall timeout,
//! which ends the session and frees everything the connection held.

use crate::conn_limit::{Slot, Slots};
use prometheus::IntCounterVec;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

/// Accepts connections as [`Guarded`] streams, within the connection caps.
pub struct Listener {
    inner: TcpListener,
    stall: Option<Duration>,
    slots: Option<(Slots, IntCounterVec)>,
}

impl Listener {
    /// `stall`: how long writes may make no progress before the connection fails; None
    /// for no limit.
    pub fn new(inner: TcpListener, stall: Option<Duration>) -> Self {
        Self {
            inner,
            stall,
            slots: None,
        }
    }

    /// Closes connections over the caps of `slots` as they arrive, counting each in
    /// `refused` by the cap it passed.
    pub fn capped(mut self, slots: Slots, refused: IntCounterVec) -> Self {
        self.slots = Some((slots, refused));
        self
    }
}

impl axum::serve::Listener for Listener {
    type Io = Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // axum's accept loop logs and backs off on accept errors (such as too many
            // files).
            let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
            let slot = match &self.slots {
                None => None,
                Some((slots, refused)) => match slots.take(addr.ip()) {
                    Ok(slot) => Some(slot),
                    Err(cap) => {
                        refused.with_label_values(&[cap.as_str()]).inc();
                        drop(stream);
                        continue;
                    }
                },
            };
            // A view batch goes out at once, not after the client acknowledged the last
            // one.
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
            let mut io = Guarded::new(stream, self.stall);
            io.slot = slot;
            return (io, addr);
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream whose writes fail once they have been pending for the stall timeout. From
/// then on every read and write fails too, and the socket is reset when dropped (its unsent
/// bytes are discarded rather than kept for a client that does not read them).
pub struct Guarded {
    inner: TcpStream,
    stall: Option<Duration>,
    /// Started when a write first returned pending; cleared by any write that completes.
    stalled: Option<Pin<Box<Sleep>>>,
    dead: bool,
    /// The task waiting to read, woken when the connection dies so that it sees the error.
    reader: Option<Waker>,
    /// Its place under the connection caps, given back when the stream goes.
    slot: Option<Slot>,
}

impl Guarded {
    pub fn new(inner: TcpStream, stall: Option<Duration>) -> Self {
        Self {
            inner,
            stall,
            stalled: None,
            dead: false,
            reader: None,
            slot: None,
        }
    }

    fn stalled_error() -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            "the client has not read what was written to it for too long",
        )
    }

    /// Runs one write-side operation under the stall deadline.
    fn guard<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if self.dead {
            return Poll::Ready(Err(Self::stalled_error()));
        }
        match op(Pin::new(&mut self.inner), cx) {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let Some(limit) = self.stall else {
                    return Poll::Pending;
                };
                let timer = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.dead = true;
                self.stalled = None;
                // Reset on close: the bytes queued for this client are thrown away.
                let _ = self.inner.set_zero_linger();
                if let Some(reader) = self.reader.take() {
                    reader.wake();
                }
                Poll::Ready(Err(Self::stalled_error()))
            }
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.dead {
            return Poll::Ready(Err(Self::stalled_error()));
        }
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if polled.is_pending() {
            match &mut this.reader {
                Some(w) => w.clone_from(cx.waker()),
                None => this.reader = Some(cx.waker().clone()),
            }
        }
        polled
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().guard(cx, |s, cx| s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .guard(cx, |s, cx| s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().guard(cx, |s, cx| s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().guard(cx, |s, cx| s.poll_shutdown(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn pair(stall: Duration, send_buffer: u32) -> (Guarded, TcpStream) {
        let listener =
            roomshard_runtime::listen::bind(SocketAddr::from(([127, 0, 0, 1], 0)), send_buffer)
                .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut listener = Listener::new(listener, Some(stall));
        let client = TcpStream::connect(addr).await.expect("connect");
        let (server, _) = axum::serve::Listener::accept(&mut listener).await;
        (server, client)
    }

    #[tokio::test]
    async fn a_client_that_reads_keeps_its_connection() {
        let (mut server, mut client) = pair(Duration::from_millis(300), 16 * 1024).await;
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            let mut total = 0;
            while total < 4 << 20 {
                total += client.read(&mut buf).await.expect("read");
            }
            total
        });
        let chunk = vec![7u8; 64 * 1024];
        for _ in 0..64 {
            server.write_all(&chunk).await.expect("write");
        }
        assert_eq!(reader.await.expect("reader"), 4 << 20);
    }

    #[tokio::test]
    async fn a_client_that_never_reads_fails_the_connection() {
        let (mut server, _client) = pair(Duration::from_millis(300), 16 * 1024).await;
        let (mut rd, mut wr) = tokio::io::split(&mut server);
        let chunk = vec![7u8; 64 * 1024];
        let started = std::time::Instant::now();
        let written = async {
            loop {
                if let Err(e) = wr.write_all(&chunk).await {
                    return e;
                }
            }
        };
        let mut buf = [0u8; 16];
        // The pending read is woken and fails too.
        let (write_err, read_err) = tokio::join!(written, rd.read(&mut buf));
        assert_eq!(write_err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(read_err.expect_err("read").kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
