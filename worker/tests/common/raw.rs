//! Raw Engine.IO/Socket.IO clients over plain TCP, for tests that must send what no real
//! client library would: lying frame headers, invalid UTF-8, garbage packets, binary
//! attachments, or a connection that never reads what the server writes.

use anyhow::{Context, Result, bail};
use roomshard_testkit::http::is_closed;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// One message read off a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
    Close,
}

/// How the server answered a hostile input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server closed the connection (WebSocket close, end of stream, reset) or the
    /// Engine.IO session.
    Closed,
    /// The connection stays up and the server answered with an error: an `error` event, a
    /// failed ack, or a refused namespace connection. The packet that said so.
    Error(String),
    /// Nothing came back for it, and the connection still serves: a request sent after it
    /// ([`PROBE`]) was answered.
    Ignored,
}

/// A request that always earns an answer (`leave` with ack id 7, outside any room: a
/// `not_joined` ack), sent after a hostile packet to learn whether the connection survived.
pub const PROBE: &str = r#"427["leave",{}]"#;
const PROBE_ANSWER: &str = "437[";
/// How long after the probe's answer a late error packet is still waited for.
const LATE: Duration = Duration::from_millis(300);

fn connect_tcp(port: u16) -> Result<TcpStream> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("connecting to 127.0.0.1:{port}"))?;
    s.set_nodelay(true)?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(s)
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Whether `msg` ends the session: an Engine.IO close, or a Socket.IO disconnect.
pub fn is_close_packet(msg: &str) -> bool {
    msg == "1" || msg.starts_with("41")
}

/// Whether a Socket.IO packet (inside an Engine.IO message) reports an error to the client:
/// an `error` event, an ack `{"ok":false,...}`, or a refused namespace connection (`44`).
pub fn is_error_packet(msg: &str) -> bool {
    msg.starts_with("44")
        || (msg.starts_with("42") && msg.contains("[\"error\""))
        || (msg.starts_with("43") && msg.contains("\"ok\":false"))
}

/// A WebSocket client speaking Engine.IO v4 by hand.
pub struct RawWs {
    stream: TcpStream,
}

impl RawWs {
    /// Opens `/socket.io/` over WebSocket and reads the Engine.IO open packet.
    pub fn open(port: u16) -> Result<Self> {
        let mut stream = connect_tcp(port)?;
        write!(
            stream,
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        // Byte by byte up to the end of the head: nothing of the first frame is consumed.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream
                .read_exact(&mut byte)
                .context("reading the upgrade answer")?;
            head.push(byte[0]);
            if head.len() > 8192 {
                bail!("upgrade answer too long");
            }
        }
        let head = String::from_utf8_lossy(&head);
        if !head.starts_with("HTTP/1.1 101") {
            bail!("no WebSocket upgrade: {head}");
        }
        let mut ws = Self { stream };
        match ws.read(Instant::now() + Duration::from_secs(5))? {
            Some(Frame::Text(open)) if open.starts_with("0{") => Ok(ws),
            other => bail!("expected the Engine.IO open packet, got {other:?}"),
        }
    }

    /// Opens the connection and connects to the namespace `/`.
    pub fn connect(port: u16) -> Result<Self> {
        let mut ws = Self::open(port)?;
        ws.send_text("40")?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match ws.read(deadline)? {
                Some(Frame::Text(t)) if t.starts_with("40") => return Ok(ws),
                Some(Frame::Text(_)) => {}
                other => bail!("expected the namespace connection, got {other:?}"),
            }
        }
    }

    /// Connects and joins `room` without waiting for the answer.
    pub fn join(port: u16, room: &str, name: &str) -> Result<Self> {
        let mut ws = Self::connect(port)?;
        ws.send_text(&format!(
            r#"42["join",{{"room":"{room}","name":"{name}"}}]"#
        ))?;
        Ok(ws)
    }

    /// Sends one masked frame.
    pub fn send_frame(&mut self, opcode: u8, payload: &[u8]) -> Result<()> {
        let mut frame = frame_header(opcode, payload.len() as u64);
        let mask = [0x37u8, 0xfa, 0x21, 0x3d];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame)?;
        Ok(())
    }

    /// Sends the header of a frame that claims `len` payload bytes, and `sent` of them.
    pub fn send_partial_frame(&mut self, opcode: u8, len: u64, sent: usize) -> Result<()> {
        let mut frame = frame_header(opcode, len);
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.resize(frame.len() + sent, b'x');
        self.stream.write_all(&frame)?;
        Ok(())
    }

    pub fn send_text(&mut self, text: &str) -> Result<()> {
        self.send_frame(TEXT, text.as_bytes())
    }

    pub fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        self.send_frame(BINARY, data)
    }

    /// Reads the next message before `deadline`; None when the deadline passes first. An
    /// end of stream or a reset reads as [`Frame::Close`]. Engine.IO pings are answered.
    pub fn read(&mut self, deadline: Instant) -> Result<Option<Frame>> {
        match self.read_frame(deadline) {
            Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(is_closed) => {
                Ok(Some(Frame::Close))
            }
            other => other,
        }
    }

    fn read_frame(&mut self, deadline: Instant) -> Result<Option<Frame>> {
        loop {
            let Some(head) = self.read_exact(2, deadline)? else {
                return Ok(None);
            };
            let opcode = head[0] & 0x0f;
            let len = match head[1] & 0x7f {
                126 => {
                    let b = self.must_read(2, deadline)?;
                    u64::from(u16::from_be_bytes([b[0], b[1]]))
                }
                127 => {
                    let b = self.must_read(8, deadline)?;
                    u64::from_be_bytes(b.try_into().map_err(|_| anyhow::anyhow!("length"))?)
                }
                n => u64::from(n),
            };
            let payload = self.must_read(usize::try_from(len)?, deadline)?;
            match opcode {
                TEXT => {
                    let text = String::from_utf8(payload).context("text frame not UTF-8")?;
                    if text == "2" {
                        self.send_text("3")?;
                        continue;
                    }
                    return Ok(Some(Frame::Text(text)));
                }
                BINARY => return Ok(Some(Frame::Binary(payload))),
                CLOSE => return Ok(Some(Frame::Close)),
                PING => self.send_frame(PONG, &payload)?,
                _ => {}
            }
        }
    }

    fn must_read(&mut self, n: usize, deadline: Instant) -> Result<Vec<u8>> {
        match self.read_exact(n, deadline) {
            Ok(Some(b)) => Ok(b),
            Ok(None) => bail!("frame cut short by the deadline"),
            Err(e) => Err(e.into()),
        }
    }

    /// Exactly `n` bytes, or None when the deadline passes before the first byte.
    fn read_exact(&mut self, n: usize, deadline: Instant) -> std::io::Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; n];
        let mut got = 0;
        while got < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                if got == 0 {
                    return Ok(None);
                }
                return Err(std::io::Error::new(ErrorKind::TimedOut, "cut short"));
            }
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(&mut buf[got..]) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(k) => got += k,
                Err(e) if is_timeout(&e) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Some(buf))
    }

    /// Reads until the server closes the connection or answers with an error packet.
    pub fn outcome(&mut self, within: Duration) -> Result<Outcome> {
        let deadline = Instant::now() + within;
        loop {
            match self.read(deadline) {
                Ok(Some(Frame::Close)) => return Ok(Outcome::Closed),
                Ok(Some(Frame::Text(t))) if is_close_packet(&t) => {
                    return Ok(Outcome::Closed);
                }
                Ok(Some(Frame::Text(t))) if is_error_packet(&t) => return Ok(Outcome::Error(t)),
                Ok(Some(_)) => {}
                Ok(None) => bail!("neither closed nor answered with an error within {within:?}"),
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends [`PROBE`], then reads until the connection closes, or the probe is answered
    /// (and a moment more, for an error packet that answers what came before it).
    pub fn probed_outcome(&mut self, within: Duration) -> Result<Outcome> {
        if let Err(e) = self.send_text(PROBE) {
            return match e.downcast_ref::<std::io::Error>() {
                Some(io) if is_closed(io) => Ok(Outcome::Closed),
                _ => Err(e),
            };
        }
        let deadline = Instant::now() + within;
        let mut error = None;
        let mut answered: Option<Instant> = None;
        loop {
            let until = answered.map_or(deadline, |t| (t + LATE).min(deadline));
            match self.read(until)? {
                Some(Frame::Close) => return Ok(Outcome::Closed),
                Some(Frame::Text(t)) if is_close_packet(&t) => {
                    return Ok(Outcome::Closed);
                }
                Some(Frame::Text(t)) if t.starts_with(PROBE_ANSWER) => {
                    answered = Some(Instant::now());
                }
                Some(Frame::Text(t)) if is_error_packet(&t) => {
                    error.get_or_insert(t);
                }
                Some(_) => {}
                None => break,
            }
        }
        match (error, answered) {
            (Some(e), _) => Ok(Outcome::Error(e)),
            (None, Some(_)) => Ok(Outcome::Ignored),
            (None, None) => bail!("no answer, not even to the probe, within {within:?}"),
        }
    }

    /// Whether the server closes the connection within `within`, reading past any error
    /// packets on the way.
    pub fn closed_within(&mut self, within: Duration) -> Result<bool> {
        let deadline = Instant::now() + within;
        loop {
            match self.read(deadline)? {
                Some(Frame::Close) => return Ok(true),
                Some(Frame::Text(t)) if is_close_packet(&t) => return Ok(true),
                Some(_) => {}
                None => return Ok(false),
            }
        }
    }

    /// Whether the server closed the connection, reading (and dropping) whatever it had
    /// sent before.
    pub fn drained_to_close(&mut self, within: Duration) -> Result<bool> {
        let deadline = Instant::now() + within;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(&mut buf) {
                Ok(0) => return Ok(true),
                Ok(_) => {}
                Err(e) if is_closed(&e) => return Ok(true),
                Err(e) if is_timeout(&e) || e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sends without reading; false when the write fails (the server has gone).
    pub fn blind_send_text(&mut self, text: &str) -> bool {
        self.send_text(text).is_ok()
    }
}

fn frame_header(opcode: u8, len: u64) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match len {
        0..=125 => frame.push(0x80 | len as u8),
        126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&len.to_be_bytes());
        }
    }
    frame
}

/// The content type a Socket.IO client posts polling payloads with.
const POLLING_BODY: &str = "text/plain;charset=UTF-8";

/// One long-polling request: (status, body). A GET carries no body.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    body: &[u8],
    bound: Duration,
) -> Result<(u16, String)> {
    let content_type = (method == "POST").then_some(POLLING_BODY);
    let answer = roomshard_testkit::http::request(port, method, path, content_type, body, bound)?;
    Ok((answer.status, answer.body))
}

/// An Engine.IO v4 session over HTTP long-polling, by hand.
pub struct RawPolling {
    port: u16,
    pub sid: String,
}

impl RawPolling {
    pub fn open(port: u16) -> Result<Self> {
        let (status, body) = http(
            port,
            "GET",
            "/socket.io/?EIO=4&transport=polling",
            b"",
            Duration::from_secs(5),
        )?;
        if status != 200 || !body.starts_with("0{") {
            bail!("polling handshake failed ({status}): {body}");
        }
        let open: serde_json::Value = serde_json::from_str(&body[1..])?;
        let sid = open["sid"].as_str().context("no sid")?.to_owned();
        Ok(Self { port, sid })
    }

    fn path(&self) -> String {
        format!("/socket.io/?EIO=4&transport=polling&sid={}", self.sid)
    }

    pub fn post(&self, body: &[u8]) -> Result<u16> {
        Ok(http(
            self.port,
            "POST",
            &self.path(),
            body,
            Duration::from_secs(10),
        )?
        .0)
    }

    /// One long-poll: (status, the packets of the payload).
    pub fn poll(&self, bound: Duration) -> Result<(u16, Vec<String>)> {
        let (status, body) = http(self.port, "GET", &self.path(), b"", bound)?;
        Ok((status, body.split('\u{1e}').map(str::to_owned).collect()))
    }

    /// Opens a session and connects to the namespace `/`.
    pub fn connect(port: u16) -> Result<Self> {
        let p = Self::open(port)?;
        let status = p.post(b"40")?;
        if status != 200 {
            bail!("namespace connection refused ({status})");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let (status, packets) = p.poll(Duration::from_secs(5))?;
            if status != 200 {
                bail!("poll failed ({status})");
            }
            if packets.iter().any(|m| m.starts_with("40")) {
                return Ok(p);
            }
        }
        bail!("no namespace connection within 5 s")
    }

    /// Polls until the session is gone (a 400, or a close packet) or an error packet
    /// arrives. A refused POST (status over 299) counts as closed when the session is gone
    /// afterwards.
    pub fn outcome(&self, within: Duration) -> Result<Outcome> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            let (status, packets) = self.poll(within)?;
            if status != 200 {
                return Ok(Outcome::Closed);
            }
            for p in &packets {
                if is_close_packet(p) {
                    return Ok(Outcome::Closed);
                }
                if is_error_packet(p) {
                    return Ok(Outcome::Error(p.clone()));
                }
                if p == "2" {
                    self.post(b"3")?;
                }
            }
        }
        bail!("neither closed nor answered with an error within {within:?}")
    }

    /// Posts `body`, then [`PROBE`], and polls until the session ends or the probe is
    /// answered. A refused POST whose session lives on reads as an error (the status).
    pub fn probed_outcome(&self, body: &[u8], within: Duration) -> Result<Outcome> {
        let status = self.post(body)?;
        if status != 200 {
            // A pong to a live session is accepted; a closed session is unknown.
            return Ok(if self.post(b"3")? == 200 {
                Outcome::Error(format!("HTTP {status}"))
            } else {
                Outcome::Closed
            });
        }
        if self.post(PROBE.as_bytes())? != 200 {
            return Ok(Outcome::Closed);
        }
        let deadline = Instant::now() + within;
        let mut error = None;
        let mut answered = false;
        while Instant::now() < deadline {
            let (status, packets) = self.poll(within)?;
            if status != 200 {
                return Ok(Outcome::Closed);
            }
            for p in &packets {
                if is_close_packet(p) {
                    return Ok(Outcome::Closed);
                }
                if p.starts_with(PROBE_ANSWER) {
                    answered = true;
                } else if is_error_packet(p) {
                    error.get_or_insert(p.clone());
                }
            }
            if answered {
                break;
            }
        }
        // One short poll more, for an error that answers the hostile packet but was queued
        // after the probe's answer (a timeout means nothing more came).
        if answered
            && error.is_none()
            && let Ok((200, packets)) = self.poll(LATE)
        {
            error = packets.into_iter().find(|p| is_error_packet(p));
        }
        match (error, answered) {
            (Some(e), _) => Ok(Outcome::Error(e)),
            (None, true) => Ok(Outcome::Ignored),
            (None, false) => bail!("no answer, not even to the probe, within {within:?}"),
        }
    }

    /// Whether the session ends within `within`, polling past any error packets.
    pub fn closed_within(&self, within: Duration) -> Result<bool> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            let (status, packets) = self.poll(within)?;
            if status != 200 || packets.iter().any(|p| is_close_packet(p)) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
