//! Secrets kept out of logs: a Redis URL may carry a password
//! (`redis://user:password@host`), so any URL that is logged or put in an error goes
//! through [`redact_url`] first.

/// What a redacted password reads as.
pub const REDACTED: &str = "***";

/// `url` with the password of its user part replaced by [`REDACTED`]; a URL without one
/// is returned as it is. Works on text that is not a valid URL too: whatever lies between
/// `scheme://` and the last `@` before the host is treated as `user:password`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = match userinfo.split_once(':') {
        Some((user, _password)) => format!("{user}:{REDACTED}"),
        // `redis://password@host`: a lone user part is the password to Redis.
        None if !userinfo.is_empty() => REDACTED.to_owned(),
        None => String::new(),
    };
    format!("{scheme}://{user}@{host}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_replaced_and_the_rest_kept() {
        assert_eq!(
            redact_url("rediss://app:s3cr%40t@redis.example:6380/0"),
            "rediss://app:***@redis.example:6380/0"
        );
        assert_eq!(
            redact_url("redis://:hunter2@redis:6379"),
            "redis://:***@redis:6379"
        );
        assert_eq!(redact_url("redis://hunter2@redis"), "redis://***@redis");
        assert_eq!(
            redact_url("redis://u:p@ss@redis:6379?x=@y"),
            "redis://u:***@redis:6379?x=@y"
        );
        assert_eq!(redact_url("redis://redis:6379/1"), "redis://redis:6379/1");
        assert_eq!(redact_url("not a url"), "not a url");
        for url in ["redis://a:topsecret@h", "rediss://topsecret@h/2"] {
            assert!(!redact_url(url).contains("topsecret"), "{url}");
        }
    }
}
