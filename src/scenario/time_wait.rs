//! `time-wait`: why "Address already in use" happens when a server restarts.
//!
//! The side that closes first keeps its end of the connection in TIME_WAIT for
//! 2×MSL (60 s on Linux), so that a late duplicate segment cannot be taken for
//! part of a new connection on the same four-tuple, and so that its last ACK can
//! be sent again if it was lost. The TIME_WAIT socket still holds its local port.
//!
//! Here the server closes first (as in `server-close`), so the TIME_WAIT holds the
//! server's own port. Then the scenario plays "the server restarts": it stops
//! listening and binds a new socket to the same address —
//!
//! 1. without `SO_REUSEADDR`: Linux refuses with EADDRINUSE;
//! 2. with `SO_REUSEADDR`: Linux allows it, provided the TIME_WAIT socket had
//!    `SO_REUSEADDR` too (it inherits it from the listener that accepted it; tokio's
//!    and std's `TcpListener::bind` set it). Observed on Linux 6.x: if the old
//!    listener had it off, the second bind fails as well.
//!
//! It also finds the TIME_WAIT socket in the kernel's table (`/proc/net/tcp`, the
//! same table `ss -tan state time-wait` shows). The observations go to the server
//! report's notes. The scenario is always one-shot: it must stop listening to
//! show that the port is held by the TIME_WAIT socket alone.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use nix::sys::socket::{getsockopt, sockopt};
use tokio::net::{TcpListener, TcpSocket};

use super::{
    handler, serve_tcp, server_close, ClientReport, Expectation, Params, ScenarioError,
    ServerReport, Shutdown,
};

/// The server: one connection closed by the server first, then the re-bind attempts.
pub async fn serve(
    listener: TcpListener,
    params: &Params,
    shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    let local = listener
        .local_addr()
        .map_err(|e| ScenarioError::io("read the listener's address", e))?;
    let listener_reuse = getsockopt(&listener, sockopt::ReuseAddr).ok();
    let stop = shutdown.clone();
    // One connection only: the listener is closed right after accept().
    let mut report = serve_tcp(
        listener,
        Some(1),
        shutdown,
        params.log(),
        handler(server_close::session),
    )
    .await;
    let finished = report.log.iter().any(|l| l.starts_with("close "));
    if report.connections == 0 || !finished || stop.is_requested() {
        report
            .notes
            .push("no connection was closed by the server: nothing to show".into());
        return Ok(report);
    }
    report.notes.push(match listener_reuse {
        Some(true) => "the listener had SO_REUSEADDR on; accepted sockets (and so the TIME_WAIT \
                       socket) inherit it"
            .into(),
        Some(false) => "the listener had SO_REUSEADDR off; accepted sockets (and so the \
                        TIME_WAIT socket) inherit it"
            .into(),
        None => "could not read the listener's SO_REUSEADDR".into(),
    });
    match kernel_time_wait(local.port()) {
        Ok(sockets) if sockets.is_empty() => report.notes.push(format!(
            "kernel table: no TIME_WAIT socket on port {} (gone already?)",
            local.port()
        )),
        Ok(sockets) => {
            for (l, r) in sockets {
                report
                    .notes
                    .push(format!("kernel table: {l} ↔ {r} in TIME_WAIT"));
            }
        }
        Err(e) => report
            .notes
            .push(format!("could not read /proc/net/tcp: {e}")),
    }
    for reuse in [false, true] {
        report.notes.push(rebind(local, reuse));
    }
    Ok(report)
}

/// Binds and listens on `addr` with `SO_REUSEADDR` set to `reuse`; says what happened.
fn rebind(addr: SocketAddr, reuse: bool) -> String {
    let setting = if reuse { "with" } else { "without" };
    let attempt = || -> io::Result<TcpListener> {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        socket.set_reuseaddr(reuse)?;
        socket.bind(addr)?;
        socket.listen(1)
    };
    match attempt() {
        // Dropped at once: the experiment only needs to know that it worked.
        Ok(_listener) => format!("bind + listen {addr} {setting} SO_REUSEADDR: ok"),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => format!(
            "bind {addr} {setting} SO_REUSEADDR: EADDRINUSE ({e}): the TIME_WAIT socket \
             still holds the port"
        ),
        Err(e) => format!("bind {addr} {setting} SO_REUSEADDR: {e}"),
    }
}

/// TIME_WAIT sockets whose local port is `port`, from `/proc/net/tcp` and `tcp6`.
///
/// The tables of *this thread's* network namespace (`/proc/thread-self/net`): a lab
/// run may have moved the thread into a namespace of its own.
pub fn kernel_time_wait(port: u16) -> io::Result<Vec<(SocketAddr, SocketAddr)>> {
    let base = if Path::new("/proc/thread-self/net").exists() {
        "/proc/thread-self/net"
    } else {
        "/proc/net"
    };
    let mut found = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = match std::fs::read_to_string(Path::new(base).join(table)) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        found.extend(
            parse_proc_net_tcp(&text)
                .into_iter()
                .filter(|(l, _, st)| l.port() == port && *st == TIME_WAIT)
                .map(|(l, r, _)| (l, r)),
        );
    }
    Ok(found)
}

/// The kernel's number for TIME_WAIT (include/net/tcp_states.h).
const TIME_WAIT: u8 = 0x06;

/// `(local, remote, state)` of each line of `/proc/net/tcp{,6}`.
fn parse_proc_net_tcp(text: &str) -> Vec<(SocketAddr, SocketAddr, u8)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace().skip(1);
            let local = parse_endpoint(fields.next()?)?;
            let remote = parse_endpoint(fields.next()?)?;
            let state = u8::from_str_radix(fields.next()?, 16).ok()?;
            Some((local, remote, state))
        })
        .collect()
}

/// `0100007F:1F49` → `127.0.0.1:8009`. The address is printed as the kernel's
/// in-memory 32-bit words (network byte order read as a native, little-endian
/// integer); the port as a plain number.
fn parse_endpoint(s: &str) -> Option<SocketAddr> {
    let (addr, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let hex = addr.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(hex, 16).ok()?.to_le_bytes())
    };
    let ip: IpAddr = match addr.len() {
        8 => Ipv4Addr::from(word(0)?).into(),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Ipv6Addr::from(bytes).into()
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// The client is `server-close`'s: say hello, wait for the server's FIN, close.
pub async fn client(server: SocketAddr) -> Result<ClientReport, ScenarioError> {
    let mut report = server_close::client(server).await?;
    report
        .notes
        .push("the TIME_WAIT is on the server's side: see the server's notes".into());
    Ok(report)
}

/// As `server-close`: the server closes first and keeps the TIME_WAIT.
pub fn expectation() -> Expectation {
    let mut e = server_close::expectation();
    e.notes = vec![
        "the server closes first: its port is held by a TIME_WAIT socket for 2×MSL",
        "re-binding that port fails with EADDRINUSE without SO_REUSEADDR and works with it",
    ];
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_tcp_lines() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when \
                    retrnsmt   uid  timeout inode\n   \
                    0: 0100007F:1F49 0100007F:9C40 06 00000000:00000000 03:00001770 \
                    00000000     0        0 0 3 0000000000000000\n";
        let parsed = parse_proc_net_tcp(text);
        assert_eq!(
            parsed,
            vec![(
                "127.0.0.1:8009".parse().unwrap(),
                "127.0.0.1:40000".parse().unwrap(),
                TIME_WAIT
            )]
        );
        assert_eq!(
            parse_endpoint("00000000000000000000000001000000:1F49"),
            Some("[::1]:8009".parse().unwrap())
        );
    }
}
