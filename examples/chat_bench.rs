//! Chat server benchmark: N concurrent logged-in clients on one
//! machine, broadcast fan-out in messages delivered per second, delivery
//! latency percentiles, and the server's peak RSS.
//!
//! ```text
//! ulimit -n 65536
//! cargo run --release --example chat_bench -- --server target/release/protolab --clients 10000
//! ```
//!
//! It writes N users into a fresh redb store (cheap test-cost Argon2 hashes, so
//! ten thousand logins do not take minutes), starts `protolab serve chat` on a
//! free port as its own process, logs every client in (each login notifies all
//! who are online, as in the notes: N²/2 notifications), then one client sends
//! broadcasts: first paced (`--rate` per second: latency under steady load),
//! then all at once (peak fan-out). Every SmsMes carries its send time; all
//! clients live in this process, so one clock measures the delivery latency.
//! Clients read raw frames and parse only SmsMes, to keep the client side cheap.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use protolab::chat::frame::{Frame, FrameCodec};
use protolab::chat::message::{LoginMes, Message, SmsMes};
use protolab::chat::store::{hash_password, HashCost, RedbStore, StoredUser};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_util::codec::{FramedRead, FramedWrite};

struct Args {
    server: String,
    clients: usize,
    messages: usize,
    rate: f64,
}

fn parse_args() -> Args {
    let mut a = Args {
        server: "target/release/protolab".into(),
        clients: 10_000,
        messages: 50,
        rate: 2.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--server" => a.server = value(),
            "--clients" => a.clients = value().parse().unwrap_or_else(|_| usage("--clients N")),
            "--messages" => a.messages = value().parse().unwrap_or_else(|_| usage("--messages M")),
            "--rate" => a.rate = value().parse().unwrap_or_else(|_| usage("--rate R")),
            _ => usage(&format!("unknown argument {flag}")),
        }
    }
    if a.clients < 2 {
        usage("--clients must be at least 2");
    }
    a
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "chat_bench: {problem}\nusage: chat_bench [--server PROTOLAB] [--clients N] [--messages M] [--rate PER_SEC]"
    );
    std::process::exit(2)
}

/// The soft RLIMIT_NOFILE, from /proc/self/limits.
fn nofile_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[derive(Default)]
struct Shared {
    logged_in: AtomicUsize,
    frames: AtomicU64,
    sms: AtomicU64,
    kicked: AtomicUsize,
    /// Latencies in µs, by phase (0 paced, 1 burst).
    latencies: [Mutex<Vec<u32>>; 2],
    last_delivery_ns: [AtomicU64; 2],
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = parse_args();
    let need = args.clients as u64 + 64;
    if let Some(limit) = nofile_limit() {
        if limit < need {
            eprintln!(
                "chat_bench: {} clients need {need} file descriptors, the limit is {limit}: \
                 run `ulimit -n {}` first (scripts/bench-chat does)",
                args.clients,
                need * 2
            );
            std::process::exit(2);
        }
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let store_path = dir.path().join("chat.redb");

    // 1. Users, in one transaction.
    let hash = hash_password("bench", HashCost::TEST).expect("hash");
    let users: Vec<StoredUser> = (1..=args.clients as u32)
        .map(|id| StoredUser {
            user_id: id,
            user_name: format!("u{id}"),
            password_hash: hash.clone(),
        })
        .collect();
    RedbStore::open(&store_path)
        .and_then(|s| s.register_batch(&users))
        .expect("bench users written");

    // 2. The server, a process of its own.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = Command::new(&args.server)
        .args(["serve", "chat", "--listen", &addr.to_string(), "--store"])
        .arg(&store_path)
        .args(["--idle-timeout", "3600", "--queue-len", "4096"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            eprintln!("chat_bench: cannot start {}: {e}", args.server);
            std::process::exit(2)
        });
    let pid = server.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "the server did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rss_idle = proc_status_kib(pid, "VmRSS:").unwrap_or(0);

    // 3. Log everyone in; each client then reads until told to stop.
    let t0 = Instant::now();
    let shared = Arc::new(Shared::default());
    let connecting = Arc::new(Semaphore::new(200));
    let expect_sms = (2 * args.messages) as u64;
    let mut readers = Vec::new();
    let (writer_tx, mut writer_rx) = tokio::sync::mpsc::channel(1);
    for id in 1..=args.clients as u32 {
        let shared = Arc::clone(&shared);
        let connecting = Arc::clone(&connecting);
        let writer_tx = writer_tx.clone();
        readers.push(tokio::spawn(async move {
            let permit = connecting.acquire_owned().await.unwrap();
            let stream = TcpStream::connect(addr).await.expect("connect");
            let _ = stream.set_nodelay(true);
            let (rd, wr) = stream.into_split();
            let mut rd = FramedRead::new(rd, FrameCodec::default());
            let mut wr = FramedWrite::new(wr, FrameCodec::default());
            let login = Message::LoginMes(LoginMes {
                user_id: id,
                user_pwd: "bench".into(),
                user_name: String::new(),
            });
            wr.send(&login.to_json()[..]).await.expect("send login");
            // Until the answer: nothing else can come before it.
            match rd.next().await {
                Some(Ok(Frame::Body(b)))
                    if b.starts_with(br#"{"type":"LoginResMes","data":{"code":200"#) => {}
                other => panic!("login {id}: {other:?}"),
            }
            drop(permit);
            shared.logged_in.fetch_add(1, Ordering::Relaxed);
            if id == 1 {
                let _ = writer_tx.send(wr).await;
            } else {
                // Keep the writing half open; dropping it would send our FIN.
                std::mem::forget(wr);
            }
            let mut got = 0u64;
            while let Some(frame) = rd.next().await {
                let Ok(Frame::Body(body)) = frame else { break };
                shared.frames.fetch_add(1, Ordering::Relaxed);
                if body.starts_with(br#"{"type":"ErrorMes""#) {
                    shared.kicked.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                if !body.starts_with(br#"{"type":"SmsMes""#) {
                    continue;
                }
                let now = t0.elapsed().as_nanos() as u64;
                if let Ok(Message::SmsMes(m)) = Message::parse(&body) {
                    let (phase, sent) = m.content.split_once(':').unwrap_or(("0", "0"));
                    let phase: usize = phase.parse().unwrap_or(0);
                    let sent: u64 = sent.parse().unwrap_or(now);
                    let us = (now.saturating_sub(sent) / 1000) as u32;
                    shared.latencies[phase].lock().unwrap().push(us);
                    shared.last_delivery_ns[phase].fetch_max(now, Ordering::Relaxed);
                    shared.sms.fetch_add(1, Ordering::Relaxed);
                }
                got += 1;
                if got == expect_sms {
                    break;
                }
            }
            (id, rd)
        }));
    }
    drop(writer_tx);
    let mut sender = writer_rx.recv().await.expect("client 1 logged in");
    while shared.logged_in.load(Ordering::Relaxed) < args.clients {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let login_secs = t0.elapsed().as_secs_f64();
    // Let the presence storm (N²/2 NotifyUserStatusMes) drain.
    let n = args.clients as u64;
    let notifications = n * (n - 1) / 2;
    let storm_deadline = Instant::now() + Duration::from_secs(300);
    let mut last = 0;
    let mut still = 0;
    while shared.frames.load(Ordering::Relaxed) < notifications && Instant::now() < storm_deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = shared.frames.load(Ordering::Relaxed);
        still = if now == last { still + 1 } else { 0 };
        last = now;
        if still > 25 {
            break;
        }
    }
    let settled_secs = t0.elapsed().as_secs_f64();
    let rss_online = proc_status_kib(pid, "VmRSS:").unwrap_or(0);

    // 4. Paced broadcasts, then a burst.
    let mut phase_start = [0u64; 2];
    for (phase, rate) in [(0usize, args.rate), (1, 0.0)] {
        phase_start[phase] = t0.elapsed().as_nanos() as u64;
        for _ in 0..args.messages {
            let sent = t0.elapsed().as_nanos() as u64;
            let m = Message::SmsMes(SmsMes {
                content: format!("{phase}:{sent}"),
                user: None,
            });
            sender.send(&m.to_json()[..]).await.expect("send");
            if rate > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(1.0 / rate)).await;
            }
        }
        // Wait for this phase's deliveries.
        let want = (phase as u64 + 1) * args.messages as u64 * (n - 1);
        let deadline = Instant::now() + Duration::from_secs(300);
        while shared.sms.load(Ordering::Relaxed) < want && Instant::now() < deadline {
            if shared.kicked.load(Ordering::Relaxed) > 0
                && Instant::now() + Duration::from_secs(295) > deadline
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let rss_peak = proc_status_kib(pid, "VmHWM:").unwrap_or(0);
    let rss_end = proc_status_kib(pid, "VmRSS:").unwrap_or(0);

    // 5. Report.
    println!(
        "chat bench: {} clients on 127.0.0.1 ({} cores), server `{} serve chat`",
        args.clients,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.server
    );
    println!("  login of all clients: {login_secs:.1} s; presence notifications ({notifications}) drained by {settled_secs:.1} s");
    for (phase, name) in [
        (0usize, format!("paced {} msg/s", args.rate)),
        (1, "burst".to_string()),
    ] {
        let mut lat = std::mem::take(&mut *shared.latencies[phase].lock().unwrap());
        lat.sort_unstable();
        let delivered = lat.len() as u64;
        let span = shared.last_delivery_ns[phase]
            .load(Ordering::Relaxed)
            .saturating_sub(phase_start[phase]) as f64
            / 1e9;
        let rate = if span > 0.0 {
            delivered as f64 / span
        } else {
            0.0
        };
        println!(
            "  {name}: {} broadcasts × {} receivers = {delivered}/{} delivered in {span:.2} s = {:.0} deliveries/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            args.messages,
            n - 1,
            args.messages as u64 * (n - 1),
            rate,
            percentile(&lat, 0.50) as f64 / 1000.0,
            percentile(&lat, 0.99) as f64 / 1000.0,
            lat.last().copied().unwrap_or(0) as f64 / 1000.0,
        );
    }
    println!(
        "  server RSS: {} MiB idle, {} MiB with everyone online, {} MiB at the end, peak {} MiB; clients dropped as too slow: {}",
        rss_idle / 1024,
        rss_online / 1024,
        rss_end / 1024,
        rss_peak / 1024,
        shared.kicked.load(Ordering::Relaxed)
    );
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let _ = server.wait();
    std::process::exit(0);
}
