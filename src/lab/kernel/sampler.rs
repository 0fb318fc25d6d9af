//! Sampling a socket table on a thread of its own while a run lasts: a
//! [`DiagSampler`] asks every millisecond (sock_diag, or `/proc/net/tcp` without
//! privileges) and folds the samples into timelines as they come.
//!
//! [`SamplerStats::max_gap_ns`] reports the resolution actually achieved: a loaded
//! machine stretches the interval. A caller that needs the sampler to have seen
//! something waits on [`DiagSampler::samples_taken`] rather than for a time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::proc_net::ProcProbe;
use super::sock_diag::DiagSocket;
use super::timeline::{SocketTimeline, TimelineBuilder};
use super::{realtime_ns, KernelError, Probe};

/// One sample per millisecond: CLOSE_WAIT and TIME_WAIT durations to ±1 ms.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(1);

/// Which socket table a [`DiagSampler`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleSource {
    /// Netlink sock_diag (fast, filtered in the kernel).
    #[default]
    SockDiag,
    /// `/proc/net/tcp{,6}` (the unprivileged fallback; slower: the kernel formats
    /// every socket of the namespace as text).
    Proc,
    /// sock_diag, or `/proc` if netlink cannot be used here.
    Auto,
}

/// How a sampling run went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SamplerStats {
    /// `"sock_diag"` or `"proc"`.
    pub source: &'static str,
    pub interval_ns: u64,
    pub samples: u64,
    /// Samples that failed (counted, logged, and skipped).
    pub errors: u64,
    pub last_error: Option<String>,
    /// The longest time between two successful samples: the resolution actually
    /// achieved (a loaded machine can stretch the interval).
    pub max_gap_ns: u64,
    pub started_ns: u64,
    pub stopped_ns: u64,
}

/// Samples the socket table on a thread of its own until stopped.
pub struct DiagSampler {
    stop_flag: Arc<AtomicBool>,
    /// Successful samples so far, readable while sampling goes on.
    taken: Arc<AtomicU64>,
    handle: Option<JoinHandle<(Vec<SocketTimeline>, SamplerStats)>>,
    source: &'static str,
}

impl std::fmt::Debug for DiagSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiagSampler")
            .field("source", &self.source)
            .field("running", &self.handle.is_some())
            .finish()
    }
}

impl DiagSampler {
    /// Samples through netlink sock_diag every `interval` ([`DEFAULT_INTERVAL`] is
    /// 1 ms). Opens the socket now, on the calling thread (so in its network namespace),
    /// and takes a first sample, so a failure is reported here rather than lost.
    pub fn start(ports: &[u16], interval: Duration) -> Result<DiagSampler, KernelError> {
        Self::start_with(ports, interval, SampleSource::SockDiag)
    }

    /// [`DiagSampler::start`] with a choice of socket table.
    pub fn start_with(
        ports: &[u16],
        interval: Duration,
        source: SampleSource,
    ) -> Result<DiagSampler, KernelError> {
        let probe: Box<dyn Probe> = match source {
            SampleSource::SockDiag => Box::new(DiagSocket::open(ports)?),
            SampleSource::Proc => Box::new(ProcProbe::open(ports)?),
            SampleSource::Auto => match DiagSocket::open(ports).and_then(|mut s| {
                s.sample(realtime_ns())?;
                Ok(s)
            }) {
                Ok(s) => Box::new(s),
                Err(e) => {
                    tracing::warn!("sock_diag unavailable ({e}); polling /proc/net/tcp instead");
                    Box::new(ProcProbe::open(ports)?)
                }
            },
        };
        Self::spawn(probe, interval)
    }

    pub(crate) fn spawn(
        mut probe: Box<dyn Probe>,
        interval: Duration,
    ) -> Result<DiagSampler, KernelError> {
        let source = probe.source();
        // Fail now, on the caller's thread, if the table cannot be read at all.
        let mut builder = TimelineBuilder::default();
        let first_ts = realtime_ns();
        builder.observe(first_ts, &probe.sample(first_ts)?);

        let stop_flag = Arc::new(AtomicBool::new(false));
        let taken = Arc::new(AtomicU64::new(1));
        let flag = Arc::clone(&stop_flag);
        let counter = Arc::clone(&taken);
        let handle = thread::Builder::new()
            .name(format!("sampler-{source}"))
            .spawn(move || sample_loop(probe, builder, first_ts, interval, &flag, &counter))
            .map_err(|source| KernelError::Spawn {
                what: "socket sampler",
                source,
            })?;
        Ok(DiagSampler {
            stop_flag,
            taken,
            handle: Some(handle),
            source,
        })
    }

    /// `"sock_diag"` or `"proc"`: what `SampleSource::Auto` settled on.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// How many samples have been taken so far (the first, taken by `start`, included).
    /// A sample that *began* after a moment `t` has surely been completed once this
    /// count has grown by two since `t`: that is how a caller waits until the sampler
    /// has seen a state, instead of guessing how long sampling takes.
    pub fn samples_taken(&self) -> u64 {
        self.taken.load(Ordering::SeqCst)
    }

    /// Takes a last sample, stops, and returns the timelines in order of first sighting.
    pub fn stop(self) -> Vec<SocketTimeline> {
        self.stop_with_stats().0
    }

    /// [`DiagSampler::stop`], with how the sampling went.
    pub fn stop_with_stats(mut self) -> (Vec<SocketTimeline>, SamplerStats) {
        self.finish()
    }

    fn finish(&mut self) -> (Vec<SocketTimeline>, SamplerStats) {
        self.stop_flag.store(true, Ordering::SeqCst);
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => (
                Vec::new(),
                SamplerStats {
                    source: self.source,
                    last_error: Some("the sampler thread panicked".to_string()),
                    ..SamplerStats::default()
                },
            ),
            None => (Vec::new(), SamplerStats::default()),
        }
    }
}

impl Drop for DiagSampler {
    fn drop(&mut self) {
        if self.handle.is_some() {
            let _ = self.finish();
        }
    }
}

fn sample_loop(
    mut probe: Box<dyn Probe>,
    mut builder: TimelineBuilder,
    first_ts: u64,
    interval: Duration,
    stop_flag: &AtomicBool,
    taken: &AtomicU64,
) -> (Vec<SocketTimeline>, SamplerStats) {
    let mut stats = SamplerStats {
        source: probe.source(),
        interval_ns: interval.as_nanos() as u64,
        samples: 1,
        started_ns: first_ts,
        ..SamplerStats::default()
    };
    let mut last_ok = first_ts;
    let mut next = Instant::now() + interval;
    loop {
        // Read the flag before sampling, so the last sample is taken after stop was
        // requested: the table at stop time is recorded.
        let stopping = stop_flag.load(Ordering::SeqCst);
        if !stopping {
            sleep_until(next, stop_flag);
        }
        let began = Instant::now();
        let ts = realtime_ns();
        match probe.sample(ts) {
            Ok(samples) => {
                builder.observe(ts, &samples);
                stats.samples += 1;
                taken.store(stats.samples, Ordering::SeqCst);
                stats.max_gap_ns = stats.max_gap_ns.max(ts.saturating_sub(last_ok));
                last_ok = ts;
            }
            Err(e) => {
                if stats.errors == 0 {
                    tracing::warn!("socket table sample failed: {e}");
                }
                stats.errors += 1;
                stats.last_error = Some(e.to_string());
            }
        }
        if stopping {
            stats.stopped_ns = ts;
            return (builder.finish(), stats);
        }
        // Keep to the schedule without catching up after a stall, and never spend more
        // than half the time sampling: a sample slower than half the interval (a huge
        // socket table, /proc's text) is followed by an equal pause, so the sampler
        // cannot take a whole CPU from the experiment it watches.
        let took = began.elapsed();
        next = (next + interval).max(Instant::now() + took);
    }
}

/// Sleeps until `deadline`, waking early when stop is requested (long intervals must
/// not delay stop).
fn sleep_until(deadline: Instant, stop_flag: &AtomicBool) {
    const SLICE: Duration = Duration::from_millis(10);
    loop {
        let now = Instant::now();
        if now >= deadline || stop_flag.load(Ordering::SeqCst) {
            return;
        }
        thread::sleep((deadline - now).min(SLICE));
    }
}

/// Starts sampling `/proc/net/tcp{,6}` every `interval`: a [`DiagSampler`] whose
/// timelines are marked `source = "proc"`. Needs no privilege.
pub fn poll_proc_net(ports: &[u16], interval: Duration) -> Result<DiagSampler, KernelError> {
    DiagSampler::spawn(Box::new(ProcProbe::open(ports)?), interval)
}
