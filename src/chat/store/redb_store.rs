//! The embedded store: one redb file (an ACID key-value store in pure Rust), so
//! `protolab serve chat` works with no database server. Every write is a
//! committed, fsynced transaction: users and undelivered messages survive a
//! crash or a restart.
//!
//! Tables: `users` (user id → JSON of [`StoredUser`]) and `offline`
//! ((receiver id, sequence) → JSON of [`OfflineMes`]); keys sort by receiver
//! then sequence, so a range scan yields one user's messages oldest first.
//! redb is blocking, so each operation runs on tokio's blocking pool.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{ChatStore, StoreError, StoredUser};
use crate::chat::message::OfflineMes;

const USERS: TableDefinition<u32, &[u8]> = TableDefinition::new("users");
const OFFLINE: TableDefinition<(u32, u64), &[u8]> = TableDefinition::new("offline");

/// A redb file holding the chat's users and offline messages.
#[derive(Clone)]
pub struct RedbStore {
    db: Arc<Database>,
    path: PathBuf,
}

impl RedbStore {
    /// Opens `path`, creating it (and its folder) if missing.
    pub fn open(path: &Path) -> Result<RedbStore, StoreError> {
        let fail = |message: String| StoreError::Redb {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        }
        let db = Database::create(path).map_err(|e| {
            fail(format!(
                "{e} (another protolab server may have it open: stop it, or give --store another file)"
            ))
        })?;
        // Create both tables up front so readers never meet a missing table.
        let txn = db.begin_write().map_err(|e| fail(e.to_string()))?;
        txn.open_table(USERS).map_err(|e| fail(e.to_string()))?;
        txn.open_table(OFFLINE).map_err(|e| fail(e.to_string()))?;
        txn.commit().map_err(|e| fail(e.to_string()))?;
        Ok(RedbStore {
            db: Arc::new(db),
            path: path.to_path_buf(),
        })
    }

    /// Adds many users in one transaction (benchmarks, imports); ids already
    /// taken are left alone. Returns how many were added. Blocking.
    pub fn register_batch(&self, users: &[StoredUser]) -> Result<usize, StoreError> {
        let fail = |e: &dyn std::fmt::Display| StoreError::Redb {
            path: self.path.clone(),
            message: e.to_string(),
        };
        let txn = self.db.begin_write().map_err(|e| fail(&e))?;
        let mut added = 0;
        {
            let mut table = txn.open_table(USERS).map_err(|e| fail(&e))?;
            for user in users {
                if table.get(user.user_id).map_err(|e| fail(&e))?.is_none() {
                    let json = serde_json::to_vec(user)?;
                    table
                        .insert(user.user_id, json.as_slice())
                        .map_err(|e| fail(&e))?;
                    added += 1;
                }
            }
        }
        txn.commit().map_err(|e| fail(&e))?;
        Ok(added)
    }

    /// Runs `f` on the blocking pool with the database.
    async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, Box<dyn std::error::Error + Send + Sync>>
            + Send
            + 'static,
    ) -> Result<T, StoreError> {
        let db = Arc::clone(&self.db);
        let path = self.path.clone();
        let joined = tokio::task::spawn_blocking(move || f(&db)).await;
        match joined {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => match e.downcast::<serde_json::Error>() {
                Ok(json) => Err(StoreError::Corrupt(*json)),
                Err(e) => Err(StoreError::Redb {
                    path,
                    message: e.to_string(),
                }),
            },
            Err(e) => Err(StoreError::Redb {
                path,
                message: format!("store task failed: {e}"),
            }),
        }
    }
}

impl ChatStore for RedbStore {
    async fn register(&self, user: StoredUser) -> Result<bool, StoreError> {
        self.with_db(move |db| {
            let txn = db.begin_write()?;
            let created = {
                let mut users = txn.open_table(USERS)?;
                if users.get(user.user_id)?.is_some() {
                    false
                } else {
                    users.insert(user.user_id, serde_json::to_vec(&user)?.as_slice())?;
                    true
                }
            };
            txn.commit()?;
            Ok(created)
        })
        .await
    }

    async fn user(&self, id: u32) -> Result<Option<StoredUser>, StoreError> {
        self.with_db(move |db| {
            let txn = db.begin_read()?;
            let users = txn.open_table(USERS)?;
            let found = users.get(id)?;
            Ok(match found {
                Some(v) => Some(serde_json::from_slice(v.value())?),
                None => None,
            })
        })
        .await
    }

    async fn push_offline(&self, to: u32, message: &OfflineMes) -> Result<(), StoreError> {
        let json = serde_json::to_vec(message)?;
        self.with_db(move |db| {
            let txn = db.begin_write()?;
            {
                let mut table = txn.open_table(OFFLINE)?;
                let next = match table.range((to, 0)..=(to, u64::MAX))?.next_back() {
                    Some(last) => last?.0.value().1 + 1,
                    None => 0,
                };
                table.insert((to, next), json.as_slice())?;
            }
            txn.commit()?;
            Ok(())
        })
        .await
    }

    async fn offline(&self, to: u32) -> Result<Vec<OfflineMes>, StoreError> {
        self.with_db(move |db| {
            let txn = db.begin_read()?;
            let table = txn.open_table(OFFLINE)?;
            let mut out = Vec::new();
            for entry in table.range((to, 0)..=(to, u64::MAX))? {
                out.push(serde_json::from_slice(entry?.1.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn drop_offline(&self, to: u32, n: usize) -> Result<(), StoreError> {
        self.with_db(move |db| {
            let txn = db.begin_write()?;
            {
                let mut table = txn.open_table(OFFLINE)?;
                let mut left = n;
                table.retain_in((to, 0)..=(to, u64::MAX), |_, _| {
                    if left > 0 {
                        left -= 1;
                        false
                    } else {
                        true
                    }
                })?;
            }
            txn.commit()?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline(content: &str) -> OfflineMes {
        OfflineMes {
            user: crate::chat::message::UserInfo {
                user_id: 1,
                user_name: "a".into(),
            },
            content: content.into(),
            sent_at: 0,
        }
    }

    #[tokio::test]
    async fn users_and_offline_messages_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.redb");
        {
            let store = RedbStore::open(&path).unwrap();
            let user = StoredUser {
                user_id: 7,
                user_name: "seven".into(),
                password_hash: "$argon2id$x".into(),
            };
            assert!(store.register(user.clone()).await.unwrap());
            assert!(!store.register(user).await.unwrap(), "id taken");
            for c in ["one", "two", "three"] {
                store.push_offline(7, &offline(c)).await.unwrap();
            }
            store.push_offline(8, &offline("other")).await.unwrap();
            store.drop_offline(7, 1).await.unwrap();
        }
        let store = RedbStore::open(&path).unwrap();
        assert_eq!(store.user(7).await.unwrap().unwrap().user_name, "seven");
        assert!(store.user(9).await.unwrap().is_none());
        let left: Vec<String> = store
            .offline(7)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.content)
            .collect();
        assert_eq!(left, ["two", "three"]);
        store.push_offline(7, &offline("four")).await.unwrap();
        assert_eq!(
            store.offline(7).await.unwrap().last().unwrap().content,
            "four"
        );
        assert_eq!(store.offline(8).await.unwrap().len(), 1);
    }
}
