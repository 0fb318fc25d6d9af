//! A minimal pcapng writer: one section, one Ethernet interface with nanosecond
//! timestamps, and Enhanced Packet Blocks that may carry an `opt_comment`.
//!
//! The bridge needs per-frame comments ("dropped by the bridge: loss") that
//! Wireshark shows as `frame.comment` and that protolab's reader skips; classic
//! pcap has no place for them and the pcap crate's savefile writes only classic
//! pcap. The format is small enough that the ~80 lines below are simpler than a
//! dependency, and the tests read every file back through [`crate::capture::FileReader`]
//! (and tshark in tests/bridge.rs).

use std::io::{self, Write};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const OPT_ENDOFOPT: u16 = 0;
const OPT_COMMENT: u16 = 1;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;
const SHB_USERAPPL: u16 = 4;
const LINKTYPE_ETHERNET: u16 = 1;

/// Writes pcapng to `W` (little-endian, the writer's native order on every
/// machine protolab runs on).
pub struct PcapngWriter<W: Write> {
    out: W,
    block: Vec<u8>,
}

fn pad4(len: usize) -> usize {
    (4 - len % 4) % 4
}

fn push_option(block: &mut Vec<u8>, code: u16, value: &[u8]) {
    block.extend_from_slice(&code.to_le_bytes());
    block.extend_from_slice(&(value.len() as u16).to_le_bytes());
    block.extend_from_slice(value);
    block.extend(std::iter::repeat_n(0u8, pad4(value.len())));
}

fn end_options(block: &mut Vec<u8>) {
    block.extend_from_slice(&OPT_ENDOFOPT.to_le_bytes());
    block.extend_from_slice(&0u16.to_le_bytes());
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the section header and the one interface (`if_name`, snaplen 0 = unlimited).
    pub fn new(mut out: W, if_name: &str) -> io::Result<Self> {
        let mut block = Vec::with_capacity(128);
        block.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        block.extend_from_slice(&1u16.to_le_bytes()); // major
        block.extend_from_slice(&0u16.to_le_bytes()); // minor
        block.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
        let appl = format!("protolab {} bridge", env!("CARGO_PKG_VERSION"));
        push_option(&mut block, SHB_USERAPPL, appl.as_bytes());
        end_options(&mut block);
        write_block(&mut out, SHB, &block)?;

        block.clear();
        block.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        block.extend_from_slice(&0u16.to_le_bytes()); // reserved
        block.extend_from_slice(&0u32.to_le_bytes()); // snaplen: no limit
        push_option(&mut block, IF_NAME, if_name.as_bytes());
        push_option(&mut block, IF_TSRESOL, &[9]); // 10^-9 s
        end_options(&mut block);
        write_block(&mut out, IDB, &block)?;
        Ok(PcapngWriter { out, block })
    }

    /// Appends one frame captured at `ts_ns` (ns since the Unix epoch) with an
    /// optional comment. `orig_len` may exceed `bytes.len()` when the frame was cut.
    pub fn write_frame(
        &mut self,
        ts_ns: u64,
        bytes: &[u8],
        orig_len: u32,
        comment: Option<&str>,
    ) -> io::Result<()> {
        let block = &mut self.block;
        block.clear();
        block.extend_from_slice(&0u32.to_le_bytes()); // interface 0
        block.extend_from_slice(&((ts_ns >> 32) as u32).to_le_bytes());
        block.extend_from_slice(&(ts_ns as u32).to_le_bytes());
        block.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        block.extend_from_slice(&orig_len.to_le_bytes());
        block.extend_from_slice(bytes);
        block.extend(std::iter::repeat_n(0u8, pad4(bytes.len())));
        if let Some(text) = comment {
            // An option is at most 65535 bytes; comments here are one short line.
            let text = &text.as_bytes()[..text.len().min(60_000)];
            push_option(block, OPT_COMMENT, text);
            end_options(block);
        }
        write_block(&mut self.out, EPB, block)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

fn write_block(out: &mut impl Write, kind: u32, body: &[u8]) -> io::Result<()> {
    let total = (12 + body.len()) as u32;
    out.write_all(&kind.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::FileReader;

    #[test]
    fn frames_and_comments_read_back_with_nanosecond_times() {
        let mut w = PcapngWriter::new(Vec::new(), "plab-test").unwrap();
        w.write_frame(1_700_000_000_123_456_789, &[1, 2, 3, 4, 5], 5, None)
            .unwrap();
        w.write_frame(
            1_700_000_001_000_000_001,
            &[9; 60],
            1514,
            Some("dropped by the bridge (loss)"),
        )
        .unwrap();
        let bytes = w.into_inner();
        assert_eq!(bytes.len() % 4, 0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.pcapng");
        std::fs::write(&path, &bytes).unwrap();
        let mut reader = FileReader::open(&path).unwrap();
        let a = reader.next().unwrap().unwrap();
        assert_eq!(a.ts_ns, 1_700_000_000_123_456_789);
        assert_eq!(a.bytes, vec![1, 2, 3, 4, 5]);
        let b = reader.next().unwrap().unwrap();
        assert_eq!(b.ts_ns, 1_700_000_001_000_000_001);
        assert_eq!(b.orig_len, 1514);
        assert_eq!(b.bytes.len(), 60);
        assert!(reader.next().is_none());
    }
}
