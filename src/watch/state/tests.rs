//! The live page's model fed from committed captures, frame by frame, as the
//! pipeline feeds it live.

use super::*;
use crate::capture::FileReader;
use crate::lab::kernel::KernelState;
use crate::replay::{replay, Next};
use crate::watch::update::Update;

type Frames = Vec<(Packet, FrameAnalysis, Vec<u8>)>;

fn frames(name: &str) -> Frames {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name);
    let mut reader = FileReader::open(&path).unwrap();
    let mut out = Vec::new();
    replay(
        &mut reader,
        |f, p, a| -> Result<Next, ()> {
            out.push((p.clone(), a.clone(), f.bytes.clone()));
            Ok(Next::Continue)
        },
        |_| Ok(()),
    )
    .unwrap();
    out
}

fn feed(state: &mut WatchState, frames: &Frames) -> Vec<Update> {
    frames
        .iter()
        .flat_map(|(p, a, b)| state.on_frame(p, a, b, Vec::new()))
        .collect()
}

fn segs(updates: &[Update]) -> Vec<&SegView> {
    updates
        .iter()
        .filter_map(|u| match u {
            Update::Seg(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn conn_of(state: &WatchState, flow: u64) -> ConnView {
    state
        .snapshot(0)
        .conns
        .into_iter()
        .find(|c| c.flow == flow)
        .unwrap()
}

// ---- a whole connection ---------------------------------------------------

#[test]
fn the_ladder_grows_with_both_states_after_every_segment() {
    let mut state = WatchState::new();
    let updates = feed(&mut state, &frames("handshake_data_client_close.pcap"));
    let segs = segs(&updates);
    assert_eq!(segs.len(), 12, "one per frame");
    assert_eq!(segs[0].from, "client");
    assert_eq!(segs[0].label, "[S] seq 0");
    // Streaming: the server's SYN_RECEIVED is known from its SYN-ACK.
    assert_eq!(
        (segs[0].client_state, segs[0].server_state),
        ("SYN_SENT", "LISTEN")
    );
    assert_eq!(
        (segs[1].client_state, segs[1].server_state),
        ("ESTABLISHED", "SYN_RECEIVED")
    );
    assert_eq!(
        (segs[2].client_state, segs[2].server_state),
        ("ESTABLISHED", "ESTABLISHED")
    );
    assert!(segs[0].changes[0].starts_with("client: CLOSED → SYN_SENT"));
    assert!(segs[0].layers.iter().any(|(l, _)| l == "TCP"));
    let c = conn_of(&state, 1);
    assert_eq!((c.client.state, c.server.state), ("TIME_WAIT", "CLOSED"));
    assert_eq!(c.segments, 12);
    assert_eq!(c.client.agree, None, "no kernel record: nothing to compare");
    // The seq counts every update handed out, so a page can tell what it has.
    assert_eq!(state.seq(), updates.len() as u64);
}

#[test]
fn a_connection_is_announced_before_its_first_segment_and_on_each_state_change() {
    let mut state = WatchState::new();
    let updates = feed(&mut state, &frames("handshake_data_client_close.pcap"));
    assert!(matches!(&updates[0], Update::Conn(c) if c.client.state == "SYN_SENT"));
    assert!(matches!(&updates[1], Update::Seg(s) if s.n == 0));
    let conns = updates
        .iter()
        .filter(|u| matches!(u, Update::Conn(_)))
        .count();
    // SYN, SYN-ACK, ACK, FIN, ACK of FIN, FIN, last ACK: each moved a state; the
    // data segments and their ACKs moved none.
    assert_eq!(conns, 7);
}

#[test]
fn a_page_joining_late_gets_every_kept_segment_in_its_snapshot() {
    let mut state = WatchState::new();
    feed(&mut state, &frames("handshake_data_client_close.pcap"));
    let snap = state.snapshot(7);
    assert_eq!(snap.kind, "snapshot");
    assert_eq!(snap.segs.len(), 12);
    assert_eq!(snap.seq, state.seq());
    assert_eq!(snap.coalesced, 7);
    assert_eq!(snap.frames, 12);
    let json = serde_json::to_value(&snap).unwrap();
    assert_eq!(json["type"], "snapshot");
    assert_eq!(json["conns"][0]["client"]["state"], "TIME_WAIT");
}

#[test]
fn udp_datagrams_show_their_text_and_no_states() {
    let mut state = WatchState::new();
    let updates = feed(&mut state, &frames("udp_exchange.pcap"));
    let segs = segs(&updates);
    assert_eq!(segs.len(), 6);
    assert_eq!(segs[0].client_state, "");
    assert!(segs[0].label.starts_with("UDP len"), "{}", segs[0].label);
    assert!(
        segs.iter()
            .any(|s| s.text.chars().any(|c| c.is_ascii_digit())),
        "daytime answers are text: {:?}",
        segs.iter().map(|s| &s.text).collect::<Vec<_>>()
    );
    assert_eq!(conn_of(&state, 1).proto, "udp");
}

// ---- heavy traffic --------------------------------------------------------

#[test]
fn past_the_detail_limit_ordinary_segments_are_only_counted() {
    let all = frames("handshake_data_client_close.pcap");
    // The 4th frame is the client's first data segment: no state change in it.
    let (p, a, b) = &all[3];
    assert!(a.transitions.is_empty());
    let mut state = WatchState::new();
    feed(&mut state, &all[..3].to_vec());
    let n = 3 * DETAIL_LIMIT;
    let mut sent = 0;
    let mut conn_updates = 0;
    for _ in 0..n {
        for u in state.on_frame(p, a, b, Vec::new()) {
            match u {
                Update::Seg(_) => sent += 1,
                Update::Conn(_) => conn_updates += 1,
                Update::Kernel(_) => {}
            }
        }
    }
    assert_eq!(sent, DETAIL_LIMIT - 3);
    assert_eq!(conn_updates, (n - (DETAIL_LIMIT - 3)) / SUMMARY_EVERY);
    let c = conn_of(&state, 1);
    assert_eq!(c.segments, n + 3);
    assert_eq!(c.summarized, n - (DETAIL_LIMIT - 3));
    assert_eq!(state.snapshot(0).segs.len(), KEPT_SEGS, "memory is bounded");
    // The close still comes through one by one.
    let updates = feed(&mut state, &all[6..].to_vec());
    assert!(segs(&updates).iter().any(|s| s.label.contains('F')));
}

// ---- the kernel column ----------------------------------------------------

fn kernel_change(local: SocketAddr, remote: SocketAddr, new: KernelState) -> StateChange {
    StateChange {
        ts_ns: 1,
        local,
        remote,
        old: None,
        new: Some(new),
        time_wait_follows: false,
    }
}

#[test]
fn each_endpoint_is_marked_agreeing_or_not_with_the_kernel() {
    let mut state = WatchState::new();
    feed(&mut state, &frames("handshake_data_client_close.pcap"));
    let c = conn_of(&state, 1);
    let updates = state.on_kernel(&kernel_change(
        c.client.addr,
        c.server.addr,
        KernelState::TimeWait,
    ));
    assert!(matches!(&updates[0], Update::Kernel(k) if k.state == "TIME_WAIT"));
    assert!(matches!(&updates[1], Update::Conn(v) if v.client.agree == Some(true)));
    state.on_kernel(&kernel_change(
        c.server.addr,
        c.client.addr,
        KernelState::Established,
    ));
    let c = conn_of(&state, 1);
    assert_eq!(c.client.agree, Some(true));
    assert_eq!(c.server.agree, Some(false));
    assert_eq!(
        (c.server.state, c.server.kernel),
        ("CLOSED", Some("ESTABLISHED"))
    );
}

#[test]
fn a_kernel_change_of_another_socket_touches_no_connection() {
    let mut state = WatchState::new();
    feed(&mut state, &frames("handshake_data_client_close.pcap"));
    let updates = state.on_kernel(&kernel_change(
        "127.0.0.1:1".parse().unwrap(),
        "127.0.0.1:2".parse().unwrap(),
        KernelState::Established,
    ));
    assert_eq!(updates.len(), 1);
    assert_eq!(state.snapshot(0).kernel.len(), 1);
}

#[test]
fn payload_text_is_printable_and_passwords_are_masked() {
    assert_eq!(printable(b"hello\r\n"), "hello..");
    assert_eq!(
        printable(br#"{"userPwd":"secret"}"#),
        r#"{"userPwd":"******"}"#
    );
    assert!(printable(&[b'a'; 100]).ends_with('…'));
}
