//! A socket's TCP state as its own kernel holds it, read with `getsockopt(TCP_INFO)`
//! (`tcpi_state`, the first byte of `struct tcp_info`).
//!
//! The crossing scenarios act on a state, not on a guess of time: `syn-received-close`
//! closes only once its socket *is* in SYN_RECEIVED, and the two sides of a crossing
//! start together only once the first side's SYN or FIN has really left. Asking the
//! socket itself is exact (the table `ss` reads names sockets by address, and is
//! slower to ask).

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use crate::analyze::TcpState;
use crate::model::tcp_dynamics::SocketTcpInfo;

/// The TCP state the kernel holds for `socket` now (Linux's `TCP_*` numbering,
/// `include/net/tcp_states.h`).
pub(crate) fn state_of(socket: &impl AsRawFd) -> io::Result<TcpState> {
    // tcpi_state is the first byte of struct tcp_info; the kernel copies at most
    // the length asked for, so a short buffer is enough and stays valid.
    let (info, _) = tcp_info::<8>(socket)?;
    from_linux(info[0])
        .ok_or_else(|| io::Error::other(format!("unknown TCP state {} in TCP_INFO", info[0])))
}

/// How many segments `socket` has handed down to IP so far (`tcpi_segs_out`,
/// Linux ≥ 4.2), its SYN included: once it is 1 or more, the SYN has left.
pub(crate) fn segs_out(socket: &impl AsRawFd) -> io::Result<u32> {
    // struct tcp_info up to tcpi_segs_out: 8 bytes of u8 fields, 24 u32, 4 u64,
    // then tcpi_segs_out (offset 136).
    u32_at::<{ 8 + 24 * 4 + 4 * 8 }>(socket, "tcpi_segs_out")
}

/// How many segments `socket` has retransmitted in its life
/// (`tcpi_total_retrans`): the kernel counts each segment of a resent buffer,
/// where the `tcp_retransmit_skb` tracepoint fires once per buffer. It stays
/// readable after the connection is over, as long as the socket is open.
pub(crate) fn total_retrans(socket: &impl AsRawFd) -> io::Result<u32> {
    // 8 bytes of u8 fields, then the 24th u32 (after tcpi_rcv_space): offset 100.
    u32_at::<{ 8 + 23 * 4 }>(socket, "tcpi_total_retrans")
}

/// The counters the lab keeps in kernel.json of `socket`, connected from
/// `local` to `remote` (asked for when it connected: once the peer's FIN has
/// come, the socket is closed and no longer names its peer); `None` when this
/// kernel lacks the field.
pub(crate) fn counters(
    socket: &(impl AsRawFd + std::os::fd::AsFd),
    (local, remote): (SocketAddr, SocketAddr),
) -> Option<SocketTcpInfo> {
    Some(SocketTcpInfo {
        local,
        remote,
        total_retrans: u64::from(total_retrans(socket).ok()?),
        congestion_control: super::congestion::of(socket).ok(),
    })
}

/// The two ends of a connected `socket`, for [`counters`].
pub(crate) fn ends(socket: &tokio::net::TcpStream) -> io::Result<(SocketAddr, SocketAddr)> {
    Ok((socket.local_addr()?, socket.peer_addr()?))
}

/// The `u32` at byte `AT` of `socket`'s `struct tcp_info`, named `what` in the
/// error when this kernel's struct is too short to have it.
fn u32_at<const AT: usize>(socket: &impl AsRawFd, what: &str) -> io::Result<u32> {
    let (info, len) = tcp_info::<160>(socket)?;
    let bytes = info
        .get(AT..AT + 4)
        .filter(|_| len >= AT + 4)
        .ok_or_else(|| io::Error::other(format!("this kernel's TCP_INFO has no {what}")))?;
    Ok(u32::from_ne_bytes(bytes.try_into().expect("4 bytes")))
}

/// The first `N` bytes of `socket`'s `struct tcp_info`, and how many of them the
/// kernel filled (an older kernel's struct may be shorter).
fn tcp_info<const N: usize>(socket: &impl AsRawFd) -> io::Result<([u8; N], usize)> {
    let mut info = [0u8; N];
    let mut len = N as nix::libc::socklen_t;
    // SAFETY: the pointer and length describe `info`, which outlives the call; the
    // kernel writes at most `len` bytes into it and updates `len`.
    #[allow(unsafe_code)]
    let rc = unsafe {
        nix::libc::getsockopt(
            socket.as_raw_fd(),
            nix::libc::IPPROTO_TCP,
            nix::libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((info, len as usize))
}

/// Linux's state numbers (TCP_ESTABLISHED = 1 … TCP_CLOSING = 11) in RFC terms.
fn from_linux(code: u8) -> Option<TcpState> {
    use TcpState::*;
    Some(match code {
        1 => Established,
        2 => SynSent,
        3 => SynReceived,
        4 => FinWait1,
        5 => FinWait2,
        6 => TimeWait,
        7 => Closed,
        8 => CloseWait,
        9 => LastAck,
        10 => Listen,
        11 => Closing,
        _ => return None,
    })
}

/// Waits until `socket` is in `want`, asking its kernel every 200 µs, for at most
/// `limit`. Returns the state it found last when that is not `want` and can no
/// longer become it (`gone_past` says which states are beyond it), or on timeout.
pub(crate) async fn wait_for_state(
    socket: &impl AsRawFd,
    want: TcpState,
    gone_past: &[TcpState],
    limit: Duration,
) -> io::Result<Result<(), TcpState>> {
    let deadline = Instant::now() + limit;
    loop {
        let now = state_of(socket)?;
        if now == want {
            return Ok(Ok(()));
        }
        if gone_past.contains(&now) || Instant::now() >= deadline {
            return Ok(Err(now));
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_numbers_name_every_state_once() {
        let names: Vec<TcpState> = (1..=11).filter_map(from_linux).collect();
        assert_eq!(names.len(), 11);
        let mut unique = names.clone();
        unique.sort_by_key(|s| format!("{s:?}"));
        unique.dedup();
        assert_eq!(unique.len(), 11);
        assert_eq!(from_linux(0), None);
        assert_eq!(
            from_linux(12),
            None,
            "NEW_SYN_RECV is a request, not a socket"
        );
    }

    #[tokio::test]
    async fn a_listener_and_its_connection_say_their_states() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(state_of(&listener).unwrap(), TcpState::Listen);
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert_eq!(state_of(&stream).unwrap(), TcpState::Established);
        // The client sent its SYN (and its ACK of the SYN-ACK); the listener nothing.
        assert!(segs_out(&stream).unwrap() >= 1);
        assert_eq!(segs_out(&listener).unwrap(), 0);
        // Nothing was lost on loopback.
        assert_eq!(total_retrans(&stream).unwrap(), 0);
    }
}
