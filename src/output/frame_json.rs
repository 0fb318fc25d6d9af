//! The NDJSON record of one frame for `inspect --json` (fields in docs/json.md).

use serde::Serialize;

use crate::analyze::{AnalysisFlags, AnomalyNote, FrameAnalysis, Transition, Withdrawal};
use crate::decode::{ArpInfo, EthInfo, IcmpInfo, IpInfo, Packet, TcpInfo, Transport, UdpInfo};
use crate::dissect::app::App;
use crate::timestamp::{millis, Seconds};

#[derive(Serialize)]
struct TcpJson<'a> {
    #[serde(flatten)]
    tcp: &'a TcpInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    rel_seq: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rel_ack: Option<u32>,
    /// `options.sack` relative to the same base as `rel_ack`.
    #[serde(skip_serializing_if = "Option::is_none")]
    rel_sack: Option<Vec<(u32, u32)>>,
}

/// A frame's `transitions`: its withdrawals first, then its transitions.
struct TransitionsJson<'a> {
    withdrawals: &'a [Withdrawal],
    transitions: &'a [Transition],
}

impl TransitionsJson<'_> {
    fn is_empty(&self) -> bool {
        self.withdrawals.is_empty() && self.transitions.is_empty()
    }
}

impl Serialize for TransitionsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.withdrawals.len() + self.transitions.len()))?;
        for w in self.withdrawals {
            seq.serialize_element(w)?;
        }
        for t in self.transitions {
            seq.serialize_element(t)?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct FrameJson<'a> {
    frame: u64,
    ts: Seconds,
    caplen: u32,
    len: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    eth: Option<&'a EthInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arp: Option<&'a ArpInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<&'a IpInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp: Option<TcpJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udp: Option<&'a UdpInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp: Option<&'a IcmpInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<&'a App>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flow: Option<u64>,
    #[serde(skip_serializing_if = "AnalysisFlags::is_empty")]
    analysis: AnalysisFlags,
    #[serde(skip_serializing_if = "Option::is_none")]
    dup_ack: Option<u32>,
    /// Wireshark's `tcp.analysis.ack_rtt`, in ms as `flows` gives RTTs.
    #[serde(skip_serializing_if = "Option::is_none")]
    ack_rtt_ms: Option<f64>,
    /// Wireshark's `tcp.analysis.acks_frame`: the segment `ack_rtt_ms` measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    acks_frame: Option<u64>,
    /// Wireshark's `tcp.analysis.bytes_in_flight`.
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_in_flight: Option<u32>,
    #[serde(skip_serializing_if = "TransitionsJson::is_empty")]
    transitions: TransitionsJson<'a>,
    #[serde(skip_serializing_if = "<[AnomalyNote]>::is_empty")]
    anomalies: &'a [AnomalyNote],
    #[serde(skip_serializing_if = "Option::is_none")]
    concluded: Option<ConcludedJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Another flow's transition this frame proves: `{"flow":1,"transitions":[…]}`.
#[derive(Serialize)]
struct ConcludedJson<'a> {
    flow: u64,
    transitions: [&'a Transition; 1],
}

/// Writes one frame as a single JSON line.
pub fn write_frame_json(
    out: &mut impl std::io::Write,
    p: &Packet,
    a: &FrameAnalysis,
) -> std::io::Result<()> {
    write_frame_json_app(out, p, a, None)
}

/// [`write_frame_json`] with what an application dissector found in the frame.
pub fn write_frame_json_app(
    out: &mut impl std::io::Write,
    p: &Packet,
    a: &FrameAnalysis,
    app: Option<&App>,
) -> std::io::Result<()> {
    let (tcp, udp, icmp) = match &p.transport {
        Some(Transport::Tcp(t)) => (
            Some(TcpJson {
                tcp: t,
                rel_seq: a.rel_seq,
                rel_ack: a.rel_ack,
                rel_sack: super::frame_text::rel_sack(t, a),
            }),
            None,
            None,
        ),
        Some(Transport::Udp(u)) => (None, Some(u), None),
        Some(Transport::Icmp(i)) => (None, None, Some(i)),
        None => (None, None, None),
    };
    let record = FrameJson {
        frame: p.frame,
        ts: Seconds(p.ts_ns),
        caplen: p.caplen,
        len: p.len,
        eth: p.eth.as_ref(),
        arp: p.arp.as_ref(),
        ip: p.ip.as_ref(),
        tcp,
        udp,
        icmp,
        app,
        flow: a.flow,
        analysis: a.flags,
        dup_ack: (a.dup_ack_count > 0).then_some(a.dup_ack_count),
        ack_rtt_ms: a.rtt_ns.map(millis),
        acks_frame: a.acks_frame,
        bytes_in_flight: a.bytes_in_flight,
        transitions: TransitionsJson {
            withdrawals: &a.withdrawals,
            transitions: &a.transitions,
        },
        anomalies: &a.anomalies,
        concluded: a.concluded.as_ref().map(|(flow, t)| ConcludedJson {
            flow: *flow,
            transitions: [t],
        }),
        error: p.error.as_ref().map(ToString::to_string),
    };
    serde_json::to_writer(&mut *out, &record)?;
    out.write_all(b"\n")
}

/// The record `inspect --json` writes after the last frame for what only the
/// capture's end proves (`Analyzer::conclude`): `{"end_of_capture":true,"flow":1,
/// "transitions":[…]}`, each transition naming the earlier frame it belongs to.
pub fn write_end_json(out: &mut impl std::io::Write, a: &FrameAnalysis) -> std::io::Result<()> {
    #[derive(Serialize)]
    struct EndJson<'a> {
        end_of_capture: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        flow: Option<u64>,
        transitions: TransitionsJson<'a>,
    }
    let record = EndJson {
        end_of_capture: true,
        flow: a.flow,
        transitions: TransitionsJson {
            withdrawals: &a.withdrawals,
            transitions: &a.transitions,
        },
    };
    serde_json::to_writer(&mut *out, &record)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::frame_text::tests::withdrawing_frame;

    #[test]
    fn withdrawals_lead_the_transitions_and_anomalies_follow() {
        let (p, a) = withdrawing_frame();
        let mut out = Vec::new();
        write_frame_json(&mut out, &p, &a).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let t = v["transitions"].as_array().unwrap();
        assert_eq!(
            t[0],
            serde_json::json!({"endpoint":"server",
                "withdraws":{"frame":7,"from":"ESTABLISHED","to":"CLOSE_WAIT"},
                "why":"its FIN does not acknowledge the client's FIN: the FINs crossed"})
        );
        assert_eq!(t[1]["to"], "FIN_WAIT_1");
        assert_eq!(
            v["anomalies"],
            serde_json::json!([{"endpoint":"client","what":"data_after_fin",
                "why":"sent data beyond its own FIN"}])
        );
        // Absent when empty.
        let mut plain = Vec::new();
        write_frame_json(&mut plain, &p, &FrameAnalysis::default()).unwrap();
        let s = String::from_utf8(plain).unwrap();
        assert!(
            !s.contains("transitions") && !s.contains("anomalies"),
            "{s}"
        );
    }
}
