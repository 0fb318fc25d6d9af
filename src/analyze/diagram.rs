//! The TCP state-transition diagram as students learn it: RFC 9293 Figure 5
//! (RFC 793 Figure 6), with Stevens' additions (the FIN+ACK shortcut from
//! FIN_WAIT_1 to TIME_WAIT, a connect's timeout), and the arcs the RFC states
//! only in its text (a RST from any synchronized state, FIN in SYN_RECEIVED).
//!
//! [`DIAGRAM`] is the one list of arcs that the diagram chart draws, that the
//! scenarios name when they say which arcs they demonstrate, and that the docs'
//! coverage table is made from. Each arc lists the [`Why`]s with which the
//! inference ([`super::transition`]) takes it; a test checks that every arc of
//! the inference's table [`super::ARCS`] lands on exactly one diagram arc, so an
//! inferred transition is either on the diagram or shown as off it
//! ([`DiagramArc::of`] returns `None`), never silently dropped.

use super::{TcpState, Why, ARCS};

/// Where the arc comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Drawn {
    /// Drawn on RFC 9293 Figure 5 or in Stevens' version of it.
    Figure,
    /// Stated in the RFC's text (section 3.10) but not drawn: charts draw it distinctly.
    TextOnly,
}

/// What moves an endpoint along the arc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// A segment received (and what it sends in answer).
    Segment,
    /// The application's call: `listen`, `connect`, `close`.
    Call,
    /// A timer: the connect's retries run out, TIME_WAIT's 2MSL ends.
    Timer,
}

/// Whether a Linux socket can take the arc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Linux {
    Takes,
    /// Never, and why not.
    Never(&'static str),
}

/// One arc of the diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DiagramArc {
    pub from: TcpState,
    pub to: TcpState,
    pub drawn: Drawn,
    pub trigger: Trigger,
    /// "event / action", as the figure labels it: `rcv SYN / snd SYN,ACK`.
    pub label: &'static str,
    /// The same in Chinese.
    pub label_zh: &'static str,
    pub linux: Linux,
    /// The reasons with which protolab's inference takes this arc (empty: the
    /// packets alone never show it, e.g. `listen()` or TIME_WAIT's 2MSL timer; the
    /// connect's timeout is shown by an absence, see `Why::ConnectTimedOut`).
    pub whys: &'static [Why],
}

impl DiagramArc {
    /// The diagram arc an inferred transition took, or `None` when the standard
    /// diagram has no such arc (an anomaly the chart must show).
    pub fn of(from: TcpState, to: TcpState, why: Why) -> Option<&'static DiagramArc> {
        DIAGRAM
            .iter()
            .find(|a| a.from == from && a.to == to && a.whys.contains(&why))
    }

    /// The label in `zh` (Chinese) or English.
    pub fn label_in(&self, zh: bool) -> &'static str {
        if zh {
            self.label_zh
        } else {
            self.label
        }
    }
}

const fn arc(
    from: TcpState,
    to: TcpState,
    drawn: Drawn,
    trigger: Trigger,
    label: &'static str,
    label_zh: &'static str,
    whys: &'static [Why],
) -> DiagramArc {
    DiagramArc {
        from,
        to,
        drawn,
        trigger,
        label,
        label_zh,
        linux: Linux::Takes,
        whys,
    }
}

const fn never(a: DiagramArc, why: &'static str) -> DiagramArc {
    DiagramArc {
        linux: Linux::Never(why),
        ..a
    }
}

/// RST from a synchronized state, sent or received: to CLOSED (RFC 9293 §3.10.7.4, §3.10.5).
const fn rst(from: TcpState) -> DiagramArc {
    arc(
        from,
        TcpState::Closed,
        Drawn::TextOnly,
        Trigger::Segment,
        "rcv RST or snd RST",
        "收 RST 或 发 RST",
        &[Why::SentRst, Why::ReceivedRst],
    )
}

/// Every arc of the diagram, figure first (top to bottom), then the text's.
pub const DIAGRAM: &[DiagramArc] = {
    use Drawn::*;
    use TcpState::*;
    use Trigger::*;
    &[
        arc(Closed, Listen, Figure, Call, "passive open", "被动打开", &[]),
        arc(
            Closed,
            SynSent,
            Figure,
            Call,
            "active open / snd SYN",
            "主动打开 / 发 SYN",
            &[Why::SentSyn],
        ),
        arc(
            Listen,
            SynReceived,
            Figure,
            Segment,
            "rcv SYN / snd SYN,ACK",
            "收 SYN / 发 SYN,ACK",
            &[Why::ReceivedSyn, Why::SentSynAckSynUnseen],
        ),
        never(
            arc(
                Listen,
                SynSent,
                Figure,
                Call,
                "send / snd SYN",
                "发送数据 / 发 SYN",
                &[],
            ),
            "no socket call does it: send() on a listening socket fails (ENOTCONN), and connect() on one fails (EISCONN/EINVAL)",
        ),
        arc(Listen, Closed, Figure, Call, "close", "关闭", &[]),
        arc(
            SynSent,
            SynReceived,
            Figure,
            Segment,
            "rcv SYN / snd SYN,ACK",
            "收 SYN / 发 SYN,ACK",
            &[Why::SimultaneousOpen],
        ),
        arc(
            SynSent,
            Established,
            Figure,
            Segment,
            "rcv SYN,ACK / snd ACK",
            "收 SYN,ACK / 发 ACK",
            &[Why::ReceivedSynAck],
        ),
        arc(SynSent, Closed, Figure, Call, "close", "关闭", &[]),
        arc(
            SynSent,
            Closed,
            Figure,
            Timer,
            "timeout (SYN retries run out)",
            "超时（SYN 重传用尽）",
            &[Why::ConnectTimedOut],
        ),
        arc(
            SynSent,
            Closed,
            TextOnly,
            Segment,
            "rcv RST (refused) or snd RST",
            "收 RST（拒绝）或 发 RST",
            &[Why::Refused, Why::SentRst],
        ),
        arc(
            SynReceived,
            Established,
            Figure,
            Segment,
            "rcv ACK of SYN",
            "收到对 SYN 的 ACK",
            &[Why::AckOfSyn],
        ),
        arc(
            SynReceived,
            FinWait1,
            Figure,
            Call,
            "close / snd FIN",
            "关闭 / 发 FIN",
            &[Why::SentFin],
        ),
        never(
            arc(
                SynReceived,
                Listen,
                Figure,
                Segment,
                "rcv RST (after a passive open)",
                "收 RST（被动打开之后）",
                &[],
            ),
            "a Linux listener never leaves LISTEN: the connection in SYN_RECEIVED is a request socket of its own, dropped on RST",
        ),
        arc(
            SynReceived,
            Closed,
            TextOnly,
            Segment,
            "rcv RST or snd RST",
            "收 RST 或 发 RST",
            &[Why::SentRst, Why::ReceivedRst],
        ),
        never(
            arc(
                SynReceived,
                CloseWait,
                TextOnly,
                Segment,
                "rcv FIN / snd ACK",
                "收 FIN / 发 ACK",
                &[Why::ReceivedFin],
            ),
            "a segment Linux accepts in SYN_RECEIVED must carry an acceptable ACK, which moves it to ESTABLISHED first; its FIN then moves it ESTABLISHED → CLOSE_WAIT",
        ),
        arc(
            Established,
            FinWait1,
            Figure,
            Call,
            "close / snd FIN",
            "关闭 / 发 FIN",
            &[Why::SentFin, Why::FinCrossed],
        ),
        arc(
            Established,
            CloseWait,
            Figure,
            Segment,
            "rcv FIN / snd ACK",
            "收 FIN / 发 ACK",
            &[Why::ReceivedFin],
        ),
        arc(
            FinWait1,
            FinWait2,
            Figure,
            Segment,
            "rcv ACK of FIN",
            "收到对 FIN 的 ACK",
            &[Why::AckOfFin],
        ),
        arc(
            FinWait1,
            Closing,
            Figure,
            Segment,
            "rcv FIN / snd ACK",
            "收 FIN / 发 ACK",
            &[Why::SimultaneousClose],
        ),
        // Stevens' shortcut: one segment carrying the ACK of our FIN and the peer's
        // FIN. RFC 9293 processes the ACK first, so protolab (and Linux) take it as
        // FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT within that one segment.
        never(
            arc(
                FinWait1,
                TimeWait,
                Figure,
                Segment,
                "rcv FIN,ACK / snd ACK",
                "收 FIN,ACK / 发 ACK",
                &[],
            ),
            "not in one step: like RFC 9293, Linux processes the ACK first and goes FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT within the one segment (its tracepoint shows FIN_WAIT_2)",
        ),
        arc(
            FinWait2,
            TimeWait,
            Figure,
            Segment,
            "rcv FIN / snd ACK",
            "收 FIN / 发 ACK",
            &[Why::ReceivedFin],
        ),
        arc(
            Closing,
            TimeWait,
            Figure,
            Segment,
            "rcv ACK of FIN",
            "收到对 FIN 的 ACK",
            &[Why::AckOfFin],
        ),
        arc(
            CloseWait,
            LastAck,
            Figure,
            Call,
            "close / snd FIN",
            "关闭 / 发 FIN",
            &[Why::SentFin],
        ),
        arc(
            LastAck,
            Closed,
            Figure,
            Segment,
            "rcv ACK of FIN",
            "收到对 FIN 的 ACK",
            &[Why::AckOfFin],
        ),
        arc(
            TimeWait,
            Closed,
            Figure,
            Timer,
            "timeout = 2MSL",
            "超时 = 2MSL",
            &[],
        ),
        rst(Established),
        rst(FinWait1),
        rst(FinWait2),
        rst(Closing),
        rst(TimeWait),
        rst(CloseWait),
        rst(LastAck),
    ]
};

/// Every inference arc of [`ARCS`] on its diagram arc: `(from, to, why)` is on
/// exactly one. (Used by the test below and by anyone who lists coverage.)
pub fn inference_arcs_on_the_diagram(
) -> impl Iterator<Item = (&'static super::Arc, &'static DiagramArc)> {
    ARCS.iter()
        .filter_map(|a| DiagramArc::of(a.from, a.to, a.why).map(|d| (a, d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_inferred_arc_is_on_exactly_one_diagram_arc() {
        for a in ARCS {
            let on: Vec<_> = DIAGRAM
                .iter()
                .filter(|d| d.from == a.from && d.to == a.to && d.whys.contains(&a.why))
                .collect();
            assert_eq!(on.len(), 1, "{a:?} is on {on:?}");
        }
        assert_eq!(inference_arcs_on_the_diagram().count(), ARCS.len());
    }

    #[test]
    fn every_state_is_on_the_diagram_and_no_arc_is_listed_twice() {
        for s in TcpState::ALL {
            assert!(
                DIAGRAM.iter().any(|a| a.from == s || a.to == s),
                "{s} has no arc"
            );
        }
        for (i, a) in DIAGRAM.iter().enumerate() {
            let same = |b: &&DiagramArc| {
                b.from == a.from && b.to == a.to && b.trigger == a.trigger && b.drawn == a.drawn
            };
            assert_eq!(DIAGRAM[i..].iter().filter(same).count(), 1, "{a:?} twice");
        }
    }

    #[test]
    fn the_figures_classic_arcs_are_there() {
        use TcpState::*;
        for (from, to) in [
            (SynSent, SynReceived),
            (SynReceived, FinWait1),
            (FinWait1, Closing),
            (Closing, TimeWait),
            (FinWait1, TimeWait),
            (TimeWait, Closed),
        ] {
            assert!(
                DIAGRAM
                    .iter()
                    .any(|a| a.from == from && a.to == to && a.drawn == Drawn::Figure),
                "{from} → {to}"
            );
        }
        // An off-diagram move is not silently mapped onto some arc.
        assert!(DiagramArc::of(Listen, Established, Why::AckOfSyn).is_none());
        // SYN_SENT → CLOSED is three arcs: the inference's whys tell the timer's
        // from the RST's.
        let by = |why| DiagramArc::of(SynSent, Closed, why).map(|a| a.trigger);
        assert_eq!(by(Why::ConnectTimedOut), Some(Trigger::Timer));
        assert_eq!(by(Why::Refused), Some(Trigger::Segment));
    }
}
