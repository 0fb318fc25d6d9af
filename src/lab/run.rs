//! `protolab run SCENARIO`: one scenario as an observed experiment on loopback.
//!
//! Order matters and is the point of this file: the libpcap capture and the kernel
//! observers start *before* any socket of the scenario exists; then the server binds,
//! the clients run, and the run waits until the capture has seen the last FIN/ACK
//! (or a timeout). Everything stops cleanly — also on Ctrl-C — so the pcap is valid,
//! and the capture is analysed into the run's report folder.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::expect_check::{check_expectation, Mismatch};
use super::kernel_compare::{compare_kernel, KernelComparison};
use super::observers::{KernelObservations, KernelObservers};
use crate::analyze::{Analyzer, FlowSummary};
use crate::capture::{FileReader, LiveCapture, LiveConfig, LiveStats, RawFrame};
use crate::decode::decode;
use crate::replay::{replay, Next};
use crate::scenario::{self, Listener, Params, ScenarioName, Transport};
use crate::timestamp::{utc_stamp, Seconds};

/// Everything `run` needs, validated by the CLI.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub scenario: ScenarioName,
    pub params: Params,
    /// Server port; the scenario's default when `None`.
    pub port: Option<u16>,
    /// Root for the capture and the report; `captures/` and `reports/` when `None`.
    pub out_dir: Option<PathBuf>,
    /// Longest the run may take before it is stopped.
    pub timeout: Duration,
    /// The command line that reproduces the run, written to run.json.
    pub command: String,
    /// Bytes kept per captured frame (e.g. 128 for headers only); everything when `None`.
    pub snaplen: Option<i32>,
    /// Language of the lab report written into the run's folder.
    pub lang: crate::chart::Lang,
}

/// Why a run could not be carried out (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "port {port} on 127.0.0.1 is in use (another program, or a previous run's socket): \
         choose another with --port, or see who holds it with `ss -tanp 'sport = :{port}'`"
    )]
    PortInUse { port: u16 },
    #[error("cannot bind 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error(transparent)]
    Live(#[from] crate::capture::LiveError),
    #[error(transparent)]
    Capture(#[from] crate::capture::CaptureError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the scenario's runtime: {0}")]
    Runtime(std::io::Error),
}

/// What a run produced.
#[derive(Debug)]
pub struct RunOutcome {
    pub run_id: String,
    pub capture_path: PathBuf,
    pub report_dir: PathBuf,
    pub flows: Vec<FlowSummary>,
    pub mismatches: Vec<Mismatch>,
    pub kernel: KernelComparison,
    /// What the kernel observers could not do (e.g. no root: no tracepoint).
    pub kernel_warnings: Vec<String>,
    pub stats: LiveStats,
    pub interrupted: bool,
    pub scenario_error: Option<String>,
    pub notes: Vec<String>,
    /// The lab report's index.html, or why it could not be written.
    pub report: Result<PathBuf, String>,
}

/// run.json: enough to know what ran and to run it again.
#[derive(Serialize)]
struct RunRecord<'a> {
    run_id: &'a str,
    scenario: &'a str,
    command: &'a str,
    port: u16,
    clients: usize,
    started: Seconds,
    finished: Seconds,
    protolab_version: &'static str,
    kernel: String,
    capture: String,
    capture_stats: LiveStats,
    kernel_source: &'a str,
    interrupted: bool,
    expectation_met: bool,
    mismatches: Vec<&'a str>,
    scenario_error: Option<&'a str>,
    notes: &'a [String],
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Runs one scenario end to end. `interrupted` is polled; when it turns true the run
/// stops at once, still flushing the capture and writing what it has.
pub fn run(config: &RunConfig, interrupted: &dyn Fn() -> bool) -> Result<RunOutcome, RunError> {
    let info = scenario::info(config.scenario);
    let port = config.port.unwrap_or(info.default_port);
    let started = now_ns();
    let run_id = format!("{}-{}", info.id, utc_stamp(started));
    let (capture_path, report_dir) = match &config.out_dir {
        Some(dir) => (dir.join(&run_id).join("capture.pcap"), dir.join(&run_id)),
        None => (
            PathBuf::from("captures").join(format!("{run_id}.pcap")),
            PathBuf::from("reports").join(&run_id),
        ),
    };
    std::fs::create_dir_all(&report_dir).map_err(|source| RunError::Write {
        path: report_dir.clone(),
        source,
    })?;

    // 1. Observers first: the packet capture (its errors end the run before anything
    //    happened), then the kernel tracepoint and socket table.
    let filter = match info.transport {
        Transport::Tcp => format!("tcp port {port}"),
        Transport::Udp => format!("udp port {port}"),
    };
    let mut live = LiveConfig::new("lo", &filter);
    live.write_to = Some(capture_path.clone());
    if let Some(snaplen) = config.snaplen {
        live.snaplen = snaplen;
    }
    let (tx, rx) = channel();
    let capture = LiveCapture::start(live, Some(tx))?;
    let observers = KernelObservers::start(&[port]);

    // 2. The scenario itself, on a runtime of its own.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    let scenario_result =
        match runtime.block_on(run_scenario(config, port, info.transport, interrupted)) {
            Ok(notes) => Ok(notes),
            Err(Failure::Failed(e)) => Err(e),
            Err(Failure::Setup(e)) => {
                // Nothing ran: leave no half-made run behind.
                let _ = capture.stop();
                let _ = observers.stop();
                let _ = std::fs::remove_file(&capture_path);
                let _ = std::fs::remove_dir_all(&report_dir);
                return Err(e);
            }
        };
    let mut interrupted_now = interrupted();

    // 3. Wait until the capture has seen every connection finish (last FIN/ACK or RST).
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut watcher = Analyzer::new();
    if scenario_result.is_ok() && info.transport == Transport::Tcp {
        while !interrupted_now && Instant::now() < deadline {
            drain(&rx, &mut watcher);
            if watcher.all_tcp_finished() && watcher.active_flows() > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            interrupted_now = interrupted();
        }
    }
    // Give the socket table sampler a moment to see TIME_WAIT before stopping it.
    std::thread::sleep(Duration::from_millis(60));
    let stats = capture.stop()?;
    let kernel = observers.stop();
    drop(runtime);

    // 4. Analyse the capture file, exactly as `protolab flows` would.
    let flows = analyse(&capture_path)?;
    let expected = scenario::expectation(config.scenario, &config.params);
    let (scenario_error, notes) = match &scenario_result {
        Ok(notes) => (None, notes.clone()),
        Err(e) => (Some(e.clone()), Vec::new()),
    };
    let mut mismatches = check_expectation(&expected, &flows);
    if let Some(e) = &scenario_error {
        mismatches.insert(0, Mismatch(format!("the scenario failed: {e}")));
    }
    let comparison = compare_kernel(&flows, &kernel);
    write_reports(&report_dir, &flows, &kernel, &comparison)?;
    let record = RunRecord {
        run_id: &run_id,
        scenario: info.id,
        command: &config.command,
        port,
        clients: config.params.clients,
        started: Seconds(started),
        finished: Seconds(now_ns()),
        protolab_version: env!("CARGO_PKG_VERSION"),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        capture: capture_path.display().to_string(),
        capture_stats: stats,
        kernel_source: kernel.source,
        interrupted: interrupted_now,
        expectation_met: mismatches.is_empty(),
        mismatches: mismatches.iter().map(|m| m.0.as_str()).collect(),
        scenario_error: scenario_error.as_deref(),
        notes: &notes,
    };
    write_json(&report_dir.join("run.json"), &record)?;
    // The lab report reads the folder just written, exactly as `protolab report DIR` would.
    // A report that cannot be drawn does not undo the run: it is said, not fatal.
    let report = crate::report::load_input(&report_dir)
        .map_err(|e| e.to_string())
        .and_then(|input| {
            crate::report::write_report(&input, &report_dir, config.lang).map_err(|e| e.to_string())
        })
        .map(|files| files.index_html);
    Ok(RunOutcome {
        run_id,
        capture_path,
        report_dir,
        flows,
        mismatches,
        kernel: comparison,
        kernel_warnings: kernel.warnings.clone(),
        stats,
        interrupted: interrupted_now,
        scenario_error,
        notes,
        report,
    })
}

/// How a scenario can fail: before anything ran (exit 2), or while running (exit 1).
enum Failure {
    Setup(RunError),
    Failed(String),
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure::Failed(e)
    }
}

/// Binds the server, runs it and the clients; returns the clients' and server's notes.
async fn run_scenario(
    config: &RunConfig,
    port: u16,
    transport: Transport,
    interrupted: &dyn Fn() -> bool,
) -> Result<Vec<String>, Failure> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = bind(config.scenario, transport, addr)
        .await
        .map_err(Failure::Setup)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let params = config.params.clone();
    let name = config.scenario;
    let server =
        tokio::spawn(async move { scenario::serve(name, listener, &params, stop_rx).await });
    let clients = scenario::client(config.scenario, addr, &config.params);
    let timeout = tokio::time::sleep(config.timeout);
    tokio::pin!(clients, timeout);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let client_result = loop {
        tokio::select! {
            r = &mut clients => break r.map_err(|e| e.to_string()),
            _ = &mut timeout => break Err(format!("timed out after {:?}", config.timeout)),
            _ = tick.tick() => if interrupted() { break Err("interrupted".to_string()) },
        }
    };
    // The server finishes on its own once its clients are done; give it a moment, then stop it.
    let server_done = tokio::time::timeout(Duration::from_secs(2), async {
        let mut server = server;
        tokio::select! {
            r = &mut server => Some(r),
            _ = tokio::time::sleep(Duration::from_millis(1500)) => {
                let _ = stop_tx.send(true);
                server.await.ok().map(Ok)
            }
        }
    })
    .await;
    let report = client_result?;
    let mut notes = report.notes;
    match server_done {
        Ok(Some(Ok(Err(e)))) => return Err(Failure::Failed(format!("server: {e}"))),
        Ok(Some(Ok(Ok(server)))) => {
            notes.extend(server.log.into_iter().map(|l| format!("server: {l}")))
        }
        _ => {}
    }
    Ok(notes)
}

async fn bind(
    name: ScenarioName,
    transport: Transport,
    addr: SocketAddr,
) -> Result<Listener, RunError> {
    let port = addr.port();
    let in_use = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            RunError::PortInUse { port }
        } else {
            RunError::Bind { port, source }
        }
    };
    if name == ScenarioName::Refused {
        return Ok(Listener::None);
    }
    Ok(match transport {
        Transport::Tcp => Listener::Tcp(tokio::net::TcpListener::bind(addr).await.map_err(in_use)?),
        Transport::Udp => Listener::Udp(tokio::net::UdpSocket::bind(addr).await.map_err(in_use)?),
    })
}

fn drain(rx: &Receiver<RawFrame>, analyzer: &mut Analyzer) {
    while let Ok(frame) = rx.try_recv() {
        let packet = decode(&frame);
        analyzer.process_frame(&packet, &frame.bytes);
    }
}

fn analyse(path: &Path) -> Result<Vec<FlowSummary>, RunError> {
    let mut reader = FileReader::open(path)?;
    let replayed = replay(
        &mut reader,
        |_, _, _| -> Result<Next, RunError> { Ok(Next::Continue) },
        |_| Ok(()),
    )?;
    if let Some(e) = replayed.error {
        return Err(e.into());
    }
    Ok(replayed.analyzer.finish())
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), RunError> {
    let text = serde_json::to_string_pretty(value).expect("serialisable");
    std::fs::write(path, text + "\n").map_err(|source| RunError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn write_reports(
    dir: &Path,
    flows: &[FlowSummary],
    kernel: &KernelObservations,
    comparison: &KernelComparison,
) -> Result<(), RunError> {
    // flows.json is NDJSON, exactly `protolab flows --json` on the capture.
    let mut text = String::new();
    for f in flows {
        text.push_str(&serde_json::to_string(f).expect("serialisable"));
        text.push('\n');
    }
    std::fs::write(dir.join("flows.json"), text).map_err(|source| RunError::Write {
        path: dir.join("flows.json"),
        source,
    })?;
    #[derive(Serialize)]
    struct KernelRecord<'a> {
        #[serde(flatten)]
        observations: &'a KernelObservations,
        comparison: &'a KernelComparison,
    }
    write_json(
        &dir.join("kernel.json"),
        &KernelRecord {
            observations: kernel,
            comparison,
        },
    )
}
