//! The public URL template (`PUBLIC_URL`, `spec.publicUrl`): the address a client is sent
//! to for a shard, with placeholders `{shard}` (the shard index), `{pod}` (its pod name),
//! `{port}` (its port) and, at its start only, `{origin}`: the scheme and host the client
//! used to reach the matchmaker (see [`crate::request_origin`]), which the matchmaker fills
//! in per request, so that one template serves whatever host an ingress answers on. The operator validates it, hands every worker pod and the
//! matchmaker the set's one template, workers publish it filled in, and the matchmaker fills
//! it in for a shard whose heartbeat carries no URL.

use std::fmt;
use std::str::FromStr;

/// A parsed template. Braces are not valid in a URL, so `{word}` can only be meant as a
/// placeholder: one that is not among the three is refused instead of reaching clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Shard,
    Pod,
    Port,
    Origin,
}

/// What `{origin}` stays as in a rendered URL until the matchmaker fills it in.
pub const ORIGIN: &str = "{origin}";

/// Why a string is not a usable URL template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlTemplateError {
    #[error(
        "{template:?} has the unknown placeholder {{{name}}}; the placeholders are {{shard}}, {{pod}} and {{port}}"
    )]
    UnknownPlaceholder { template: String, name: String },
    #[error(
        "{template:?} must contain the placeholder {{shard}}, e.g. wss://play.example.com/shard/{{shard}}"
    )]
    MissingShard { template: String },
    #[error(
        "{template:?} has {{origin}} after its start; {{origin}} stands for the scheme and host, e.g. {{origin}}/shard/{{shard}}"
    )]
    OriginNotFirst { template: String },
}

impl UrlTemplate {
    pub fn parse(template: &str) -> Result<Self, UrlTemplateError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            text.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let name_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let (name, tail) = after.split_at(name_len);
            let Some(tail) = tail.strip_prefix('}').filter(|_| !name.is_empty()) else {
                // Not a `{word}`: a literal brace.
                text.push('{');
                rest = after;
                continue;
            };
            let part = match name {
                "shard" => Part::Shard,
                "pod" => Part::Pod,
                "port" => Part::Port,
                "origin" if parts.is_empty() && text.is_empty() => Part::Origin,
                "origin" => {
                    return Err(UrlTemplateError::OriginNotFirst {
                        template: template.to_owned(),
                    });
                }
                _ => {
                    return Err(UrlTemplateError::UnknownPlaceholder {
                        template: template.to_owned(),
                        name: name.to_owned(),
                    });
                }
            };
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(part);
            rest = tail;
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Self {
            source: template.to_owned(),
            parts,
        })
    }

    /// The template itself, as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether it tells shards apart: a set's one template needs `{shard}`.
    pub fn names_shard(&self) -> bool {
        self.parts.contains(&Part::Shard)
    }

    /// Whether the URLs it makes start with `{origin}`, which only a request can fill in.
    pub fn needs_origin(&self) -> bool {
        self.parts.first() == Some(&Part::Origin)
    }

    /// This template if it names the shard.
    pub fn require_shard(self) -> Result<Self, UrlTemplateError> {
        if self.names_shard() {
            Ok(self)
        } else {
            Err(UrlTemplateError::MissingShard {
                template: self.source,
            })
        }
    }

    /// The URL of shard `shard`, served by pod `pod` on `port`.
    pub fn render(&self, shard: u32, pod: &str, port: u32) -> String {
        let mut out = String::with_capacity(self.source.len() + pod.len());
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Shard => out.push_str(&shard.to_string()),
                Part::Pod => out.push_str(pod),
                Part::Port => out.push_str(&port.to_string()),
                Part::Origin => out.push_str(ORIGIN),
            }
        }
        out
    }
}

/// `url` with a leading `{origin}` replaced by `origin` (`ws://host[:port]` or `wss://...`);
/// any other URL as it is.
pub fn fill_origin(url: &str, origin: &str) -> String {
    match url.strip_prefix(ORIGIN) {
        Some(rest) => format!("{origin}{rest}"),
        None => url.to_owned(),
    }
}

impl FromStr for UrlTemplate {
    type Err = UrlTemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for UrlTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, shard: u32, pod: &str, port: u32) -> String {
        UrlTemplate::parse(template)
            .expect("valid")
            .render(shard, pod, port)
    }

    #[test]
    fn placeholders_are_filled_in() {
        assert_eq!(
            render(
                "wss://play.example.com/shard/{shard}?pod={pod}&port={port}",
                2,
                "game-2",
                3002
            ),
            "wss://play.example.com/shard/2?pod=game-2&port=3002"
        );
        assert_eq!(
            render("ws://127.0.0.1:{port}", 2, "p", 3002),
            "ws://127.0.0.1:3002"
        );
        assert_eq!(
            render("wss://{pod}.game", 1, "game-1", 0),
            "wss://game-1.game"
        );
        assert_eq!(
            render("{shard}{shard}", 7, "", 0),
            "77",
            "adjacent and repeated placeholders"
        );
        assert_eq!(
            render("http://127.0.0.1:3000", 0, "p", 1),
            "http://127.0.0.1:3000"
        );
        assert_eq!(render("", 0, "p", 1), "");
    }

    #[test]
    fn what_fills_a_placeholder_is_not_read_again() {
        assert_eq!(render("ws://{pod}/{port}", 0, "{port}", 9), "ws://{port}/9");
    }

    #[test]
    fn braces_that_are_not_placeholders_stay() {
        for literal in [
            "ws://x/{",
            "ws://x/{}",
            "ws://x/{a-b}",
            "ws://x/}{",
            "{{shard}",
        ] {
            let t = UrlTemplate::parse(literal).expect("literal braces");
            assert_eq!(t.render(3, "p", 1), literal.replace("{shard}", "3"));
        }
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        let err = UrlTemplate::parse("wss://x/{shrad}").expect_err("a typo");
        assert_eq!(
            err,
            UrlTemplateError::UnknownPlaceholder {
                template: "wss://x/{shrad}".into(),
                name: "shrad".into()
            }
        );
        assert!(err.to_string().contains("{shrad}"), "{err}");
        assert!("ws://{Shard}".parse::<UrlTemplate>().is_err());
    }

    #[test]
    fn origin_is_kept_for_the_request_to_fill_in() {
        let t = UrlTemplate::parse("{origin}/shard/{shard}").expect("valid");
        assert!(t.needs_origin());
        let url = t.render(2, "p", 1);
        assert_eq!(url, "{origin}/shard/2");
        assert_eq!(
            fill_origin(&url, "ws://10.0.0.1:30080"),
            "ws://10.0.0.1:30080/shard/2"
        );
        assert_eq!(fill_origin("wss://x/1", "ws://y"), "wss://x/1");
        assert!(
            !UrlTemplate::parse("wss://x/{shard}")
                .expect("valid")
                .needs_origin()
        );
        for late in [
            "ws://x{origin}/{shard}",
            "/{origin}/{shard}",
            "{shard}{origin}",
        ] {
            assert!(
                matches!(
                    UrlTemplate::parse(late),
                    Err(UrlTemplateError::OriginNotFirst { .. })
                ),
                "{late}"
            );
        }
    }

    #[test]
    fn a_set_template_must_name_the_shard() {
        let t = UrlTemplate::parse("wss://x/").expect("parses");
        assert!(!t.names_shard());
        let err = t.require_shard().expect_err("no {shard}");
        assert!(err.to_string().contains("{shard}"), "{err}");
        let t: UrlTemplate = "wss://x/{shard}".parse().expect("parses");
        assert_eq!(t.to_string(), "wss://x/{shard}");
        assert_eq!(t.as_str(), "wss://x/{shard}");
        assert!(t.require_shard().is_ok());
    }
}
