//! `connect-timeout`: a connect whose SYNs are never answered.
//!
//! The server listens, but the link between the namespaces drops every TCP segment
//! on its way to it, as a firewall's DROP rule would (ARP still passes: the client
//! resolves the server for real). Nobody answers, not even with RST, so the client's
//! kernel retransmits its SYN with exponential backoff (the retransmission timeout
//! doubles: 1 s, 2 s, 4 s, …) and gives up after `TCP_SYNCNT` retransmissions:
//! connect() fails with ETIMEDOUT and the socket goes SYN_SENT → CLOSED, the
//! diagram's timer arc, without a segment. Compare `refused`, where a RST ends the
//! connect at once.
//!
//! The lab network is what makes it deterministic: on loopback the listener would
//! answer, so [`NEEDS`] has `run` pick the namespaces and the dropping link by
//! itself, and turn off, in the client's namespace only, the steady 1 s retries
//! Linux 6.x makes before it starts doubling (`net.ipv4.tcp_syn_linear_timeouts`). `TCP_SYNCNT` keeps it short: with the default 2 retransmissions the
//! SYNs leave at 0, 1 and 3 s and the connect gives up at 7 s (Linux's own default,
//! `net.ipv4.tcp_syn_retries` = 6, takes 127 s).

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::socket::setsockopt;
// The macro names its helpers unqualified: they must be in scope.
use nix::{setsockopt_impl, sockopt_impl};
use tokio::net::{TcpListener, TcpSocket};

use super::{
    ClientReport, ConnectionExpectation, Expectation, LinkNeeds, Params, ScenarioError,
    ServerReport, Shutdown,
};
use crate::analyze::{TcpState, Why};
use crate::output::words::plural;

/// What the scenario needs of the network: the lab, with client→server TCP dropped.
pub const NEEDS: LinkNeeds = LinkNeeds {
    drop_tcp_to_server: true,
    // Linux 6.x retransmits the first SYNs at a steady 1 s before it doubles
    // (`tcp_syn_linear_timeouts`, 4 by default); the textbook's backoff doubles from
    // the first. Per namespace: the host keeps its own setting.
    client_sysctls: &[("net.ipv4.tcp_syn_linear_timeouts", "0")],
    echo_server_fin: false,
    least_delay: std::time::Duration::ZERO,
};

/// `TCP_SYNCNT` when none is given: SYNs at 0, 1, 3 s, ETIMEDOUT at 7 s.
pub const DEFAULT_SYN_RETRIES: u8 = 2;

// Linux's `TCP_SYNCNT` (tcp(7)): how many times connect() retransmits its SYN
// before giving up, for this socket only. nix has no type for it; its macro
// defines the type (`TcpSynCnt`) and the setter.
sockopt_impl!(TcpSynCnt, SetOnly, libc::IPPROTO_TCP, libc::TCP_SYNCNT, i32);

/// Seconds from the first SYN until connect() gives up, after `retries`
/// retransmissions: the initial 1 s RTO doubles each time (1 + 2 + … + 2^retries).
pub fn give_up_after(retries: u8) -> Duration {
    Duration::from_secs((1u64 << (u32::from(retries) + 1)) - 1)
}

/// The server: a listener that no SYN reaches. It waits until it is stopped.
pub async fn serve(
    listener: TcpListener,
    params: &Params,
    mut shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    let log = params.log();
    let addr = listener.local_addr().ok();
    log.push(format!(
        "listening on {}; no SYN will reach it: the link drops them",
        addr.map(|a| a.to_string()).unwrap_or_default()
    ));
    // Accept anyway: if a SYN does get through (a link that does not drop), the
    // connection is taken and said, not left in the backlog.
    loop {
        tokio::select! {
            _ = shutdown.requested() => break,
            r = listener.accept() => if let Ok((_, peer)) = r {
                log.push(format!("accepted {peer}: the link did not drop the SYN"));
            },
        }
    }
    Ok(ServerReport {
        log: log.take(),
        notes: vec!["the listener waited; the link dropped every SYN before it".into()],
        ..ServerReport::default()
    })
}

/// The client: one connect() with `TCP_SYNCNT` = `params.syn_retries`, which must
/// time out.
pub async fn client(server: SocketAddr, params: &Params) -> Result<ClientReport, ScenarioError> {
    let what = || format!("connect to {server}");
    let socket = match server {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|e| ScenarioError::io(what(), e))?;
    setsockopt(&socket, TcpSynCnt, &i32::from(params.syn_retries))
        .map_err(|e| ScenarioError::io("set TCP_SYNCNT", io::Error::from(e)))?;
    let started = Instant::now();
    let limit = give_up_after(params.syn_retries) + Duration::from_secs(10);
    match tokio::time::timeout(limit, socket.connect(server)).await {
        Ok(Err(e)) if e.kind() == io::ErrorKind::TimedOut => Ok(ClientReport {
            replies: vec![e.to_string()],
            notes: vec![format!(
                "connect to {server}: timed out (ETIMEDOUT) after {:.1} s and {}, as \
                 expected: nobody answered, not even with RST",
                started.elapsed().as_secs_f64(),
                plural(
                    u64::from(params.syn_retries),
                    "SYN retransmission",
                    "SYN retransmissions"
                )
            )],
            ..ClientReport::default()
        }),
        Ok(Err(e)) => Err(ScenarioError::io(what(), e)),
        Ok(Ok(_)) => Err(ScenarioError::NotTimedOut { addr: server }),
        Err(_) => Err(ScenarioError::Timeout {
            what: what(),
            after: limit,
        }),
    }
}

/// The SYN and its retransmissions, then nothing: SYN_SENT → CLOSED by the timer.
pub fn expectation() -> Expectation {
    Expectation {
        connections: vec![ConnectionExpectation {
            client_states: vec![TcpState::Closed, TcpState::SynSent, TcpState::Closed],
            // The SYNs never reach it: it stays the LISTEN it was.
            server_states: vec![TcpState::Listen],
            client_bytes: Some(0),
            server_bytes: Some(0),
            ways: vec![(TcpState::SynSent, TcpState::Closed, Why::ConnectTimedOut)],
            kernel_only: Vec::new(),
        }],
        udp_datagrams: None,
        notes: vec![
            "the SYN leaves again and again, each gap twice the one before (exponential backoff)",
            "no RST and no answer at all: the connect gives up on its own (ETIMEDOUT)",
        ],
        kernel_confirms: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_one_second() {
        assert_eq!(give_up_after(0), Duration::from_secs(1));
        assert_eq!(give_up_after(2), Duration::from_secs(7));
        // Linux's default net.ipv4.tcp_syn_retries.
        assert_eq!(give_up_after(6), Duration::from_secs(127));
    }
}
