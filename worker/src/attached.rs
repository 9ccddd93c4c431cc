//! A payload as Socket.IO carries it: JSON in which each binary attachment stands as a
//! placeholder (`{"_placeholder": true, "num": i}`), and the attachments themselves. Custom
//! events are relayed in this form, untouched: serialized through socketioxide's parser,
//! [`WithBins`] puts every attachment back where its placeholder was, and the parser numbers
//! them again for the receiving client.

use bytes::Bytes;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use std::sync::Arc;

/// The binary attachments of one event, shared by every copy of it.
pub type Bins = Arc<[Bytes]>;

/// A payload and its attachments.
#[derive(Debug, Clone, PartialEq)]
pub struct Attached {
    pub json: Value,
    pub bins: Bins,
}

impl Attached {
    /// Bytes of the payload: its JSON text and its attachments.
    pub fn size(&self) -> usize {
        let json = serde_json::to_vec(&self.json).map_or(usize::MAX, |v| v.len());
        self.bins
            .iter()
            .fold(json, |n, b| n.saturating_add(b.len()))
    }
}

/// `json` serialized with each placeholder that names one of `bins` replaced by it.
pub struct WithBins<'a>(pub &'a Value, pub &'a [Bytes]);

impl Serialize for WithBins<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let WithBins(json, bins) = *self;
        if bins.is_empty() {
            return json.serialize(s);
        }
        match json {
            Value::Object(map) => {
                if let Some(bin) = placeholder(map).and_then(|i| bins.get(i)) {
                    return s.serialize_bytes(bin);
                }
                let mut out = s.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    out.serialize_entry(k, &WithBins(v, bins))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    out.serialize_element(&WithBins(v, bins))?;
                }
                out.end()
            }
            other => other.serialize(s),
        }
    }
}

impl Serialize for Attached {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WithBins(&self.json, &self.bins).serialize(s)
    }
}

/// The attachment number of a placeholder object.
fn placeholder(map: &serde_json::Map<String, Value>) -> Option<usize> {
    if map.len() != 2 || map.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    usize::try_from(map.get("num")?.as_u64()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_become_their_attachments_and_nothing_else_changes() {
        let bins: Vec<Bytes> = vec![Bytes::from_static(&[1, 2]), Bytes::from_static(&[3])];
        let v = json!({"a": {"_placeholder": true, "num": 1}, "b": [{"_placeholder": true, "num": 0}],
                       "c": {"_placeholder": true, "num": 7}, "d": {"_placeholder": true, "num": 0, "x": 1}});
        // serde_json writes bytes as an array of numbers: it shows where each one went.
        let text = serde_json::to_value(WithBins(&v, &bins)).expect("json");
        assert_eq!(text["a"], json!([3]));
        assert_eq!(text["b"], json!([[1, 2]]));
        assert_eq!(text["c"], json!({"_placeholder": true, "num": 7}));
        assert_eq!(text["d"]["x"], 1);
        // Without attachments a placeholder-shaped object is plain data.
        assert_eq!(serde_json::to_value(WithBins(&v, &[])).expect("json"), v);
    }

    #[test]
    fn size_counts_json_and_attachments() {
        let a = Attached {
            json: json!({"k": 1}),
            bins: Arc::from(vec![Bytes::from_static(&[0; 10])]),
        };
        assert_eq!(a.size(), 7 + 10);
    }
}
