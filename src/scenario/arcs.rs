//! Which arcs of the TCP state diagram each scenario demonstrates, derived from
//! its expectation (never listed by hand, so the list cannot drift from what the
//! run checks), and the coverage table of every arc: which scenario takes it,
//! whether the packets show it, whether Linux can take it at all.
//!
//! A scenario's path `CLOSED SYN_SENT CLOSED` is a walk over
//! [`DIAGRAM`](crate::analyze::diagram::DIAGRAM): each step is the one arc between
//! its two states, or, where the diagram has several (SYN_SENT → CLOSED by a RST or
//! by the connect's timer), the one the expectation names in
//! [`ConnectionExpectation::ways`](super::ConnectionExpectation::ways). A path that
//! starts in LISTEN took the passive open (`listen()`) to get there. The arcs no
//! packet shows (closing a listener or a connecting socket, TIME_WAIT's 2MSL) come
//! from the expectation's
//! [`kernel_only`](super::ConnectionExpectation::kernel_only) list: the run has the
//! kernel confirm them.

use std::fmt::Write as _;

use super::{expectation, ConnectionExpectation, KernelOnlyArc, Params, ScenarioName};
use crate::analyze::diagram::{DiagramArc, Drawn, Linux, Trigger, DIAGRAM};
use crate::analyze::TcpState;

/// A step of a scenario's path that no single diagram arc explains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub from: TcpState,
    pub to: TcpState,
    /// How many diagram arcs join the two states (0: none; 2 or more: the
    /// expectation must say which, in `ways`).
    pub candidates: usize,
}

/// The diagram arc of one step `from → to` of `c`'s paths.
fn step_arc(
    c: &ConnectionExpectation,
    from: TcpState,
    to: TcpState,
) -> Result<&'static DiagramArc, Unresolved> {
    let mut candidates = DIAGRAM.iter().filter(|a| a.from == from && a.to == to);
    let unresolved = |candidates| Unresolved {
        from,
        to,
        candidates,
    };
    let named = c
        .ways
        .iter()
        .find(|(f, t, _)| *f == from && *t == to)
        .map(|&(_, _, why)| why);
    match named {
        Some(why) => DiagramArc::of(from, to, why).ok_or_else(|| unresolved(0)),
        None => match (candidates.next(), candidates.count()) {
            (Some(arc), 0) => Ok(arc),
            (None, _) => Err(unresolved(0)),
            (Some(_), more) => Err(unresolved(more + 1)),
        },
    }
}

/// The diagram arc of a step only the kernel shows: the one arc between its two
/// states with that trigger that no packet shows (a call or a timer).
fn kernel_only_arc(k: &KernelOnlyArc) -> Result<&'static DiagramArc, Unresolved> {
    DIAGRAM
        .iter()
        .find(|a| a.from == k.from && a.to == k.to && a.trigger == k.trigger && a.whys.is_empty())
        .ok_or(Unresolved {
            from: k.from,
            to: k.to,
            candidates: 0,
        })
}

/// Every arc `c`'s two paths take, in path order (duplicates included), then the
/// arcs only the kernel shows.
fn connection_arcs(
    c: &ConnectionExpectation,
) -> impl Iterator<Item = Result<&'static DiagramArc, Unresolved>> + '_ {
    [&c.client_states, &c.server_states]
        .into_iter()
        .flat_map(move |path| {
            let opened = (path.first() == Some(&TcpState::Listen))
                .then(|| step_arc(c, TcpState::Closed, TcpState::Listen));
            opened
                .into_iter()
                .chain(path.windows(2).map(move |w| step_arc(c, w[0], w[1])))
        })
        .chain(c.kernel_only.iter().map(kernel_only_arc))
}

/// The arcs `name` demonstrates, in diagram order, each once; or the first step
/// of its expectation that no arc explains.
pub fn try_arcs(name: ScenarioName) -> Result<Vec<&'static DiagramArc>, Unresolved> {
    let e = expectation(name, &Params::default());
    let mut taken = Vec::new();
    for c in &e.connections {
        for arc in connection_arcs(c) {
            taken.push(arc?);
        }
    }
    Ok(DIAGRAM
        .iter()
        // By value: a `const` table's address is not one place for every use.
        .filter(|d| taken.contains(d))
        .collect())
}

/// The arcs `name` demonstrates, in diagram order (a test makes sure every
/// scenario's steps resolve; one that does not is left out).
pub fn arcs(name: ScenarioName) -> Vec<&'static DiagramArc> {
    try_arcs(name).unwrap_or_default()
}

/// The scenarios that demonstrate `arc`, in catalogue order.
pub fn scenarios_taking(arc: &DiagramArc) -> Vec<ScenarioName> {
    ScenarioName::all()
        .iter()
        .copied()
        .filter(|&s| arcs(s).contains(&arc))
        .collect()
}

/// `FROM → TO`.
pub fn arc_name(arc: &DiagramArc) -> String {
    format!("{} → {}", arc.from, arc.to)
}

/// A trigger as the table and `--json` write it.
pub fn trigger_name(t: Trigger) -> &'static str {
    match t {
        Trigger::Segment => "segment",
        Trigger::Call => "call",
        Trigger::Timer => "timer",
    }
}

/// The coverage table of every diagram arc, in Markdown: what `protolab scenarios
/// --arcs` prints and docs/state-diagram.md holds (a test keeps them equal).
pub fn coverage_table() -> String {
    let mut s = String::from(
        "| # | arc | event / action | drawn | trigger | inferred from packets | scenarios | Linux |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for (i, arc) in DIAGRAM.iter().enumerate() {
        let scenarios: Vec<String> = scenarios_taking(arc)
            .iter()
            .map(|s| format!("`{}`", s.id()))
            .collect();
        let scenarios = if scenarios.is_empty() {
            "–".to_string()
        } else {
            scenarios.join(", ")
        };
        let linux = match arc.linux {
            Linux::Takes => "yes".to_string(),
            Linux::Never(why) => format!("no: {why}"),
        };
        let drawn = match arc.drawn {
            Drawn::Figure => "figure",
            Drawn::TextOnly => "text only",
        };
        let inferred = if arc.whys.is_empty() { "no" } else { "yes" };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {drawn} | {} | {inferred} | {scenarios} | {linux} |",
            i + 1,
            arc_name(arc),
            arc.label,
            trigger_name(arc.trigger),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::Why;

    #[test]
    fn every_scenarios_every_step_is_one_diagram_arc() {
        for &name in ScenarioName::all() {
            assert!(try_arcs(name).is_ok(), "{name}: {:?}", try_arcs(name));
        }
    }

    #[test]
    fn refused_and_connect_timeout_take_different_arcs_to_closed() {
        let closing = |name| {
            arcs(name)
                .into_iter()
                .find(|a| a.from == TcpState::SynSent && a.to == TcpState::Closed)
                .unwrap_or_else(|| panic!("{name} has no SYN_SENT → CLOSED"))
        };
        let refused = closing(ScenarioName::Refused);
        let timeout = closing(ScenarioName::ConnectTimeout);
        assert!(refused.whys.contains(&Why::Refused));
        assert_eq!(timeout.trigger, Trigger::Timer);
        assert_ne!(refused, timeout);
    }

    #[test]
    fn a_step_with_several_arcs_needs_its_way() {
        let mut c = ConnectionExpectation::refused();
        c.ways.clear();
        let err = step_arc(&c, TcpState::SynSent, TcpState::Closed).unwrap_err();
        assert_eq!(err.candidates, 3);
        // A step the diagram does not have at all.
        let err = step_arc(&c, TcpState::Listen, TcpState::Established).unwrap_err();
        assert_eq!(err.candidates, 0);
    }

    #[test]
    fn servers_took_the_passive_open_and_clients_the_active_one() {
        let upper = arcs(ScenarioName::TcpUpper);
        for (from, to) in [
            (TcpState::Closed, TcpState::Listen),
            (TcpState::Closed, TcpState::SynSent),
            (TcpState::Listen, TcpState::SynReceived),
            (TcpState::LastAck, TcpState::Closed),
        ] {
            assert!(
                upper.iter().any(|a| a.from == from && a.to == to),
                "{from} → {to}"
            );
        }
        // A refused connection's server never listened.
        assert!(!arcs(ScenarioName::Refused)
            .iter()
            .any(|a| a.to == TcpState::Listen));
        assert!(arcs(ScenarioName::UdpDaytime).is_empty());
    }

    #[test]
    fn the_docs_table_is_the_one_the_code_makes() {
        let doc = include_str!("../../docs/state-diagram.md");
        let table = coverage_table();
        assert!(
            doc.contains(&table),
            "docs/state-diagram.md's arc table is out of date: paste the output of \
             `protolab scenarios --arcs` between its markers\n{table}"
        );
    }
}
