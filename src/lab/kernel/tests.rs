//! Unit tests of the pure parts: state names, the trace-line and `/proc/net/tcp`
//! parsers, the ring-buffer decoder, the clock mapping, the sock_diag filter program
//! and the timeline folding. Fixtures in `testdata/` were captured on a real kernel
//! (Linux 6.18, x86-64) from loopback connections on ports 8001–8003.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::ring_buffer::{decode_page, Format, PageLayout};
use super::sock_diag::port_bytecode;
use super::timeline::TimelineBuilder;
use super::tracepoint::clock::ClockMap;
use super::tracepoint::filter::build_filter;
use super::tracepoint::record::{Decoded, RecordDecoder};
use super::tracepoint::tracefs::instance_pid;
use super::tracepoint::transition::stitch_text_sockets;
use super::*;
use crate::analyze::TcpState;

const TRACE_TEXT: &str = include_str!("testdata/trace_pipe.txt");
const PROC_TEXT: &str = include_str!("testdata/proc_net_tcp.txt");
const SOCK_FORMAT: &str = include_str!("testdata/inet_sock_set_state.format");
const PRINT_FORMAT: &str = include_str!("testdata/ftrace_print.format");
const HEADER_PAGE: &str = include_str!("testdata/header_page");
/// Listener, client and server of 127.0.0.1:8001, then the same over [::1]:8001.
const PAGE_CPU0: &[u8] = include_bytes!("testdata/trace_pipe_raw_cpu0.bin");
/// One `trace_marker` write: "plab-sync fixture 0".
const PAGE_CPU1: &[u8] = include_bytes!("testdata/trace_pipe_raw_cpu1.bin");

use KernelState::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

// ---- states ----

#[test]
fn state_codes_round_trip_and_print_like_the_kernel() {
    for s in KernelState::ALL {
        assert_eq!(KernelState::from_code(s.code()), Some(s));
        assert_eq!(s.kernel_name().parse::<KernelState>().unwrap(), s);
        assert_eq!(s.to_string(), s.kernel_name());
    }
    assert_eq!(KernelState::from_code(0), None);
    assert_eq!(KernelState::from_code(13), None);
    assert_eq!(KernelState::from_code(3), Some(SynRecv));
    assert_eq!(SynRecv.to_string(), "TCP_SYN_RECV");
    assert_eq!(Closed.to_string(), "TCP_CLOSE");
    assert_eq!(NewSynRecv.to_string(), "TCP_NEW_SYN_RECV");
}

#[test]
fn state_names_of_ss_and_bare_names_parse() {
    assert_eq!("SYN-RECV".parse::<KernelState>().unwrap(), SynRecv);
    assert_eq!("time-wait".parse::<KernelState>().unwrap(), TimeWait);
    assert_eq!("ESTAB".parse::<KernelState>().unwrap(), Established);
    assert_eq!("FIN_WAIT1".parse::<KernelState>().unwrap(), FinWait1);
    assert_eq!("FIN-WAIT-2".parse::<KernelState>().unwrap(), FinWait2);
    assert_eq!("UNCONN".parse::<KernelState>().unwrap(), Closed);
    let err = "TCP_BOGUS".parse::<KernelState>().unwrap_err();
    assert!(err.to_string().contains("TCP_BOGUS"));
}

#[test]
fn states_map_onto_the_rfc() {
    let expected = [
        (Closed, Some(TcpState::Closed)),
        (Listen, Some(TcpState::Listen)),
        (SynSent, Some(TcpState::SynSent)),
        (SynRecv, Some(TcpState::SynReceived)),
        (NewSynRecv, None),
        (Established, Some(TcpState::Established)),
        (FinWait1, Some(TcpState::FinWait1)),
        (FinWait2, Some(TcpState::FinWait2)),
        (Closing, Some(TcpState::Closing)),
        (TimeWait, Some(TcpState::TimeWait)),
        (CloseWait, Some(TcpState::CloseWait)),
        (LastAck, Some(TcpState::LastAck)),
    ];
    assert_eq!(expected.len(), KernelState::ALL.len());
    for (k, rfc) in expected {
        assert_eq!(k.to_rfc(), rfc, "{k}");
    }
}

#[test]
fn states_serialize_as_kernel_names() {
    assert_eq!(serde_json::to_string(&LastAck).unwrap(), "\"TCP_LAST_ACK\"");
    let back: KernelState = serde_json::from_str("\"TCP_CLOSE_WAIT\"").unwrap();
    assert_eq!(back, CloseWait);
}

#[test]
fn ports_are_normalized_and_required() {
    assert_eq!(normalize_ports(&[9, 0, 8, 9]).unwrap(), vec![8, 9]);
    assert!(matches!(normalize_ports(&[]), Err(KernelError::NoPorts)));
    assert!(matches!(normalize_ports(&[0]), Err(KernelError::NoPorts)));
}

#[test]
fn error_messages_say_what_to_do() {
    let e = KernelError::TracefsMount {
        detail: "not running as root".into(),
    };
    let msg = e.to_string();
    assert!(msg.contains("tracing needs root (CAP_SYS_ADMIN) to mount tracefs: run with sudo"));
    let e = KernelError::trace_io(
        "/sys/kernel/tracing/instances/x",
        std::io::Error::from(std::io::ErrorKind::PermissionDenied),
    );
    assert!(matches!(e, KernelError::TracePermission { .. }));
    assert!(e.to_string().contains("run with sudo"));
}

// ---- text trace lines ----

#[test]
fn trace_line_ipv4_listen() {
    let line = "         python3-27495   [001] .....  3543.553193: inet_sock_set_state: \
        family=AF_INET protocol=IPPROTO_TCP sport=8001 dport=0 saddr=127.0.0.1 \
        daddr=0.0.0.0 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:0.0.0.0 \
        oldstate=TCP_CLOSE newstate=TCP_LISTEN";
    assert_eq!(
        parse_trace_line(line),
        Some(TraceLine::Transition {
            ts_trace_ns: 3_543_553_193_000,
            pid: 27495,
            cpu: 1,
            local: sa("127.0.0.1:8001"),
            remote: sa("0.0.0.0:0"),
            old: Closed,
            new: Listen,
        })
    );
}

#[test]
fn trace_line_with_spaces_in_comm_and_softirq_flags() {
    // A softirq transition in the context of an unrelated process named "opt cgu.0".
    let line = TRACE_TEXT
        .lines()
        .find(|l| l.contains("opt cgu.0") && l.contains("newstate=TCP_FIN_WAIT2"))
        .expect("fixture line");
    let Some(TraceLine::Transition {
        pid,
        cpu,
        local,
        remote,
        old,
        new,
        ts_trace_ns,
    }) = parse_trace_line(line)
    else {
        panic!("not parsed: {line}");
    };
    assert_eq!((pid, cpu), (27537, 1));
    assert_eq!(
        (local, remote),
        (sa("127.0.0.1:46032"), sa("127.0.0.1:8001"))
    );
    assert_eq!((old, new), (FinWait1, FinWait2));
    assert_eq!(ts_trace_ns, 3_543_600_096_000);
}

#[test]
fn trace_line_ipv6_uses_the_v6_fields() {
    // saddr=127.0.0.6 is the kernel's placeholder for IPv6 sockets: it must be ignored.
    let line = TRACE_TEXT
        .lines()
        .find(|l| l.contains("AF_INET6") && l.contains("newstate=TCP_LISTEN"))
        .expect("fixture line");
    let Some(TraceLine::Transition { local, remote, .. }) = parse_trace_line(line) else {
        panic!("not parsed: {line}");
    };
    assert_eq!(local, sa("[::1]:8001"));
    assert_eq!(remote, sa("[::]:0"));
}

#[test]
fn trace_line_marker() {
    let line = "            bash-1847    [000] ...1.  3764.491821: tracing_mark_write: plab-sync fixture 1";
    assert_eq!(
        parse_trace_line(line),
        Some(TraceLine::Marker {
            ts_trace_ns: 3_764_491_821_000,
            pid: 1847,
            cpu: 0,
            text: "plab-sync fixture 1".to_string(),
        })
    );
}

#[test]
fn trace_lines_that_do_not_matter_are_none() {
    assert_eq!(parse_trace_line(""), None);
    assert_eq!(parse_trace_line("# tracer: nop"), None);
    assert_eq!(
        parse_trace_line("  bash-1 [000] ..... 1.000001: sched_switch: prev_comm=bash"),
        None
    );
    let sctp = "p-1 [000] ..... 1.000001: inet_sock_set_state: family=AF_INET \
        protocol=IPPROTO_SCTP sport=1 dport=2 saddr=127.0.0.1 daddr=127.0.0.1 \
        saddrv6=::1 daddrv6=::1 oldstate=TCP_CLOSE newstate=TCP_LISTEN";
    assert_eq!(parse_trace_line(sctp), None);
    let truncated = "p-1 [000] ..... 1.000001: inet_sock_set_state: family=AF_INET sport=1";
    assert_eq!(parse_trace_line(truncated), None);
}

fn text_transitions() -> Vec<KernelTransition> {
    TRACE_TEXT
        .lines()
        .filter_map(parse_trace_line)
        .filter_map(|l| match l {
            TraceLine::Transition {
                ts_trace_ns,
                pid,
                local,
                remote,
                old,
                new,
                ..
            } => Some(KernelTransition {
                ts_ns: ts_trace_ns,
                local,
                remote,
                old,
                new,
                sock: 0,
                pid,
            }),
            TraceLine::Marker { .. } => None,
        })
        .collect()
}

#[test]
fn every_fixture_line_parses() {
    let lines: Vec<&str> = TRACE_TEXT
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    for line in &lines {
        assert!(parse_trace_line(line).is_some(), "not parsed: {line}");
    }
    assert_eq!(text_transitions().len(), 24);
}

#[test]
fn text_mode_stitching_recovers_each_socket() {
    let mut ts = text_transitions();
    stitch_text_sockets(&mut ts);
    let histories = group_by_socket(&ts);
    let summary: Vec<(SocketAddr, SocketAddr, Vec<KernelState>)> = histories
        .iter()
        .map(|h| (h.local, h.remote, h.states()))
        .collect();
    let client = vec![Closed, SynSent, Established, FinWait1, FinWait2, Closed];
    let server = vec![Listen, SynRecv, Established, CloseWait, LastAck, Closed];
    let listener = vec![Closed, Listen, Closed];
    assert_eq!(
        summary,
        vec![
            (sa("127.0.0.1:8001"), sa("0.0.0.0:0"), listener.clone()),
            (sa("127.0.0.1:46032"), sa("127.0.0.1:8001"), client.clone()),
            (sa("127.0.0.1:8001"), sa("127.0.0.1:46032"), server.clone()),
            (sa("[::1]:8001"), sa("[::]:0"), listener),
            (sa("[::1]:59780"), sa("[::1]:8001"), client),
            (sa("[::1]:8001"), sa("[::1]:59780"), server),
        ]
    );
    // The client's first transition still has port 0, yet belongs to its socket.
    assert_eq!(histories[1].transitions[0].local.port(), 0);
}

#[test]
fn trace_timestamps_parse_with_any_fraction() {
    let line = |ts: &str| format!("x-1 [000] ..... {ts}: tracing_mark_write: m");
    let ts_of = |ts: &str| match parse_trace_line(&line(ts)) {
        Some(TraceLine::Marker { ts_trace_ns, .. }) => Some(ts_trace_ns),
        _ => None,
    };
    assert_eq!(ts_of("1.5"), Some(1_500_000_000));
    assert_eq!(ts_of("2.000000001"), Some(2_000_000_001));
    assert_eq!(ts_of("3"), Some(3_000_000_000));
    assert_eq!(ts_of("1.0000000001"), None);
    assert_eq!(ts_of("x.1"), None);
}

#[test]
fn instance_names_carry_the_pid() {
    assert_eq!(instance_pid("plab-1234-0"), Some(1234));
    assert_eq!(instance_pid("plab-1234-17"), Some(1234));
    assert_eq!(instance_pid("plab-1234"), None);
    assert_eq!(instance_pid("plab-x-1"), None);
    assert_eq!(instance_pid("other-1234-0"), None);
}

#[test]
fn filter_names_every_port_and_tcp() {
    assert_eq!(
        build_filter(&[8001, 8002], true),
        "protocol == 6 && (sport == 8001 || dport == 8001 || sport == 8002 || dport == 8002)"
    );
    assert_eq!(build_filter(&[80], false), "sport == 80 || dport == 80");
}

// ---- binary ring buffer ----

#[test]
fn formats_of_this_kernel_parse() {
    let f = Format::parse(SOCK_FORMAT).unwrap();
    assert_eq!(f.id, 2287);
    let skaddr = f.field("skaddr").unwrap();
    assert_eq!((skaddr.offset, skaddr.size), (8, 8));
    let v6 = f.field("saddr_v6").unwrap();
    assert_eq!((v6.offset, v6.size), (40, 16));
    assert_eq!(f.field("protocol").unwrap().offset, 30);
    let p = Format::parse(PRINT_FORMAT).unwrap();
    assert_eq!(p.id, 5);
    assert_eq!(p.field("buf").unwrap().offset, 16);
    assert_eq!(
        PageLayout::from_header_page(HEADER_PAGE).unwrap(),
        PageLayout::DEFAULT
    );
    assert!(Format::parse("nothing here").is_err());
}

fn decoder() -> RecordDecoder {
    RecordDecoder::new(SOCK_FORMAT, PRINT_FORMAT).unwrap()
}

fn raw_transitions() -> Vec<KernelTransition> {
    let page = decode_page(&PageLayout::DEFAULT, PAGE_CPU0).unwrap();
    assert_eq!(page.missed, None);
    assert!(!page.missed_unknown);
    let d = decoder();
    page.records
        .iter()
        .map(|r| match d.decode(r) {
            Decoded::Transition(t) => KernelTransition {
                ts_ns: t.ts_trace_ns,
                local: t.local,
                remote: t.remote,
                old: t.old,
                new: t.new,
                sock: t.sock,
                pid: t.pid,
            },
            other => panic!("unexpected record {other:?}"),
        })
        .collect()
}

#[test]
fn raw_page_decodes_every_transition() {
    let ts = raw_transitions();
    assert_eq!(ts.len(), 24);
    let first = &ts[0];
    assert_eq!(first.ts_ns, 3_757_588_172_300); // = the page's own timestamp
    assert_eq!(first.sock, 0xffff_8881_0518_5c80);
    assert_eq!(
        (first.local, first.remote),
        (sa("127.0.0.1:8001"), sa("0.0.0.0:0"))
    );
    assert_eq!((first.old, first.new), (Closed, Listen));
    assert_eq!(first.pid, 0x620);
    // Deltas accumulate from the page's timestamp (the 40 ms delayed-ACK gap before
    // FIN_WAIT2 still fits one 27-bit delta).
    assert!(ts.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
    assert_eq!(ts[2].ts_ns, 3_757_591_396_559);
    assert_eq!(ts.last().unwrap().ts_ns, 3_757_727_077_580);
    // The IPv6 half.
    assert_eq!(ts[12].local, sa("[::1]:8001"));
    assert_eq!(ts[13].remote, sa("[::1]:8001"));
    assert_eq!(ts[13].local, sa("[::1]:0"));
}

#[test]
fn raw_transitions_group_into_sockets_by_skaddr() {
    let histories = group_by_socket(&raw_transitions());
    let summary: Vec<(u64, SocketAddr, Vec<KernelState>)> = histories
        .iter()
        .map(|h| (h.sock, h.local, h.states()))
        .collect();
    let client = vec![Closed, SynSent, Established, FinWait1, FinWait2, Closed];
    let server = vec![Listen, SynRecv, Established, CloseWait, LastAck, Closed];
    let listener = vec![Closed, Listen, Closed];
    assert_eq!(
        summary,
        vec![
            (
                0xffff_8881_0518_5c80,
                sa("127.0.0.1:8001"),
                listener.clone()
            ),
            (0xffff_8881_0518_65c0, sa("127.0.0.1:48020"), client.clone()),
            (0xffff_8881_0518_2e40, sa("127.0.0.1:8001"), server.clone()),
            (0xffff_8881_7e99_6b40, sa("[::1]:8001"), listener),
            (0xffff_8881_7e99_30c0, sa("[::1]:43476"), client),
            (0xffff_8881_7e99_2700, sa("[::1]:8001"), server),
        ]
    );
    assert_eq!(histories[2].remote, sa("127.0.0.1:48020"));
}

#[test]
fn socket_ids_serialize_as_hex() {
    let t = &raw_transitions()[0];
    let json = serde_json::to_value(t).unwrap();
    assert_eq!(json["sock"], "0xffff888105185c80");
    assert_eq!(json["old"], "TCP_CLOSE");
    assert_eq!(json["local"], "127.0.0.1:8001");
}

#[test]
fn reused_socket_memory_starts_a_new_history() {
    let mut ts = raw_transitions();
    ts.truncate(3); // listener CLOSE→LISTEN, client CLOSE→SYN_SENT→ESTABLISHED
    let mut again = ts[0].clone();
    again.ts_ns += 10;
    again.old = Listen;
    again.new = Closed;
    ts.push(again.clone());
    again.ts_ns += 10;
    again.old = Closed;
    again.new = Listen;
    ts.push(again);
    let h = group_by_socket(&ts);
    assert_eq!(h.len(), 3);
    assert_eq!(h[0].states(), vec![Closed, Listen, Closed]);
    assert_eq!(h[1].states(), vec![Closed, Listen]);
    assert_eq!(h[2].states(), vec![Closed, SynSent, Established]);
}

#[test]
fn raw_marker_page_decodes() {
    let page = decode_page(&PageLayout::DEFAULT, PAGE_CPU1).unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(
        decoder().decode(&page.records[0]),
        Decoded::Marker {
            ts_trace_ns: 3_757_585_226_998,
            text: "plab-sync fixture 0".to_string(),
        }
    );
}

/// Builds a page: header then entries.
fn page(ts: u64, commit_flags: u64, data: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&ts.to_ne_bytes());
    p.extend_from_slice(&(data.len() as u64 | commit_flags).to_ne_bytes());
    p.extend_from_slice(data);
    p.extend_from_slice(tail);
    p.resize(4096, 0);
    p
}

fn entry(type_len: u32, delta: u32, words: &[u32]) -> Vec<u8> {
    let mut e = ((delta << 5) | type_len).to_ne_bytes().to_vec();
    for w in words {
        e.extend_from_slice(&w.to_ne_bytes());
    }
    e
}

#[test]
fn time_extend_padding_and_long_records() {
    let mut data = Vec::new();
    data.extend(entry(1, 5, &[0xAAAA])); // 4-byte record at +5
    data.extend(entry(30, 3, &[2])); // extend: + (2 << 27) + 3
    data.extend(entry(0, 1, &[12, 0xBBBB, 0xCCCC])); // long form: 8 data bytes at +1
    data.extend(entry(29, 1, &[8, 0])); // discarded event: skipped, no time
    data.extend(entry(2, 0, &[1, 2]));
    data.extend(entry(29, 0, &[])); // end of page
    data.extend(entry(1, 0, &[0xDEAD])); // never reached
    let p = page(1000, 0, &data, &[]);
    let decoded = decode_page(&PageLayout::DEFAULT, &p).unwrap();
    let got: Vec<(u64, usize)> = decoded
        .records
        .iter()
        .map(|r| (r.ts, r.data.len()))
        .collect();
    let t2 = 1005 + (2u64 << 27) + 3 + 1;
    assert_eq!(got, vec![(1005, 4), (t2, 8), (t2, 8)]);
    assert_eq!(decoded.records[1].data[..4], 0xBBBBu32.to_ne_bytes());
}

#[test]
fn lost_events_are_reported() {
    let data = entry(1, 0, &[7]);
    let counted = page(1, (1 << 31) | (1 << 30), &data, &42u64.to_ne_bytes());
    let d = decode_page(&PageLayout::DEFAULT, &counted).unwrap();
    assert_eq!(
        (d.missed, d.missed_unknown, d.records.len()),
        (Some(42), false, 1)
    );
    let flagged = page(1, 1 << 31, &data, &[]);
    let d = decode_page(&PageLayout::DEFAULT, &flagged).unwrap();
    assert_eq!((d.missed, d.missed_unknown), (None, true));
}

#[test]
fn broken_pages_are_errors_not_panics() {
    assert!(decode_page(&PageLayout::DEFAULT, &[])
        .unwrap()
        .records
        .is_empty());
    assert!(decode_page(&PageLayout::DEFAULT, &[0u8; 10]).is_err());
    // Commit longer than the page.
    let mut p = page(1, 0, &[], &[]);
    p[8..16].copy_from_slice(&5000u64.to_ne_bytes());
    assert!(decode_page(&PageLayout::DEFAULT, &p).is_err());
    // A record running past the committed data.
    let data = entry(5, 0, &[1]);
    assert!(decode_page(&PageLayout::DEFAULT, &page(1, 0, &data, &[])).is_err());
    // Long form with a length below its own size.
    let data = entry(0, 0, &[2]);
    assert!(decode_page(&PageLayout::DEFAULT, &page(1, 0, &data, &[])).is_err());
}

#[test]
fn every_truncation_of_a_real_page_is_handled() {
    for cut in 0..200 {
        let _ = decode_page(&PageLayout::DEFAULT, &PAGE_CPU0[..cut]);
    }
}

// ---- clock ----

#[test]
fn clock_calibration_uses_the_narrowest_bracket() {
    let brackets = [
        (1_000_000, 1_000_900),
        (2_000_000, 2_000_100),
        (3_000_000, 3_000_050),
    ];
    let mut seen = HashMap::new();
    seen.insert(0, 500);
    seen.insert(1, 1_000_550);
    // Marker 2 never came back: bracket 1 is the narrowest seen.
    let c = ClockMap::calibrate(&brackets, &seen).unwrap();
    assert_eq!(c.offset_ns, 2_000_050 - 1_000_550);
    assert_eq!(c.uncertainty_ns, 50);
    assert_eq!(c.to_realtime(1_000_550), 2_000_050);
    assert_eq!(ClockMap::calibrate(&brackets, &HashMap::new()), None);
}

// ---- sock_diag filter program ----

/// The kernel's `inet_diag_bc_run`, to check the program's meaning.
fn bc_run(bc: &[u8], sport: u16, dport: u16) -> bool {
    let mut at = 0i64;
    let mut len = bc.len() as i64;
    while len > 0 {
        let op = &bc[at as usize..];
        let (code, yes, no) = (
            op[0],
            op[1] as i64,
            u16::from_ne_bytes([op[2], op[3]]) as i64,
        );
        let arg = u16::from_ne_bytes([op[6], op[7]]);
        let hit = match code {
            11 => sport == arg,
            12 => dport == arg,
            _ => panic!("unexpected opcode {code}"),
        };
        let step = if hit { yes } else { no };
        at += step;
        len -= step;
    }
    len == 0
}

/// The kernel's `inet_diag_bc_audit` rules for these opcodes.
fn bc_audit(bc: &[u8]) -> bool {
    let mut at = 0usize;
    let mut len = bc.len() as i64;
    while len > 0 {
        let op = &bc[at..];
        let (yes, no) = (op[1] as i64, u16::from_ne_bytes([op[2], op[3]]) as i64);
        if len < 8 || no < 8 || no > len + 4 || no % 4 != 0 {
            return false;
        }
        if yes < 8 || yes > len + 4 || yes % 4 != 0 {
            return false;
        }
        at += yes as usize;
        len -= yes;
    }
    len == 0
}

#[test]
fn bytecode_accepts_exactly_the_ports() {
    let bc = port_bytecode(&[8001, 9000]).unwrap();
    assert_eq!(bc.len(), 32);
    assert!(bc_audit(&bc));
    assert!(bc_run(&bc, 8001, 0));
    assert!(bc_run(&bc, 40000, 8001));
    assert!(bc_run(&bc, 9000, 1));
    assert!(bc_run(&bc, 2, 9000));
    assert!(!bc_run(&bc, 8002, 22));
    assert!(!bc_run(&bc, 0, 0));
    let one = port_bytecode(&[80]).unwrap();
    assert!(bc_audit(&one) && bc_run(&one, 1, 80) && !bc_run(&one, 81, 1));
}

#[test]
fn bytecode_gives_up_beyond_fifteen_ports() {
    let ports: Vec<u16> = (1..=15).collect();
    let bc = port_bytecode(&ports).unwrap();
    assert!(bc_audit(&bc) && bc_run(&bc, 15, 0) && !bc_run(&bc, 16, 16));
    let ports: Vec<u16> = (1..=16).collect();
    assert_eq!(port_bytecode(&ports), None);
    assert_eq!(port_bytecode(&[]), None);
}

// ---- /proc/net/tcp ----

#[test]
fn proc_lines_parse() {
    let samples: Vec<SocketSample> = PROC_TEXT
        .lines()
        .filter_map(|l| parse_proc_net_line(l, 7))
        .collect();
    assert_eq!(samples.len(), 8, "the header is skipped");
    let listener = &samples[0];
    assert_eq!(
        (
            listener.local,
            listener.remote,
            listener.state,
            listener.inode
        ),
        (sa("127.0.0.1:8002"), sa("0.0.0.0:0"), Listen, 118871)
    );
    assert_eq!((listener.ts_ns, listener.source), (7, "proc"));
    // The server side has 5 unread bytes.
    let server = &samples[1];
    assert_eq!(
        (server.remote, server.state, server.recv_q, server.send_q),
        (sa("127.0.0.1:58812"), Established, 5, 0)
    );
    let tw = &samples[3];
    assert_eq!(
        (tw.local, tw.state, tw.inode),
        (sa("127.0.0.1:58826"), TimeWait, 0)
    );
    let v6 = &samples[5];
    assert_eq!((v6.local, v6.remote), (sa("[::1]:8003"), sa("[::1]:54336")));
    assert_eq!(samples[7].state, TimeWait);
    assert_eq!(samples[7].local, sa("[::1]:54338"));
}

#[test]
fn proc_garbage_is_none() {
    assert_eq!(parse_proc_net_line("", 0), None);
    assert_eq!(
        parse_proc_net_line("  sl  local_address rem_address   st", 0),
        None
    );
    assert_eq!(
        parse_proc_net_line("   0: 0100007F:1F42 00000000:0000 0A", 0),
        None
    );
    assert_eq!(
        parse_proc_net_line(
            "   0: 0100007F:1F42 00000000:0000 FF 00000000:00000000 00:00000000 00000000 0 0 1",
            0
        ),
        None
    );
    assert_eq!(
        parse_proc_net_line(
            "   0: 0100:1F42 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
            0
        ),
        None
    );
}

// ---- timelines ----

fn sample(ts: u64, local: &str, remote: &str, state: KernelState) -> SocketSample {
    SocketSample {
        ts_ns: ts,
        local: sa(local),
        remote: sa(remote),
        state,
        inode: 0,
        cookie: 0,
        recv_q: ts as u32,
        send_q: 0,
        source: "sock_diag",
    }
}

#[test]
fn timelines_fold_consecutive_samples() {
    let mut b = TimelineBuilder::default();
    let (c, s) = ("127.0.0.1:40000", "127.0.0.1:8001");
    b.observe(1, &[sample(1, c, s, Established)]);
    b.observe(2, &[sample(2, c, s, Established)]);
    b.observe(3, &[sample(3, c, s, FinWait2)]);
    b.observe(4, &[sample(4, c, s, TimeWait)]);
    b.observe(5, &[sample(5, c, s, TimeWait)]);
    b.observe(6, &[sample(6, c, s, TimeWait)]);
    b.observe(7, &[]);
    b.observe(8, &[sample(8, s, c, Listen)]);
    let t = b.finish();
    let got: Vec<(KernelState, u64, u64, Option<u64>, u32, u32)> = t
        .iter()
        .map(|t| {
            (
                t.state,
                t.first_seen_ns,
                t.last_seen_ns,
                t.ended_ns,
                t.samples,
                t.max_recv_q,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (Established, 1, 2, Some(3), 2, 2),
            (FinWait2, 3, 3, Some(4), 1, 3),
            (TimeWait, 4, 6, Some(7), 3, 6),
            (Listen, 8, 8, None, 1, 8),
        ]
    );
    assert_eq!(t[2].seen_for_ns(), 2);
}

#[test]
fn a_reused_four_tuple_is_a_new_timeline() {
    // Loopback reuses a TIME_WAIT port for a new connection: same addresses, same
    // state later on, but a different socket object (cookie).
    let (c, s) = ("127.0.0.1:40000", "127.0.0.1:8001");
    let with_cookie = |ts, state, cookie| SocketSample {
        cookie,
        ..sample(ts, c, s, state)
    };
    let mut b = TimelineBuilder::default();
    b.observe(1, &[with_cookie(1, TimeWait, 10)]);
    b.observe(2, &[with_cookie(2, TimeWait, 11)]);
    let t = b.finish();
    assert_eq!(t.len(), 2);
    assert_eq!((t[0].cookie, t[0].ended_ns), (10, Some(2)));
    assert_eq!((t[1].cookie, t[1].ended_ns), (11, None));
}
