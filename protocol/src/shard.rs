//! Shard identity: the `ROOM_SHARD=<index>/<total>` form every worker is started with.

use std::fmt;
use std::str::FromStr;

/// The largest number of shards one set may have (the CRD enforces the same bound).
pub const MAX_SHARDS: u32 = 1024;

/// One worker's place in a set: shard `index` of `total`, with `index < total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShardId {
    index: u32,
    total: u32,
}

/// Why a `<index>/<total>` string is not a shard identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardIdError {
    #[error("is empty")]
    Empty,
    #[error("{0:?} has no '/' between index and total")]
    MissingSlash(String),
    #[error("{input:?}: index {part:?} is not a whole number from 0 to {max}", max = u32::MAX)]
    BadIndex { input: String, part: String },
    #[error("{input:?}: total {part:?} is not a whole number from 1 to {MAX_SHARDS}")]
    BadTotal { input: String, part: String },
    #[error("{input:?}: total must be at least 1")]
    ZeroTotal { input: String },
    #[error("{input:?}: total {total} is more than the {MAX_SHARDS} shards a set may have")]
    TotalTooLarge { input: String, total: u64 },
    #[error("{input:?}: index {index} must be below total {total} (indices count from 0)")]
    IndexOutOfRange {
        input: String,
        index: u32,
        total: u32,
    },
}

impl ShardIdError {
    /// The message a process prints when the variable `name` holds a bad value.
    pub fn for_variable(&self, name: &str) -> String {
        format!(
            "{name} is invalid: {self}; expected {name}=<index>/<total> with 0 <= index < total <= {MAX_SHARDS}, e.g. {name}=0/3"
        )
    }
}

impl ShardId {
    /// A shard identity, checked as [`FromStr`] checks it.
    pub fn new(index: u32, total: u32) -> Result<Self, ShardIdError> {
        format!("{index}/{total}").parse()
    }

    /// The identity of a worker running alone.
    pub const SOLO: ShardId = ShardId { index: 0, total: 1 };

    pub fn index(self) -> u32 {
        self.index
    }

    pub fn total(self) -> u32 {
        self.total
    }
}

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

fn is_plain_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl FromStr for ShardId {
    type Err = ShardIdError;

    /// Strict: ASCII digits only, no sign, no spaces, no leading `+`.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.is_empty() {
            return Err(ShardIdError::Empty);
        }
        let owned = || input.to_owned();
        let (index_part, total_part) = input
            .split_once('/')
            .ok_or_else(|| ShardIdError::MissingSlash(owned()))?;
        let bad_total = || ShardIdError::BadTotal {
            input: owned(),
            part: total_part.to_owned(),
        };
        if !is_plain_digits(index_part) {
            return Err(ShardIdError::BadIndex {
                input: owned(),
                part: index_part.to_owned(),
            });
        }
        if !is_plain_digits(total_part) {
            return Err(bad_total());
        }
        let total: u64 = total_part.parse().map_err(|_| bad_total())?;
        if total == 0 {
            return Err(ShardIdError::ZeroTotal { input: owned() });
        }
        if total > u64::from(MAX_SHARDS) {
            return Err(ShardIdError::TotalTooLarge {
                input: owned(),
                total,
            });
        }
        let total = u32::try_from(total).map_err(|_| bad_total())?;
        let index: u32 = index_part.parse().map_err(|_| ShardIdError::BadIndex {
            input: owned(),
            part: index_part.to_owned(),
        })?;
        if index >= total {
            return Err(ShardIdError::IndexOutOfRange {
                input: owned(),
                index,
                total,
            });
        }
        Ok(ShardId { index, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_forms() {
        let id: ShardId = "2/3".parse().expect("valid");
        assert_eq!((id.index(), id.total()), (2, 3));
        assert_eq!(id.to_string(), "2/3");
        assert_eq!("0/1".parse::<ShardId>(), Ok(ShardId::SOLO));
        assert_eq!("1023/1024".parse::<ShardId>().map(|s| s.index()), Ok(1023));
        assert_eq!("007/10".parse::<ShardId>().map(|s| s.index()), Ok(7));
    }

    type Check = fn(&ShardIdError) -> bool;

    #[test]
    fn rejects_each_bad_form_precisely() {
        let cases: &[(&str, Check)] = &[
            ("", |e| matches!(e, ShardIdError::Empty)),
            ("3", |e| matches!(e, ShardIdError::MissingSlash(_))),
            ("3/3", |e| {
                matches!(
                    e,
                    ShardIdError::IndexOutOfRange {
                        index: 3,
                        total: 3,
                        ..
                    }
                )
            }),
            ("x/2", |e| matches!(e, ShardIdError::BadIndex { .. })),
            ("0/0", |e| matches!(e, ShardIdError::ZeroTotal { .. })),
            ("1/", |e| matches!(e, ShardIdError::BadTotal { .. })),
            ("/2", |e| matches!(e, ShardIdError::BadIndex { .. })),
            ("-1/2", |e| matches!(e, ShardIdError::BadIndex { .. })),
            ("+1/2", |e| matches!(e, ShardIdError::BadIndex { .. })),
            (" 1/2", |e| matches!(e, ShardIdError::BadIndex { .. })),
            ("1/2 ", |e| matches!(e, ShardIdError::BadTotal { .. })),
            ("1 /2", |e| matches!(e, ShardIdError::BadIndex { .. })),
            ("1/2/3", |e| matches!(e, ShardIdError::BadTotal { .. })),
            ("1/4294967296", |e| {
                matches!(e, ShardIdError::TotalTooLarge { .. })
            }),
            ("1/99999999999999999999999", |e| {
                matches!(e, ShardIdError::BadTotal { .. })
            }),
            ("4294967296/5", |e| {
                matches!(e, ShardIdError::BadIndex { .. })
            }),
            ("0/1025", |e| {
                matches!(e, ShardIdError::TotalTooLarge { total: 1025, .. })
            }),
            ("１/2", |e| matches!(e, ShardIdError::BadIndex { .. })),
        ];
        for (input, check) in cases {
            let err = input.parse::<ShardId>().expect_err(input);
            assert!(check(&err), "{input:?} gave {err:?}");
        }
    }

    #[test]
    fn variable_message_names_the_variable_and_the_form() {
        let err = "3/3".parse::<ShardId>().expect_err("out of range");
        let msg = err.for_variable("ROOM_SHARD");
        assert!(msg.starts_with("ROOM_SHARD is invalid"), "{msg}");
        assert!(msg.contains("<index>/<total>"), "{msg}");
        assert!(msg.contains("index 3 must be below total 3"), "{msg}");
    }

    #[test]
    fn new_checks_like_parse() {
        assert!(ShardId::new(0, 0).is_err());
        assert!(ShardId::new(1, 1).is_err());
        assert_eq!(ShardId::new(4, 5).map(|s| s.to_string()), Ok("4/5".into()));
    }
}
