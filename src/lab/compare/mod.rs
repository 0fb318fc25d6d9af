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
    CompareReport, Gap, Latency, LevelResult, Recovery, TcpResult, UdpResult,
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
        progress(&format!(
            "loss {loss}%: TCP transfer of {}",
            plural(config.bytes, "byte", "bytes")
        ));
        let (tcp, tcp_bridge) = tcp_level(
            config,
            &dir,
            &payload,
            &payload_sha,
            loss,
            &impair,
            interrupted,
        )?;
        progress(&format!(
            "loss {loss}%: TCP {:.1}% delivered in {:.2} s, {}; UDP stream",
            tcp.delivered_percent,
            tcp.completion_s,
            plural(tcp.retransmissions, "retransmission", "retransmissions")
        ));
        let (udp, udp_bridge) = udp_level(config, &dir, loss, &impair)?;
        progress(&format!(
            "loss {loss}%: UDP {:.1}% delivered, {} lost",
            udp.delivered_percent, udp.lost
        ));
        let all = tcp_bridge.frames() + udp_bridge.frames();
        let loss_measured = if all == 0 {
            0.0
        } else {
            (tcp_bridge.dropped() + udp_bridge.dropped()) as f64 * 100.0 / all as f64
        };
        levels.push(LevelResult {
            loss_configured: loss,
            loss_measured,
            tcp,
            udp,
        });
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
    loss: f64,
    impair: &ImpairConfig,
    interrupted: &dyn Fn() -> bool,
) -> Result<(TcpResult, BridgeReport), CompareError> {
    let name = level_name(loss);
    let recv_dir = dir.join(format!("received-{name}"));
    let run_config = RunConfig {
        scenario: ScenarioName::FileTransfer,
        params: Params {
            file: Some(payload.to_path_buf()),
            bytes: config.bytes,
            recv_dir: recv_dir.clone(),
            ..Params::default()
        },
        port: None,
        out_dir: Some(dir.join(format!("tcp-{name}"))),
        timeout: config.timeout,
        command: format!(
            "protolab run file-transfer --bytes {} --netns --loss {loss} --delay {}ns --seed {}",
            config.bytes, impair.delay_ns, config.seed
        ),
        // Headers are what the ladders and counters need; 4 MiB × levels would be large.
        snaplen: Some(256),
        lang: config.lang,
        netns: Some(LinkSettings {
            impair: impair.clone(),
            seed: config.seed,
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
        fast_retransmissions: tcp.map_or(0, |t| t.fast_retransmissions),
        dup_acks: tcp.map_or(0, |t| t.dup_acks),
        loss_measured: bridge.loss_percent(),
        run_dir: relative(dir, &outcome.report_dir),
        capture: relative(dir, &outcome.capture_path),
        recovery: find_recovery(&outcome.capture_path, &bridge),
        error: outcome.scenario_error.clone(),
    };
    Ok((result, bridge))
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

/// The first fast retransmission in the capture, with the dropped segment
/// before it and the first duplicate ACK after that.
fn find_recovery(capture: &Path, bridge: &BridgeReport) -> Option<Recovery> {
    let dropped = client_drops(bridge);
    let mut reader = FileReader::open(capture).ok()?;
    let mut dup_acks: Vec<u64> = Vec::new();
    let mut found = None;
    let _ = replay(
        &mut reader,
        |frame, _packet, analysis| -> Result<Next, ()> {
            if analysis.flags.has(AnalysisFlags::DUPLICATE_ACK) {
                dup_acks.push(frame.number);
            }
            if analysis.flags.has(AnalysisFlags::FAST_RETRANSMISSION) {
                found = Some((frame.number, analysis.flow.unwrap_or(0)));
                return Ok(Next::Stop);
            }
            Ok(Next::Continue)
        },
        |_| Ok(()),
    );
    let (fast, flow) = found?;
    let lost = dropped.iter().copied().filter(|&f| f < fast).max()?;
    let between: Vec<u64> = dup_acks
        .iter()
        .copied()
        .filter(|&f| f > lost && f < fast)
        .collect();
    Some(Recovery {
        flow,
        lost_frame: lost,
        first_dup_ack_frame: *between.first()?,
        fast_retransmission_frame: fast,
        dup_acks: between.len() as u64,
    })
}

fn udp_level(
    config: &CompareConfig,
    dir: &Path,
    loss: f64,
    impair: &ImpairConfig,
) -> Result<(UdpResult, BridgeReport), CompareError> {
    let capture = dir.join(format!("udp-{}.pcapng", level_name(loss)));
    let net = LabNet::create()?;
    let bridge = Bridge::start(
        &BridgeConfig {
            client_if: net.client_peer.clone(),
            server_if: net.server_peer.clone(),
            c2s: impair.clone(),
            s2c: impair.clone(),
            seed: config.seed,
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
