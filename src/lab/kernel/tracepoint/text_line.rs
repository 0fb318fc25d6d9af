//! The text `trace_pipe`, one line at a time: what `cat trace_pipe` shows, parsed
//! into a [`TraceLine`]. Pure, so it is tested on lines captured from a real kernel.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::lab::kernel::KernelState;

/// A line of the text `trace_pipe` that matters here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceLine {
    /// An `inet_sock_set_state` line for TCP.
    Transition {
        /// The trace clock, in ns (the text has µs).
        ts_trace_ns: u64,
        pid: i32,
        cpu: u32,
        local: SocketAddr,
        remote: SocketAddr,
        old: KernelState,
        new: KernelState,
    },
    /// A `trace_marker` write (`tracing_mark_write: TEXT`).
    Marker {
        ts_trace_ns: u64,
        pid: i32,
        cpu: u32,
        text: String,
    },
}

/// Parses one line of `trace_pipe`; `None` for other events, non-TCP protocols and
/// anything malformed. Pure, so it is tested on lines captured from a real kernel.
///
/// The line is `COMM-PID [CPU] FLAGS SECS.MICROS: EVENT: FIELDS`; COMM may contain
/// spaces and dashes, so the header is read from the right.
pub fn parse_trace_line(line: &str) -> Option<TraceLine> {
    let line = line.trim_end_matches(['\n', '\r']);
    let (head, event, body) = split_event(line)?;
    let mut words = head.split_whitespace().rev();
    let ts_trace_ns = parse_trace_ts(words.next()?.strip_suffix(':')?)?;
    // Flags ("....." or "d.s2.") are printed with the default `irq-info` option; the
    // CPU is always there.
    let mut word = words.next()?;
    if !word.starts_with('[') {
        word = words.next()?;
    }
    let cpu = word
        .strip_prefix('[')
        .and_then(|w| w.strip_suffix(']'))?
        .parse()
        .ok()?;
    // The word before the CPU ends COMM-PID (COMM may have spaces and dashes of its
    // own; the pid follows the last dash).
    let pid = words.next()?.rsplit('-').next()?.parse().ok()?;

    match event {
        "tracing_mark_write" => Some(TraceLine::Marker {
            ts_trace_ns,
            pid,
            cpu,
            text: body.to_string(),
        }),
        "inet_sock_set_state" => {
            let fields: HashMap<&str, &str> = body
                .split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .collect();
            if fields.get("protocol").is_some_and(|p| *p != "IPPROTO_TCP") {
                return None;
            }
            let sport: u16 = fields.get("sport")?.parse().ok()?;
            let dport: u16 = fields.get("dport")?.parse().ok()?;
            let (saddr, daddr): (IpAddr, IpAddr) = match *fields.get("family")? {
                "AF_INET" => (
                    fields.get("saddr")?.parse::<Ipv4Addr>().ok()?.into(),
                    fields.get("daddr")?.parse::<Ipv4Addr>().ok()?.into(),
                ),
                "AF_INET6" => (
                    fields.get("saddrv6")?.parse::<Ipv6Addr>().ok()?.into(),
                    fields.get("daddrv6")?.parse::<Ipv6Addr>().ok()?.into(),
                ),
                _ => return None,
            };
            Some(TraceLine::Transition {
                ts_trace_ns,
                pid,
                cpu,
                local: SocketAddr::new(saddr, sport),
                remote: SocketAddr::new(daddr, dport),
                old: fields.get("oldstate")?.parse().ok()?,
                new: fields.get("newstate")?.parse().ok()?,
            })
        }
        _ => None,
    }
}

/// Splits `HEAD: EVENT: BODY` at the first `: NAME: ` whose NAME is an event name.
fn split_event(line: &str) -> Option<(&str, &str, &str)> {
    for event in ["inet_sock_set_state", "tracing_mark_write"] {
        let needle = format!(": {event}: ");
        if let Some(at) = line.find(&needle) {
            // Keep the timestamp's colon in the head, as `parse_trace_line` expects.
            return Some((&line[..at + 1], event, &line[at + needle.len()..]));
        }
    }
    None
}

/// `12345.678901` → ns (the fraction may have any number of digits up to 9).
fn parse_trace_ts(s: &str) -> Option<u64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let frac_ns: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<u64>().ok()? * 10u64.pow(9 - frac.len() as u32)
    };
    secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}
