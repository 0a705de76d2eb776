//! The Redis session store, on a single Redis or a Redis Cluster.
//!
//! # Setup
//!
//! Nothing to create: records expire through Redis' own TTL.
//!
//! ```no_run
//! use websession::SessionManagerLayer;
//! use websession_redis::RedisStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
//! // or: RedisStore::connect_cluster(&["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]).await?
//! let layer = SessionManagerLayer::with_store(store);
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! A session is one hash, `websession:{<sha256 of the id, hex>}`: fields
//! `d:<key>` hold the values as Flask's tagged JSON text, `m:created`,
//! `m:expires` and `m:user` the metadata, and `EXPIREAT` the deadline. The
//! braces are a hash tag, so everything of a session is in one cluster slot.
//! `load` is one `HGETALL`; `create` and `update` are one Lua script each, so
//! each is one round trip and atomic. A user's sessions are listed in the set
//! `websession:user:{<user>}` for [`SessionStore::delete_all_for`].
//!
//! On a single Redis, `cycle_id` is one atomic script (`RENAME`). A cluster
//! can't rename across slots, so there it copies the record to the new id and
//! then deletes the old one: an update racing that window can be lost, and a
//! crash inside it leaves both ids alive until the old one expires.
#![warn(missing_docs)]

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Script, Value as RValue};
use websession_core::store::{ChangeSet, IdHash, Record, SessionStore, StoreError, StoreErrorKind};
use websession_core::{json, Map};

const CREATE: &str = r"
local exp = redis.call('HGET', KEYS[1], 'm:expires')
if exp and tonumber(exp) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'm:expires', ARGV[2], 'm:created', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'm:user', string.sub(ARGV[4], 3)) end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], 'd:' .. ARGV[i], ARGV[i + 1]) end
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return 1
";

const UPDATE: &str = r"
local exp = redis.call('HGET', KEYS[1], 'm:expires')
if not exp or tonumber(exp) <= tonumber(ARGV[1]) then return 0 end
if ARGV[3] == '1' then
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, 2) == 'd:' then redis.call('HDEL', KEYS[1], f) end
  end
end
if ARGV[4] == '-' then redis.call('HDEL', KEYS[1], 'm:user')
elseif ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'm:user', string.sub(ARGV[4], 3)) end
local i = 6
for _ = 1, tonumber(ARGV[5]) do redis.call('HDEL', KEYS[1], 'd:' .. ARGV[i]); i = i + 1 end
while i <= #ARGV do redis.call('HSET', KEYS[1], 'd:' .. ARGV[i], ARGV[i + 1]); i = i + 2 end
redis.call('HSET', KEYS[1], 'm:expires', ARGV[2])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return 1
";

const DELETE_IF_USER: &str = r"
if redis.call('HGET', KEYS[1], 'm:user') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

const CYCLE: &str = r"
local exp = redis.call('HGET', KEYS[1], 'm:expires')
if not exp or tonumber(exp) <= tonumber(ARGV[1]) then return 0 end
local taken = redis.call('HGET', KEYS[2], 'm:expires')
if taken and tonumber(taken) > tonumber(ARGV[1]) then return -1 end
redis.call('RENAME', KEYS[1], KEYS[2])
return 1
";

#[derive(Clone)]
#[allow(clippy::large_enum_variant)] // one per store, cloned per call either way
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, RValue> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<RValue>> {
        match self {
            Self::Single(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// Sessions in Redis hashes with native TTL.
#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    prefix: String,
    create: Script,
    update: Script,
    cycle: Script,
    delete_if_user: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.conn {
            Conn::Single(_) => "single",
            Conn::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisStore")
            .field("mode", &mode)
            .field("prefix", &self.prefix)
            .finish()
    }
}

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

fn tagged(v: &websession_core::Value) -> String {
    let mut text = String::new();
    json::write_value(&mut text, v);
    text
}

impl RedisStore {
    /// Connects to one Redis server (`redis://HOST:PORT`). The connection
    /// reconnects by itself after an outage.
    ///
    /// # Errors
    ///
    /// When the URL is invalid or the server can't be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(err)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(std::time::Duration::from_secs(2))
            .set_response_timeout(std::time::Duration::from_secs(2))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(err)?;
        Ok(Self::with_conn(Conn::Single(conn)))
    }

    /// Connects to a Redis Cluster through any of its nodes.
    ///
    /// # Errors
    ///
    /// When no node can be reached.
    pub async fn connect_cluster(urls: &[&str]) -> Result<Self, StoreError> {
        let client = redis::cluster::ClusterClient::builder(urls.iter().copied())
            .connection_timeout(std::time::Duration::from_secs(2))
            .response_timeout(std::time::Duration::from_secs(2))
            .build()
            .map_err(err)?;
        let conn = client.get_async_connection().await.map_err(err)?;
        Ok(Self::with_conn(Conn::Cluster(conn)))
    }

    fn with_conn(conn: Conn) -> Self {
        Self {
            conn,
            prefix: "websession:".into(),
            create: Script::new(CREATE),
            update: Script::new(UPDATE),
            cycle: Script::new(CYCLE),
            delete_if_user: Script::new(DELETE_IF_USER),
        }
    }

    /// Uses `prefix` (default `websession:`) for every key, to share a Redis.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, id: &IdHash) -> String {
        format!("{}{{{}}}", self.prefix, id.to_hex())
    }

    fn user_key(&self, user: &str) -> String {
        format!("{}user:{{{user}}}", self.prefix)
    }

    async fn index_user(&self, user: &str, id: &IdHash) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("SADD")
            .arg(self.user_key(user))
            .arg(id.to_hex())
            .query_async::<()>(&mut conn)
            .await
            .map_err(err)
    }
}

#[async_trait::async_trait]
impl SessionStore for RedisStore {
    async fn load(&self, id: &IdHash, now: u64) -> Result<Option<Record>, StoreError> {
        let mut conn = self.conn.clone();
        let fields: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(self.key(id))
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        let mut record = Record::new(Map::new(), 0, 0);
        for (field, value) in fields {
            if let Some(key) = field.strip_prefix("d:") {
                let v = json::parse_value(value.as_bytes())
                    .map_err(|e| StoreError::new(StoreErrorKind::Corrupt, e))?;
                record.data.insert(key.to_owned(), v);
            } else {
                let number = || {
                    value
                        .parse::<u64>()
                        .map_err(|e| StoreError::new(StoreErrorKind::Corrupt, e))
                };
                match field.as_str() {
                    "m:expires" => record.expires_at = number()?,
                    "m:created" => record.created_at = number()?,
                    "m:user" => record.user = Some(value),
                    _ => {}
                }
            }
        }
        Ok((record.expires_at > now).then_some(record))
    }

    async fn create(&self, id: &IdHash, record: &Record, now: u64) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let mut inv = self.create.key(self.key(id));
        inv.arg(now).arg(record.expires_at).arg(record.created_at);
        inv.arg(
            record
                .user
                .as_ref()
                .map_or(String::new(), |u| format!("u:{u}")),
        );
        for (k, v) in &record.data {
            inv.arg(k).arg(tagged(v));
        }
        let done: i64 = inv.invoke_async(&mut conn).await.map_err(err)?;
        if done == 0 {
            return Err(StoreError::from_kind(StoreErrorKind::Collision));
        }
        if let Some(user) = &record.user {
            self.index_user(user, id).await?;
        }
        Ok(())
    }

    async fn update(&self, id: &IdHash, changes: &ChangeSet, now: u64) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let mut inv = self.update.key(self.key(id));
        inv.arg(now)
            .arg(changes.expires_at)
            .arg(if changes.cleared { "1" } else { "0" });
        inv.arg(match &changes.user {
            None => String::new(),
            Some(None) => "-".into(),
            Some(Some(u)) => format!("u:{u}"),
        });
        inv.arg(changes.removed.len());
        for k in &changes.removed {
            inv.arg(k);
        }
        for (k, v) in &changes.set {
            inv.arg(k).arg(tagged(v));
        }
        let done: i64 = inv.invoke_async(&mut conn).await.map_err(err)?;
        if done == 0 {
            return Err(StoreError::from_kind(StoreErrorKind::NotFound));
        }
        if let Some(Some(user)) = &changes.user {
            self.index_user(user, id).await?;
        }
        Ok(())
    }

    async fn cycle_id(&self, old: &IdHash, new: &IdHash, now: u64) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let record = match &self.conn {
            Conn::Single(_) => {
                let done: i64 = self
                    .cycle
                    .key(self.key(old))
                    .key(self.key(new))
                    .arg(now)
                    .invoke_async(&mut conn)
                    .await
                    .map_err(err)?;
                match done {
                    0 => return Err(StoreError::from_kind(StoreErrorKind::NotFound)),
                    -1 => return Err(StoreError::from_kind(StoreErrorKind::Collision)),
                    _ => self.load(new, now).await?,
                }
            }
            Conn::Cluster(_) => {
                let record = self
                    .load(old, now)
                    .await?
                    .ok_or_else(|| StoreError::from_kind(StoreErrorKind::NotFound))?;
                self.create(new, &record, now).await?;
                self.delete(old).await?;
                Some(record)
            }
        };
        if let Some(user) = record.and_then(|r| r.user) {
            self.index_user(&user, new).await?;
        }
        Ok(())
    }

    async fn delete(&self, id: &IdHash) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("DEL")
            .arg(self.key(id))
            .query_async::<()>(&mut conn)
            .await
            .map_err(err)
    }

    async fn delete_expired(&self, _now: u64) -> Result<u64, StoreError> {
        Ok(0) // Redis expires keys by itself (EXPIREAT)
    }

    fn expires_natively(&self) -> bool {
        true
    }

    async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError> {
        let mut conn = self.conn.clone();
        let user_key = self.user_key(user);
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(&user_key)
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        let mut deleted = 0;
        for hex in ids {
            // One key per call: in a cluster the sessions live in other slots.
            // The set can be stale (a session given to another user since),
            // so the script deletes only if the session still belongs to `user`.
            let key = format!("{}{{{hex}}}", self.prefix);
            let n: u64 = self
                .delete_if_user
                .key(key)
                .arg(user)
                .invoke_async(&mut conn)
                .await
                .map_err(err)?;
            deleted += n;
        }
        redis::cmd("DEL")
            .arg(&user_key)
            .query_async::<()>(&mut conn)
            .await
            .map_err(err)?;
        Ok(deleted)
    }
}
