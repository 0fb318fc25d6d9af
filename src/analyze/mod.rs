//! Streaming analysis of decoded packets: flows, both endpoints' TCP states,
//! Wireshark's expert flags, RTT, Zeek's `conn_state` and `history`.
//!
//! Pure: it sees only `Packet`s and their timestamps, never a clock or a socket.

mod analyzer;
mod anomaly;
pub mod diagram;
mod endpoint;
mod events;
mod expert;
mod flight;
mod flow_key;
mod flow_table;
pub mod phases;
mod rtt;
pub mod seq;
mod summary;
mod tcp_flow;
mod tcp_state;
mod transition;
mod udp_flow;
pub mod udp_probe;
mod zeek;

pub use analyzer::Analyzer;
pub use anomaly::{Anomaly, AnomalyNote};
pub use endpoint::{on_segment, Segment, TcpEndpoint};
pub use events::{
    settle, AnalysisFlags, FrameAnalysis, Role, Transition, Why, Withdrawal, Withdrawn,
};
pub use flow_key::FlowKey;
pub use rtt::{Estimate, Estimator, RttRow};
pub use summary::{
    FlightSummary, FlowSummary, MinWindow, PerRole, PerSender, RttEstimator, RttMs, TcpSummary,
    TransitionRecord, UdpStats,
};
pub use tcp_flow::{Counters, COUNTED};
pub use tcp_state::TcpState;
pub use transition::{transition, Arc, At, Event, Move, Step, ARCS};
pub use udp_probe::{LatencyMs, ProbeCounter, ProbeHeader, ProbeStats};
