//! One side of the bridge: an AF_PACKET socket on a root-side veth end, handed
//! to pnet as a sender/receiver pair.
//!
//! We create the socket ourselves because pnet cannot set two things the bridge
//! depends on (FACTS.md): `PACKET_IGNORE_OUTGOING`, without which each socket
//! also receives every frame the bridge itself transmits on that interface (a
//! forwarding loop of hundreds of thousands of frames a second), and a read
//! buffer of 64 KiB instead of pnet's 4096 bytes, which would cut longer frames.

use std::os::fd::IntoRawFd;
use std::time::Duration;

use nix::libc;
use nix::sys::socket::{
    self, setsockopt, sockopt, AddressFamily, SockFlag, SockProtocol, SockType,
};
use nix::{setsockopt_impl, sockopt_impl};
use pnet_datalink::{Channel, DataLinkReceiver, DataLinkSender, NetworkInterface};

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

/// A sender and a receiver on one interface.
pub struct Port {
    pub interface: String,
    pub tx: Box<dyn DataLinkSender>,
    pub rx: Box<dyn DataLinkReceiver>,
}

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Port")
            .field("interface", &self.interface)
            .finish()
    }
}

/// Opens `interface` for the bridge. Frames the interface receives arrive on
/// `rx` (never the ones sent through `tx`); receives time out after [`POLL_INTERVAL`].
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
    // Room for bursts while a thread is descheduled (2 cores, busy machine).
    // Forced (root) past net.core.rmem_max, which would cap it at ~200 KiB.
    if setsockopt(&fd, sockopt::RcvBufForce, &(8 << 20)).is_err() {
        let _ = setsockopt(&fd, sockopt::RcvBuf, &(8 << 20));
    }
    let _ = setsockopt(&fd, sockopt::SndBuf, &(4 << 20));
    let config = pnet_datalink::Config {
        read_buffer_size: READ_BUFFER,
        write_buffer_size: READ_BUFFER,
        read_timeout: Some(POLL_INTERVAL),
        // The veth end is ours alone; every frame on it is for the bridge.
        promiscuous: true,
        // pnet binds it to the interface and owns (closes) it from here on.
        socket_fd: Some(fd.into_raw_fd()),
        ..Default::default()
    };
    match pnet_datalink::channel(&iface, config) {
        Ok(Channel::Ethernet(tx, rx)) => Ok(Port {
            interface: interface.to_string(),
            tx,
            rx,
        }),
        Ok(_) => Err(err("pnet returned a non-Ethernet channel".into())),
        Err(e) => Err(err(e.to_string())),
    }
}
