//! The chat server over the embedded redb store: every feature, hostile input,
//! slow consumers, restarts. The same suite runs over Redis in `chat_redis.rs`.

mod chat_suite;
mod common;

use chat_suite as suite;
use protolab::chat::store::StoreSpec;

/// A fresh redb file in a temp dir (kept alive for the test's length).
fn redb() -> (tempfile::TempDir, StoreSpec) {
    let dir = tempfile::tempdir().unwrap();
    let spec = StoreSpec::Redb(dir.path().join("chat.redb"));
    (dir, spec)
}

macro_rules! redb_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (_dir, spec) = redb();
            suite::$name(spec).await;
        }
    )*};
}

redb_tests!(
    register_and_login_codes,
    messages_need_a_login,
    broadcast_and_private,
    offline_messages_in_order,
    restart_keeps_users_and_offline_messages,
    file_transfer_checked,
    file_with_wrong_checksum_is_refused,
    hostile_input_answered_while_others_chat,
    slow_consumer_is_dropped_others_get_everything,
    idle_clients_are_closed,
    shutdown_tells_clients,
    notes_style_string_data,
);
