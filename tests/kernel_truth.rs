//! Kernel ground truth against real loopback connections: the tracepoint
//! `sock:inet_sock_set_state` and netlink sock_diag must report what the kernel really
//! did.
//!
//! Tracing and sock_diag need root. Without it these tests print "SKIPPED: needs root"
//! and pass, unless `PROTOLAB_REQUIRE_ROOT_TESTS=1` (CI, which is root), where they fail.
//! The `/proc/net/tcp` fallback and argument checks run everywhere.
//!
//! Never flaky by construction: durations are asserted on the timestamps the kernel
//! recorded (the tracepoint), never on how often a sampler got to run; where a test
//! needs the sampler to have seen a state, it holds the state until a sample that
//! began inside it has completed ([`until_sampled`]), however slow the machine.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::wait::wait_until;
use nix::sys::socket::{
    bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, SockaddrIn,
};
use protolab::lab::kernel::{
    group_by_socket, poll_proc_net, remove_stale_instances, sample_once, sample_proc_once,
    DiagSampler, KernelError, KernelState, KernelTransition, SamplerStats, SocketHistory,
    SocketSample, SocketTimeline, TraceFormat, TraceOptions, TraceStats, TracepointSession,
    DEFAULT_INTERVAL,
};
use KernelState::*;

/// Longest any wait for the kernel or a sampler may take, even on a loaded machine.
const WAIT: Duration = Duration::from_secs(10);

/// Whether the test may go on; panics when root is required but missing.
fn root_or_skip(test: &str) -> bool {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return true;
    }
    if std::env::var("PROTOLAB_REQUIRE_ROOT_TESTS").as_deref() == Ok("1") {
        panic!(
            "{test} needs root (tracefs and sock_diag) but runs as uid {uid}, and \
             PROTOLAB_REQUIRE_ROOT_TESTS=1 forbids skipping: run the tests as root \
             (sudo -E cargo test --test kernel_truth)"
        );
    }
    println!("SKIPPED: needs root ({test})");
    false
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// A port of one test's own on 127.0.0.1, *below* the ephemeral range (so no client
/// socket of a concurrent test can get it as its local port and leak into this test's
/// port filter), held by a socket bound to it but not listening: while the test
/// lives, no other test, in this process or in another (nextest runs tests side by
/// side as processes), can bind it; and the kernel records nothing for the port until
/// [`LabPort::listen`].
struct LabPort {
    socket: OwnedFd,
    port: u16,
}

impl LabPort {
    fn number(&self) -> u16 {
        self.port
    }

    /// Listens on the port: the tracepoint sees this socket go CLOSE → LISTEN.
    fn listen(self) -> TcpListener {
        listen(&self.socket, Backlog::new(16).unwrap()).expect("listen on the lab port");
        TcpListener::from(self.socket)
    }
}

fn lab_port() -> LabPort {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 5_000) as u16;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = base + (n.wrapping_mul(97) % 7_000);
        let socket = socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .expect("a TCP socket");
        // No SO_REUSEADDR: any other bind of the port fails while we hold it.
        if bind(socket.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, port)).is_ok() {
            return LabPort { socket, port };
        }
    }
}

/// What one scenario run produced.
struct Run {
    client: SocketAddr,
    server: SocketAddr,
    /// How long the server's socket stayed in CLOSE_WAIT at least: from reading the
    /// client's FIN (the state began before) to the server's close() (it ends after).
    close_wait_held: Duration,
}

/// A loopback connection where the client closes first: listener, connect, write, the
/// client closes, the server reads EOF and stays in CLOSE_WAIT while `hold` runs (to
/// let a sampler see it), then closes.
fn client_closes_first(port: LabPort, hold: impl FnOnce()) -> Run {
    let listener = port.listen();
    let port = listener.local_addr().unwrap().port();
    let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    let (mut server, _) = listener.accept().expect("accept");
    client.write_all(b"hello").unwrap();
    let mut buf = [0u8; 16];
    server.read_exact(&mut buf[..5]).unwrap();
    let (client_addr, server_addr) = (client.local_addr().unwrap(), server.local_addr().unwrap());
    drop(client);
    assert_eq!(
        server.read(&mut buf).unwrap(),
        0,
        "server sees the client's FIN"
    );
    let fin_read = Instant::now();
    hold();
    let close_wait_held = fin_read.elapsed();
    drop(server);
    drop(listener);
    Run {
        client: client_addr,
        server: server_addr,
        close_wait_held,
    }
}

/// Waits until `sampler` has completed a sample that began after this call, so the
/// table it read shows the sockets as they are now. Waiting on the sample count, not
/// for a time, holds however slowly a loaded machine lets the sampler run.
fn until_sampled(sampler: &DiagSampler) {
    let now = sampler.samples_taken();
    wait_until(WAIT, "the sampler has taken a fresh sample", || {
        sampler.samples_taken() >= now + 2
    });
}

/// Waits until the socket table shows `local` in TIME_WAIT: the active closer enters
/// it when the peer's FIN arrives, which may be a moment after the peer's close().
fn until_time_wait(local: SocketAddr, sample: impl Fn() -> Result<Vec<SocketSample>, KernelError>) {
    wait_until(WAIT, &format!("{local} is in TIME_WAIT"), || {
        sample()
            .expect("read the socket table")
            .iter()
            .any(|s| s.local == local && s.state == TimeWait)
    });
}

/// The transition of the socket at `local` (talking to `remote_port`) from `old` to `new`.
fn transition(
    transitions: &[KernelTransition],
    local: SocketAddr,
    remote_port: u16,
    old: KernelState,
    new: KernelState,
) -> &KernelTransition {
    transitions
        .iter()
        .find(|t| {
            t.local == local && t.remote.port() == remote_port && t.old == old && t.new == new
        })
        .unwrap_or_else(|| panic!("no {old} → {new} of {local} in {transitions:#?}"))
}

fn history(histories: &[SocketHistory], local: SocketAddr, remote_port: u16) -> &SocketHistory {
    histories
        .iter()
        .find(|h| h.local == local && h.remote.port() == remote_port)
        .unwrap_or_else(|| panic!("no socket {local} → port {remote_port} in {histories:#?}"))
}

/// The sequences the kernel must report for `client_closes_first` (checked on Linux 6.18;
/// the accepted socket is cloned from the listener, so it starts LISTEN → SYN_RECV).
fn assert_sequences(transitions: &[KernelTransition], run: &Run, port: u16) {
    let histories = group_by_socket(transitions);
    let client = history(&histories, run.client, port);
    assert_eq!(
        client.states(),
        vec![Closed, SynSent, Established, FinWait1, FinWait2, Closed],
        "client {}",
        run.client
    );
    assert_eq!(
        client.transitions[0].local.port(),
        0,
        "CLOSE → SYN_SENT happens before the kernel picks the client's port"
    );
    let server = history(&histories, run.server, run.client.port());
    assert_eq!(
        server.states(),
        vec![Listen, SynRecv, Established, CloseWait, LastAck, Closed],
        "accepted socket"
    );
    let listener = history(&histories, run.server, 0);
    assert_eq!(listener.states(), vec![Closed, Listen, Closed], "listener");
    assert_eq!(histories.len(), 3, "only the run's sockets: {histories:#?}");
}

fn assert_times(transitions: &[KernelTransition], from_ns: u64, to_ns: u64, slack_ns: u64) {
    assert!(
        transitions.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns),
        "transitions in time order"
    );
    for t in transitions {
        assert!(
            t.ts_ns + slack_ns >= from_ns && t.ts_ns <= to_ns + slack_ns,
            "{t:?} outside the test's window {from_ns}..{to_ns}"
        );
    }
}

fn timeline(
    timelines: &[SocketTimeline],
    local: SocketAddr,
    remote: SocketAddr,
    state: KernelState,
) -> Option<&SocketTimeline> {
    timelines
        .iter()
        .find(|t| t.local == local && t.remote == remote && t.state == state)
}

#[test]
fn tracepoint_and_sock_diag_see_a_real_connection() {
    if !root_or_skip("tracepoint_and_sock_diag_see_a_real_connection") {
        return;
    }
    let lab = lab_port();
    let port = lab.number();
    let trace = TracepointSession::start(&[port]).expect("start tracing");
    let instance = trace.instance_name().to_string();
    let sampler = DiagSampler::start(&[port], DEFAULT_INTERVAL).expect("start sock_diag");
    assert_eq!(sampler.source(), "sock_diag");

    let from_ns = now_ns();
    let run = client_closes_first(lab, || until_sampled(&sampler));
    until_time_wait(run.client, || sample_once(&[port]));
    until_sampled(&sampler);
    let to_ns = now_ns();

    let (transitions, stats) = trace.stop_with_stats().expect("stop tracing");
    let (timelines, sampling) = sampler.stop_with_stats();

    // The tracepoint: every transition of the three sockets, in order, in the window.
    assert_sequences(&transitions, &run, port);
    let uncertainty = stats.clock_uncertainty_ns + 1_000;
    assert_times(&transitions, from_ns, to_ns, uncertainty);
    assert!(transitions.iter().all(|t| t.sock > 0xffff_0000_0000_0000));
    assert_clean_session(&stats, &instance);

    // How long CLOSE_WAIT lasted, as the kernel recorded it: at least as long as the
    // server held it open (both are CLOCK_MONOTONIC differences).
    let client_port = run.client.port();
    let cw_began = transition(
        &transitions,
        run.server,
        client_port,
        Established,
        CloseWait,
    );
    let cw_ended = transition(&transitions, run.server, client_port, CloseWait, LastAck);
    let recorded = Duration::from_nanos(cw_ended.ts_ns - cw_began.ts_ns);
    assert!(
        recorded >= run.close_wait_held,
        "the kernel's CLOSE_WAIT lasted {recorded:?}, the server held it {:?}",
        run.close_wait_held
    );

    // sock_diag: the passive closer's CLOSE_WAIT and the active closer's TIME_WAIT (the
    // tracepoint never shows TIME_WAIT), agreeing with the tracepoint's times.
    assert_eq!(sampling.errors, 0, "{sampling:?}");
    let cw = timeline(&timelines, run.server, run.client, CloseWait)
        .unwrap_or_else(|| panic!("server CLOSE_WAIT not seen: {timelines:#?}"));
    assert!(cw.ended_ns.is_some(), "the last sample saw it gone: {cw:?}");
    assert_sampled_within(cw, cw_began, Some(cw_ended), &sampling, uncertainty);

    let tw = timeline(&timelines, run.client, run.server, TimeWait)
        .unwrap_or_else(|| panic!("client TIME_WAIT not seen: {timelines:#?}"));
    assert_eq!(tw.source, "sock_diag");
    assert_eq!(tw.inode, 0, "TIME_WAIT has no file");
    assert_ne!(tw.cookie, 0, "sock_diag gives every socket object a cookie");
    assert_eq!(tw.ended_ns, None, "still in TIME_WAIT at stop (60 s)");
    assert_eq!(
        tw.last_seen_ns, sampling.stopped_ns,
        "seen by the last sample"
    );
    // TIME_WAIT begins when the tracepoint shows the socket leave FIN_WAIT2.
    let fin_to_close = transition(&transitions, run.client, port, FinWait2, Closed);
    assert_sampled_within(tw, fin_to_close, None, &sampling, uncertainty);
}

/// The session lost nothing, calibrated its clock, saw its stop marker and removed
/// its tracefs instance.
fn assert_clean_session(stats: &TraceStats, instance: &str) {
    assert_eq!(stats.lost_events, 0);
    assert!(!stats.lost_unknown);
    assert!(stats.stop_marker_seen);
    assert!(
        stats.clock_uncertainty_ns < 1_000_000,
        "clock calibrated to better than 1 ms: {stats:?}"
    );
    assert_eq!(stats.cleanup_error, None);
    let instances = Path::new("/sys/kernel/tracing/instances");
    if instances.is_dir() {
        assert!(
            !instances.join(instance).exists(),
            "instance {instance} removed"
        );
    }
}

/// The sampler saw `seen` while the kernel had the socket in that state, from `began`
/// to `ended` (the tracepoint's transitions). A sample is stamped *before* the kernel
/// reads its table, so a state may be stamped up to one sampling gap before the
/// kernel entered it, but never after the kernel left it: bounds that hold at any
/// sampling rate.
fn assert_sampled_within(
    seen: &SocketTimeline,
    began: &KernelTransition,
    ended: Option<&KernelTransition>,
    sampling: &SamplerStats,
    uncertainty_ns: u64,
) {
    assert!(
        seen.first_seen_ns + sampling.max_gap_ns + uncertainty_ns >= began.ts_ns,
        "seen before the kernel entered the state: {seen:?} vs {began:?} ({sampling:?})"
    );
    if let Some(ended) = ended {
        assert!(
            seen.last_seen_ns <= ended.ts_ns + uncertainty_ns,
            "seen after the kernel left the state: {seen:?} vs {ended:?}"
        );
    }
}

#[test]
fn concurrent_sessions_see_only_their_own_ports() {
    if !root_or_skip("concurrent_sessions_see_only_their_own_ports") {
        return;
    }
    let labs = [lab_port(), lab_port()];
    let ports = [labs[0].number(), labs[1].number()];
    assert_ne!(ports[0], ports[1]);
    let sessions: Vec<TracepointSession> = ports
        .iter()
        .map(|&p| TracepointSession::start(&[p]).expect("start tracing"))
        .collect();
    assert_ne!(sessions[0].instance_name(), sessions[1].instance_name());
    let runs: Vec<Run> = labs
        .into_iter()
        .map(|lab| thread::spawn(move || client_closes_first(lab, || {})))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    for ((session, run), port) in sessions.into_iter().zip(&runs).zip(ports) {
        let transitions = session.stop().expect("stop tracing");
        for t in &transitions {
            assert!(
                t.local.port() == port || t.remote.port() == port,
                "session for port {port} saw {t:?}"
            );
        }
        assert_sequences(&transitions, run, port);
    }
}

#[test]
fn text_format_reports_the_same_sequences() {
    if !root_or_skip("text_format_reports_the_same_sequences") {
        return;
    }
    let lab = lab_port();
    let port = lab.number();
    let options = TraceOptions {
        format: TraceFormat::Text,
        ..TraceOptions::default()
    };
    let trace = TracepointSession::start_with(&[port], options).expect("start tracing");
    let from_ns = now_ns();
    let run = client_closes_first(lab, || {});
    let to_ns = now_ns();
    let (transitions, stats) = trace.stop_with_stats().expect("stop tracing");
    assert_eq!(stats.format, TraceFormat::Text);
    assert_sequences(&transitions, &run, port);
    assert_times(
        &transitions,
        from_ns,
        to_ns,
        stats.clock_uncertainty_ns + 1_000,
    );
}

#[test]
fn dropping_a_session_removes_its_instance() {
    if !root_or_skip("dropping_a_session_removes_its_instance") {
        return;
    }
    let lab = lab_port();
    let trace = TracepointSession::start(&[lab.number()]).expect("start tracing");
    let name = trace.instance_name().to_string();
    let dir = Path::new("/sys/kernel/tracing/instances").join(&name);
    assert!(dir.is_dir(), "{} exists while tracing", dir.display());
    drop(trace);
    assert!(!dir.exists(), "{} removed on drop", dir.display());
}

#[test]
fn stale_instances_of_dead_processes_are_removed() {
    if !root_or_skip("stale_instances_of_dead_processes_are_removed") {
        return;
    }
    let lab = lab_port();
    let live = TracepointSession::start(&[lab.number()]).expect("start tracing");
    let instances = Path::new("/sys/kernel/tracing/instances");
    // A pid no process has: above every pid in use, below the kernel's pid_max.
    let dead = (1..1000)
        .map(|i| 4_194_304 - i)
        .find(|pid| !Path::new(&format!("/proc/{pid}")).exists())
        .unwrap();
    let stale = instances.join(format!("plab-{dead}-0"));
    std::fs::create_dir(&stale).expect("create a stale instance");
    let removed = remove_stale_instances().expect("cleanup");
    assert!(removed.contains(&format!("plab-{dead}-0")), "{removed:?}");
    assert!(!stale.exists());
    assert!(
        instances.join(live.instance_name()).is_dir(),
        "live one kept"
    );
    live.stop().expect("stop tracing");
}

#[test]
fn sock_diag_snapshot_sees_a_listener() {
    if !root_or_skip("sock_diag_snapshot_sees_a_listener") {
        return;
    }
    let lab = lab_port();
    let port = lab.number();
    let listener = lab.listen();
    let v6 = TcpListener::bind(("::1", port)).ok();
    let samples = sample_once(&[port]).expect("sock_diag");
    let addr = listener.local_addr().unwrap();
    let s = samples
        .iter()
        .find(|s| s.local == addr)
        .unwrap_or_else(|| panic!("listener {addr} not in {samples:#?}"));
    assert_eq!((s.state, s.source), (Listen, "sock_diag"));
    assert_ne!(s.inode, 0);
    if let Some(v6) = v6 {
        let addr6 = v6.local_addr().unwrap();
        assert!(samples
            .iter()
            .any(|s| s.local == addr6 && s.state == Listen));
    }
    assert!(samples
        .iter()
        .all(|s| s.local.port() == port || s.remote.port() == port));
}

/// The unprivileged fallback works for everyone.
#[test]
fn proc_fallback_sees_time_wait() {
    let lab = lab_port();
    let port = lab.number();
    let sampler = poll_proc_net(&[port], DEFAULT_INTERVAL).expect("poll /proc/net/tcp");
    assert_eq!(sampler.source(), "proc");
    let run = client_closes_first(lab, || until_sampled(&sampler));
    // The last sample, taken at stop, sees the TIME_WAIT once the kernel has it.
    until_time_wait(run.client, || sample_proc_once(&[port]));
    let (timelines, stats) = sampler.stop_with_stats();
    assert_eq!(stats.errors, 0, "{stats:?}");
    let tw = timeline(&timelines, run.client, run.server, TimeWait)
        .unwrap_or_else(|| panic!("client TIME_WAIT not seen: {timelines:#?}"));
    assert_eq!(tw.source, "proc");
    assert!(timeline(&timelines, run.server, run.client, CloseWait).is_some());
}

#[test]
fn no_ports_is_an_error_that_says_so() {
    let err = TracepointSession::start(&[]).unwrap_err();
    assert!(matches!(err, KernelError::NoPorts), "{err}");
    assert!(err.to_string().contains("at least one"));
    assert!(matches!(
        DiagSampler::start(&[], DEFAULT_INTERVAL),
        Err(KernelError::NoPorts)
    ));
}

// ---- live: transitions as they happen (what `protolab serve` prints) ----

/// A live session hands each transition out while the connection still runs, not at
/// stop: the server's ESTABLISHED → CLOSE_WAIT arrives while the server holds
/// CLOSE_WAIT. Over the whole run it hands out exactly what a collecting session
/// returns, and its stop returns nothing more.
#[test]
fn a_live_session_hands_out_each_transition_as_it_happens() {
    if !root_or_skip("a_live_session_hands_out_each_transition_as_it_happens") {
        return;
    }
    let lab = lab_port();
    let port = lab.number();
    let (session, live) = TracepointSession::start_live(&[port], TraceOptions::default())
        .expect("start a live tracepoint session");
    let mut seen: Vec<KernelTransition> = Vec::new();
    let run = client_closes_first(lab, || {
        let deadline = Instant::now() + WAIT;
        while !seen
            .iter()
            .any(|t| t.new == CloseWait && t.local.port() == port)
        {
            let left = deadline.saturating_duration_since(Instant::now());
            match live.recv_timeout(left) {
                Ok(t) => seen.push(t),
                Err(e) => panic!("no CLOSE_WAIT while the server held it ({e}): {seen:#?}"),
            }
        }
    });
    // The rest comes as it happens too: the listener's close is the last change.
    let deadline = Instant::now() + WAIT;
    while !seen
        .iter()
        .any(|t| t.old == Listen && t.new == Closed && t.remote.port() == 0)
    {
        let left = deadline.saturating_duration_since(Instant::now());
        seen.push(live.recv_timeout(left).expect("the listener's close"));
    }
    let (collected, stats) = session.stop_with_stats().expect("stop");
    assert!(
        collected.is_empty(),
        "a live session's stop returns nothing: {collected:#?}"
    );
    assert_clean_session(&stats, &stats.instance);
    let after_stop: Vec<KernelTransition> = live.collect();
    assert!(after_stop.is_empty(), "{after_stop:#?}");
    assert_sequences(&seen, &run, port);
}

/// Without the tracepoint, a polled [`PortWatch`] still reports what lasts longer
/// than its interval: the connection's ESTABLISHED, the server's CLOSE_WAIT (held
/// until seen) and the client's TIME_WAIT, which lasts 60 s.
#[test]
fn a_polled_port_watch_reports_the_states_that_last() {
    if !root_or_skip("a_polled_port_watch_reports_the_states_that_last") {
        return;
    }
    use protolab::lab::kernel::{PortWatch, StateChange, Witness};
    use std::sync::{Arc, Mutex};
    let listener = lab_port().listen();
    let port = listener.local_addr().unwrap().port();
    let changes: Arc<Mutex<Vec<StateChange>>> = Arc::default();
    let sink = Arc::clone(&changes);
    let watch = PortWatch::start_polled(port, move |c| sink.lock().unwrap().push(c))
        .expect("poll the socket table");
    assert_eq!(watch.witness(), Witness::SockDiag);
    assert!(watch.witness().polled());
    let until_seen = |local: SocketAddr, state: KernelState| {
        wait_until(WAIT, &format!("{local} seen in {state}"), || {
            changes
                .lock()
                .unwrap()
                .iter()
                .any(|c| c.local == local && c.new == Some(state))
        })
    };
    let client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    let (mut server, _) = listener.accept().expect("accept");
    let (client_addr, server_addr) = (client.local_addr().unwrap(), server.local_addr().unwrap());
    until_seen(server_addr, Established);
    until_seen(client_addr, Established);
    drop(client);
    let mut buf = [0u8; 4];
    assert_eq!(server.read(&mut buf).unwrap(), 0, "the client's FIN");
    until_seen(server_addr, CloseWait);
    drop(server);
    until_seen(client_addr, TimeWait);
    watch.stop().expect("stop");
    let changes = changes.lock().unwrap();
    let server_gone = changes
        .iter()
        .any(|c| c.local == server_addr && c.new.is_none());
    assert!(
        server_gone,
        "the server's socket leaves the table: {changes:#?}"
    );
    assert!(
        changes
            .iter()
            .all(|c| c.local.port() == port || c.remote.port() == port),
        "only the port's sockets: {changes:#?}"
    );
}
