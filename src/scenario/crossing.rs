//! What the crossing scenarios share (`simultaneous-open`, `simultaneous-close`,
//! `syn-received-close`): two segments that must pass each other on the wire.
//!
//! A SYN crosses a SYN, or a FIN a FIN, only when each side sends its own before
//! the other's has arrived. Left to the scheduler that is luck; the lab makes it
//! certain with two things:
//!
//! - **the link delays every frame** by [`CROSSING_DELAY`] each way (the bridge of
//!   the namespace lab; `run` picks it by itself, see [`crate::lab::run`]), so a
//!   segment stays in flight that long;
//! - **a [`Gate`]** starts the second side only once the first side's segment has
//!   left: the first side opens it right after the kernel sent its SYN (a
//!   nonblocking `connect()` returns once the SYN is out) or its FIN. The second
//!   side's segment then leaves microseconds later, far inside the delay: the two
//!   are in flight at the same time, every time.
//!
//! Stand-alone (`protolab serve` and `protolab client` on two hosts) there is no
//! gate: both sides act as soon as they can, and a connect that meets a host that
//! is not connecting yet is refused (RST) and tried again.
//!
//! The sockets of a simultaneous open are bound to fixed ports (each side must know
//! the other's before it connects): both sides use the scenario's port, each on its
//! own host.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::{ScenarioError, ScenarioName, IO_TIMEOUT};

/// The one-way delay the link adds for the crossing scenarios: far longer than the
/// few microseconds between one side's segment and the other's once the [`Gate`]
/// opens, so they cross in flight however busy the machine is.
pub const CROSSING_DELAY: Duration = Duration::from_millis(100);

impl ScenarioName {
    /// Whether the scenario needs two segments to cross in flight (or, for
    /// `abort-states`, a segment to stay in flight while a socket aborts): `run`
    /// then runs it in the namespace lab with [`CROSSING_DELAY`] and a [`Gate`].
    pub fn crosses(self) -> bool {
        matches!(
            self,
            ScenarioName::SimultaneousOpen
                | ScenarioName::SimultaneousClose
                | ScenarioName::SynReceivedClose
                | ScenarioName::AbortStates
                | ScenarioName::SynReceivedAbort
        )
    }

    /// Whether `run` hands both sides one [`Gate`]: the crossing scenarios, and
    /// those whose second side acts once the first has done something nothing on
    /// the wire shows (`connect-abandon`: the listener closes after the client's
    /// close() in SYN_SENT).
    pub fn uses_gate(self) -> bool {
        self.crosses() || matches!(self, ScenarioName::ConnectAbandon)
    }

    /// Whether the server side connects (to [`super::Params::peer`], from a socket
    /// bound to the scenario's port) instead of listening.
    pub fn opens_simultaneously(self) -> bool {
        matches!(
            self,
            ScenarioName::SimultaneousOpen
                | ScenarioName::SynReceivedClose
                | ScenarioName::SynReceivedAbort
        )
    }
}

/// A stand-alone side connects again after a refusal at the next multiple of this
/// on the wall clock: two hosts whose clocks agree try at the same moments, and
/// their SYNs cross when the link delays them longer than the clocks differ
/// (e.g. `tc qdisc add dev eth0 root netem delay 100ms` on each host).
const RETRY_TICK: Duration = Duration::from_millis(200);

/// Sleeps until the next [`RETRY_TICK`] of the wall clock.
pub(crate) async fn next_retry_tick() {
    let tick = RETRY_TICK.as_nanos();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let wait = tick - now % tick;
    tokio::time::sleep(Duration::from_nanos(wait as u64)).await;
}

/// Lets the second side of a crossing go once the first side's segment has left.
///
/// The lab runner hands one gate to both sides (through [`super::Params`]); without
/// one ([`Gate::default`], stand-alone) waiting returns at once. Underneath it is a
/// step counter that only grows: a crossing opens step 1; `abort-states` hands the
/// turn back and forth between its two sides with [`Gate::pass`] and
/// [`Gate::wait_for`], each step numbered once.
#[derive(Clone, Debug, Default)]
pub struct Gate(Option<Arc<watch::Sender<u32>>>);

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Gate(Some(Arc::new(watch::channel(0).0)))
    }

    /// Lets the waiting side go (now, or as soon as it waits).
    pub fn open(&self) {
        self.pass(1);
    }

    /// Reaches `step` (and every step before it): whoever waits for it goes.
    pub(crate) fn pass(&self, step: u32) {
        if let Some(tx) = &self.0 {
            tx.send_modify(|s| *s = (*s).max(step));
        }
    }

    /// Waits until the gate opens (at once without a gate), at most [`IO_TIMEOUT`].
    pub(crate) async fn wait(&self, what: &str) -> Result<(), ScenarioError> {
        self.wait_for(1, what).await
    }

    /// Waits until `step` is reached (at once without a gate), at most [`IO_TIMEOUT`].
    pub(crate) async fn wait_for(&self, step: u32, what: &str) -> Result<(), ScenarioError> {
        let Some(tx) = &self.0 else {
            return Ok(());
        };
        let mut rx = tx.subscribe();
        let reached = tokio::time::timeout(IO_TIMEOUT, rx.wait_for(|s| *s >= step))
            .await
            .is_ok();
        if reached {
            Ok(())
        } else {
            Err(ScenarioError::Timeout {
                what: what.to_string(),
                after: IO_TIMEOUT,
            })
        }
    }

    /// Whether a runner coordinates the two sides (false stand-alone).
    pub(crate) fn is_set(&self) -> bool {
        self.0.is_some()
    }
}

/// A TCP socket bound to `local`, nonblocking, not yet connected.
///
/// SO_REUSEADDR: the port is fixed, and an earlier run's TIME_WAIT on it must not
/// keep this one from binding (it does not make two live sockets share a port).
pub(crate) fn bound_socket(local: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(local),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&SockAddr::from(local))?;
    Ok(socket)
}

/// Starts connecting `socket` to `peer`: when this returns, the kernel has sent
/// the SYN and the socket is in SYN_SENT (or already beyond, or refused).
pub(crate) fn send_syn(socket: &Socket, peer: SocketAddr) -> io::Result<()> {
    match socket.connect(&SockAddr::from(peer)) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(nix::libc::EINPROGRESS) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Hands a socket whose SYN is out to tokio.
pub(crate) fn into_stream(socket: Socket) -> io::Result<TcpStream> {
    TcpStream::from_std(socket.into())
}

/// Waits until the connect of `stream` completes: ESTABLISHED, or the error that
/// ended it (ECONNREFUSED when the peer answered with RST).
pub(crate) async fn established(stream: &TcpStream) -> io::Result<()> {
    // A connecting socket becomes writable when the handshake ends, either way.
    stream.writable().await?;
    match stream.take_error()? {
        Some(e) => Err(e),
        None => stream.peer_addr().map(|_| ()),
    }
}

/// Connects `socket` (bound to its fixed address) to `peer`, which connects to us
/// at the same time: a simultaneous open. `syn_sent` runs once our SYN is out (the
/// runner's [`Gate`] opens there). Stand-alone (`retry`), a refusal — the peer
/// was not connecting yet — is tried again from a new socket on the same address,
/// until [`IO_TIMEOUT`].
pub(crate) async fn open_simultaneously(
    socket: Socket,
    peer: SocketAddr,
    retry: bool,
    syn_sent: impl Fn(),
) -> Result<TcpStream, ScenarioError> {
    let local = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .ok_or_else(|| ScenarioError::InvalidParams("the socket is not bound".into()))?;
    let what = || format!("connect from {local} to {peer} (simultaneous open)");
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut socket = Some(socket);
    loop {
        let socket = match socket.take() {
            Some(s) => s,
            None => {
                bound_socket(local).map_err(|e| ScenarioError::io(format!("bind {local}"), e))?
            }
        };
        send_syn(&socket, peer).map_err(|e| ScenarioError::io(what(), e))?;
        syn_sent();
        let stream = into_stream(socket).map_err(|e| ScenarioError::io(what(), e))?;
        let done = tokio::time::timeout_at(deadline.into(), established(&stream)).await;
        match done {
            Ok(Ok(())) => return Ok(stream),
            Ok(Err(e)) if retry && e.kind() == io::ErrorKind::ConnectionRefused => {
                drop(stream);
                next_retry_tick().await;
            }
            Ok(Err(e)) => return Err(ScenarioError::io(what(), e)),
            Err(_) => {
                return Err(ScenarioError::Timeout {
                    what: what(),
                    after: IO_TIMEOUT,
                })
            }
        }
    }
}
