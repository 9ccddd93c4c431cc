//! The RS256 and ES256 public keys of bearer tokens: a JSON Web Key Set read from a file or
//! a URL, reloaded every AUTH_JWKS_REFRESH_SECONDS and when a token names a key it does not
//! hold, but never more often than once per AUTH_JWKS_MIN_REFRESH_SECONDS.

use hyper::body::Bytes;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Largest key set accepted.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Deadline of one fetch of a key set URL.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the key set comes from.
#[derive(Debug, Clone)]
pub enum JwksSource {
    File(PathBuf),
    Url(hyper::Uri),
}

/// One usable key: its algorithm and the key itself.
#[derive(Clone)]
struct Key {
    alg: Algorithm,
    key: DecodingKey,
}

/// The keys of a set, by `kid`; keys without a `kid` are only used by tokens without one.
#[derive(Clone, Default)]
struct KeyMap {
    by_kid: HashMap<String, Key>,
    unnamed: Vec<Key>,
}

impl KeyMap {
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
        let fits = |k: &&Key| k.alg == alg;
        match kid {
            Some(kid) => self.by_kid.get(kid).filter(fits).map(|k| k.key.clone()),
            None => {
                let mut matching = self.unnamed.iter().filter(fits);
                match (matching.next(), matching.next()) {
                    (Some(k), None) => Some(k.key.clone()),
                    _ => None,
                }
            }
        }
    }

    fn len(&self) -> usize {
        self.by_kid.len() + self.unnamed.len()
    }
}

/// The algorithm a key is for: RS256 for RSA keys, ES256 for P-256 keys; `None` for any
/// other key, or one whose `alg` or `use` says it is not for verifying RS256/ES256.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        _ => return None,
    };
    let declared_ok = match jwk.common.key_algorithm {
        None => true,
        Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
        Some(_) => false,
    };
    let use_ok = !matches!(
        jwk.common.public_key_use,
        Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
    );
    (declared_ok && use_ok).then_some(alg)
}

/// Parses a key set, keeping the RS256 and ES256 keys.
fn parse(bytes: &[u8]) -> Result<KeyMap, String> {
    let set: JwkSet =
        serde_json::from_slice(bytes).map_err(|e| format!("not a JSON Web Key Set: {e}"))?;
    let mut map = KeyMap::default();
    for jwk in &set.keys {
        let Some(alg) = algorithm_of(jwk) else {
            continue;
        };
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        let key = Key { alg, key };
        match &jwk.common.key_id {
            Some(kid) => {
                map.by_kid.insert(kid.clone(), key);
            }
            None => map.unnamed.push(key),
        }
    }
    if map.len() == 0 {
        return Err("the key set holds no RS256 or ES256 key".into());
    }
    Ok(map)
}

/// The key set and its reloads.
pub struct Jwks {
    source: JwksSource,
    keys: RwLock<Arc<KeyMap>>,
    /// When the set was last (tried to be) loaded; held while loading, so concurrent
    /// requests for an unknown key wait for one load instead of starting their own.
    last_load: tokio::sync::Mutex<Option<Instant>>,
    min_interval: Duration,
    interval: Duration,
    loads: std::sync::atomic::AtomicU64,
}

impl Jwks {
    /// A key set from `source`. A file is read now, so a bad one stops the start; a URL is
    /// fetched by [`Jwks::keep_fresh`] and by the first token that needs it.
    pub fn new(
        source: JwksSource,
        interval: Duration,
        min_interval: Duration,
    ) -> Result<Self, String> {
        let (keys, last) = match &source {
            JwksSource::File(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                (parse(&bytes)?, Some(Instant::now()))
            }
            JwksSource::Url(_) => (KeyMap::default(), None),
        };
        Ok(Self {
            source,
            keys: RwLock::new(Arc::new(keys)),
            last_load: tokio::sync::Mutex::new(last),
            min_interval,
            interval,
            loads: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// How many times the set was loaded since the start (successfully or not).
    pub fn loads(&self) -> u64 {
        self.loads.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn current(&self) -> Arc<KeyMap> {
        match self.keys.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The key a token with this `kid` and `alg` is verified with; an unknown key triggers a
    /// reload, bounded by the minimum interval.
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
        if let Some(k) = self.current().find(kid, alg) {
            return Some(k);
        }
        self.reload(false).await;
        self.current().find(kid, alg)
    }

    /// Loads the set again unless it was loaded less than the minimum interval ago.
    async fn reload(&self, scheduled: bool) {
        let mut last = self.last_load.lock().await;
        if last.is_some_and(|t| t.elapsed() < self.min_interval) {
            return;
        }
        if scheduled && last.is_some_and(|t| t.elapsed() < self.interval) {
            return;
        }
        *last = Some(Instant::now());
        self.loads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.load().await {
            Ok(map) => {
                let count = map.len();
                match self.keys.write() {
                    Ok(mut k) => *k = Arc::new(map),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(map),
                }
                tracing::debug!(keys = count, "JSON Web Key Set loaded");
            }
            // The keys held so far stay in use.
            Err(e) => tracing::warn!(error = %e, "JSON Web Key Set not reloaded"),
        }
    }

    async fn load(&self) -> Result<KeyMap, String> {
        match &self.source {
            JwksSource::File(path) => {
                let owned = path.clone();
                let bytes = tokio::task::spawn_blocking(move || std::fs::read(owned))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                parse(&bytes)
            }
            JwksSource::Url(uri) => {
                let bytes = tokio::time::timeout(FETCH_TIMEOUT, fetch(uri.clone()))
                    .await
                    .map_err(|_| format!("no answer within {FETCH_TIMEOUT:?}"))??;
                parse(&bytes)
            }
        }
    }

    /// Reloads the set every interval, and at once if it was never loaded.
    pub async fn keep_fresh(self: Arc<Self>) {
        self.reload(true).await;
        loop {
            tokio::time::sleep(self.interval).await;
            self.reload(true).await;
        }
    }
}

async fn fetch(uri: hyper::Uri) -> Result<Bytes, String> {
    let client = crate::http_client::HttpClient::new().map_err(|e| e.to_string())?;
    let resp = client
        .get(uri, MAX_JWKS_BYTES)
        .await
        .map_err(|e| format!("fetching the key set: {e}"))?;
    if !resp.status.is_success() {
        return Err(format!("answered {}", resp.status));
    }
    Ok(resp.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_signature_keys_it_can_use() {
        let set = br#"{"keys":[
            {"kty":"oct","k":"c2VjcmV0","kid":"sym"},
            {"kty":"EC","crv":"P-256","kid":"ec","alg":"ES256",
             "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty":"EC","crv":"P-256","kid":"mislabelled","alg":"RS256",
             "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
        ]}"#;
        let map = parse(set).expect("one usable key");
        assert_eq!(map.len(), 1);
        assert!(map.find(Some("ec"), Algorithm::ES256).is_some());
        assert!(map.find(Some("ec"), Algorithm::RS256).is_none());
        assert!(map.find(Some("sym"), Algorithm::HS256).is_none());
        assert!(parse(br#"{"keys":[]}"#).is_err());
        assert!(parse(b"[]").is_err());
    }
}
