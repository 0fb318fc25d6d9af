//! Where the chat keeps what must survive a restart: registered users (with
//! password hashes) and the offline messages not yet delivered.
//!
//! [`ChatStore`] is the contract; [`RedbStore`] is the embedded default (one
//! file, no server to run) and [`RedisStore`] speaks to a real Redis, as the
//! notes' server does. [`Store`] picks one at run time from `--store`.

mod password;
mod redb_store;
mod redis_store;

use std::future::Future;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use password::{hash_password, verify_password, HashCost};
pub use redb_store::RedbStore;
pub use redis_store::RedisStore;

use super::message::OfflineMes;

/// A registered user as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredUser {
    pub user_id: u32,
    pub user_name: String,
    /// Argon2id PHC string; never the password itself.
    pub password_hash: String,
}

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("chat store {path}: {message}")]
    Redb { path: PathBuf, message: String },
    #[error(
        "redis {url}: {source} (is redis-server running? start it with `redis-server --port PORT`)"
    )]
    Redis {
        url: String,
        #[source]
        source: redis::RedisError,
    },
    #[error("chat store: a record is not valid JSON: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// What the chat server needs from a store. Every method is atomic on its own.
pub trait ChatStore: Send + Sync {
    /// Adds `user`; `false` when the id is taken (nothing changes then).
    fn register(&self, user: StoredUser) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The user with `id`, if registered.
    fn user(&self, id: u32) -> impl Future<Output = Result<Option<StoredUser>, StoreError>> + Send;
    /// Appends a message to `to`'s offline queue.
    fn push_offline(
        &self,
        to: u32,
        message: &OfflineMes,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// `to`'s offline messages, oldest first (they stay until [`ChatStore::drop_offline`]).
    fn offline(&self, to: u32) -> impl Future<Output = Result<Vec<OfflineMes>, StoreError>> + Send;
    /// Removes the oldest `n` offline messages of `to` (those just delivered).
    fn drop_offline(
        &self,
        to: u32,
        n: usize,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Where to keep the data, as `--store` spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// An embedded redb file.
    Redb(PathBuf),
    /// A Redis URL, `redis://host:port[/db]`.
    Redis(String),
}

impl StoreSpec {
    /// `redis://…` (or `rediss://…`) is Redis; anything else is a redb file path.
    pub fn parse(s: &str) -> StoreSpec {
        if s.starts_with("redis://") || s.starts_with("rediss://") || s.starts_with("redis+unix://")
        {
            StoreSpec::Redis(s.to_string())
        } else {
            StoreSpec::Redb(PathBuf::from(s))
        }
    }

    /// The default: `$XDG_DATA_HOME/protolab/chat.redb` (or `~/.local/share/…`),
    /// `./protolab-chat.redb` when neither is set.
    pub fn default_path() -> PathBuf {
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
        match base {
            Some(base) => base.join("protolab").join("chat.redb"),
            None => PathBuf::from("protolab-chat.redb"),
        }
    }
}

impl std::fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreSpec::Redb(path) => write!(f, "redb {}", path.display()),
            StoreSpec::Redis(url) => write!(f, "redis {url}"),
        }
    }
}

/// One of the stores, chosen at run time.
#[derive(Clone)]
pub enum Store {
    Redb(RedbStore),
    Redis(RedisStore),
}

impl Store {
    /// Opens (or creates) the store `spec` names.
    pub async fn open(spec: &StoreSpec) -> Result<Store, StoreError> {
        Ok(match spec {
            StoreSpec::Redb(path) => Store::Redb(RedbStore::open(path)?),
            StoreSpec::Redis(url) => Store::Redis(RedisStore::connect(url).await?),
        })
    }
}

impl ChatStore for Store {
    async fn register(&self, user: StoredUser) -> Result<bool, StoreError> {
        match self {
            Store::Redb(s) => s.register(user).await,
            Store::Redis(s) => s.register(user).await,
        }
    }

    async fn user(&self, id: u32) -> Result<Option<StoredUser>, StoreError> {
        match self {
            Store::Redb(s) => s.user(id).await,
            Store::Redis(s) => s.user(id).await,
        }
    }

    async fn push_offline(&self, to: u32, message: &OfflineMes) -> Result<(), StoreError> {
        match self {
            Store::Redb(s) => s.push_offline(to, message).await,
            Store::Redis(s) => s.push_offline(to, message).await,
        }
    }

    async fn offline(&self, to: u32) -> Result<Vec<OfflineMes>, StoreError> {
        match self {
            Store::Redb(s) => s.offline(to).await,
            Store::Redis(s) => s.offline(to).await,
        }
    }

    async fn drop_offline(&self, to: u32, n: usize) -> Result<(), StoreError> {
        match self {
            Store::Redb(s) => s.drop_offline(to, n).await,
            Store::Redis(s) => s.drop_offline(to, n).await,
        }
    }
}
