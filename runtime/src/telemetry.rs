//! Logging for every binary: one JSON object per line when stderr is not a terminal (a
//! container, a test harness), readable text when it is. `RUST_LOG` filters, `info` by
//! default.
//!
//! The JSON shape is the same in every binary: `timestamp`, `level`, `target`, the event's
//! fields at the top level beside `message`, and `spans` (the open spans, outermost first,
//! each with its `name` and fields) when there are any.

use std::io::IsTerminal;
use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the process's logger. A second call (tests) keeps the first and says so.
pub fn init() {
    let result = if std::io::stderr().is_terminal() {
        tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .try_init()
    } else {
        tracing::subscriber::set_global_default(json(filter(), std::io::stderr)).map_err(Into::into)
    };
    if let Err(e) = result {
        eprintln!("logging was already set up: {e}");
    }
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The JSON-lines subscriber, writing to `writer`.
fn json<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_carry_fields_at_the_top_level() {
        let out = Lines::default();
        let writer = out.clone();
        let subscriber = json(EnvFilter::new("info"), move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("http", route = "/reserve");
            let _entered = span.enter();
            tracing::info!(room = "r-1", players = 3, "joined");
            tracing::debug!("filtered out");
        });
        let text = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf-8");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert_eq!(lines.len(), 1, "{text}");
        let line = &lines[0];
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "joined");
        assert_eq!(line["room"], "r-1");
        assert_eq!(line["players"], 3);
        assert!(line["timestamp"].is_string(), "{line}");
        assert!(line.get("fields").is_none(), "{line}");
        assert_eq!(line["spans"][0]["name"], "http");
        assert_eq!(line["spans"][0]["route"], "/reserve");
    }
}
