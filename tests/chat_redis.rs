//! The chat suite over a real Redis: each test starts its own `redis-server` on
//! a free port in a temp dir. Without redis-server the tests fail under CI
//! (`CI` set) and are skipped, loudly, elsewhere.

mod chat_suite;
mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chat_suite as suite;
use common::wait::wait_until;
use protolab::chat::store::StoreSpec;

/// A redis-server of our own; killed when dropped.
struct Redis {
    child: Child,
    _dir: tempfile::TempDir,
    url: String,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts redis-server, or says why not: `None` means skip (outside CI only).
fn redis() -> Option<Redis> {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if !found {
        let msg = "redis-server is not installed: install it with `scripts/setup` \
                   (apt-get install redis-server) to run the Redis chat tests";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let redis = Redis {
        child,
        _dir: dir,
        url: format!("redis://127.0.0.1:{port}"),
    };
    wait_until(
        Duration::from_secs(10),
        &format!("redis-server listens on {port}"),
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    Some(redis)
}

macro_rules! redis_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(redis) = redis() else { return };
            suite::$name(StoreSpec::Redis(redis.url.clone())).await;
        }
    )*};
}

redis_tests!(
    register_and_login_codes,
    broadcast_and_private,
    offline_messages_in_order,
    restart_keeps_users_and_offline_messages,
    file_transfer_checked,
    hostile_input_answered_while_others_chat,
    slow_consumer_is_dropped_others_get_everything,
);

#[tokio::test]
async fn unreachable_redis_is_a_clear_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spec = StoreSpec::Redis(format!("redis://127.0.0.1:{port}"));
    let err = protolab::chat::store::Store::open(&spec)
        .await
        .err()
        .expect("nobody listens there");
    let text = err.to_string();
    assert!(text.contains("is redis-server running?"), "{text}");
}
