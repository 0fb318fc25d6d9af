//! `udp-daytime`: a UDP server that answers every datagram with the current time
//! (RFC 867's daytime service), and clients that ask a few times each.
//!
//! What it teaches:
//! - UDP has no handshake and no close: the first packet on the wire is already the
//!   request, the last one the answer. There are no TCP states to infer;
//! - one socket serves every client: `recv_from` says who sent the datagram,
//!   `send_to` answers to that address. "Concurrency" is free (notes: UDP 默认支持并发);
//! - the client's `connect()` sends nothing: it only fixes the default peer, so that
//!   `send`/`recv` work and an ICMP "port unreachable" comes back as ECONNREFUSED;
//! - nothing retransmits: a lost datagram is simply gone, the client only notices
//!   that no answer came within its timeout.
//!
//! Try it by hand: `protolab serve udp-daytime`, then `nc -u 127.0.0.1 8006` and press Enter.
//!
//! Against the notes' programs (their UDP server and client, port 8006):
//! - the request is the notes' own: `Are you Ready?`, 14 bytes, no line ending.
//!   Each client sends [`REQUESTS_PER_CLIENT`] of them, one at a time, each after
//!   the answer to the one before, as the notes' looping client does;
//! - the answer's *text* differs. The notes' server sends Go's `time.Now().String()`
//!   (`2026-12-06 22:17:40.123456789 +0800 CST m=+0.000012345`; the looping version
//!   adds `\n`): the local time zone and a reading of Go's monotonic clock, a debug
//!   format. protolab's server sends RFC 867's daytime line in UTC ending in `\r\n`
//!   (`Sunday, December 6, 2026 22:17:40-UTC\r\n`): the service's standard answer,
//!   the same whatever the machine's zone, and one the client can check
//!   ([`parse_daytime`]). The notes' client prints any text, so it works unchanged;
//!   protolab's client records any answer it gets as a reply;
//! - one datagram each way per request, whatever the text: the notes' client reads
//!   into 4096 bytes, protolab's server reads up to 64 KiB, its client 2048;
//! - the end rule: UDP has none. The notes' first server answers one datagram and
//!   exits, so protolab's client gets one answer from it, and its next datagrams
//!   are reported unanswered (port unreachable, or no answer within
//!   [`REPLY_TIMEOUT`]) — not an error.

use crate::output::words::plural;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::UdpSocket;
use tokio::task::JoinSet;

use super::{
    run_clients, step, text, ClientReport, Expectation, Params, ScenarioError, ServerReport,
    Shutdown,
};

/// What each client asks: the notes' client's words, byte for byte.
pub const REQUEST: &str = "Are you Ready?";
/// Datagrams each client sends.
pub const REQUESTS_PER_CLIENT: u64 = 3;
/// How long a client waits for each answer before it counts the datagram as lost.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(1);

/// The server: one socket, one loop, an answer per datagram.
pub async fn serve(
    socket: UdpSocket,
    params: &Params,
    mut shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    let socket = Arc::new(socket);
    let limit = params.limit(params.clients.saturating_mul(REQUESTS_PER_CLIENT as usize));
    let log = params.log();
    let mut report = ServerReport::default();
    let mut peers = std::collections::BTreeSet::new();
    let mut sends = JoinSet::new();
    let mut buf = vec![0u8; 65_536];
    let mut answered = 0usize;
    while limit.is_none_or(|n| answered < n) && !shutdown.is_requested() {
        // recv_from returns one whole datagram (never part of one, never two) and the
        // address it came from: there is no connection to remember the peer for us.
        let received = tokio::select! {
            r = socket.recv_from(&mut buf) => r,
            () = shutdown.requested() => break,
        };
        let (n, peer) = match received {
            Ok(pair) => pair,
            Err(e) => {
                // A previous answer's ICMP error can surface here; it concerns nobody now.
                log.push(format!("recv_from failed: {e}"));
                continue;
            }
        };
        report.bytes_in += n as u64;
        peers.insert(peer);
        log.push(format!(
            "datagram from {peer} ({})",
            plural(n, "byte", "bytes")
        ));
        let answer = daytime(SystemTime::now());
        report.bytes_out += answer.len() as u64;
        answered += 1;
        // Answer in a task of its own (the notes' `go func() { conn.WriteToUDP(…) }()`),
        // so the loop is back in recv_from at once.
        let socket = Arc::clone(&socket);
        let log = log.clone();
        sends.spawn(async move {
            if let Err(e) = socket.send_to(answer.as_bytes(), peer).await {
                log.push(format!("send_to {peer} failed: {e}"));
            }
        });
        // Finished sends are reaped as the loop goes: `serve` answering the notes'
        // looping client (a million requests) would otherwise keep every one.
        while sends.try_join_next().is_some() {}
    }
    while sends.join_next().await.is_some() {}
    report.notes.push(format!(
        "answered {} from {}; UDP has no connections",
        plural(answered, "datagram", "datagrams"),
        plural(peers.len(), "client address", "client addresses")
    ));
    report.log = log.take();
    Ok(report)
}

/// `--clients N` clients at once, each asking [`REQUESTS_PER_CLIENT`] times.
pub async fn client(server: SocketAddr, params: &Params) -> Result<ClientReport, ScenarioError> {
    run_clients(params.clients, |_| one_client(server)).await
}

async fn one_client(server: SocketAddr) -> Result<ClientReport, ScenarioError> {
    let any: IpAddr = match server {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind((any, 0))
        .await
        .map_err(|e| ScenarioError::io("bind a UDP socket", e))?;
    // No packet leaves here: connect() on UDP only records the default destination.
    socket
        .connect(server)
        .await
        .map_err(|e| ScenarioError::io(format!("connect to {server}"), e))?;
    let mut report = ClientReport::default();
    let mut buf = vec![0u8; 2048];
    for k in 1..=REQUESTS_PER_CLIENT {
        // Each client's datagrams differ only in their source port: the capture
        // tells the clients apart by it, as the server does.
        step(
            || format!("send datagram {k}"),
            socket.send(REQUEST.as_bytes()),
        )
        .await?;
        report.bytes_sent += REQUEST.len() as u64;
        match tokio::time::timeout(REPLY_TIMEOUT, socket.recv(&mut buf)).await {
            Ok(Ok(n)) => {
                report.bytes_received += n as u64;
                report.replies.push(text(&buf[..n]));
            }
            // The kernel turned an ICMP "port unreachable" into this error.
            Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                report.notes.push(format!(
                    "datagram {k}: ICMP port unreachable — nobody listens on {server}"
                ));
            }
            Ok(Err(e)) => return Err(ScenarioError::io(format!("receive answer {k}"), e)),
            Err(_) => report.notes.push(format!(
                "datagram {k}: no answer within {REPLY_TIMEOUT:?} — lost, and UDP does not \
                 retransmit"
            )),
        }
    }
    Ok(report)
}

/// No TCP connections; datagrams both ways.
pub fn expectation(params: &Params) -> Expectation {
    let n = params.clients as u64 * REQUESTS_PER_CLIENT;
    Expectation {
        connections: Vec::new(),
        udp_datagrams: Some((n, n)),
        kernel_confirms: false,
        notes: vec![
            "UDP has no handshake and no close: no SYN, no FIN, no TCP states",
            "every request datagram is answered by exactly one datagram from the server port",
            "each client is one UDP stream (its own source port); all share the server's socket",
        ],
    }
}

// ---------------------------------------------------------------------------
// The daytime text (RFC 867 suggests "Weekday, Month Day, Year Time-Zone")
// ---------------------------------------------------------------------------

const WEEKDAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The answer for time `t`, e.g. `Monday, February 22, 1982 17:37:43-UTC\r\n`.
pub fn daytime(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {} {}, {} {:02}:{:02}:{:02}-UTC\r\n",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        y,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Parses a [`daytime`] answer back to seconds since the Unix epoch.
pub fn parse_daytime(s: &str) -> Option<u64> {
    let s = s.trim_end_matches(['\r', '\n']).strip_suffix("-UTC")?;
    let (weekday, rest) = s.split_once(", ")?;
    let mut parts = rest.split(' ');
    let month = parts.next()?;
    let day: u32 = parts.next()?.strip_suffix(',')?.parse().ok()?;
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (h, mi, se) = (hms.next()??, hms.next()??, hms.next()??);
    if parts.next().is_some() || hms.next().is_some() || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let m = MONTHS.iter().position(|n| *n == month)? as u32 + 1;
    let days = days_from_civil(year, m, day);
    if WEEKDAYS[days.rem_euclid(7) as usize] != weekday || civil_from_days(days) != (year, m, day) {
        return None;
    }
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + h * 3600 + mi * 60 + se)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_867_example_date() {
        // RFC 867's example time. The RFC calls the day a Tuesday; it was a Monday.
        let t = UNIX_EPOCH + Duration::from_secs(383_247_463);
        assert_eq!(daytime(t), "Monday, February 22, 1982 17:37:43-UTC\r\n");
        assert_eq!(parse_daytime(&daytime(t)), Some(383_247_463));
    }

    #[test]
    fn round_trips_and_rejects_nonsense() {
        for secs in [0, 951_782_400, 1_709_164_800, 4_102_444_799] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_daytime(&daytime(t)), Some(secs), "{}", daytime(t));
        }
        assert_eq!(
            parse_daytime("Tuesday, February 22, 1982 17:37:43-UTC"),
            None
        );
        assert_eq!(
            parse_daytime("Tuesday, February 30, 1982 17:37:43-UTC"),
            None
        );
        assert_eq!(parse_daytime("hello"), None);
    }
}
