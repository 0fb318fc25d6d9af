//! One direction of the bridge: a receiving thread that asks the impairment
//! model about each frame, and a sending thread that lets delayed frames out
//! when they fall due.
//!
//! Frames due at once (no delay, no rate limit) are sent by the receiving
//! thread itself, which is what keeps the bridge fast at 0% loss; they only
//! take the delay line when something is already waiting in it, so an
//! in-order frame never overtakes one queued before it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::fin_echo::FinEcho;
use super::port::{self, Port};
use super::recorder::{Action, Sighting, Views};
use super::Direction;
use crate::lab::impair::{corrupt_frame, DelayLine, ImpairStats, Impairment, Verdict};

/// One clock for the whole bridge: monotonic nanoseconds for the model, mapped
/// to wall-clock time for the capture.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
    wall_start_ns: u64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// Starts the clock now.
    pub fn new() -> Self {
        let wall_start_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Clock {
            start: Instant::now(),
            wall_start_ns,
        }
    }

    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    pub fn wall_ns(&self, mono_ns: u64) -> u64 {
        self.wall_start_ns + mono_ns
    }
}

/// A frame waiting in the delay line.
struct Pending {
    index: u64,
    bytes: Vec<u8>,
    copies: u8,
    corrupt_at: Option<usize>,
    actions: Vec<Action>,
}

struct Queue {
    line: DelayLine<Pending>,
    closed: bool,
}

/// What both threads of a direction share.
struct Shared {
    direction: Direction,
    clock: Clock,
    tx: Arc<Port>,
    queue: Mutex<Queue>,
    wake: Condvar,
    record: Option<Sender<Sighting>>,
    send_errors: Mutex<(u64, Option<String>)>,
    echo: Option<Echo>,
    /// Frames put on this link from elsewhere ([`Inlet`]): duplicates.
    injected: AtomicU64,
}

impl Shared {
    /// Records a frame as the bridge received it (when the run records at all).
    fn record_arrival(
        &self,
        views: Views,
        now: u64,
        index: u64,
        frame: &[u8],
        actions: Vec<Action>,
    ) {
        if let Some(record) = &self.record {
            let _ = record.send(Sighting {
                views,
                ts_ns: self.clock.wall_ns(now),
                direction: self.direction,
                index,
                bytes: frame.to_vec(),
                actions,
            });
        }
    }

    /// Sends a frame out (all its copies), recording it if this direction is
    /// recorded on delivery (server→client: what reached the client).
    fn deliver(&self, mut p: Pending) {
        self.send_now(&mut p.bytes, p.copies, p.corrupt_at, p.index, &p.actions);
    }

    fn send_now(
        &self,
        bytes: &mut [u8],
        copies: u8,
        corrupt_at: Option<usize>,
        index: u64,
        actions: &[Action],
    ) {
        corrupt_frame(bytes, corrupt_at);
        // Stamped and handed to the recorder before sending: the receiving stack may
        // answer inside send (veth delivers synchronously), and the answer must not
        // come first, neither by its time nor by reaching the recorder first (this
        // thread can be preempted after sending for longer than the recorder waits
        // to sort).
        let ts_ns = self.clock.wall_ns(self.clock.now_ns());
        if self.direction == Direction::ServerToClient {
            if let Some(record) = &self.record {
                for copy in 0..copies {
                    let _ = record.send(Sighting {
                        views: Views::Client,
                        ts_ns,
                        direction: self.direction,
                        index,
                        bytes: bytes.to_vec(),
                        // The second copy is the duplicate.
                        actions: if copy == 0 {
                            actions.to_vec()
                        } else {
                            vec![Action::Duplicated]
                        },
                    });
                }
            }
        }
        for _ in 0..copies {
            if let Err(e) = self.tx.send(bytes) {
                let mut errors = self.send_errors.lock().expect("poisoned");
                errors.0 += 1;
                errors.1.get_or_insert_with(|| e.to_string());
            }
        }
        // After sending: a copy of the FIN leaves only once its ACK has gone.
        match &self.echo {
            Some(Echo::Keep(echo)) => echo.keep(bytes),
            Some(Echo::Release(echo, inlet)) => {
                if let Some(copy) = echo.release(bytes) {
                    inlet.send(copy);
                }
            }
            None => {}
        }
    }
}

/// A way into another direction's link: a frame put here travels it (its delay
/// included) as if that direction had received it.
pub struct Inlet {
    shared: Arc<Shared>,
    delay_ns: u64,
}

impl Inlet {
    /// Sends `bytes` down the link after its delay, noted as a duplicate.
    fn send(&self, bytes: Vec<u8>) {
        let at_ns = self.shared.clock.now_ns() + self.delay_ns;
        let mut q = self.shared.queue.lock().expect("poisoned");
        q.line.push(
            at_ns,
            Pending {
                index: 0,
                bytes,
                copies: 1,
                corrupt_at: None,
                actions: vec![Action::Duplicated],
            },
        );
        drop(q);
        self.shared.injected.fetch_add(1, Ordering::Relaxed);
        self.shared.wake.notify_one();
    }
}

/// What a direction does for [`FinEcho`]: server→client keeps the FIN it
/// forwards; client→server, having forwarded the ACK of it, puts the copy on
/// the server→client link.
pub enum Echo {
    Keep(Arc<FinEcho>),
    Release(Arc<FinEcho>, Inlet),
}

/// What one direction does to the frames it forwards.
pub struct Rules {
    /// The seeded impairments (loss, delay, …).
    pub model: Impairment,
    /// Drop every TCP segment, whatever the model says (a firewall's DROP rule).
    pub drop_tcp: bool,
    /// A delayed duplicate of the server's FIN (`time-wait-rst`).
    pub echo: Option<Echo>,
}

/// What a direction reports when it stops.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DirectionReport {
    pub stats: ImpairStats,
    /// Indices (1-based, among this direction's frames) of the frames dropped:
    /// a function of the seed alone, so two runs can be compared.
    pub dropped: Vec<u64>,
    pub send_errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// A running direction.
pub struct Forwarder {
    shared: Arc<Shared>,
    receiver: std::thread::JoinHandle<(ImpairStats, Vec<u64>, Option<String>)>,
    sender: std::thread::JoinHandle<()>,
}

impl Forwarder {
    /// Starts forwarding frames `rx` receives out of `tx`, through `rules`.
    pub fn start(
        direction: Direction,
        clock: Clock,
        rx: Arc<Port>,
        tx: Arc<Port>,
        rules: Rules,
        record: Option<Sender<Sighting>>,
        stop: Arc<AtomicBool>,
    ) -> Forwarder {
        let shared = Arc::new(Shared {
            direction,
            clock,
            tx,
            queue: Mutex::new(Queue {
                line: DelayLine::new(),
                closed: false,
            }),
            wake: Condvar::new(),
            record,
            send_errors: Mutex::new((0, None)),
            echo: rules.echo,
            injected: AtomicU64::new(0),
        });
        let recv_shared = Arc::clone(&shared);
        let receiver = std::thread::Builder::new()
            .name(format!("bridge-rx-{}", direction.short()))
            .spawn(move || {
                let shared = recv_shared;
                let (mut model, drop_tcp) = (rules.model, rules.drop_tcp);
                let mut batch = port::Batch::new();
                let mut index = 0u64;
                let mut dropped = Vec::new();
                let mut error = None;
                let mut rule_drops = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let n = match batch.recv(&rx) {
                        Ok(n) => n,
                        Err(e) if port::is_timeout(&e) => continue,
                        Err(e) => {
                            error = Some(e.to_string());
                            break;
                        }
                    };
                    let now = shared.clock.now_ns();
                    for i in 0..n {
                        // A frame longer than the buffer cannot be forwarded whole: it
                        // counts as seen and the model decides on its real length.
                        let (frame, len) = batch.frame(i);
                        index += 1;
                        // The model decides every frame, dropped by the rule or not:
                        // its random stream stays the seed's.
                        let mut verdict = model.decide(len, now);
                        if drop_tcp && is_tcp(frame) {
                            // Counted as dropped (the model delivered it).
                            if verdict != Verdict::Drop {
                                rule_drops += 1;
                            }
                            verdict = Verdict::Drop;
                        }
                        handle(&shared, index, frame, now, verdict, &mut dropped);
                    }
                }
                let mut stats = model.stats();
                stats.dropped += rule_drops;
                stats.delivered = stats.delivered.saturating_sub(rule_drops);
                (stats, dropped, error)
            })
            .expect("spawn bridge receiver");
        let send_shared = Arc::clone(&shared);
        let sender = std::thread::Builder::new()
            .name(format!("bridge-tx-{}", direction.short()))
            .spawn(move || release_due(&send_shared))
            .expect("spawn bridge sender");
        Forwarder {
            shared,
            receiver,
            sender,
        }
    }

    /// A way into this direction's link, for frames made elsewhere; they wait
    /// `delay_ns` like the frames it received.
    pub fn inlet(&self, delay_ns: u64) -> Inlet {
        Inlet {
            shared: Arc::clone(&self.shared),
            delay_ns,
        }
    }

    /// Waits for the receiver (the caller has set `stop`), lets every delayed
    /// frame out, and reports.
    pub fn finish(self) -> DirectionReport {
        let (stats, dropped, rx_error) = self
            .receiver
            .join()
            .unwrap_or_else(|_| (ImpairStats::default(), Vec::new(), Some("panicked".into())));
        {
            let mut q = self.shared.queue.lock().expect("poisoned");
            q.closed = true;
        }
        self.shared.wake.notify_all();
        let _ = self.sender.join();
        let (send_errors, send_error) = self.shared.send_errors.lock().expect("poisoned").clone();
        let mut stats = stats;
        stats.duplicated += self.shared.injected.load(Ordering::Relaxed);
        DirectionReport {
            stats,
            dropped,
            send_errors,
            first_error: rx_error.or(send_error),
        }
    }
}

/// An Ethernet frame carrying TCP over IPv4 or IPv6 (no IPv6 extension headers:
/// the lab's own stacks send none).
fn is_tcp(frame: &[u8]) -> bool {
    const TCP: u8 = 6;
    match frame.get(12..14) {
        Some([0x08, 0x00]) => frame.get(14 + 9) == Some(&TCP),
        Some([0x86, 0xdd]) => frame.get(14 + 6) == Some(&TCP),
        _ => false,
    }
}

fn handle(
    shared: &Shared,
    index: u64,
    frame: &mut [u8],
    now: u64,
    verdict: Verdict,
    dropped: &mut Vec<u64>,
) {
    let record_at_ingress = shared.direction == Direction::ClientToServer;
    let views = if record_at_ingress {
        Views::Both
    } else {
        Views::Link
    };
    let (at_ns, copies, corrupt_at, reordered) = match verdict {
        Verdict::Drop => {
            dropped.push(index);
            // A lost client→server frame was sent by the client (it is in the
            // client's view); a lost server→client frame only in the link record.
            shared.record_arrival(views, now, index, frame, vec![Action::Dropped]);
            return;
        }
        Verdict::Deliver {
            at_ns,
            copies,
            corrupt_at,
            reordered,
        } => (at_ns, copies, corrupt_at, reordered),
    };
    let mut actions = Vec::new();
    if copies > 1 {
        actions.push(Action::Duplicated);
    }
    if corrupt_at.is_some() {
        actions.push(Action::Corrupted);
    }
    if reordered {
        actions.push(Action::Reordered);
    }
    // As it arrived: one copy, uncorrupted, noted with what happens next.
    // Server→client frames enter the client's view later, when delivered.
    shared.record_arrival(views, now, index, frame, actions.clone());
    let mut q = shared.queue.lock().expect("poisoned");
    if at_ns <= now && (q.line.is_empty() || reordered) {
        drop(q);
        // The common case (no delay): straight from the receive buffer.
        shared.send_now(frame, copies, corrupt_at, index, &actions);
    } else {
        let was_next = q.line.next_due().is_none_or(|due| at_ns < due);
        q.line.push(
            at_ns,
            Pending {
                index,
                bytes: frame.to_vec(),
                copies,
                corrupt_at,
                actions,
            },
        );
        drop(q);
        if was_next {
            shared.wake.notify_one();
        }
    }
}

/// The sending thread: sleeps until the earliest queued frame is due.
fn release_due(shared: &Shared) {
    let mut q = shared.queue.lock().expect("poisoned");
    loop {
        let now = shared.clock.now_ns();
        if let Some(p) = q.line.pop_due(now) {
            drop(q);
            shared.deliver(p);
            q = shared.queue.lock().expect("poisoned");
            continue;
        }
        match q.line.next_due() {
            // Closing: frames still waiting are let out at their time, not dropped.
            Some(due) => {
                let wait = Duration::from_nanos(due.saturating_sub(now));
                q = shared.wake.wait_timeout(q, wait).expect("poisoned").0;
            }
            None if q.closed => return,
            None => q = shared.wake.wait(q).expect("poisoned"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_tcp;

    #[test]
    fn only_tcp_frames_are_tcp() {
        let mut v4 = vec![0u8; 54];
        v4[12..14].copy_from_slice(&[0x08, 0x00]);
        v4[23] = 6;
        assert!(is_tcp(&v4));
        v4[23] = 17;
        assert!(!is_tcp(&v4), "UDP");
        let mut v6 = vec![0u8; 74];
        v6[12..14].copy_from_slice(&[0x86, 0xdd]);
        v6[20] = 6;
        assert!(is_tcp(&v6));
        let mut arp = vec![0u8; 42];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        arp[23] = 6;
        assert!(!is_tcp(&arp), "ARP");
        assert!(!is_tcp(&[0u8; 10]), "a runt");
    }
}
