//! Each endpoint's path over the state-transition diagram: its inferred
//! transitions, each put on the diagram edge of its arc
//! ([`DiagramArc::of`]), or kept as an anomaly when the standard diagram has no
//! such arc. Nothing is dropped: the diagram chart draws every move, and the
//! report's player lights the same edges.

use super::diagram_layout::{Layout, Node};
use crate::analyze::diagram::DiagramArc;
use crate::analyze::{Role, TcpState, TransitionRecord, Why};

/// One transition on the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub frame: u64,
    pub from: TcpState,
    pub to: TcpState,
    pub why: Why,
    /// The edge of [`Layout::edges`] it went along; `None`: off the diagram.
    pub edge: Option<usize>,
    /// The box it ends in.
    pub node: Node,
}

/// One endpoint's path: where it started and every move, in order.
#[derive(Debug, Clone)]
pub struct Walk {
    pub role: Role,
    pub start: Node,
    pub moves: Vec<Move>,
}

impl Walk {
    /// The path of one endpoint whose states were `states` (the first is where it
    /// started) through `transitions`.
    pub fn new(
        layout: &Layout,
        role: Role,
        states: &[TcpState],
        transitions: &[TransitionRecord],
    ) -> Walk {
        let first = states
            .first()
            .copied()
            .or_else(|| transitions.first().map(|t| t.from))
            .unwrap_or(TcpState::Closed);
        let moves = transitions
            .iter()
            .map(|t| {
                let edge = DiagramArc::of(t.from, t.to, t.why).and_then(|a| layout.edge_of(a));
                let node = match edge {
                    Some(i) => layout.edges[i].to,
                    None => layout.anomaly_route(t.from, t.to).0,
                };
                Move {
                    frame: t.frame,
                    from: t.from,
                    to: t.to,
                    why: t.why,
                    edge,
                    node,
                }
            })
            .collect();
        Walk {
            role,
            start: Node::State(first),
            moves,
        }
    }

    /// Every box the endpoint was in.
    pub fn nodes(&self) -> impl Iterator<Item = Node> + '_ {
        std::iter::once(self.start).chain(self.moves.iter().map(|m| m.node))
    }

    /// The frames that moved the endpoint along edge `i`, in order.
    pub fn frames_on(&self, i: usize) -> Vec<u64> {
        self.moves
            .iter()
            .filter(|m| m.edge == Some(i))
            .map(|m| m.frame)
            .collect()
    }

    /// Moves off the diagram, each once per (from, to) with its frames.
    pub fn anomalies(&self) -> Vec<(TcpState, TcpState, Vec<u64>)> {
        let mut out: Vec<(TcpState, TcpState, Vec<u64>)> = Vec::new();
        for m in self.moves.iter().filter(|m| m.edge.is_none()) {
            match out.iter_mut().find(|(f, t, _)| (*f, *t) == (m.from, m.to)) {
                Some((_, _, frames)) => frames.push(m.frame),
                None => out.push((m.from, m.to, vec![m.frame])),
            }
        }
        out
    }
}

/// "#5" or "#5, #9": the frames that took an edge.
pub fn frames_label(frames: &[u64]) -> String {
    frames
        .iter()
        .map(|f| format!("#{f}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::Seconds;

    fn tr(frame: u64, from: TcpState, to: TcpState, why: Why) -> TransitionRecord {
        TransitionRecord {
            frame,
            ts: Seconds(frame),
            from,
            to,
            why,
        }
    }

    #[test]
    fn a_client_walks_the_active_open_and_close_and_an_odd_move_is_kept() {
        use TcpState::*;
        let l = Layout::standard();
        let ts = [
            tr(1, Closed, SynSent, Why::SentSyn),
            tr(2, SynSent, Established, Why::ReceivedSynAck),
            tr(5, Established, FinWait1, Why::SentFin),
            tr(6, FinWait1, FinWait2, Why::AckOfFin),
            tr(6, FinWait2, TimeWait, Why::ReceivedFin),
            // Not an arc of the diagram.
            tr(9, TimeWait, Listen, Why::ReceivedSyn),
        ];
        let w = Walk::new(&l, Role::Client, &[Closed], &ts);
        assert_eq!(w.start, Node::State(Closed));
        assert!(w.moves[..5].iter().all(|m| m.edge.is_some()));
        assert_eq!(w.moves[5].edge, None);
        assert_eq!(w.anomalies(), vec![(TimeWait, Listen, vec![9])]);
        let fin_wait_2 = w.moves[3].edge.unwrap();
        assert_eq!(w.frames_on(fin_wait_2), vec![6]);
        assert_eq!(w.nodes().last(), Some(Node::State(Listen)));
        assert_eq!(frames_label(&[5, 9]), "#5, #9");
    }

    #[test]
    fn rst_ends_in_the_small_closed_box_and_an_orderly_close_at_the_bottom() {
        use TcpState::*;
        let l = Layout::standard();
        let w = Walk::new(
            &l,
            Role::Server,
            &[Listen],
            &[
                tr(1, Listen, SynReceived, Why::ReceivedSyn),
                tr(3, SynReceived, Established, Why::AckOfSyn),
                tr(4, Established, Closed, Why::ReceivedRst),
            ],
        );
        assert_eq!(w.moves[2].node, Node::Reset(Established));
        let w = Walk::new(
            &l,
            Role::Server,
            &[CloseWait],
            &[tr(8, LastAck, Closed, Why::AckOfFin)],
        );
        assert_eq!(w.moves[0].node, Node::ClosedEnd);
    }
}
