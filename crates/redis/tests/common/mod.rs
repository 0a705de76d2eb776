//! What the Redis test binaries share: the addresses `.ci/run` gives them.

use websession_redis::{RedisOptions, RedisStore};

/// The environment variable `name`, which `.ci/run` sets.
pub(crate) fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set for this test (see .ci/run)"))
}

/// A comma-separated list of node URLs in the environment variable `name`.
pub(crate) fn urls(name: &str) -> Vec<String> {
    env(name).split(',').map(str::to_owned).collect()
}

/// A store with `options` on the Redis Cluster whose nodes `name` lists.
pub(crate) async fn cluster_store(name: &str, options: RedisOptions) -> RedisStore {
    let urls = urls(name);
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    RedisStore::connect_cluster(&urls, options)
        .await
        .expect("connect cluster")
}
