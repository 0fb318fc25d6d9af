//! Segments that cannot happen in the state an endpoint is inferred to be in.
//!
//! The state machine never drops such input silently: each becomes an [`Anomaly`],
//! listed on the frame (`inspect`) and counted per flow (`flows`). The capture point
//! sees what it sees: an anomaly is often a frame the capture missed, so the texts
//! say "not seen" rather than "never".

use std::fmt;

use serde::{Serialize, Serializer};

use super::Role;

/// What was impossible, as a code for JSON and an English text for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Anomaly {
    /// Data with sequence numbers beyond the sender's own FIN.
    DataAfterFin,
    /// An ACK of sequence numbers beyond the highest the peer was seen sending.
    AckOfUnseenData,
    /// A segment other than RST or SYN from an endpoint that is CLOSED.
    SentWhileClosed,
    /// Data, an ACK or a FIN sent in LISTEN or SYN_SENT.
    SentBeforeOpen,
    /// An ACK, data or a FIN received in LISTEN or SYN_SENT.
    ReceivedBeforeOpen,
    /// In SYN_SENT, a SYN-ACK whose ACK is not the endpoint's ISN + 1.
    SynAckNotForItsSyn,
}

impl Anomaly {
    /// Every kind, in the order they are documented.
    pub const ALL: [Anomaly; 6] = [
        Anomaly::DataAfterFin,
        Anomaly::AckOfUnseenData,
        Anomaly::SentWhileClosed,
        Anomaly::SentBeforeOpen,
        Anomaly::ReceivedBeforeOpen,
        Anomaly::SynAckNotForItsSyn,
    ];

    /// The code written as `what` in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Anomaly::DataAfterFin => "data_after_fin",
            Anomaly::AckOfUnseenData => "ack_of_unseen_data",
            Anomaly::SentWhileClosed => "sent_while_closed",
            Anomaly::SentBeforeOpen => "sent_before_open",
            Anomaly::ReceivedBeforeOpen => "received_before_open",
            Anomaly::SynAckNotForItsSyn => "syn_ack_not_for_its_syn",
        }
    }

    /// The English explanation, said of the endpoint it concerns.
    pub fn text(self) -> &'static str {
        match self {
            Anomaly::DataAfterFin => "sent data beyond its own FIN",
            Anomaly::AckOfUnseenData => {
                "acknowledged bytes the peer was not seen sending (a frame missing from the capture?)"
            }
            Anomaly::SentWhileClosed => "sent a segment other than RST or SYN while CLOSED",
            Anomaly::SentBeforeOpen => {
                "sent data, an ACK or a FIN in LISTEN or SYN_SENT (a SYN or SYN-ACK missing from the capture?)"
            }
            Anomaly::ReceivedBeforeOpen => {
                "received an ACK, data or a FIN in LISTEN or SYN_SENT (a SYN-ACK missing from the capture?)"
            }
            Anomaly::SynAckNotForItsSyn => "received a SYN-ACK that does not acknowledge its SYN",
        }
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// One anomaly on one frame: which endpoint it concerns and what it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnomalyNote {
    pub endpoint: Role,
    pub what: Anomaly,
}

impl Serialize for AnomalyNote {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("endpoint", &self.endpoint)?;
        m.serialize_entry("what", self.what.code())?;
        m.serialize_entry("why", self.what.text())?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case() {
        for (i, a) in Anomaly::ALL.iter().enumerate() {
            assert!(a.code().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(Anomaly::ALL[i + 1..].iter().all(|b| b.code() != a.code()));
        }
    }

    #[test]
    fn a_note_serialises_endpoint_what_and_why() {
        let n = AnomalyNote {
            endpoint: Role::Client,
            what: Anomaly::DataAfterFin,
        };
        assert_eq!(
            serde_json::to_string(&n).unwrap(),
            r#"{"endpoint":"client","what":"data_after_fin","why":"sent data beyond its own FIN"}"#
        );
    }
}
