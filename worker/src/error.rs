//! The worker's error: why an event was refused. Plain data; the socket layer turns a
//! [`Rejection`] into an ack error or an `error` event.

/// Why an event was refused: a code from `protocol::events::codes` and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
    /// The game's own code of a hook's refusal.
    pub reason: Option<String>,
}

impl Rejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            reason: None,
        }
    }

    pub fn with_reason(mut self, reason: String) -> Self {
        self.reason = Some(reason);
        self
    }
}
