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
    let dead = Capture::dead(Linktype(dlt(linktype))).map_err(|e| error(e.to_string()))?;
    dead.compile(expression, true)
        .map_err(|e| error(format!("{e} (link type {linktype})")))
}

/// The DLT value libpcap's compiler wants for a file's LINKTYPE value. They are the
/// same number except for a few link types defined before the LINKTYPE registry,
/// whose DLT values differ between systems (libpcap's `linktype_to_dlt`); these are
/// Linux's. Without this, `-f tcp` on a raw-IP capture fails ("unknown data link
/// type 101").
fn dlt(linktype: LinkType) -> i32 {
    match linktype.0 {
        100 => 11, // ATM_RFC1483
        101 => 12, // RAW
        102 => 15, // SLIP_BSDOS
        103 => 16, // PPP_BSDOS
        n => n as i32,
    }
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

    #[test]
    fn filters_raw_ip_frames_as_tcpdump_does() {
        // LINKTYPE_RAW (101) is DLT_RAW (12) to libpcap's compiler.
        let mut filter = FrameFilter::new("tcp").unwrap();
        for (version, linktype) in [(4, LinkType::RAW), (4, LinkType::IPV4), (6, LinkType::IPV6)] {
            let mut bytes = Vec::new();
            let builder = etherparse::PacketBuilder::ip(if version == 4 {
                etherparse::IpHeaders::Ipv4(
                    etherparse::Ipv4Header::new(
                        0,
                        64,
                        etherparse::IpNumber::TCP,
                        [198, 18, 0, 1],
                        [198, 18, 0, 2],
                    )
                    .unwrap(),
                    Default::default(),
                )
            } else {
                etherparse::IpHeaders::Ipv6(
                    etherparse::Ipv6Header {
                        hop_limit: 64,
                        source: [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                        destination: [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                        ..Default::default()
                    },
                    Default::default(),
                )
            });
            builder
                .tcp(40000, 80, 1, 1000)
                .write(&mut bytes, b"")
                .unwrap();
            let frame = RawFrame {
                number: 1,
                ts_ns: 0,
                linktype,
                orig_len: bytes.len() as u32,
                bytes,
            };
            assert!(filter.matches(&frame).unwrap(), "tcp on {linktype}");
            let mut udp_only = FrameFilter::new("udp").unwrap();
            assert!(!udp_only.matches(&frame).unwrap(), "udp on {linktype}");
        }
    }
}
