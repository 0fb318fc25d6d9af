//! One side of the bridge: an AF_PACKET socket bound to a root-side veth end.
//!
//! We create the socket ourselves because pnet cannot set what the bridge
//! depends on: `PACKET_IGNORE_OUTGOING`, without which each socket
//! also receives every frame the bridge itself transmits on that interface (a
//! forwarding loop of hundreds of thousands of frames a second), and reads of
//! 64 KiB instead of pnet's 4096 bytes, which would cut longer frames.
//!
//! pnet binds the socket to the interface and joins it in promiscuous mode;
//! the frames then go through our own duplicate of the descriptor: blocking
//! `recvmmsg` batches ([`Batch`]) and one `send` each (pnet polls before every
//! call, which doubles the system calls on the bridge's hot path). The socket is shared by the two
//! directions: one thread receives on it while the other sends.

use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::time::Duration;

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::libc;
use nix::sys::socket::{
    self, setsockopt, sockopt, AddressFamily, SockFlag, SockProtocol, SockType,
};
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage};
use nix::sys::time::TimeVal;
use nix::{setsockopt_impl, sockopt_impl};
use pnet_datalink::{Channel, NetworkInterface};
use std::io::IoSliceMut;

/// Largest frame the bridge reads whole (veth MTU is 1500, but GSO frames and
/// jumbo settings can be larger).
pub const READ_BUFFER: usize = 65_536;

/// How long a receive waits before the thread checks whether to stop.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

// Linux 4.20+: frames this socket's own interface transmits are not delivered
// to it. nix has no wrapper, but its macro builds a safe one (no unsafe here).
sockopt_impl!(
    /// `SOL_PACKET / PACKET_IGNORE_OUTGOING`.
    IgnoreOutgoing,
    SetOnly,
    libc::SOL_PACKET,
    libc::PACKET_IGNORE_OUTGOING,
    bool
);

/// Errors opening a bridge port.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("no interface named {0} (was the lab network removed?)")]
    NoInterface(String),
    #[error(
        "cannot open a packet socket on {interface}: {detail} (the bridge needs root: CAP_NET_RAW)"
    )]
    Open { interface: String, detail: String },
}

/// A bound packet socket on one interface.
pub struct Port {
    pub interface: String,
    fd: OwnedFd,
}

/// Frames taken per recvmmsg call at most.
pub const BATCH: usize = 32;

impl Port {
    /// Sends one frame out of the interface.
    pub fn send(&self, frame: &[u8]) -> std::io::Result<()> {
        socket::send(self.fd.as_raw_fd(), frame, MsgFlags::empty())
            .map(|_| ())
            .map_err(std::io::Error::from)
    }
}

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Port")
            .field("interface", &self.interface)
            .finish()
    }
}

/// A receiving thread's buffers for [`Batch::recv`]: up to [`BATCH`] frames
/// per system call (recvmmsg), allocated once. Not `Send` (nix's headers hold
/// raw pointers): create it on the thread that receives.
pub struct Batch {
    headers: MultiHeaders<SockaddrStorage>,
    bufs: Vec<Vec<u8>>,
    lens: [usize; BATCH],
    n: usize,
}

impl Default for Batch {
    fn default() -> Self {
        Self::new()
    }
}

impl Batch {
    pub fn new() -> Self {
        Batch {
            headers: MultiHeaders::preallocate(BATCH, None),
            bufs: vec![vec![0u8; READ_BUFFER]; BATCH],
            lens: [0; BATCH],
            n: 0,
        }
    }

    /// Waits for the first frame the interface receives (a `WouldBlock`/`TimedOut`
    /// error after [`POLL_INTERVAL`] without one), then takes whatever else is
    /// already queued, with one system call. Returns how many; each frame's
    /// length on the wire (more than the buffer if it was cut) is in [`Batch::frame`].
    pub fn recv(&mut self, port: &Port) -> std::io::Result<usize> {
        self.n = 0;
        let mut iovs: Vec<[IoSliceMut<'_>; 1]> =
            self.bufs.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
        let results = socket::recvmmsg(
            port.fd.as_raw_fd(),
            &mut self.headers,
            iovs.iter_mut(),
            MsgFlags::MSG_WAITFORONE | MsgFlags::MSG_TRUNC,
            None,
        )
        .map_err(std::io::Error::from)?;
        let mut n = 0;
        for (msg, len) in results.zip(self.lens.iter_mut()) {
            *len = msg.bytes;
            n += 1;
        }
        self.n = n;
        Ok(n)
    }

    /// Frame `i` of the last batch (cut to the buffer) and its length on the wire.
    pub fn frame(&mut self, i: usize) -> (&mut [u8], usize) {
        let len = self.lens[i];
        (&mut self.bufs[i][..len.min(READ_BUFFER)], len)
    }
}

/// True for the error a receive returns when [`POLL_INTERVAL`] passed quietly.
pub fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::Interrupted
    )
}

/// Opens `interface` for the bridge (in the calling thread's namespace).
pub fn open(interface: &str) -> Result<Port, PortError> {
    let iface: NetworkInterface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == interface)
        .ok_or_else(|| PortError::NoInterface(interface.to_string()))?;
    let err = |detail: String| PortError::Open {
        interface: interface.to_string(),
        detail,
    };
    let fd = socket::socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::EthAll,
    )
    .map_err(|e| err(e.to_string()))?;
    setsockopt(&fd, IgnoreOutgoing, &true)
        .map_err(|e| err(format!("PACKET_IGNORE_OUTGOING (needs Linux 4.20+): {e}")))?;
    // Room for bursts while a thread is descheduled (2 cores, busy machine);
    // forced (root) past net.core.rmem_max, which would cap it at ~200 KiB.
    if setsockopt(&fd, sockopt::RcvBufForce, &(8 << 20)).is_err() {
        let _ = setsockopt(&fd, sockopt::RcvBuf, &(8 << 20));
    }
    let _ = setsockopt(&fd, sockopt::SndBuf, &(4 << 20));
    let ours = fd.try_clone().map_err(|e| err(e.to_string()))?;
    let config = pnet_datalink::Config {
        read_buffer_size: READ_BUFFER,
        write_buffer_size: READ_BUFFER,
        // The veth end is ours alone; every frame on it is for the bridge.
        promiscuous: true,
        // pnet binds it to the interface (its copy closes when the channel drops).
        socket_fd: Some(fd.into_raw_fd()),
        ..Default::default()
    };
    match pnet_datalink::channel(&iface, config) {
        Ok(Channel::Ethernet(_, _)) => {}
        Ok(_) => return Err(err("pnet returned a non-Ethernet channel".into())),
        Err(e) => return Err(err(e.to_string())),
    }
    // pnet made the (shared) file description non-blocking; we block with a timeout.
    fcntl(&ours, FcntlArg::F_SETFL(OFlag::empty())).map_err(|e| err(e.to_string()))?;
    let timeout = TimeVal::new(0, POLL_INTERVAL.as_micros() as i64);
    setsockopt(&ours, sockopt::ReceiveTimeout, &timeout).map_err(|e| err(e.to_string()))?;
    Ok(Port {
        interface: interface.to_string(),
        fd: ours,
    })
}
