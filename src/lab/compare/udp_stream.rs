//! The UDP half of `compare`: a paced stream of probe datagrams (sequence
//! number + send time, [`crate::analyze::udp_probe`]) from the client namespace
//! to a receiver in the server namespace, counted with iperf3's rules by the
//! receiver itself — the endpoint's own view of what arrived.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::analyze::udp_probe::{ProbeCounter, ProbeHeader, PROBE_HEADER_LEN};
use crate::lab::netns;

/// Most latency samples kept for the distribution chart.
const MAX_SAMPLES: usize = 2_000;

/// What to send.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    pub client_ns: String,
    pub server_ns: String,
    pub server: SocketAddr,
    pub bytes: u64,
    /// UDP payload per datagram, probe header included.
    pub datagram_len: usize,
    pub rate_bps: u64,
    /// How long the receiver waits after the last datagram was sent.
    pub linger: Duration,
}

/// What the receiver counted.
#[derive(Debug, Clone)]
pub struct StreamOutcome {
    pub sent: u64,
    pub counter: ProbeCounter,
    /// Payload bytes of distinct datagrams received.
    pub delivered_bytes: u64,
    /// One-way latencies, ms, thinned evenly to at most [`MAX_SAMPLES`].
    pub latency_samples_ms: Vec<f64>,
    /// First send to last arrival.
    pub duration: Duration,
}

fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Errors running the stream.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("UDP stream: {0}")]
    Io(String),
}

fn io(context: &str) -> impl Fn(std::io::Error) -> StreamError + '_ {
    move |e| StreamError::Io(format!("{context}: {e}"))
}

/// Runs the stream; returns when the receiver has been idle for `linger`
/// after the sender finished.
pub fn run(cfg: &StreamConfig) -> Result<StreamOutcome, StreamError> {
    let len = cfg.datagram_len.max(PROBE_HEADER_LEN);
    let count = cfg.bytes.div_ceil(len as u64).max(1);
    let sender_done = Arc::new(AtomicBool::new(false));
    let warmed = Arc::new(AtomicBool::new(false));

    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let receiver = {
        let ns = cfg.server_ns.clone();
        let addr = cfg.server;
        let linger = cfg.linger;
        let done = Arc::clone(&sender_done);
        let warm = Arc::clone(&warmed);
        std::thread::spawn(move || -> Result<_, StreamError> {
            netns::enter(&ns).map_err(|e| StreamError::Io(e.to_string()))?;
            let sock = UdpSocket::bind(addr).map_err(io("bind the receiver"))?;
            let fd = std::os::fd::AsFd::as_fd(&sock);
            let _ = nix::sys::socket::setsockopt(
                &fd,
                nix::sys::socket::sockopt::RcvBufForce,
                &(8 << 20),
            );
            sock.set_read_timeout(Some(Duration::from_millis(20)))
                .map_err(io("set a read timeout"))?;
            let _ = ready_tx.send(());
            receive(&sock, linger, &done, &warm)
        })
    };
    ready_rx
        .recv()
        .map_err(|_| StreamError::Io("the receiver did not start".into()))?;

    let sender = {
        let ns = cfg.client_ns.clone();
        let server = cfg.server;
        let rate = cfg.rate_bps.max(8_000);
        let warm = Arc::clone(&warmed);
        std::thread::spawn(move || -> Result<u64, StreamError> {
            netns::enter(&ns).map_err(|e| StreamError::Io(e.to_string()))?;
            let sock = UdpSocket::bind(SocketAddr::new(
                netns::CLIENT_V4.parse().expect("address"),
                0,
            ))
            .map_err(io("bind the sender"))?;
            sock.connect(server).map_err(io("connect"))?;
            // Resolve the server's MAC first (datagrams that are not probes: the
            // receiver only notes that one came), so the stream does not wait on
            // ARP. The bridge's loss applies to ARP too: a dropped request is
            // asked again a second later, and meanwhile the kernel would drop
            // the probes queued behind it, so warm up until one gets through.
            let deadline = Instant::now() + WARM_UP_LIMIT;
            while !warm.load(Ordering::Relaxed) && Instant::now() < deadline {
                let _ = sock.send(WARM_UP);
                std::thread::sleep(Duration::from_millis(50));
            }
            // Each datagram occupies the link for its bits at `rate` (IP/UDP/Ethernet
            // headers included, 42 bytes).
            let interval_ns = ((len as u64 + 42) * 8 * 1_000_000_000) / rate;
            let start = Instant::now();
            let mut buf = vec![0u8; len];
            for (i, b) in buf.iter_mut().enumerate().skip(PROBE_HEADER_LEN) {
                *b = (i % 251) as u8;
            }
            for seq in 0..count {
                let due = Duration::from_nanos(seq * interval_ns);
                let elapsed = start.elapsed();
                if due > elapsed + Duration::from_micros(200) {
                    std::thread::sleep(due - elapsed);
                }
                ProbeHeader::new(seq, wall_ns()).encode_into(&mut buf);
                // A full socket buffer is the sender's own limit, not the link's: retry.
                loop {
                    match sock.send(&buf) {
                        Ok(_) => break,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_micros(100))
                        }
                        Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => {
                            std::thread::sleep(Duration::from_micros(100))
                        }
                        Err(e) => return Err(io("send")(e)),
                    }
                }
            }
            Ok(count)
        })
    };
    let sent = sender
        .join()
        .map_err(|_| StreamError::Io("the sender panicked".into()))?;
    sender_done.store(true, Ordering::Relaxed);
    let received = receiver
        .join()
        .map_err(|_| StreamError::Io("the receiver panicked".into()))??;
    let sent = sent?;
    Ok(StreamOutcome { sent, ..received })
}

/// The datagram that resolves the server's address before the stream.
const WARM_UP: &[u8] = b"protolab warm-up";
/// How long the sender keeps warming up (ARP retries every second).
const WARM_UP_LIMIT: Duration = Duration::from_secs(10);

fn receive(
    sock: &UdpSocket,
    linger: Duration,
    sender_done: &AtomicBool,
    warmed: &AtomicBool,
) -> Result<StreamOutcome, StreamError> {
    let mut counter = ProbeCounter::new();
    let mut buf = vec![0u8; 65_536];
    let mut latencies: Vec<f64> = Vec::new();
    let mut delivered_bytes = 0u64;
    let mut first: Option<Instant> = None;
    let mut last = Instant::now();
    let mut done_since: Option<Instant> = None;
    loop {
        match sock.recv(&mut buf) {
            Ok(n) => {
                let arrival = wall_ns();
                if &buf[..n] == WARM_UP {
                    warmed.store(true, Ordering::Relaxed);
                    continue;
                }
                let Some(header) = ProbeHeader::decode(&buf[..n]) else {
                    continue;
                };
                let before = counter.duplicates;
                counter.record(&header, arrival);
                if counter.duplicates == before {
                    delivered_bytes += n as u64;
                }
                latencies.push(arrival.saturating_sub(header.send_ns) as f64 / 1e6);
                let now = Instant::now();
                first.get_or_insert(now);
                last = now;
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => return Err(io("receive")(e)),
        }
        if sender_done.load(Ordering::Relaxed) {
            let since = *done_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= linger && last.elapsed() >= linger.min(Duration::from_millis(200))
            {
                break;
            }
        }
    }
    let duration = first.map_or(Duration::ZERO, |f| last.duration_since(f));
    Ok(StreamOutcome {
        sent: 0,
        counter,
        delivered_bytes,
        latency_samples_ms: thin(latencies, MAX_SAMPLES),
        duration,
    })
}

/// Keeps at most `max` values, evenly spaced through the sequence.
fn thin(values: Vec<f64>, max: usize) -> Vec<f64> {
    if values.len() <= max {
        return values;
    }
    let step = values.len() as f64 / max as f64;
    (0..max)
        .map(|i| values[(i as f64 * step) as usize])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::thin;

    #[test]
    fn thinning_keeps_the_ends_spread_evenly() {
        let v: Vec<f64> = (0..10_000).map(f64::from).collect();
        let t = thin(v, 100);
        assert_eq!(t.len(), 100);
        assert_eq!(t[0], 0.0);
        assert_eq!(t[1], 100.0);
        assert_eq!(t[99], 9_900.0);
        assert_eq!(thin(vec![1.0, 2.0], 100), vec![1.0, 2.0]);
    }
}
