//! The Redis store, as in the notes (their server keeps users in a Redis hash
//! `users`, field = user id, value = the user's JSON).
//!
//! Keys: `protolab:chat:users` (hash: id → JSON of [`StoredUser`]; `HSETNX`
//! makes registration atomic) and `protolab:chat:offline:<id>` (a list:
//! `RPUSH` appends, `LRANGE` reads oldest first, `LTRIM` drops the delivered).
//! Durability is Redis's own: with its default snapshotting or AOF the data
//! survives our restarts, which is what the chat needs.

use redis::aio::MultiplexedConnection;
use redis::AsyncCommands;

use super::{ChatStore, StoreError, StoredUser};
use crate::chat::message::OfflineMes;

const USERS_KEY: &str = "protolab:chat:users";

fn offline_key(id: u32) -> String {
    format!("protolab:chat:offline:{id}")
}

/// A connection to a Redis server (multiplexed: clones share one socket).
#[derive(Clone)]
pub struct RedisStore {
    conn: MultiplexedConnection,
    url: String,
}

impl RedisStore {
    /// Connects to `url` (`redis://127.0.0.1:6379`) and checks it answers.
    pub async fn connect(url: &str) -> Result<RedisStore, StoreError> {
        let fail = |source| StoreError::Redis {
            url: url.to_string(),
            source,
        };
        let client = redis::Client::open(url).map_err(fail)?;
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(fail)?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(fail)?;
        Ok(RedisStore {
            conn,
            url: url.to_string(),
        })
    }

    fn fail(&self, source: redis::RedisError) -> StoreError {
        StoreError::Redis {
            url: self.url.clone(),
            source,
        }
    }
}

impl ChatStore for RedisStore {
    async fn register(&self, user: StoredUser) -> Result<bool, StoreError> {
        let json = serde_json::to_string(&user)?;
        let mut conn = self.conn.clone();
        conn.hset_nx(USERS_KEY, user.user_id, json)
            .await
            .map_err(|e| self.fail(e))
    }

    async fn user(&self, id: u32) -> Result<Option<StoredUser>, StoreError> {
        let mut conn = self.conn.clone();
        let json: Option<String> = conn.hget(USERS_KEY, id).await.map_err(|e| self.fail(e))?;
        Ok(match json {
            Some(json) => Some(serde_json::from_str(&json)?),
            None => None,
        })
    }

    async fn push_offline(&self, to: u32, message: &OfflineMes) -> Result<(), StoreError> {
        let json = serde_json::to_string(message)?;
        let mut conn = self.conn.clone();
        let _: usize = conn
            .rpush(offline_key(to), json)
            .await
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    async fn offline(&self, to: u32) -> Result<Vec<OfflineMes>, StoreError> {
        let mut conn = self.conn.clone();
        let items: Vec<String> = conn
            .lrange(offline_key(to), 0, -1)
            .await
            .map_err(|e| self.fail(e))?;
        items
            .iter()
            .map(|s| serde_json::from_str(s).map_err(StoreError::from))
            .collect()
    }

    async fn drop_offline(&self, to: u32, n: usize) -> Result<(), StoreError> {
        if n == 0 {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        conn.ltrim(offline_key(to), n as isize, -1)
            .await
            .map_err(|e| self.fail(e))
    }
}
