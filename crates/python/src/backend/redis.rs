//! Flask-Session's Redis interface as a bridge backend: one string key per
//! session (`prefix + sid`), the record as its value, the expiry as the
//! key's TTL. Compare-and-set writes are Lua scripts comparing the stored
//! bytes, so each is one atomic step.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Script;
use websession_core::store::{StoreError, StoreErrorKind};

use crate::bridge::{Backend, Stored};

/// How long a connection attempt and a reply may take.
const TIMEOUT: Duration = Duration::from_secs(2);

/// How many keys one `SCAN` step asks for (of string keys only: another
/// type under the prefix is no Flask-Session record, and `GET` would fail
/// on it).
const SCAN_COUNT: usize = 1000;

/// The expiry given to a key without a TTL (no Flask-Session write makes
/// one): a hundred years.
const NO_TTL_SECS: u64 = 100 * 365 * 24 * 3600;

/// The scripts' common part: `live(key, lag)` is the key's value if it is
/// live for the caller (its TTL in milliseconds is over `lag`, see
/// [`Clocks::lag_ms`]), else `false`.
const LIVE: &str = r"
local function live(key, lag)
  local v = redis.call('GET', key)
  if not v then return false end
  local p = redis.call('PTTL', key)
  if p >= 0 and p <= lag then return false end
  return v
end
local lag = tonumber(ARGV[1])
";

/// Sets KEYS[1] to ARGV[2] with TTL ARGV[3] (ms) unless it holds a live record.
const INSERT: &str = r"
if live(KEYS[1], lag) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

/// Replaces the value (and TTL) if the key still holds ARGV[2].
const REPLACE: &str = r"
if live(KEYS[1], lag) == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
  return 1
end
return 0
";

/// Moves the record from KEYS[1] (if it still holds ARGV[2]) to KEYS[2]
/// (if free) as ARGV[3]: 1 done, 0 changed or gone, -1 the new key is taken.
const REPLACE_MOVING: &str = r"
if live(KEYS[1], lag) ~= ARGV[2] then
  return 0
end
if live(KEYS[2], lag) then
  return -1
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 1
";

/// Deletes the key if it still holds ARGV[2].
const DELETE_IF: &str = r"
if live(KEYS[1], lag) == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

/// Records in Redis, as Flask-Session's `RedisSessionInterface` keeps them.
pub(crate) struct RedisBackend {
    conn: ConnectionManager,
    /// The `SCAN MATCH` pattern of the prefix's keys.
    pattern: String,
    insert: Script,
    replace: Script,
    replace_moving: Script,
    delete_if: Script,
}

impl RedisBackend {
    /// Connects to `url`; `prefix` is the key prefix `scan` looks under.
    pub(crate) async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(err)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(err)?;
        Ok(Self {
            conn,
            pattern: format!("{}*", glob_escape(prefix)),
            insert: script(INSERT),
            replace: script(REPLACE),
            replace_moving: script(REPLACE_MOVING),
            delete_if: script(DELETE_IF),
        })
    }

    /// The live records under `keys` (with their expiry), in one round trip.
    async fn get_many<K: AsRef<str> + Sync>(
        &self,
        keys: &[K],
        now: u64,
    ) -> Result<Vec<Option<Stored>>, StoreError> {
        // One round trip, not a transaction (MULTI/EXEC doubled Redis's
        // work per load): a key replaced between the two replies gives a
        // TTL a moment off, which a write's compare-and-set never relies
        // on; a key gone by the PTTL (-2) is no record.
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.get(key.as_ref()).pttl(key.as_ref());
        }
        let mut conn = self.conn.clone();
        let replies: Vec<(Option<Vec<u8>>, i64)> =
            pipe.query_async(&mut conn).await.map_err(err)?;
        let clocks = Clocks::read(now);
        Ok(replies
            .into_iter()
            .map(|(data, pttl)| {
                let data = data.filter(|_| pttl != -2)?;
                let expires_at = clocks.expires_at(pttl);
                (expires_at > now).then_some(Stored { data, expires_at })
            })
            .collect())
    }
}

fn script(body: &str) -> Script {
    Script::new(&format!("{LIVE}{body}"))
}

/// A Redis TTL counts from the real clock, the store's expiries are Unix
/// seconds: the two clocks a call converts between. A record's expiry is
/// absolute (the real time Redis drops the key, to the nearest second);
/// a caller whose `now` is past it sees no record, whatever Redis holds.
#[derive(Clone, Copy, Debug)]
struct Clocks {
    /// The caller's time, Unix seconds.
    now: u64,
    /// The real time, Unix milliseconds.
    wall_ms: u64,
}

impl Clocks {
    fn read(now: u64) -> Self {
        let wall_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self { now, wall_ms }
    }

    /// The expiry of a key with this `PTTL` (-1: no TTL, which no
    /// Flask-Session write makes).
    fn expires_at(self, pttl: i64) -> u64 {
        match u64::try_from(pttl) {
            Ok(ms) => self.wall_ms.saturating_add(ms).saturating_add(500) / 1000,
            Err(_) => (self.wall_ms / 1000).saturating_add(NO_TTL_SECS),
        }
    }

    /// The largest `PTTL` of a key that is expired for the caller: live
    /// is `expires_at(pttl) > now`, that is `pttl > now * 1000 + 499 - wall_ms`.
    fn lag_ms(self) -> i64 {
        let lag = i128::from(self.now) * 1000 + 499 - i128::from(self.wall_ms);
        i64::try_from(lag).unwrap_or(if lag < 0 { i64::MIN } else { i64::MAX })
    }

    /// The TTL in milliseconds for an expiry, at least a second.
    fn ttl_ms(self, expires_at: u64) -> u64 {
        expires_at
            .saturating_mul(1000)
            .saturating_sub(self.wall_ms)
            .max(1000)
    }
}

/// `text` with the glob characters of `SCAN MATCH` escaped.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A redis-rs error as a store error: `Unavailable` when the server wasn't
/// reached or didn't answer in time.
fn err(e: redis::RedisError) -> StoreError {
    let kind = if e.is_io_error()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_connection_dropped()
    {
        StoreErrorKind::Unavailable
    } else {
        StoreErrorKind::Backend
    };
    StoreError::new(kind, e)
}

#[async_trait::async_trait]
impl Backend for RedisBackend {
    async fn get(&self, key: &str, now: u64) -> Result<Option<Stored>, StoreError> {
        Ok(self
            .get_many(&[key], now)
            .await?
            .into_iter()
            .next()
            .flatten())
    }

    async fn insert(
        &self,
        key: &str,
        data: &[u8],
        expires_at: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        let clocks = Clocks::read(now);
        let mut conn = self.conn.clone();
        let done: i64 = self
            .insert
            .key(key)
            .arg(clocks.lag_ms())
            .arg(data)
            .arg(clocks.ttl_ms(expires_at))
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        if done == 1 {
            Ok(())
        } else {
            Err(StoreError::from_kind(StoreErrorKind::Collision))
        }
    }

    async fn replace(
        &self,
        key: &str,
        old: &[u8],
        new: &[u8],
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let clocks = Clocks::read(now);
        let mut conn = self.conn.clone();
        let done: i64 = self
            .replace
            .key(key)
            .arg(clocks.lag_ms())
            .arg(old)
            .arg(new)
            .arg(clocks.ttl_ms(expires_at))
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(done == 1)
    }

    async fn replace_moving(
        &self,
        old_key: &str,
        old: &[u8],
        new_key: &str,
        new: &[u8],
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let clocks = Clocks::read(now);
        let mut conn = self.conn.clone();
        let done: i64 = self
            .replace_moving
            .key(old_key)
            .key(new_key)
            .arg(clocks.lag_ms())
            .arg(old)
            .arg(new)
            .arg(clocks.ttl_ms(expires_at))
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        match done {
            1 => Ok(true),
            -1 => Err(StoreError::from_kind(StoreErrorKind::Collision)),
            _ => Ok(false),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::cmd("DEL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn delete_if(&self, key: &str, data: &[u8]) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let done: i64 = self
            .delete_if
            .key(key)
            .arg(i64::MIN)
            .arg(data)
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(done == 1)
    }

    /// The prefix's records, by `SCAN` from the client (Redis serves other
    /// clients between the steps; a script looping over the keyspace would
    /// stall it), each step's values and TTLs fetched in one pipeline. A
    /// record moving to a new key meanwhile can be missed by one listing;
    /// the bridge's sweeps list again until a pass finds nothing, and this
    /// process's moves give way to a running sweep.
    async fn scan(&self, now: u64) -> Result<Vec<(String, Stored)>, StoreError> {
        let mut conn = self.conn.clone();
        let mut found = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&self.pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .arg("TYPE")
                .arg("string")
                .query_async(&mut conn)
                .await
                .map_err(err)?;
            if !keys.is_empty() {
                // A key gone since the SCAN step is None.
                let records = self.get_many(&keys, now).await?;
                found.extend(
                    keys.into_iter()
                        .zip(records)
                        .filter_map(|(key, stored)| Some((key, stored?))),
                );
            }
            if next == 0 {
                return Ok(found);
            }
            cursor = next;
        }
    }

    async fn delete_expired(&self, _now: u64) -> Result<u64, StoreError> {
        // Redis drops expired keys itself.
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::{bridge_store, Bridge, RecordFormat};
    use crate::flask_session::{FlaskSessionFormat, FlaskSessionOptions};
    use std::borrow::Cow;
    use websession_core::store::{conformance, IdFormat, IdHash, SessionId};
    use websession_core::{Map, Value};

    /// Flask-Session's ids and keys with records in Flask's tagged JSON,
    /// which keeps every value kind the conformance suite stores (msgspec's
    /// formats don't: the product format's own tests are in
    /// `flask_session::format`).
    struct Lossless(FlaskSessionFormat);

    impl IdFormat for Lossless {
        fn generate(&self) -> SessionId {
            self.0.generate()
        }
        fn parse(&self, cookie: &str) -> Option<SessionId> {
            self.0.parse(cookie)
        }
        fn cookie_value<'a>(&self, id: &'a SessionId) -> Cow<'a, str> {
            self.0.cookie_value(id)
        }
        fn key(&self, id: &SessionId) -> IdHash {
            self.0.key(id)
        }
    }

    impl RecordFormat for Lossless {
        fn backend_key(&self, id: &IdHash) -> String {
            self.0.backend_key(id)
        }
        fn id_of_key(&self, key: &str) -> Option<IdHash> {
            self.0.id_of_key(key)
        }
        fn encode(&self, data: &Map, _now: u64) -> Result<Vec<u8>, StoreError> {
            Ok(Value::Dict(data.clone()).to_tagged_json().into_bytes())
        }
        fn decode(&self, bytes: &[u8]) -> Result<Map, StoreError> {
            match std::str::from_utf8(bytes).map(Value::from_tagged_json) {
                Ok(Ok(Value::Dict(map))) => Ok(map),
                _ => Err(StoreError::from_kind(StoreErrorKind::Corrupt)),
            }
        }
    }

    struct TestStore(Bridge<Lossless>);
    bridge_store!(TestStore);

    /// A store on `REDIS_URL` under `prefix`.
    async fn store(prefix: &str) -> TestStore {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let options = FlaskSessionOptions::new().with_key_prefix(prefix);
        TestStore(Bridge {
            backend: Box::new(RedisBackend::connect(&url, prefix).await.expect("Redis")),
            format: Lossless(FlaskSessionFormat::new(&options)),
            seen: crate::bridge::Seen::default(),
            name: "test",
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs Redis (REDIS_URL)"]
    async fn the_redis_backend_conforms() {
        let prefix = format!("ws-test-{}:", &SessionId::generate().hash().to_hex()[..12]);
        conformance::run(|| store(&prefix)).await;
    }

    #[test]
    fn expiries_are_absolute_to_the_nearest_second() {
        let c = Clocks {
            now: 100,
            wall_ms: 100_400,
        };
        assert_eq!(c.ttl_ms(160), 59_600);
        assert_eq!(c.ttl_ms(100), 1000);
        assert_eq!(c.expires_at(59_600), 160);
        assert_eq!(c.expires_at(59_599), 160);
        assert_eq!(c.expires_at(-1), 100 + NO_TTL_SECS);
        // Live exactly when the expiry is after now, for a caller ahead of
        // the real clock too.
        for now in [90, 100, 120, 159, 160, 161] {
            let c = Clocks {
                now,
                wall_ms: 100_400,
            };
            for pttl in [0, 99, 100, 599, 600, 1_000, 59_599, 59_600, 60_100] {
                assert_eq!(pttl > c.lag_ms(), c.expires_at(pttl) > now, "{now} {pttl}");
            }
        }
    }

    #[test]
    fn the_scan_pattern_escapes_globs() {
        assert_eq!(glob_escape("session:"), "session:");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
