//! The kernel's congestion control of a run's sockets over time, from the
//! tracepoints `tcp_probe`, `tcp_cong_state_set` and `tcp_retransmit_skb`, grouped
//! per socket: what `kernel.json` holds under `tcp_probe`, `cong_state` and
//! `retransmissions`, and what the window chart draws beside the packets.
//!
//! Pure: the session decodes the records and maps their times onto CLOCK_REALTIME,
//! this module only groups and thins them.
//!
//! The samples are thinned ([`thin`]): `tcp_probe` fires per received segment.

use std::net::SocketAddr;

use super::tracepoint::tcp_event::{TcpEventKind, TcpEventRecord};
use crate::model::tcp_dynamics::{
    thin, CongState, CongStateChange, ProbeSample, SocketDynamics, TcpEventCounts,
    INFINITE_SSTHRESH, MAX_PROBE_SAMPLES,
};

/// Groups the records (already on CLOCK_REALTIME, any order) per socket
/// (`skaddr` and 4-tuple), in order of first appearance.
pub(crate) fn group_tcp_events(
    mut records: Vec<TcpEventRecord>,
) -> (Vec<SocketDynamics>, TcpEventCounts) {
    records.sort_by_key(|r| r.ts_trace_ns);
    let mut counts = TcpEventCounts::default();
    let mut keys: Vec<(u64, SocketAddr, SocketAddr)> = Vec::new();
    let mut all: Vec<(SocketDynamics, Vec<ProbeSample>)> = Vec::new();
    for r in &records {
        let key = (r.sock, r.local, r.remote);
        let i = match keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                keys.push(key);
                all.push((
                    SocketDynamics {
                        local: r.local,
                        remote: r.remote,
                        probe_events: 0,
                        probe: Vec::new(),
                        cong_state: Vec::new(),
                        retransmissions: 0,
                        retransmit_ts_ns: Vec::new(),
                    },
                    Vec::new(),
                ));
                keys.len() - 1
            }
        };
        let (socket, probes) = &mut all[i];
        match r.kind {
            TcpEventKind::Probe(v) => {
                counts.tcp_probe += 1;
                socket.probe_events += 1;
                probes.push(ProbeSample {
                    ts_ns: r.ts_trace_ns,
                    data_len: v.data_len,
                    snd_cwnd: v.snd_cwnd,
                    ssthresh: (v.ssthresh < INFINITE_SSTHRESH).then_some(v.ssthresh),
                    srtt_us: v.srtt_us,
                    snd_wnd: v.snd_wnd,
                    snd_una: v.snd_una,
                    snd_nxt: v.snd_nxt,
                    rcv_wnd: v.rcv_wnd,
                });
            }
            TcpEventKind::CongState(code) => {
                counts.tcp_cong_state_set += 1;
                let Some(state) = CongState::from_code(code) else {
                    continue;
                };
                if socket.cong_state.last().map(|c| c.state) != Some(state) {
                    socket.cong_state.push(CongStateChange {
                        ts_ns: r.ts_trace_ns,
                        state,
                    });
                }
            }
            TcpEventKind::Retransmit => {
                counts.tcp_retransmit_skb += 1;
                socket.retransmissions += 1;
                socket.retransmit_ts_ns.push(r.ts_trace_ns);
            }
        }
    }
    let sockets = all
        .into_iter()
        .map(|(mut s, probes)| {
            s.probe = thin(probes, MAX_PROBE_SAMPLES);
            s
        })
        .collect();
    (sockets, counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::kernel::tracepoint::tcp_event::ProbeValues;

    fn probe(ts: u64, cwnd: u32, ssthresh: u32) -> TcpEventRecord {
        TcpEventRecord {
            ts_trace_ns: ts,
            sock: 0xffff_0001,
            local: "198.18.0.1:40000".parse().unwrap(),
            remote: "198.18.0.2:9000".parse().unwrap(),
            kind: TcpEventKind::Probe(ProbeValues {
                data_len: 0,
                snd_nxt: 0,
                snd_una: 0,
                snd_cwnd: cwnd,
                ssthresh,
                snd_wnd: 65535,
                srtt_us: 20_000,
                rcv_wnd: 65535,
            }),
        }
    }

    fn event(ts: u64, kind: TcpEventKind) -> TcpEventRecord {
        TcpEventRecord {
            kind,
            ..probe(ts, 10, INFINITE_SSTHRESH)
        }
    }

    #[test]
    fn events_group_per_socket_with_states_deduplicated() {
        let mut other = probe(5, 10, INFINITE_SSTHRESH);
        other.local = "198.18.0.2:9000".parse().unwrap();
        other.remote = "198.18.0.1:40000".parse().unwrap();
        let (sockets, counts) = group_tcp_events(vec![
            probe(1, 10, INFINITE_SSTHRESH),
            event(3, TcpEventKind::CongState(1)),
            event(2, TcpEventKind::CongState(0)),
            event(4, TcpEventKind::CongState(1)),
            event(6, TcpEventKind::Retransmit),
            event(7, TcpEventKind::CongState(3)),
            probe(8, 7, 7),
            other,
        ]);
        assert_eq!(
            counts,
            TcpEventCounts {
                tcp_probe: 3,
                tcp_cong_state_set: 4,
                tcp_retransmit_skb: 1
            }
        );
        assert_eq!(sockets.len(), 2);
        let s = &sockets[0];
        assert_eq!(s.probe_events, 2);
        assert_eq!(s.probe[0].ssthresh, None, "0x7fffffff is no threshold yet");
        assert_eq!(s.probe[1].ssthresh, Some(7));
        let states: Vec<(u64, CongState)> =
            s.cong_state.iter().map(|c| (c.ts_ns, c.state)).collect();
        assert_eq!(
            states,
            [
                (2, CongState::Open),
                (3, CongState::Disorder),
                (7, CongState::Recovery)
            ]
        );
        assert_eq!(s.retransmissions, 1);
        assert_eq!(s.retransmit_ts_ns, [6]);
        assert_eq!(sockets[1].probe_events, 1);
    }
}
