//! `FlowRecord`: one flow of one capture as every export writes it — the
//! `flows --json` summary plus the capture it came from and its Community ID.

use std::sync::Arc;

use serde::Serialize;

use crate::analyze::FlowSummary;

use super::community_id::{community_id, PROTO_TCP, PROTO_UDP};

/// A flow, the capture it is from (the path as given), and its Community ID.
#[derive(Debug, Clone)]
pub struct FlowRecord {
    pub summary: FlowSummary,
    pub capture: Arc<str>,
    pub community_id: String,
}

impl FlowRecord {
    pub fn new(summary: FlowSummary, capture: Arc<str>) -> Self {
        let proto = if summary.proto == "udp" {
            PROTO_UDP
        } else {
            PROTO_TCP
        };
        let (c, s) = (summary.client, summary.server);
        let community_id = community_id(0, proto, c.ip(), s.ip(), c.port(), s.port());
        FlowRecord {
            summary,
            capture,
            community_id,
        }
    }
}

/// The JSON form: the summary's fields as before, then the two new ones, so a
/// single capture's NDJSON keeps every byte it had and only gains a tail.
#[derive(Serialize)]
struct Json<'a> {
    #[serde(flatten)]
    summary: &'a FlowSummary,
    capture: &'a str,
    community_id: &'a str,
}

impl Serialize for FlowRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Json {
            summary: &self.summary,
            capture: &self.capture,
            community_id: &self.community_id,
        }
        .serialize(s)
    }
}
