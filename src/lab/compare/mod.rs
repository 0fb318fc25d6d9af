//! `protolab compare`: TCP and UDP carry the same bytes through the same
//! impairing bridge at several loss levels; the numbers and pictures show that
//! TCP delivers everything (and pays in time) while UDP loses what the link loses.
//!
//! Each level runs the file-transfer scenario through `protolab run --netns`
//! (its own lab report included), then a UDP probe stream through a fresh
//! bridge with the same settings and seed. The figures come from the endpoints
//! (the received file, the UDP receiver's counters) and from the captures (TCP
//! retransmissions); the loss the bridge measured is reported next to the
//! configured one.
//!
//! - [`crate::model::compare`] the figures, as report.json holds them.
//! - [`udp_stream`] the paced UDP probe stream and its receiver.

pub mod udp_stream;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::bridge::{Action, Bridge, BridgeConfig, BridgeReport, Direction};
use super::impair::{ImpairConfig, Loss};
use super::netns::{self, LabNet};
use super::run::{run as run_lab, LinkSettings, RunConfig, RunError};
use crate::analyze::udp_probe::ProbeHeader;
use crate::analyze::AnalysisFlags;
use crate::capture::FileReader;
use crate::decode::decode;
use crate::files::sha256_hex;
use crate::model::compare::{
    CompareReport, Gap, Latency, LevelResult, Recovery, RunResult, TcpResult, UdpResult,
};
use crate::output::words::plural;
use crate::replay::{replay, Next};
use crate::scenario::{Params, ScenarioName};
use crate::timestamp::utc_stamp;

/// UDP port of the probe stream (the file transfer keeps its scenario port).
pub const UDP_PORT: u16 = 5201;

/// What `compare` runs.
#[derive(Debug, Clone)]
pub struct CompareConfig {
    /// Loss levels, percent.
    pub levels: Vec<f64>,
    /// Everything but the loss, applied in each direction.
    pub impair: ImpairConfig,
    pub seed: u64,
    pub bytes: u64,
    /// The compare folder is created inside this one.
    pub out_dir: PathBuf,
    pub command: String,
    pub udp_rate_bps: u64,
    /// UDP payload per datagram, probe header included.
    pub datagram_len: usize,
    /// Longest a single TCP transfer may take.
    pub timeout: Duration,
    pub lang: crate::chart::Lang,
    /// Runs per level, seeds `seed`, `seed + 1`, …
    pub runs: u32,
    /// The TCP sender's congestion control; `None`: the system's default.
    pub congestion_control: Option<String>,
}

/// Why a comparison could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Netns(#[from] netns::NetnsError),
    #[error(transparent)]
    Bridge(#[from] super::bridge::BridgeError),
    #[error(transparent)]
    Stream(#[from] udp_stream::StreamError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("interrupted")]
    Interrupted,
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> CompareError + '_ {
    move |source| CompareError::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn wall_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// One run of one level: its loss, its seed and its name in file names.
struct Run {
    loss: f64,
    seed: u64,
    tag: String,
}

/// A level's name in file names: `0`, `2.5`, `10`.
fn level_name(loss: f64) -> String {
    format!("{loss}")
}

/// Runs every level; returns the report and the compare folder.
pub fn compare(
    config: &CompareConfig,
    interrupted: &dyn Fn() -> bool,
    progress: &dyn Fn(&str),
) -> Result<(CompareReport, PathBuf), CompareError> {
    // The lab network is the one thing that needs privileges: try it first, so a
    // comparison that cannot run says why and leaves no folder behind.
    LabNet::create()?.remove()?;
    let started = wall_secs();
    let dir = config
        .out_dir
        .join(format!("compare-{}", utc_stamp((started * 1e9) as u64)));
    std::fs::create_dir_all(&dir).map_err(write_err(&dir))?;
    let payload = dir.join(format!("payload-{}.bin", config.bytes));
    write_payload(&payload, config.bytes, config.seed).map_err(write_err(&payload))?;
    let payload_sha = sha256_hex(&payload).map_err(write_err(&payload))?;

    let mut levels = Vec::new();
    for &loss in &config.levels {
        if interrupted() {
            return Err(CompareError::Interrupted);
        }
        let impair = ImpairConfig {
            loss: if loss > 0.0 {
                Loss::Bernoulli { p: loss / 100.0 }
            } else {
                Loss::None
            },
            ..config.impair.clone()
        };
        let runs = config.runs.max(1);
        let mut results = Vec::new();
        for run in 0..runs {
            if interrupted() {
                return Err(CompareError::Interrupted);
            }
            let at = Run {
                loss,
                seed: config.seed + u64::from(run),
                // One run keeps the folder names of before; several number theirs.
                tag: if runs == 1 {
                    level_name(loss)
                } else {
                    format!("{}-run{}", level_name(loss), run + 1)
                },
            };
            let of = if runs == 1 {
                String::new()
            } else {
                format!(" (run {} of {runs}, seed {})", run + 1, at.seed)
            };
            progress(&format!(
                "loss {loss}%{of}: TCP transfer of {}",
                plural(config.bytes, "byte", "bytes")
            ));
            let (tcp, tcp_bridge) = tcp_level(
                config,
                &dir,
                &payload,
                &payload_sha,
                &at,
                &impair,
                interrupted,
            )?;
            progress(&format!(
                "loss {loss}%{of}: TCP {:.1}% delivered in {:.2} s, {} resent",
                tcp.delivered_percent,
                tcp.completion_s,
                plural(tcp.retransmissions_sender_view, "segment", "segments")
            ));
            progress(&format!("loss {loss}%{of}: UDP stream"));
            let (udp, udp_bridge) = udp_level(config, &dir, &at, &impair)?;
            progress(&format!(
                "loss {loss}%{of}: UDP {:.1}% delivered, {} lost",
                udp.delivered_percent, udp.lost
            ));
            let all = tcp_bridge.frames() + udp_bridge.frames();
            let loss_measured = if all == 0 {
                0.0
            } else {
                (tcp_bridge.dropped() + udp_bridge.dropped()) as f64 * 100.0 / all as f64
            };
            results.push(RunResult {
                seed: at.seed,
                loss_measured,
                tcp,
                udp,
            });
        }
        levels.extend(LevelResult::from_runs(loss, results));
    }
    let report = CompareReport {
        levels,
        seed: config.seed,
        command: config.command.clone(),
        bytes: config.bytes,
        delay_ms: config.impair.delay_ns as f64 / 1e6,
        jitter_ms: config.impair.jitter_ns as f64 / 1e6,
        started,
        protolab_version: env!("CARGO_PKG_VERSION").to_string(),
        congestion_control: config.congestion_control.clone(),
    };
    // report.json, report.md (PNG charts) and index.html (inline SVG).
    crate::files::write_compare_report(&report, &dir, config.lang).map_err(|e| {
        CompareError::Write {
            path: dir.clone(),
            source: std::io::Error::other(e.to_string()),
        }
    })?;
    // The received copies were only needed for the checksums.
    let _ = std::fs::remove_file(&payload);
    Ok((report, dir))
}

/// The payload: deterministic bytes from the seed (xorshift), so a rerun sends the same file.
fn write_payload(path: &Path, bytes: u64, seed: u64) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut left = bytes;
    while left > 0 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let chunk = x.to_le_bytes();
        let n = left.min(8) as usize;
        out.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    out.flush()
}

/// Length of the common prefix of two files (the bytes delivered intact, in order).
fn common_prefix(a: &Path, b: &Path) -> u64 {
    let (Ok(a), Ok(b)) = (std::fs::read(a), std::fs::read(b)) else {
        return 0;
    };
    a.iter().zip(&b).take_while(|(x, y)| x == y).count() as u64
}

fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

#[allow(clippy::too_many_arguments)]
fn tcp_level(
    config: &CompareConfig,
    dir: &Path,
    payload: &Path,
    payload_sha: &str,
    at: &Run,
    impair: &ImpairConfig,
    interrupted: &dyn Fn() -> bool,
) -> Result<(TcpResult, BridgeReport), CompareError> {
    let (name, loss) = (&at.tag, at.loss);
    let recv_dir = dir.join(format!("received-{name}"));
    let run_config = RunConfig {
        scenario: ScenarioName::FileTransfer,
        params: Params {
            file: Some(payload.to_path_buf()),
            bytes: config.bytes,
            recv_dir: recv_dir.clone(),
            congestion_control: config.congestion_control.clone(),
            ..Params::default()
        },
        port: None,
        out_dir: Some(dir.join(format!("tcp-{name}"))),
        timeout: config.timeout,
        command: format!(
            "protolab run file-transfer --bytes {} --netns --loss {loss} --delay {}ns --seed {}{}",
            config.bytes,
            impair.delay_ns,
            at.seed,
            config
                .congestion_control
                .as_ref()
                .map_or(String::new(), |cc| format!(" --cc {cc}"))
        ),
        // Headers are what the ladders and counters need; 4 MiB × levels would be large.
        snaplen: Some(256),
        lang: config.lang,
        netns: Some(LinkSettings {
            impair: impair.clone(),
            seed: at.seed,
        }),
    };
    let outcome = run_lab(&run_config, interrupted)?;
    if outcome.interrupted {
        return Err(CompareError::Interrupted);
    }
    let bridge = outcome
        .bridge
        .clone()
        .unwrap_or_else(|| unreachable!("netns run"));
    let received = recv_dir.join(payload.file_name().expect("file name"));
    let received_sha = sha256_hex(&received).ok();
    let sha256_match = received_sha.as_deref() == Some(payload_sha);
    let delivered_bytes = if sha256_match {
        config.bytes
    } else {
        common_prefix(payload, &received)
    };
    let _ = std::fs::remove_dir_all(&recv_dir);
    let flow = outcome
        .flows
        .iter()
        .filter(|f| f.proto == "tcp")
        .max_by_key(|f| f.bytes.client + f.bytes.server);
    let completion_s = flow.map_or(0.0, |f| f.duration.0 as f64 / 1e9);
    let tcp = flow.and_then(|f| f.tcp.as_ref());
    let scan = scan_capture(&outcome.capture_path, &bridge);
    // The kernel's view of the client's socket: its resends and its timeouts.
    let (kernel_buffers, rto, srtt_ms) = match flow {
        Some(f) => {
            let k = &outcome.kernel_tcp;
            let changes = k.cong_changes(f.client, f.server);
            let rto = k.tcp_trace.traced.then(|| rto_summary(&changes));
            let srtt = k
                .probes(f.client, f.server)
                .last()
                .map(|p| f64::from(p.srtt_us) / 1e3);
            (k.retransmissions(f.client, f.server), rto, srtt)
        }
        None => (None, None, None),
    };
    let kernel_segments = flow.and_then(|f| {
        outcome
            .kernel_tcp
            .retransmitted_segments(f.client, f.server)
    });
    let rtt_ms = srtt_ms.or_else(|| tcp.and_then(|t| t.rtt_ms.mean.or(t.rtt_ms.handshake)));
    let result = TcpResult {
        delivered_percent: if config.bytes == 0 {
            100.0
        } else {
            delivered_bytes as f64 * 100.0 / config.bytes as f64
        },
        delivered_bytes,
        sha256_match,
        completion_s,
        goodput_mbps: if completion_s > 0.0 {
            delivered_bytes as f64 * 8.0 / completion_s / 1e6
        } else {
            0.0
        },
        retransmissions: tcp.map_or(0, |t| t.retransmissions),
        retransmissions_sender_view: tcp.map_or(0, |t| t.retransmitted_segments_sender_view.client),
        retransmissions_kernel: kernel_buffers,
        retransmissions_kernel_segments: kernel_segments,
        dropped_data_frames: scan.dropped_data_frames,
        spurious_retransmissions: scan.spurious,
        rto_count: rto.map(|r| r.0),
        rto_time_s: rto.map(|r| r.1),
        rtt_ms,
        mss: (scan.mss > 0).then_some(scan.mss),
        fast_retransmissions: tcp.map_or(0, |t| t.fast_retransmissions),
        dup_acks: tcp.map_or(0, |t| t.dup_acks),
        loss_measured: bridge.loss_percent(),
        run_dir: relative(dir, &outcome.report_dir),
        capture: relative(dir, &outcome.capture_path),
        recovery: scan.recovery,
        error: outcome.scenario_error.clone(),
    };
    Ok((result, bridge))
}

/// Timeouts from the kernel's congestion states: how many times the socket
/// entered Loss (a retransmission timeout), and how long it stayed there, s.
fn rto_summary(changes: &[crate::model::tcp_dynamics::CongStateChange]) -> (u64, f64) {
    use crate::model::tcp_dynamics::CongState;
    let mut count = 0;
    let mut ns = 0u64;
    for (i, c) in changes.iter().enumerate() {
        if c.state == CongState::Loss {
            count += 1;
            if let Some(next) = changes.get(i + 1) {
                ns += next.ts_ns.saturating_sub(c.ts_ns);
            }
        }
    }
    (count, ns as f64 / 1e9)
}

/// Capture frames of the client's frames the bridge dropped, in order.
fn client_drops(bridge: &BridgeReport) -> Vec<u64> {
    bridge
        .notes
        .iter()
        .filter(|n| {
            n.direction == Direction::ClientToServer && n.actions.contains(&Action::Dropped)
        })
        .filter_map(|n| n.frame)
        .collect()
}

/// What one pass over a level's TCP capture finds, with the bridge's drops.
#[derive(Debug, Default)]
struct CaptureScan {
    dropped_data_frames: u64,
    spurious: u64,
    mss: u64,
    recovery: Option<Recovery>,
    /// Dropped data segments still waiting for their resend.
    waiting: Vec<Dropped>,
    /// (flow, frame) of the server's duplicate ACKs.
    dup_acks: Vec<(u64, u64)>,
    /// The next sequence number after the highest sent, per flow: a segment
    /// starting below it is a resend.
    next_seq: std::collections::HashMap<u64, u32>,
}

/// One dropped data segment of the client, waiting for its resend.
#[derive(Debug, Clone, Copy)]
struct Dropped {
    frame: u64,
    flow: u64,
    seq: u32,
    len: u32,
}

impl CaptureScan {
    /// A duplicate ACK from the server.
    fn dup_ack(&mut self, flow: u64, frame: u64) {
        self.dup_acks.push((flow, frame));
    }

    /// A segment of the client taking sequence space (relative `seq`, `len` =
    /// its payload plus one for a SYN or a FIN, as the analysis counts resends),
    /// `dropped` by the bridge or not, flagged a fast retransmission or not.
    ///
    /// A resend repairs the oldest dropped copy of the same sequence number
    /// (a resend with none waiting is spurious); the first fast retransmission
    /// that repairs one is the recovery close-up, paired with *that* dropped
    /// frame, whatever other frames were dropped in between.
    fn data(&mut self, flow: u64, frame: u64, seq: u32, len: u32, dropped: bool, fast: bool) {
        let high = self.next_seq.entry(flow).or_insert(0);
        let resend = seq < *high;
        *high = (*high).max(seq.wrapping_add(len));
        if resend {
            let repaired = self
                .waiting
                .iter()
                .position(|d| d.flow == flow && d.seq <= seq && seq < d.seq + d.len.max(1));
            match repaired {
                Some(i) => {
                    let lost = self.waiting.remove(i);
                    if self.recovery.is_none() && fast {
                        self.pair(lost, frame, seq);
                    }
                }
                None => self.spurious += 1,
            }
        }
        if dropped {
            self.dropped_data_frames += 1;
            self.waiting.push(Dropped {
                frame,
                flow,
                seq,
                len,
            });
        }
    }

    /// The close-up: the lost frame, its fast retransmission and the duplicate
    /// ACKs in between (none: no close-up, the resend came from elsewhere).
    fn pair(&mut self, lost: Dropped, fast: u64, seq: u32) {
        let between: Vec<u64> = self
            .dup_acks
            .iter()
            .filter(|(f, n)| *f == lost.flow && *n > lost.frame && *n < fast)
            .map(|(_, n)| *n)
            .collect();
        if let Some(&first) = between.first() {
            self.recovery = Some(Recovery {
                flow: lost.flow,
                lost_frame: lost.frame,
                first_dup_ack_frame: first,
                fast_retransmission_frame: fast,
                dup_acks: between.len() as u64,
                seq,
            });
        }
    }
}

/// Goes through the capture once (the capture point is the client's side of
/// the bridge: every segment the client sent is in it, dropped or not), feeding
/// a [`CaptureScan`].
fn scan_capture(capture: &Path, bridge: &BridgeReport) -> CaptureScan {
    let dropped: std::collections::HashSet<u64> = client_drops(bridge).into_iter().collect();
    let mut scan = CaptureScan::default();
    let Ok(mut reader) = FileReader::open(capture) else {
        return scan;
    };
    let _ = replay(
        &mut reader,
        |frame, packet, analysis| -> Result<Next, ()> {
            let (Some(tcp), Some(flow)) = (packet.tcp(), analysis.flow) else {
                return Ok(Next::Continue);
            };
            if analysis.sender != Some(crate::analyze::Role::Client) {
                if analysis.flags.has(AnalysisFlags::DUPLICATE_ACK) {
                    scan.dup_ack(flow, frame.number);
                }
            } else if let (Some(seq), false) = (analysis.rel_seq, tcp.flags.rst()) {
                scan.mss = scan.mss.max(u64::from(tcp.len));
                let len = tcp.len + u32::from(tcp.flags.syn()) + u32::from(tcp.flags.fin());
                if len == 0 {
                    return Ok(Next::Continue);
                }
                scan.data(
                    flow,
                    frame.number,
                    seq,
                    len,
                    dropped.contains(&frame.number),
                    analysis.flags.has(AnalysisFlags::FAST_RETRANSMISSION),
                );
            }
            Ok(Next::Continue)
        },
        |_| Ok(()),
    );
    scan
}

fn udp_level(
    config: &CompareConfig,
    dir: &Path,
    at: &Run,
    impair: &ImpairConfig,
) -> Result<(UdpResult, BridgeReport), CompareError> {
    let capture = dir.join(format!("udp-{}.pcapng", at.tag));
    let net = LabNet::create()?;
    let bridge = Bridge::start(
        &BridgeConfig {
            client_if: net.client_peer.clone(),
            server_if: net.server_peer.clone(),
            c2s: impair.clone(),
            s2c: impair.clone(),
            seed: at.seed,
            capture: Some(capture.clone()),
            snaplen: Some(256),
            drop_tcp_to_server: false,
            echo_server_fin: false,
        },
        None,
    )?;
    let one_way = Duration::from_nanos(impair.delay_ns + impair.jitter_ns);
    let stream = udp_stream::run(&udp_stream::StreamConfig {
        client_ns: net.client_ns.clone(),
        server_ns: net.server_ns.clone(),
        server: SocketAddr::new(netns::SERVER_V4.parse().expect("address"), UDP_PORT),
        bytes: config.bytes,
        datagram_len: config.datagram_len,
        rate_bps: config.udp_rate_bps,
        linger: one_way * 2 + Duration::from_millis(300),
    });
    let report = bridge.stop();
    net.remove()?;
    let bridge_json = capture.with_extension("bridge.json");
    std::fs::write(
        &bridge_json,
        serde_json::to_string_pretty(&report).expect("serialisable") + "\n",
    )
    .map_err(write_err(&bridge_json))?;
    let stream = stream?;
    let c = &stream.counter;
    let distinct = c.received.saturating_sub(c.duplicates);
    let stats = c.stats();
    let latency = stats.latency_ms.map_or(Latency::default(), |l| Latency {
        p50: l.p50,
        p99: l.p99,
        min: l.min,
        max: l.max,
    });
    let secs = stream.duration.as_secs_f64();
    let result = UdpResult {
        delivered_percent: if stream.sent == 0 {
            100.0
        } else {
            distinct.min(stream.sent) as f64 * 100.0 / stream.sent as f64
        },
        sent: stream.sent,
        received: c.received,
        // The sender's count is known here, so losses at the end count too
        // (iperf3 learns it over its control connection).
        lost: stream.sent.saturating_sub(distinct),
        out_of_order: c.out_of_order,
        duplicates: c.duplicates,
        jitter_ms: stats.jitter_ms,
        latency_ms: latency,
        latency_samples_ms: stream.latency_samples_ms,
        goodput_mbps: if secs > 0.0 {
            stream.delivered_bytes as f64 * 8.0 / secs / 1e6
        } else {
            0.0
        },
        duration_s: secs,
        loss_measured: report.loss_percent(),
        capture: relative(dir, &capture),
        first_gap: first_gap(&capture, &report),
    };
    Ok((result, report))
}

/// The first probe datagram the bridge dropped, found in the client's view.
fn first_gap(capture: &Path, bridge: &BridgeReport) -> Option<Gap> {
    let frames = client_drops(bridge);
    let first = *frames.first()?;
    for frame in FileReader::open(capture).ok()? {
        let frame = frame.ok()?;
        if frame.number < first || !frames.contains(&frame.number) {
            continue;
        }
        let packet = decode(&frame);
        let payload = frame.bytes.get(packet.payload.clone()).unwrap_or_default();
        if let Some(h) = ProbeHeader::decode(payload) {
            return Some(Gap {
                seq: h.seq,
                frame: frame.number,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::CaptureScan;

    /// The case a teacher found: frames 38 and 57 were dropped, and the first
    /// fast retransmission (frame 75) resends frame 38's bytes, not 57's: the
    /// close-up pairs 75 with 38 (it used to take the latest drop before it).
    #[test]
    fn a_fast_retransmission_pairs_with_the_drop_of_the_same_sequence() {
        let mut scan = CaptureScan::default();
        let mss = 1448;
        let seq_of = |frame: u64| 1 + (frame as u32 - 10) * mss;
        for frame in 10..=70u64 {
            scan.data(
                1,
                frame,
                seq_of(frame),
                mss,
                frame == 38 || frame == 57,
                false,
            );
        }
        for frame in 71..=74 {
            scan.dup_ack(1, frame);
        }
        scan.data(1, 75, seq_of(38), mss, false, true);
        scan.data(1, 76, seq_of(57), mss, false, true);
        let rec = scan.recovery.as_ref().expect("a recovery");
        assert_eq!(
            (rec.lost_frame, rec.fast_retransmission_frame, rec.seq),
            (38, 75, seq_of(38))
        );
        assert_eq!((rec.first_dup_ack_frame, rec.dup_acks), (71, 4));
        assert_eq!(scan.dropped_data_frames, 2);
        assert_eq!(scan.spurious, 0, "both resends repaired a drop");
        assert!(scan.waiting.is_empty());
        // A resend of bytes that arrived is spurious.
        scan.data(1, 80, 1, mss, false, false);
        assert_eq!(scan.spurious, 1);
        assert_eq!(scan.spurious, 1);
    }
}
