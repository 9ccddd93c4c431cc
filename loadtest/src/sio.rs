//! A minimal Socket.IO client over WebSocket, for load generation.

use anyhow::{Context, Result, anyhow, bail};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One decoded Socket.IO packet of interest to a player.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    /// `42["name", data]`
    Event { name: String, data: Value },
    /// `43<id>[data]`
    Ack { id: u64, data: Value },
    /// Anything else the client need not act on (connect confirmations and so on).
    Other,
}

/// Parses an Engine.IO text frame carrying a Socket.IO packet for namespace `/`.
pub fn parse_frame(frame: &str) -> Result<Packet> {
    let Some(rest) = frame.strip_prefix('4') else {
        return Ok(Packet::Other);
    };
    if let Some(body) = rest.strip_prefix('2') {
        let arr: Vec<Value> = serde_json::from_str(body.trim_start_matches(char::is_numeric))
            .context("event payload is not a JSON array")?;
        let mut it = arr.into_iter();
        let name = match it.next() {
            Some(Value::String(s)) => s,
            _ => bail!("event without a name"),
        };
        let data = it.next().unwrap_or(Value::Null);
        return Ok(Packet::Event { name, data });
    }
    if let Some(body) = rest.strip_prefix('3') {
        let digits: String = body.chars().take_while(char::is_ascii_digit).collect();
        let id = digits.parse().context("ack without an id")?;
        let arr: Vec<Value> =
            serde_json::from_str(&body[digits.len()..]).context("ack payload is not an array")?;
        return Ok(Packet::Ack {
            id,
            data: arr.into_iter().next().unwrap_or(Value::Null),
        });
    }
    Ok(Packet::Other)
}

/// `42["name",data]`, or `42<id>["name",data]` with an ack id.
pub fn encode_event(name: &str, data: &Value, ack: Option<u64>) -> String {
    let body = serde_json::to_string(&(name, data)).unwrap_or_default();
    match ack {
        Some(id) => format!("42{id}{body}"),
        None => format!("42{body}"),
    }
}

/// A connected Socket.IO client.
pub struct Client {
    ws: Ws,
    next_ack: u64,
    /// Bytes of every text frame received (for bytes-per-second figures).
    pub bytes_in: u64,
    pub frames_in: u64,
}

impl Client {
    /// Connects to `base` (`http://host:port` or `ws://…`, optionally with a path prefix such
    /// as `/shard/1`) and completes the Socket.IO handshake for namespace `/`.
    pub async fn connect(base: &str) -> Result<Self> {
        let url = socket_url(base)?;
        // TCP_NODELAY, as browsers and socket.io-client set it: a move goes out at once
        // rather than after the server acknowledged the previous one.
        let (ws, _) = connect_async_with_config(url.as_str(), None, true)
            .await
            .with_context(|| format!("WebSocket connect to {url}"))?;
        let mut client = Client {
            ws,
            next_ack: 1,
            bytes_in: 0,
            frames_in: 0,
        };
        // Engine.IO open packet, then our namespace connect and its confirmation.
        let open = client.next_text().await?;
        if !open.starts_with('0') {
            bail!("expected an Engine.IO open packet, got {open:.40}");
        }
        client.send_text("40".to_owned()).await?;
        loop {
            let frame = client.next_text().await?;
            if frame.starts_with("40") {
                return Ok(client);
            }
            if frame.starts_with("44") {
                bail!("namespace connect refused: {frame:.200}");
            }
        }
    }

    async fn send_text(&mut self, text: String) -> Result<()> {
        self.ws.send(Message::text(text)).await?;
        Ok(())
    }

    /// Emits an event without an ack.
    pub async fn emit(&mut self, name: &str, data: &Value) -> Result<()> {
        self.send_text(encode_event(name, data, None)).await
    }

    /// Emits an event that asks for an ack; returns the ack id to match.
    pub async fn emit_with_ack(&mut self, name: &str, data: &Value) -> Result<u64> {
        let id = self.next_ack;
        self.next_ack += 1;
        self.send_text(encode_event(name, data, Some(id))).await?;
        Ok(id)
    }

    /// The next text frame, answering Engine.IO pings on the way.
    pub async fn next_text(&mut self) -> Result<String> {
        loop {
            let msg = self
                .ws
                .next()
                .await
                .ok_or_else(|| anyhow!("connection closed"))??;
            match msg {
                Message::Text(text) => {
                    self.bytes_in += text.len() as u64;
                    self.frames_in += 1;
                    if text.as_str() == "2" {
                        self.send_text("3".to_owned()).await?;
                        continue;
                    }
                    return Ok(text.to_string());
                }
                Message::Close(frame) => bail!("closed by the server: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next Socket.IO packet.
    pub async fn next_packet(&mut self) -> Result<Packet> {
        let text = self.next_text().await?;
        parse_frame(&text)
    }

    /// Waits for the ack `id`, passing other packets to `other`.
    pub async fn wait_ack(&mut self, id: u64, mut other: impl FnMut(Packet)) -> Result<Value> {
        loop {
            match self.next_packet().await? {
                Packet::Ack { id: got, data } if got == id => return Ok(data),
                p => other(p),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The WebSocket URL of the Socket.IO endpoint under `base`.
pub fn socket_url(base: &str) -> Result<String> {
    let base = base.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if base.starts_with("ws://") || base.starts_with("wss://") {
        base.to_owned()
    } else {
        bail!("{base:?} is not an http(s) or ws(s) URL");
    };
    Ok(format!("{ws}/socket.io/?EIO=4&transport=websocket"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_and_acks_round_trip() {
        assert_eq!(
            encode_event("move", &json!({"x":1}), None),
            r#"42["move",{"x":1}]"#
        );
        assert_eq!(
            encode_event("join", &json!({}), Some(7)),
            r#"427["join",{}]"#
        );
        assert_eq!(
            parse_frame(r#"42["view",{"tick":1}]"#).ok(),
            Some(Packet::Event {
                name: "view".into(),
                data: json!({"tick":1})
            })
        );
        assert_eq!(
            parse_frame(r#"4312[{"ok":true}]"#).ok(),
            Some(Packet::Ack {
                id: 12,
                data: json!({"ok":true})
            })
        );
        assert_eq!(parse_frame("40{}").ok(), Some(Packet::Other));
        assert!(parse_frame("42not json").is_err());
    }

    #[test]
    fn socket_urls() {
        assert_eq!(
            socket_url("http://127.0.0.1:3000/").ok().as_deref(),
            Some("ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket")
        );
        assert_eq!(
            socket_url("ws://h/shard/2").ok().as_deref(),
            Some("ws://h/shard/2/socket.io/?EIO=4&transport=websocket")
        );
        assert!(socket_url("ftp://x").is_err());
    }
}
