//! `protolab run SCENARIO`: one scenario as an observed experiment on loopback.
//!
//! Order matters and is the point of this file: the libpcap capture and the kernel
//! observers start *before* any socket of the scenario exists; then the server binds,
//! the clients run, and the run waits until the capture has seen the last FIN/ACK
//! (or a timeout). Everything stops cleanly — also on Ctrl-C — so the pcap is valid,
//! and the capture is analysed into the run's report folder.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::bridge::{Bridge, BridgeConfig, BridgeReport};
use super::expect_check::{check_expectation, Mismatch};
use super::impair::ImpairConfig;
use super::netns::{self, LabNet};
use super::observers::{KernelObservations, KernelObservers};
use crate::analyze::{FlowSummary, TcpState};
use crate::capture::{FileReader, LiveCapture, LiveConfig, LiveFrames, LiveStats, RawFrame};
use crate::lab::kernel::realtime_ns;
use crate::model::kernel::{compare_kernel, KernelComparison};
use crate::replay::{replay, Next, Pipeline};
use crate::scenario::{self, Gate, Listener, Params, ScenarioName, Transport, CROSSING_DELAY};
use crate::timestamp::{utc_stamp, Seconds};

/// Everything `run` needs, validated by the CLI.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub scenario: ScenarioName,
    pub params: Params,
    /// Server port; the scenario's default when `None`, a free port when 0.
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
    /// Run in the two-namespace lab through the bridge instead of on loopback.
    pub netns: Option<LinkSettings>,
}

/// The bridge's settings for a `--netns` run: the same impairments in each
/// direction (each with its own random stream derived from `seed`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkSettings {
    pub impair: ImpairConfig,
    pub seed: u64,
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
    #[error(transparent)]
    Netns(#[from] netns::NetnsError),
    #[error(transparent)]
    Bridge(#[from] super::bridge::BridgeError),
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
    /// What the bridge did (`--netns` runs).
    pub bridge: Option<BridgeReport>,
    /// The kernel's congestion control during the run (kernel.json's tcp sections).
    pub kernel_tcp: crate::model::tcp_dynamics::KernelTcp,
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
    /// `loopback`, or `netns` (the two-namespace lab through the bridge).
    network: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<LinkRecord>,
}

/// The bridge's settings and what it measured, in run.json.
#[derive(Serialize)]
struct LinkRecord {
    seed: u64,
    loss: String,
    delay_ms: f64,
    jitter_ms: f64,
    loss_configured_percent: f64,
    loss_measured_percent: f64,
    frames: u64,
    dropped: u64,
}

/// Runs one scenario end to end. `interrupted` is polled; when it turns true the run
/// stops at once, still flushing the capture and writing what it has.
pub fn run(config: &RunConfig, interrupted: &dyn Fn() -> bool) -> Result<RunOutcome, RunError> {
    let info = scenario::info(config.scenario);
    let port = match config.port.unwrap_or(info.default_port) {
        0 => free_port(info.transport).map_err(|source| RunError::Bind { port: 0, source })?,
        port => port,
    };
    // The network: loopback, or the lab's namespaces when asked for or when the
    // scenario needs them (see `link_for`).
    let link = link_for(config);
    let needs = scenario::link_needs(config.scenario);
    let started = realtime_ns();
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
    //    happened), then the kernel tracepoint and socket table. In the namespace lab
    //    the bridge is the capture: it sees every frame on the link.
    let (tx, rx) = channel();
    let (recording, capture_path) = match &link {
        None => {
            let filter = match info.transport {
                Transport::Tcp => format!("tcp port {port}"),
                Transport::Udp => format!("udp port {port}"),
            };
            let mut live = LiveConfig::new("lo", &filter);
            live.write_to = Some(capture_path.clone());
            if let Some(snaplen) = config.snaplen {
                live.snaplen = snaplen;
            }
            (
                Recording::Live(LiveCapture::start(live, Some(tx))?),
                capture_path,
            )
        }
        Some(link) => {
            let capture_path = capture_path.with_extension("pcapng");
            let net = LabNet::create()?;
            for (name, value) in needs.map_or(&[][..], |n| n.client_sysctls) {
                net.set_client_sysctl(name, value)?;
            }
            let bridge = Bridge::start(
                &BridgeConfig {
                    client_if: net.client_peer.clone(),
                    server_if: net.server_peer.clone(),
                    c2s: link.impair.clone(),
                    s2c: link.impair.clone(),
                    seed: link.seed,
                    capture: Some(capture_path.clone()),
                    snaplen: config.snaplen.map(|n| n.max(0) as usize),
                    drop_tcp_to_server: needs.is_some_and(|n| n.drop_tcp_to_server),
                    echo_server_fin: needs.is_some_and(|n| n.echo_server_fin),
                },
                Some(tx),
            )?;
            (
                Recording::Bridge {
                    net,
                    bridge: Box::new(bridge),
                },
                capture_path,
            )
        }
    };
    let observers = match &recording {
        Recording::Live(_) => KernelObservers::start(&[port]),
        Recording::Bridge { net, .. } => {
            KernelObservers::start_in(&[port], &[net.client_ns.clone(), net.server_ns.clone()])
        }
    };
    let server_ip: IpAddr = match &recording {
        Recording::Live(_) => Ipv4Addr::LOCALHOST.into(),
        Recording::Bridge { .. } => netns::SERVER_V4.parse().expect("valid address"),
    };

    // 2. The scenario itself, on runtimes of its own: in the namespace lab one per
    //    namespace, so every socket the server or the clients open is born there.
    let runtimes = match Runtimes::new(&recording) {
        Ok(r) => r,
        Err(e) => {
            let _ = recording.stop();
            let _ = observers.stop();
            return Err(RunError::Runtime(e));
        }
    };
    let server_addr = SocketAddr::new(server_ip, port);
    let client_ip = match &recording {
        Recording::Live(_) => None,
        Recording::Bridge { .. } => Some(netns::CLIENT_V4.parse().expect("valid address")),
    };
    let scenario_result = match runtimes.client().block_on(run_scenario(
        config,
        server_addr,
        client_ip,
        info.transport,
        interrupted,
        &runtimes,
    )) {
        Ok(ran) => Ok(ran),
        Err(Failure::Failed(e)) => Err(e),
        Err(Failure::Setup(e)) => {
            // Nothing ran: leave no half-made run behind.
            let _ = recording.stop();
            let _ = observers.stop();
            let _ = std::fs::remove_file(&capture_path);
            let _ = std::fs::remove_dir_all(&report_dir);
            return Err(e);
        }
    };
    let mut interrupted_now = interrupted();

    // 3. Wait until the capture has seen every connection finish (last FIN/ACK or
    //    RST). Through the bridge, the client's last ACK may still be on its way (or
    //    lost, and the server's FIN due again after a retransmission timeout): wait
    //    until the link has also been quiet for a while.
    let (quiet_for, patience) = match &link {
        None => (Duration::ZERO, Duration::from_secs(3)),
        Some(link) => {
            let round_trip = Duration::from_nanos(link.impair.delay_ns + link.impair.jitter_ns) * 2;
            if link.impair.loss.expected_loss() > 0.0 {
                // Linux's minimum retransmission timeout is 200 ms.
                (
                    round_trip + Duration::from_millis(450),
                    Duration::from_secs(15),
                )
            } else {
                (
                    round_trip + Duration::from_millis(20),
                    Duration::from_secs(5),
                )
            }
        }
    };
    let deadline = Instant::now() + patience;
    let mut watcher = Pipeline::new();
    let mut last_frame = Instant::now();
    if scenario_result.is_ok() && info.transport == Transport::Tcp {
        while !interrupted_now && Instant::now() < deadline {
            if drain(&rx, &mut watcher) > 0 {
                last_frame = Instant::now();
            }
            // The clients have returned: a connect nobody answered is over too.
            if watcher.analyzer.all_tcp_finished_or_unanswered()
                && watcher.analyzer.active_flows() > 0
                && last_frame.elapsed() >= quiet_for
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            interrupted_now = interrupted();
        }
    }
    // Let the socket table sampler see TIME_WAIT before stopping it.
    observers.wait_for_fresh_samples(Duration::from_secs(2));
    let mut kernel = observers.stop();
    // The senders' own counters sit beside what the tracepoints saw of them.
    if let Ok(ran) = &scenario_result {
        kernel.tcp.tcp_info.clone_from(&ran.tcp_info);
    }
    drop(runtimes);
    let (stats, bridge) = recording.stop()?;

    // 4. Analyse the capture file, exactly as `protolab flows` would.
    let flows = analyse(&capture_path)?;
    let mut expected = scenario::expectation(config.scenario, &config.params);
    if let (Some(b), Some((to_server, back))) = (&bridge, expected.udp_datagrams) {
        // The client's view holds every datagram the client sent, but only the
        // answers that got through: UDP does not resend what the bridge dropped
        // (either the request or its answer).
        expected.udp_datagrams = Some((to_server, back.saturating_sub(b.dropped())));
    }
    let (scenario_error, mut notes) = match &scenario_result {
        Ok(ran) => (None, ran.notes.clone()),
        Err(e) => (Some(e.clone()), Vec::new()),
    };
    if config.scenario.crosses() {
        if let Some(link) = &link {
            notes.insert(
                0,
                format!(
                    "the bridge delays every frame by {} ms each way, and each side acts once \
                     the other's segment has left: the segments cross in flight",
                    link.impair.delay_ns / 1_000_000
                ),
            );
        }
    }
    let mut mismatches = check_expectation(&expected, &flows);
    if let Some(e) = &scenario_error {
        mismatches.insert(0, Mismatch(format!("the scenario failed: {e}")));
    }
    let comparison = compare_kernel(&flows, &kernel.record());
    if expected.kernel_confirms {
        mismatches.extend(kernel_confirmation(&comparison, expected.connections.len()));
    }
    if comparison.unavailable.is_none() {
        mismatches.extend(kernel_only_confirmation(&expected, &comparison));
    }
    write_reports(&report_dir, &flows, &kernel, &comparison)?;
    let record = RunRecord {
        run_id: &run_id,
        scenario: info.id,
        command: &config.command,
        port,
        clients: config.params.clients,
        started: Seconds(started),
        finished: Seconds(realtime_ns()),
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
        network: if bridge.is_some() {
            "netns"
        } else {
            "loopback"
        },
        link: link
            .as_ref()
            .zip(bridge.as_ref())
            .map(|(link, b)| LinkRecord {
                seed: link.seed,
                loss: link.impair.loss.spec(),
                delay_ms: link.impair.delay_ns as f64 / 1e6,
                jitter_ms: link.impair.jitter_ns as f64 / 1e6,
                loss_configured_percent: link.impair.loss.expected_loss() * 100.0,
                loss_measured_percent: b.loss_percent(),
                frames: b.frames(),
                dropped: b.dropped(),
            }),
    };
    write_json(&report_dir.join("run.json"), &record)?;
    if let Some(b) = &bridge {
        write_json(&report_dir.join("bridge.json"), b)?;
    }
    // The lab report reads the folder just written, exactly as `protolab report DIR` would.
    // A report that cannot be drawn does not undo the run: it is said, not fatal.
    let report = crate::files::load_input(&report_dir)
        .map_err(|e| e.to_string())
        .and_then(|input| {
            crate::files::write_report(&input, &report_dir, config.lang).map_err(|e| e.to_string())
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
        bridge,
        kernel_tcp: kernel.tcp.clone(),
    })
}

/// The link a run uses: the one asked for, if any. A scenario that needs the lab
/// network (a link that drops the SYNs, or echoes a FIN) picks it by itself, with
/// a clean link (or its least delay) unless impairments were asked for; a scenario whose segments must cross in
/// flight runs in the namespace lab whatever was asked, with at least
/// [`CROSSING_DELAY`] each way (loopback delivers in microseconds: no crossing).
fn link_for(config: &RunConfig) -> Option<LinkSettings> {
    let needs = scenario::link_needs(config.scenario);
    let least = if config.scenario.crosses() {
        CROSSING_DELAY
    } else {
        match needs {
            Some(n) => n.least_delay,
            None => return config.netns.clone(),
        }
    };
    let mut link = config.netns.clone().unwrap_or_default();
    link.impair.delay_ns = link.impair.delay_ns.max(least.as_nanos() as u64);
    Some(link)
}

/// For a scenario whose states only the kernel can vouch for (a timer's arc): the
/// kernel's tracepoint must have seen every expected connection. (That the states
/// agree, socket by socket, is `KernelComparison::agree`, required of every run.)
fn kernel_confirmation(comparison: &KernelComparison, expected: usize) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(why) = &comparison.unavailable {
        out.push(Mismatch(format!(
            "the kernel must confirm this scenario's states, but it could not be read: {why} \
             (run as root)"
        )));
    } else if !comparison.source.contains("tracepoint") {
        out.push(Mismatch(format!(
            "the kernel must confirm this scenario's states with its tracepoint \
             sock:inet_sock_set_state, but only {} was read (run as root, with tracefs)",
            comparison.source
        )));
    } else if comparison.connections.len() != expected {
        out.push(Mismatch(format!(
            "the kernel's tracepoint compared {} connections, the scenario expects {expected}",
            comparison.connections.len()
        )));
    }
    out
}

/// The arcs no packet shows, which the expectation lists: the kernel must have
/// taken each, right after the packets' path ended (a "kernel only" row).
fn kernel_only_confirmation(
    expected: &scenario::Expectation,
    comparison: &KernelComparison,
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for (i, want) in expected.connections.iter().enumerate() {
        for k in &want.kernel_only {
            let endpoint = comparison.connections.get(i).map(|c| match k.side {
                scenario::Side::Client => &c.client,
                scenario::Side::Server => &c.server,
            });
            let taken = endpoint.and_then(|e| {
                e.rows.windows(2).find(|w| {
                    w[0].kernel == Some(k.from) && w[1].kernel == Some(k.to) && w[1].kernel_only
                })
            });
            if let (Some(w), Some((least, most))) = (taken, k.lasting) {
                // A timer's arc: the kernel's own times say how long `from` lasted.
                let lasted = w[0]
                    .kernel_ns
                    .zip(w[1].kernel_ns)
                    .map(|(a, b)| Duration::from_nanos(b.saturating_sub(a)));
                if !lasted.is_some_and(|d| (least..=most).contains(&d)) {
                    out.push(Mismatch(format!(
                        "connection {} {}: {} should last {}–{} s before {} → {}, the kernel \
                         timed {}",
                        i + 1,
                        k.side.name(),
                        k.from,
                        least.as_secs(),
                        most.as_secs(),
                        k.from,
                        k.to,
                        lasted.map_or("nothing".into(), |d| format!("{:.1} s", d.as_secs_f64()))
                    )));
                }
            }
            if taken.is_none() {
                let saw = endpoint
                    .map(|e| {
                        let states: Vec<TcpState> =
                            e.rows.iter().filter_map(|r| r.kernel).collect();
                        TcpState::path(&states)
                    })
                    .unwrap_or_else(|| "nothing of this connection".into());
                out.push(Mismatch(format!(
                    "connection {} {}: the kernel must show {} → {} (by {}, no packet shows it), \
                     it showed {saw}",
                    i + 1,
                    k.side.name(),
                    k.from,
                    k.to,
                    crate::scenario::arcs::trigger_name(k.trigger),
                )));
            }
        }
    }
    out
}

/// Where the run's frames are recorded: libpcap on loopback, or the bridge
/// between the lab's namespaces (which owns the namespaces while it runs).
enum Recording {
    Live(LiveCapture),
    Bridge { net: LabNet, bridge: Box<Bridge> },
}

impl Recording {
    /// Stops recording; the capture file is complete and flushed afterwards, and
    /// the lab network (if any) is removed.
    fn stop(self) -> Result<(LiveStats, Option<BridgeReport>), RunError> {
        match self {
            Recording::Live(capture) => Ok((capture.stop()?, None)),
            Recording::Bridge { net, bridge } => {
                let report = bridge.stop();
                net.remove()?;
                let stats = LiveStats {
                    frames: report.frames_recorded,
                    ..LiveStats::default()
                };
                if let Some(e) = &report.capture_error {
                    return Err(RunError::Write {
                        path: PathBuf::from("the bridge's capture"),
                        source: std::io::Error::other(e.clone()),
                    });
                }
                Ok((stats, Some(report)))
            }
        }
    }
}

/// The scenario's tokio runtimes: one on loopback; in the namespace lab one per
/// namespace, built on a thread that entered it, so its worker (and blocking)
/// threads are born in that namespace and every socket they open lives there.
struct Runtimes {
    server: tokio::runtime::Runtime,
    client: Option<tokio::runtime::Runtime>,
}

impl Runtimes {
    fn new(recording: &Recording) -> std::io::Result<Self> {
        match recording {
            Recording::Live(_) => Ok(Runtimes {
                server: runtime_in(None)?,
                client: None,
            }),
            Recording::Bridge { net, .. } => Ok(Runtimes {
                server: runtime_in(Some(&net.server_ns))?,
                client: Some(runtime_in(Some(&net.client_ns))?),
            }),
        }
    }

    fn server(&self) -> &tokio::runtime::Handle {
        self.server.handle()
    }

    fn client(&self) -> &tokio::runtime::Runtime {
        self.client.as_ref().unwrap_or(&self.server)
    }
}

fn runtime_in(ns: Option<&str>) -> std::io::Result<tokio::runtime::Runtime> {
    let Some(ns) = ns else {
        return tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build();
    };
    let ns = ns.to_string();
    std::thread::spawn(move || {
        netns::enter(&ns).map_err(std::io::Error::other)?;
        let name = ns.clone();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            // Threads inherit the namespace of the thread that spawns them; this makes
            // sure of it for any thread the runtime starts later, from anywhere.
            .on_thread_start(move || {
                if let Err(e) = netns::enter(&name) {
                    tracing::error!("runtime thread cannot enter {name}: {e}");
                }
            })
            .build()
    })
    .join()
    .map_err(|_| std::io::Error::other("the runtime thread panicked"))?
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

/// What the scenario's two sides reported back to the run.
struct Ran {
    /// The clients' and the server's notes.
    notes: Vec<String>,
    /// The bulk senders' socket counters, for kernel.json's `tcp_info`.
    tcp_info: Vec<crate::model::tcp_dynamics::SocketTcpInfo>,
}

/// Binds the server, runs it and the clients; returns the clients' and server's
/// notes, and the clients' socket counters.
/// The server side runs on the server's runtime and the clients on the client's
/// (the same one on loopback); this future only waits for them.
async fn run_scenario(
    config: &RunConfig,
    addr: SocketAddr,
    client_ip: Option<IpAddr>,
    transport: Transport,
    interrupted: &dyn Fn() -> bool,
    runtimes: &Runtimes,
) -> Result<Ran, Failure> {
    let name = config.scenario;
    let listener = runtimes
        .server()
        .spawn(bind(name, transport, addr))
        .await
        .map_err(|e| Failure::Failed(format!("server: {e}")))?
        .map_err(Failure::Setup)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut params = config.params.clone();
    // A transfer may stall as long as the run may last: through a lossy link TCP
    // backs off for seconds between resends, and that is what the run shows.
    params.transfer_stall = params.transfer_stall.max(config.timeout);
    if name.uses_gate() {
        // One gate for both sides: the second acts once the first's segment has left
        // (or the first's close, which sends nothing, is done).
        params.gate = Gate::new();
    }
    if name.opens_simultaneously() {
        // The server side connects to the client's host, on the same port.
        params.peer = client_ip.map(|ip| SocketAddr::new(ip, addr.port()));
    }
    let client_params = params.clone();
    let server = runtimes
        .server()
        .spawn(async move { scenario::serve(name, listener, &params, stop_rx).await });
    let mut clients = runtimes
        .client()
        .spawn(async move { scenario::client(name, addr, &client_params).await });
    // A scenario that waits out a timer (TIME_WAIT's 60 s) gets the time it needs.
    let limit = config.timeout.max(name.least_run_time());
    let timeout = tokio::time::sleep(limit);
    tokio::pin!(timeout);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let client_result = loop {
        tokio::select! {
            r = &mut clients => break match r {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(e) => Err(format!("clients: {e}")),
            },
            _ = &mut timeout => break Err(format!("timed out after {limit:?}")),
            _ = tick.tick() => if interrupted() { break Err("interrupted".to_string()) },
        }
    };
    clients.abort();
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
            // The log says what happened; the notes what the scenario observed
            // (time-wait's re-bind attempts): both belong in the run's notes.
            let lines = server.log.into_iter().chain(server.notes);
            notes.extend(lines.map(|l| format!("server: {l}")))
        }
        _ => {}
    }
    Ok(Ran {
        notes,
        tcp_info: report.tcp_info,
    })
}

/// A port nobody uses on 127.0.0.1 now, for `--port 0`.
///
/// The number must be known before the server binds: the capture filter and the
/// kernel observers start first, on that port. So the kernel picks one for a socket
/// that is closed at once (it never connected: no TIME_WAIT keeps it), and the
/// server binds it again moments later. Should another program take it in between,
/// the run stops with "port in use", as for any port.
fn free_port(transport: Transport) -> std::io::Result<u16> {
    let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    Ok(match transport {
        Transport::Tcp => std::net::TcpListener::bind(any)?.local_addr()?.port(),
        Transport::Udp => std::net::UdpSocket::bind(any)?.local_addr()?.port(),
    })
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
    if name.opens_simultaneously() {
        // Bound, not listening: the server side connects from here.
        return Ok(Listener::Fixed(
            scenario::bound_socket(addr).map_err(in_use)?,
        ));
    }
    Ok(match transport {
        Transport::Tcp => Listener::Tcp(tokio::net::TcpListener::bind(addr).await.map_err(in_use)?),
        Transport::Udp => Listener::Udp(tokio::net::UdpSocket::bind(addr).await.map_err(in_use)?),
    })
}

/// Feeds the frames captured so far to the watcher; returns how many there were.
/// Feeds the frames that have arrived to `watcher`; how many there were.
fn drain(rx: &Receiver<RawFrame>, watcher: &mut Pipeline) -> u64 {
    let before = watcher.frames;
    // Neither a live source nor this visitor can fail: there is nothing to handle.
    let _ = watcher.feed(
        &mut LiveFrames::draining(rx),
        |_, _, _| -> Result<Next, Infallible> { Ok(Next::Continue) },
        |_| Ok(()),
    );
    watcher.frames - before
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(scenario: ScenarioName, netns: Option<LinkSettings>) -> RunConfig {
        RunConfig {
            scenario,
            params: Params::default(),
            port: None,
            out_dir: None,
            timeout: Duration::from_secs(30),
            command: String::new(),
            snaplen: None,
            lang: crate::chart::Lang::En,
            netns,
        }
    }

    fn delayed(ms: u64) -> LinkSettings {
        LinkSettings {
            impair: ImpairConfig {
                delay_ns: ms * 1_000_000,
                ..ImpairConfig::default()
            },
            seed: 3,
        }
    }

    #[test]
    fn crossing_scenarios_run_in_the_namespace_lab_with_their_delay() {
        let link = link_for(&config(ScenarioName::SimultaneousOpen, None)).expect("netns");
        assert_eq!(link.impair.delay_ns, CROSSING_DELAY.as_nanos() as u64);
        // A shorter delay asked for is raised; a longer one, and the seed, are kept.
        let raised = link_for(&config(ScenarioName::SimultaneousClose, Some(delayed(20))));
        assert_eq!(raised.unwrap().impair.delay_ns, 100_000_000);
        let kept = link_for(&config(ScenarioName::SynReceivedClose, Some(delayed(300)))).unwrap();
        assert_eq!((kept.impair.delay_ns, kept.seed), (300_000_000, 3));
    }

    #[test]
    fn other_scenarios_keep_the_link_asked_for() {
        assert_eq!(link_for(&config(ScenarioName::TcpUpper, None)), None);
        // connect-timeout needs the lab's link (it drops the SYNs): a clean one.
        assert_eq!(
            link_for(&config(ScenarioName::ConnectTimeout, None)),
            Some(LinkSettings::default())
        );
        assert_eq!(
            link_for(&config(ScenarioName::TcpUpper, Some(delayed(20)))),
            Some(delayed(20))
        );
    }

    fn comparison(source: &str, connections: usize) -> KernelComparison {
        let endpoint = |endpoint| crate::model::kernel::EndpointComparison {
            endpoint,
            local: "198.18.0.1:40000".parse().unwrap(),
            rows: Vec::new(),
            agree: true,
        };
        KernelComparison {
            source: source.into(),
            connections: (0..connections as u64)
                .map(|flow| crate::model::kernel::ConnectionComparison {
                    flow,
                    client: endpoint("client"),
                    server: endpoint("server"),
                })
                .collect(),
            agree: true,
            unavailable: None,
        }
    }

    #[test]
    fn an_arc_only_the_kernel_shows_must_be_in_its_record() {
        use crate::analyze::diagram::Trigger;
        use crate::model::kernel::Row;
        use crate::scenario::{ConnectionExpectation, Expectation, KernelOnlyArc, Side};
        let mut want = ConnectionExpectation::refused();
        want.kernel_only = vec![KernelOnlyArc::new(
            Side::Client,
            TcpState::SynSent,
            TcpState::Closed,
            Trigger::Call,
        )];
        let expected = Expectation {
            connections: vec![want],
            ..Expectation::default()
        };
        let row = |kernel, kernel_only| Row {
            inferred: None,
            frame: None,
            kernel: Some(kernel),
            offset_us: None,
            agree: true,
            kernel_only,
            kernel_ns: None,
        };
        let mut c = comparison("tracepoint+sock_diag", 1);
        c.connections[0].client.rows = vec![
            row(TcpState::Closed, false),
            row(TcpState::SynSent, false),
            row(TcpState::Closed, true),
        ];
        assert!(kernel_only_confirmation(&expected, &c).is_empty());
        // The kernel stopped in SYN_SENT: said, with what it showed.
        c.connections[0].client.rows.pop();
        let m = kernel_only_confirmation(&expected, &c);
        assert_eq!(
            m[0].0,
            "connection 1 client: the kernel must show SYN_SENT → CLOSED (by call, no packet \
             shows it), it showed CLOSED > SYN_SENT"
        );
    }

    #[test]
    fn a_timer_arc_must_come_after_its_time() {
        use crate::model::kernel::Row;
        let expected = scenario::expectation(ScenarioName::TimeWaitExpiry, &Params::default());
        let row = |kernel, kernel_only, s: u64| Row {
            inferred: None,
            frame: None,
            kernel: Some(kernel),
            offset_us: None,
            agree: true,
            kernel_only,
            kernel_ns: Some(s * 1_000_000_000),
        };
        let mut c = comparison("tracepoint+sock_diag", 1);
        let timed = |c: &mut KernelComparison, lasted: u64| {
            c.connections[0].client.rows = vec![
                row(TcpState::TimeWait, false, 100),
                row(TcpState::Closed, true, 100 + lasted),
            ];
        };
        timed(&mut c, 61);
        assert!(kernel_only_confirmation(&expected, &c).is_empty());
        timed(&mut c, 3);
        let m = kernel_only_confirmation(&expected, &c);
        assert_eq!(
            m[0].0,
            "connection 1 client: TIME_WAIT should last 59–70 s before TIME_WAIT → CLOSED, \
             the kernel timed 3.0 s"
        );
    }

    #[test]
    fn only_the_tracepoint_confirms_a_timer_arc() {
        assert!(kernel_confirmation(&comparison("tracepoint+sock_diag", 1), 1).is_empty());
        // The socket table alone can miss the brief SYN_SENT; /proc polling too.
        for source in ["sock_diag", "proc"] {
            let m = kernel_confirmation(&comparison(source, 1), 1);
            assert!(m[0].0.contains("tracepoint"), "{source}: {m:?}");
        }
        let m = kernel_confirmation(&comparison("tracepoint", 0), 1);
        assert!(m[0].0.contains("compared 0 connections"), "{m:?}");
        let unavailable = KernelComparison {
            unavailable: Some("no root".into()),
            ..comparison("none", 0)
        };
        let m = kernel_confirmation(&unavailable, 1);
        assert!(m[0].0.contains("run as root"), "{m:?}");
    }
}
