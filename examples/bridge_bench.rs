//! Bridge benchmark (root): forwarding rate at 0% loss with 64- and 1500-byte
//! frames, and loss accuracy over 100k frames, through the real bridge between
//! two lab namespaces. Run by `scripts/bench`; prints a Markdown table.
//!
//! A generator in the client namespace writes raw Ethernet frames (EtherType
//! 0x88B5, "local experimental", so no stack answers them) on its eth0; a
//! counter in the server namespace reads its eth0. Forwarding rate = frames the
//! counter saw / time between its first and last; frames the bridge could not
//! take in (its socket buffer full) are the difference to what was offered.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use protolab::lab::bridge::{port, Bridge, BridgeConfig};
use protolab::lab::impair::{ImpairConfig, Loss};
use protolab::lab::netns::{self, LabNet};

const ETHERTYPE: [u8; 2] = [0x88, 0xB5];

fn mac_of(ns: &str) -> [u8; 6] {
    let out = std::process::Command::new("ip")
        .args(["-n", ns, "-br", "link", "show", "eth0"])
        .output()
        .expect("ip");
    let text = String::from_utf8_lossy(&out.stdout);
    let mac = text.split_whitespace().nth(2).expect("mac");
    let mut m = [0u8; 6];
    for (i, part) in mac.split(':').enumerate() {
        m[i] = u8::from_str_radix(part, 16).expect("hex");
    }
    m
}

struct Outcome {
    offered: u64,
    received: u64,
    rate: f64,
}

/// Sends `count` frames of `len` bytes (0 = as fast as possible, else paced at
/// `pps`) and counts what arrives.
fn blast(net: &LabNet, len: usize, count: u64, pps: u64) -> Outcome {
    let dst = mac_of(&net.server_ns);
    let src = mac_of(&net.client_ns);
    let received = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let counter = {
        let ns = net.server_ns.clone();
        let received = Arc::clone(&received);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            netns::enter(&ns).unwrap();
            let p = port::open("eth0").expect("counter port");
            let mut batch = port::Batch::new();
            ready_tx.send(()).unwrap();
            let mut first = None;
            let mut last = Instant::now();
            let mut idle_since: Option<Instant> = None;
            loop {
                let n = batch.recv(&p).unwrap_or(0);
                for i in 0..n {
                    let (f, len) = batch.frame(i);
                    if len >= 14 && f[12..14] == ETHERTYPE {
                        first.get_or_insert_with(Instant::now);
                        last = Instant::now();
                        received.fetch_add(1, Ordering::Relaxed);
                        idle_since = None;
                    }
                }
                if done.load(Ordering::Relaxed) {
                    let since = *idle_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_millis(300) {
                        break;
                    }
                }
            }
            first.map_or(Duration::ZERO, |f| last.duration_since(f))
        })
    };
    ready_rx.recv().unwrap();
    let generator = {
        let ns = net.client_ns.clone();
        std::thread::spawn(move || {
            netns::enter(&ns).unwrap();
            let p = port::open("eth0").expect("generator port");
            let mut frame = vec![0u8; len];
            frame[..6].copy_from_slice(&dst);
            frame[6..12].copy_from_slice(&src);
            frame[12..14].copy_from_slice(&ETHERTYPE);
            let start = Instant::now();
            for i in 0..count {
                frame[14..22].copy_from_slice(&i.to_be_bytes());
                // Paced in bursts of 32 (sleeping between them, not spinning: the
                // machine has two cores and the bridge needs them).
                if pps > 0 && i % 32 == 0 {
                    let due = Duration::from_nanos(i * 1_000_000_000 / pps);
                    let elapsed = start.elapsed();
                    if due > elapsed {
                        std::thread::sleep(due - elapsed);
                    }
                }
                if p.send(&frame).is_err() {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        })
    };
    generator.join().unwrap();
    done.store(true, Ordering::Relaxed);
    let span = counter.join().unwrap();
    let got = received.load(Ordering::Relaxed);
    Outcome {
        offered: count,
        received: got,
        rate: got as f64 / span.as_secs_f64().max(1e-9),
    }
}

fn with_bridge<T>(
    loss: Loss,
    seed: u64,
    f: impl FnOnce(&LabNet) -> T,
) -> (T, protolab::lab::bridge::BridgeReport) {
    let net = LabNet::create().expect("lab network (root)");
    let cfg = ImpairConfig {
        loss,
        ..ImpairConfig::default()
    };
    let bridge = Bridge::start(
        &BridgeConfig {
            client_if: net.client_peer.clone(),
            server_if: net.server_peer.clone(),
            c2s: cfg.clone(),
            s2c: cfg,
            seed,
            capture: None,
            snaplen: None,
            drop_tcp_to_server: false,
            echo_server_fin: false,
        },
        None,
    )
    .expect("bridge");
    let out = f(&net);
    let report = bridge.stop();
    (out, report)
}

fn main() {
    let frames: u64 = std::env::var("BRIDGE_BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    println!("| frame size | offered load | frames | forwarded | lost before the bridge | forwarded frames/s | target |");
    println!("|---|---|---|---|---|---|---|");
    for len in [60usize, 1514] {
        for pps in [100_000u64, 200_000, 300_000, 0] {
            let count = if pps == 0 { frames } else { pps * 2 };
            let (o, _) = with_bridge(Loss::None, 1, |net| blast(net, len, count, pps));
            let lost = 100.0 * (1.0 - o.received as f64 / o.offered as f64);
            let load = if pps == 0 {
                "unpaced (overload)".to_string()
            } else {
                format!("{pps} frames/s")
            };
            println!(
                "| {len} B | {load} | {} | {} | {lost:.2}% | {:.0} | ≥ 200000 |",
                o.offered, o.received, o.rate
            );
        }
    }
    println!();
    println!("| configured loss | frames at the bridge | dropped by the bridge | measured | error (pp) | end to end | target |");
    println!("|---|---|---|---|---|---|---|");
    for p in [1.0, 5.0, 10.0, 20.0] {
        let (o, report) = with_bridge(Loss::Bernoulli { p: p / 100.0 }, 7, |net| {
            blast(net, 60, 100_000, 50_000)
        });
        let st = report.client_to_server.stats;
        let measured = st.loss_percent();
        let e2e = 100.0 * (1.0 - o.received as f64 / o.offered as f64);
        println!(
            "| {p}% | {} | {} | {measured:.3}% | {:+.3} | {e2e:.3}% | ±0.5 pp |",
            st.frames,
            st.dropped,
            measured - p
        );
    }
}
