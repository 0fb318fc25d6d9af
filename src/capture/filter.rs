//! BPF filters on capture files, compiled by libpcap itself (as `tcpdump -r FILE EXPR`).
//!
//! A pcapng file can mix link types, and a BPF program is only valid for the link
//! type it was compiled for, so the filter compiles once per link type it meets.

use std::collections::HashMap;

use pcap::{BpfProgram, Capture, Linktype};

use super::{CaptureError, LinkType, RawFrame};

/// A BPF expression applied to frames offline.
pub struct FrameFilter {
    expression: String,
    programs: HashMap<LinkType, BpfProgram>,
}

impl FrameFilter {
    /// Checks the expression now (against Ethernet) so a typo fails before any reading.
    pub fn new(expression: &str) -> Result<Self, CaptureError> {
        let mut filter = FrameFilter {
            expression: expression.to_string(),
            programs: HashMap::new(),
        };
        filter.program(LinkType::ETHERNET)?;
        Ok(filter)
    }

    /// The expression as the user wrote it.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// True when the frame passes the filter.
    pub fn matches(&mut self, frame: &RawFrame) -> Result<bool, CaptureError> {
        Ok(self.program(frame.linktype)?.filter(&frame.bytes))
    }

    fn program(&mut self, linktype: LinkType) -> Result<&BpfProgram, CaptureError> {
        if !self.programs.contains_key(&linktype) {
            let program = compile(&self.expression, linktype)?;
            self.programs.insert(linktype, program);
        }
        Ok(&self.programs[&linktype])
    }
}

fn compile(expression: &str, linktype: LinkType) -> Result<BpfProgram, CaptureError> {
    let error = |detail: String| CaptureError::Filter {
        filter: expression.to_string(),
        detail,
    };
    let dead = Capture::dead(Linktype(linktype.0 as i32)).map_err(|e| error(e.to_string()))?;
    dead.compile(expression, true)
        .map_err(|e| error(format!("{e} (link type {linktype})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_expression_is_rejected_with_libpcaps_message() {
        let err = FrameFilter::new("tcp port").err().expect("rejected");
        let text = err.to_string();
        assert!(
            text.starts_with("cannot compile filter \"tcp port\":"),
            "{text}"
        );
    }

    #[test]
    fn filter_selects_by_port() {
        let mut filter = FrameFilter::new("udp port 53").unwrap();
        let mut bytes = Vec::new();
        etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
            .udp(40000, 53)
            .write(&mut bytes, b"q")
            .unwrap();
        let mut frame = RawFrame {
            number: 1,
            ts_ns: 0,
            linktype: LinkType::ETHERNET,
            orig_len: bytes.len() as u32,
            bytes,
        };
        assert!(filter.matches(&frame).unwrap());
        frame.bytes[37] = 54; // destination port low byte → 54
        assert!(!filter.matches(&frame).unwrap());
    }
}
