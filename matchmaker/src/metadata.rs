//! Room metadata: what a reservation that creates a room says about it (a mode, a map, a
//! region, `private`), kept in the room's registry record, returned by `GET /rooms` and
//! filtered on there. Pure: validation, the one stored form, and matching.
//!
//! A flat JSON object of at most [`MAX_KEYS`] keys, each value a string, a number or a
//! boolean, [`MAX_BYTES`] at most as stored. `private: true` makes the room private: it is
//! never listed nor filled by a reservation that does not name it.
//!
//! Rooms with metadata are placed from a placement index of their own, one per track and
//! stored form ([`placement_index`]), so a reservation finds a room of its metadata in
//! `O(log n)` as a plain one does (docs/REDIS.md, "Metadata").

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Most keys one room's metadata may hold.
pub const MAX_KEYS: usize = 16;
/// Longest key.
pub const MAX_KEY_CHARS: usize = 32;
/// Longest string value (and filter value).
pub const MAX_TEXT_CHARS: usize = 64;
/// Most bytes of the stored form.
pub const MAX_BYTES: usize = 1024;
/// The key that makes a room private.
pub const PRIVATE: &str = "private";
/// The parameters of `GET /rooms` that are not filters; no key may take their names.
pub const QUERY_PARAMETERS: [&str; 3] = ["track", "limit", "cursor"];

/// Checked metadata, its keys in order so that it has one stored form.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata(BTreeMap<String, Value>);

/// A metadata key, or a filter's: 1 to [`MAX_KEY_CHARS`] of `A-Z a-z 0-9 _ - .`, not a
/// parameter of `GET /rooms`.
pub fn validate_key(key: &str) -> Result<(), String> {
    let len = key.chars().count();
    if len == 0 || len > MAX_KEY_CHARS {
        return Err(format!(
            "metadata keys are 1 to {MAX_KEY_CHARS} characters long; {key:?} is not"
        ));
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(format!(
            "metadata key {key:?} may only hold A-Z a-z 0-9 _ - ."
        ));
    }
    if QUERY_PARAMETERS.contains(&key) {
        return Err(format!(
            "{key:?} is a parameter of GET /rooms and cannot be a metadata key"
        ));
    }
    Ok(())
}

fn validate_text(what: &str, text: &str) -> Result<(), String> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(format!("{what} is longer than {MAX_TEXT_CHARS} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{what} must not contain control characters"));
    }
    Ok(())
}

impl Metadata {
    /// Checks a request's `metadata`.
    pub fn parse(v: Value) -> Result<Self, String> {
        let Value::Object(map) = v else {
            return Err("metadata must be a JSON object".into());
        };
        if map.len() > MAX_KEYS {
            return Err(format!(
                "metadata has {} keys; at most {MAX_KEYS} are allowed",
                map.len()
            ));
        }
        for (k, v) in &map {
            validate_key(k)?;
            if k == PRIVATE && !v.is_boolean() {
                return Err("metadata \"private\" must be a boolean".into());
            }
            match v {
                Value::String(s) => validate_text(&format!("metadata {k:?}"), s)?,
                Value::Bool(_) | Value::Number(_) => {}
                _ => {
                    return Err(format!(
                        "metadata {k:?} must be a string, a number or a boolean"
                    ));
                }
            }
        }
        let metadata = Self(map.into_iter().collect());
        let size = metadata.encode().len();
        if size > MAX_BYTES {
            return Err(format!(
                "metadata is {size} bytes as JSON; at most {MAX_BYTES} are allowed"
            ));
        }
        Ok(metadata)
    }

    /// Whether the room is private.
    pub fn is_private(&self) -> bool {
        self.0.get(PRIVATE) == Some(&Value::Bool(true))
    }

    /// The stored form: JSON with its keys sorted, the same for equal metadata.
    pub fn encode(&self) -> String {
        // A map of strings to plain JSON values always serializes.
        serde_json::to_string(&self.0).unwrap_or_default()
    }

    /// Metadata as the registry holds it; None for none, or for a record it cannot read.
    pub fn decode(text: &str) -> Option<Self> {
        if text.is_empty() {
            return None;
        }
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Some(Self(map.into_iter().collect())),
            _ => None,
        }
    }

    /// Whether every filter holds: the key is there and its value reads as the filter's
    /// text (a string as itself, a number as that number, a boolean as `true`/`false`).
    pub fn matches(&self, filters: &[(String, String)]) -> bool {
        filters.iter().all(|(k, want)| match self.0.get(k) {
            Some(Value::String(s)) => s == want,
            Some(Value::Bool(b)) => want.parse::<bool>().is_ok_and(|w| w == *b),
            Some(Value::Number(n)) => {
                let want = want.parse::<f64>().ok();
                want.is_some_and(|w| n.as_f64() == Some(w))
            }
            _ => false,
        })
    }

    /// The metadata as JSON, for a response.
    pub fn to_json(&self) -> Value {
        Value::Object(self.0.clone().into_iter().collect())
    }
}

/// Separates a track from what follows it in a placement index's name; tracks never hold
/// it (`roomshard_protocol::validate_track`).
pub const INDEX_SEPARATOR: char = '~';

/// The placement index a room belongs to: its track's for a room without metadata, one per
/// stored form of metadata (`{track}~{128-bit digest}`) for a public room with some, and
/// `{track}~private` for every private room of the track, which no placement reads from:
/// a private room is only reached by its name.
pub fn placement_index(track: &str, metadata: Option<&Metadata>) -> String {
    match metadata {
        None => track.to_owned(),
        Some(m) if m.is_private() => format!("{track}{INDEX_SEPARATOR}private"),
        Some(m) => {
            let digest = Sha256::digest(m.encode().as_bytes());
            let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
            format!("{track}{INDEX_SEPARATOR}{hex}")
        }
    }
}

/// Checks the filters of `GET /rooms` (every parameter that is not one of its own).
pub fn validate_filters(filters: &[(String, String)]) -> Result<(), String> {
    if filters.len() > MAX_KEYS {
        return Err(format!("at most {MAX_KEYS} metadata filters are allowed"));
    }
    for (i, (k, v)) in filters.iter().enumerate() {
        validate_key(k)?;
        if filters[..i].iter().any(|(o, _)| o == k) {
            return Err(format!("filter {k:?} is given twice"));
        }
        validate_text(&format!("filter {k:?}"), v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_has_one_stored_form() {
        let a = Metadata::parse(json!({"mode": "ctf", "map": "dust", "size": 8})).expect("valid");
        let b = Metadata::parse(json!({"size": 8, "map": "dust", "mode": "ctf"})).expect("valid");
        assert_eq!(a.encode(), b.encode());
        assert_eq!(a.encode(), r#"{"map":"dust","mode":"ctf","size":8}"#);
        assert_eq!(Metadata::decode(&a.encode()), Some(a.clone()));
        assert_eq!(Metadata::decode(""), None);
        assert_eq!(Metadata::decode("garbage"), None);
        assert!(!a.is_private());
        let p = Metadata::parse(json!({"private": true})).expect("valid");
        assert!(p.is_private());
        assert!(
            !Metadata::parse(json!({"private": false}))
                .expect("valid")
                .is_private()
        );
    }

    #[test]
    fn bad_metadata_says_why() {
        let many: serde_json::Map<String, Value> = (0..=MAX_KEYS)
            .map(|i| (format!("k{i}"), json!(1)))
            .collect();
        for (v, needle) in [
            (json!(["ctf"]), "JSON object"),
            (
                json!({"mode": {"deep": 1}}),
                "string, a number or a boolean",
            ),
            (json!({"mode": null}), "string, a number or a boolean"),
            (json!({"mode": [1]}), "string, a number or a boolean"),
            (json!({"private": "yes"}), "boolean"),
            (json!({"private": 1}), "boolean"),
            (json!({"track": "x"}), "parameter of GET /rooms"),
            (json!({"": "x"}), "1 to 32"),
            (json!({"a b": "x"}), "may only hold"),
            (json!({"mode": "x".repeat(65)}), "longer than 64"),
            (json!({"mode": "a\nb"}), "control characters"),
            (Value::Object(many), "at most 16"),
        ] {
            let err = Metadata::parse(v.clone()).expect_err("refused");
            assert!(err.contains(needle), "{v}: {err}");
        }
        let big: serde_json::Map<String, Value> = (0..MAX_KEYS)
            .map(|i| {
                (
                    format!("key-{i:02}-{}", "k".repeat(20)),
                    json!("v".repeat(60)),
                )
            })
            .collect();
        let err = Metadata::parse(Value::Object(big)).expect_err("too big");
        assert!(err.contains("bytes"), "{err}");
    }

    #[test]
    fn each_stored_form_has_an_index_of_its_own() {
        let m = |v: Value| Metadata::parse(v).expect("valid");
        let ctf = m(json!({"mode": "ctf", "map": "dust"}));
        let same = m(json!({"map": "dust", "mode": "ctf"}));
        let other = m(json!({"mode": "ctf"}));
        assert_eq!(placement_index("t", None), "t");
        let a = placement_index("t", Some(&ctf));
        assert_eq!(a, placement_index("t", Some(&same)));
        assert_ne!(a, placement_index("t", Some(&other)));
        assert_ne!(a, placement_index("u", Some(&ctf)));
        assert!(a.starts_with("t~") && a.len() == 2 + 32, "{a}");
        let private = m(json!({"mode": "ctf", "private": true}));
        assert_eq!(placement_index("t", Some(&private)), "t~private");
        // No track can be named like an index.
        assert!(roomshard_protocol::validate_track(&a).is_err());
    }

    #[test]
    fn filters_match_by_the_value_read_as_text() {
        let m = Metadata::parse(json!({"mode": "ctf", "size": 8, "ranked": true})).expect("ok");
        let f = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        assert!(m.matches(&f(&[])));
        assert!(m.matches(&f(&[("mode", "ctf")])));
        assert!(m.matches(&f(&[("mode", "ctf"), ("size", "8"), ("ranked", "true")])));
        assert!(m.matches(&f(&[("size", "8.0")])));
        assert!(!m.matches(&f(&[("mode", "dm")])));
        assert!(!m.matches(&f(&[("ranked", "yes")])));
        assert!(!m.matches(&f(&[("region", "eu")])));
        assert!(validate_filters(&f(&[("mode", "ctf")])).is_ok());
        assert!(validate_filters(&f(&[("mode", "a"), ("mode", "b")])).is_err());
        assert!(validate_filters(&f(&[("a b", "x")])).is_err());
        assert!(validate_filters(&f(&[("mode", &"x".repeat(65))])).is_err());
    }
}
