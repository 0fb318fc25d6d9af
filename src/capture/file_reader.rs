//! Streaming reader for pcap and pcapng files (via pcap-parser).
//!
//! Reads one record at a time into a reused buffer, so memory stays flat whatever
//! the file size. Handles classic pcap in µs and ns resolution and either byte
//! order, and pcapng with several interfaces, each with its own link type and
//! `if_tsresol`/`if_tsoffset`. A truncated or corrupt file yields every whole frame
//! first, then one error saying where the damage starts.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};

use super::{CaptureError, LinkType, RawFrame};

/// Initial read buffer; grown on demand for large records.
const INITIAL_BUFFER: usize = 1 << 20;
/// No sane record is larger than this (libpcap's maximum snaplen is 256 KiB);
/// a length beyond it means the file is corrupt, not that we need more memory.
const MAX_RECORD: usize = 16 << 20;

/// What a pcapng interface description tells us about its packets.
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: LinkType,
    /// Timestamp units per second (10^6 for µs, 10^9 for ns, 2^n when binary).
    units_per_second: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_seconds: i64,
}

/// A streaming reader over one capture file.
pub struct FileReader {
    path: PathBuf,
    reader: Box<dyn PcapReaderIterator + Send>,
    /// Legacy pcap: the file header's link type and resolution.
    legacy: Option<Interface>,
    /// pcapng: interfaces of the current section, by index.
    interfaces: Vec<Interface>,
    frames_read: u64,
    done: bool,
    bytes_total: u64,
}

impl FileReader {
    /// Opens `path` and checks its header; fails early on non-capture files.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|source| CaptureError::Open {
            path: path.clone(),
            source,
        })?;
        let bytes_total = file.metadata().map(|m| m.len()).unwrap_or(0);
        Self::from_reader(path, file, bytes_total)
    }

    /// Reads a capture from any byte stream; `path` is used only in messages.
    pub fn from_reader(
        path: PathBuf,
        input: impl Read + Send + 'static,
        bytes_total: u64,
    ) -> Result<Self, CaptureError> {
        // Peek at the magic without consuming it, so the error can show it.
        let mut input = BufReader::with_capacity(INITIAL_BUFFER, input);
        let head = input.fill_buf().map_err(|source| CaptureError::Read {
            path: path.clone(),
            source,
        })?;
        if head.is_empty() {
            return Err(CaptureError::Empty { path });
        }
        let magic = head
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        let reader = pcap_parser::create_reader(INITIAL_BUFFER, input).map_err(|e| match e {
            PcapError::Eof => CaptureError::Empty { path: path.clone() },
            PcapError::Incomplete(_) | PcapError::UnexpectedEof => CaptureError::Truncated {
                path: path.clone(),
                after_frame: 0,
            },
            _ => CaptureError::NotACapture {
                path: path.clone(),
                magic: format!("0x{magic}"),
            },
        })?;
        Ok(FileReader {
            path,
            reader,
            legacy: None,
            interfaces: Vec::new(),
            frames_read: 0,
            done: false,
            bytes_total,
        })
    }

    /// Size of the file in bytes (0 when unknown), for progress bars.
    pub fn bytes_total(&self) -> u64 {
        self.bytes_total
    }

    /// Bytes consumed so far, for progress bars.
    pub fn bytes_read(&self) -> u64 {
        self.reader.consumed() as u64
    }

    /// The link type of the first interface, once known (legacy pcap: at once).
    pub fn linktype(&self) -> Option<LinkType> {
        self.legacy
            .map(|i| i.linktype)
            .or_else(|| self.interfaces.first().map(|i| i.linktype))
    }

    /// Reads the next frame into `frame`, reusing its buffer.
    ///
    /// Returns `Ok(false)` at the end of the file. After an error, further calls
    /// return `Ok(false)`.
    pub fn read_next(&mut self, frame: &mut RawFrame) -> Result<bool, CaptureError> {
        if self.done {
            return Ok(false);
        }
        let result = self.read_next_inner(frame);
        if !matches!(result, Ok(true)) {
            self.done = true;
        }
        result
    }

    fn read_next_inner(&mut self, frame: &mut RawFrame) -> Result<bool, CaptureError> {
        loop {
            match self.reader.next() {
                Ok((offset, block)) => {
                    let got = match block {
                        PcapBlockOwned::LegacyHeader(header) => {
                            self.legacy = Some(Interface {
                                linktype: LinkType(header.network.0 as u32),
                                units_per_second: if header.is_nanosecond_precision() {
                                    1_000_000_000
                                } else {
                                    1_000_000
                                },
                                offset_seconds: i64::from(header.thiszone),
                            });
                            false
                        }
                        PcapBlockOwned::Legacy(record) => {
                            let iface = self.legacy.expect("pcap header precedes records");
                            let units = u64::from(record.ts_sec) * iface.units_per_second
                                + u64::from(record.ts_usec);
                            fill(
                                frame,
                                self.frames_read + 1,
                                timestamp_ns(units, iface),
                                iface.linktype,
                                record.origlen,
                                record.data,
                            );
                            true
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                            // Interface numbering restarts in every section.
                            self.interfaces.clear();
                            false
                        }
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            self.interfaces.push(Interface {
                                linktype: LinkType(idb.linktype.0 as u32),
                                units_per_second: idb.ts_resolution().unwrap_or(1_000_000),
                                offset_seconds: idb.ts_offset(),
                            });
                            false
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            let number = self.frames_read + 1;
                            let iface =
                                *self.interfaces.get(epb.if_id as usize).ok_or_else(|| {
                                    CaptureError::UnknownInterface {
                                        path: self.path.clone(),
                                        frame: number,
                                        interface: epb.if_id,
                                        known: self.interfaces.len(),
                                    }
                                })?;
                            let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            let caplen = (epb.caplen as usize).min(epb.data.len());
                            fill(
                                frame,
                                number,
                                timestamp_ns(units, iface),
                                iface.linktype,
                                epb.origlen,
                                &epb.data[..caplen],
                            );
                            true
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            // A simple packet belongs to interface 0 and has no timestamp.
                            let number = self.frames_read + 1;
                            let iface = *self.interfaces.first().ok_or_else(|| {
                                CaptureError::UnknownInterface {
                                    path: self.path.clone(),
                                    frame: number,
                                    interface: 0,
                                    known: 0,
                                }
                            })?;
                            let caplen = (spb.origlen as usize).min(spb.data.len());
                            fill(
                                frame,
                                number,
                                0,
                                iface.linktype,
                                spb.origlen,
                                &spb.data[..caplen],
                            );
                            true
                        }
                        // Statistics, name resolution, comments: not frames.
                        PcapBlockOwned::NG(_) => false,
                    };
                    self.reader.consume(offset);
                    if got {
                        self.frames_read += 1;
                        return Ok(true);
                    }
                }
                Err(PcapError::Eof) => return Ok(false),
                Err(PcapError::Incomplete(_)) => self.refill()?,
                Err(PcapError::BufferTooSmall) => {
                    let wanted = self.reader.data().len().max(INITIAL_BUFFER) * 2;
                    if wanted > MAX_RECORD || !self.reader.grow(wanted) {
                        return Err(self.corrupt(format!(
                            "a record claims more than {} MiB",
                            MAX_RECORD >> 20
                        )));
                    }
                    self.refill()?;
                }
                Err(PcapError::UnexpectedEof) => {
                    return Err(CaptureError::Truncated {
                        path: self.path.clone(),
                        after_frame: self.frames_read,
                    })
                }
                Err(PcapError::ReadError) => {
                    return Err(CaptureError::Read {
                        path: self.path.clone(),
                        source: std::io::Error::other("read failed"),
                    })
                }
                Err(e) => {
                    let detail = describe(&e);
                    return Err(self.corrupt(detail));
                }
            }
        }
    }

    fn refill(&mut self) -> Result<(), CaptureError> {
        self.reader.refill().map_err(|_| CaptureError::Read {
            path: self.path.clone(),
            source: std::io::Error::other("read failed"),
        })
    }

    fn corrupt(&self, detail: String) -> CaptureError {
        CaptureError::Corrupt {
            path: self.path.clone(),
            after_frame: self.frames_read,
            detail,
        }
    }
}

impl Iterator for FileReader {
    type Item = Result<RawFrame, CaptureError>;

    /// Convenience for small files and tests; `read_next` avoids the per-frame allocation.
    fn next(&mut self) -> Option<Self::Item> {
        let mut frame = RawFrame {
            number: 0,
            ts_ns: 0,
            linktype: LinkType::ETHERNET,
            orig_len: 0,
            bytes: Vec::new(),
        };
        match self.read_next(&mut frame) {
            Ok(true) => Some(Ok(frame)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

fn fill(
    frame: &mut RawFrame,
    number: u64,
    ts_ns: u64,
    linktype: LinkType,
    orig_len: u32,
    data: &[u8],
) {
    frame.number = number;
    frame.ts_ns = ts_ns;
    frame.linktype = linktype;
    // Some writers leave orig_len 0 or below caplen; the wire had at least what we hold.
    frame.orig_len = orig_len.max(data.len() as u32);
    frame.bytes.clear();
    frame.bytes.extend_from_slice(data);
}

/// Converts a timestamp in the interface's units to nanoseconds since the epoch.
fn timestamp_ns(units: u64, iface: Interface) -> u64 {
    let per_sec = u128::from(iface.units_per_second.max(1));
    let ns = u128::from(units) * 1_000_000_000 / per_sec;
    let offset = i128::from(iface.offset_seconds) * 1_000_000_000;
    (ns as i128 + offset).clamp(0, i128::from(u64::MAX)) as u64
}

fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) => format!("unparseable block ({kind:?})"),
        PcapError::OwnedNomError(_, kind) => format!("unparseable block ({kind:?})"),
        PcapError::HeaderNotRecognized => "unrecognised block header".to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_header(magic: u32, linktype: u32, big_endian: bool) -> Vec<u8> {
        let mut v = Vec::new();
        let w32 = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&if big_endian {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        let w16 = |v: &mut Vec<u8>, x: u16| {
            v.extend_from_slice(&if big_endian {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        w32(&mut v, magic);
        w16(&mut v, 2);
        w16(&mut v, 4);
        w32(&mut v, 0);
        w32(&mut v, 0);
        w32(&mut v, 65535);
        w32(&mut v, linktype);
        v
    }

    fn record(v: &mut Vec<u8>, sec: u32, frac: u32, data: &[u8], big_endian: bool) {
        for x in [sec, frac, data.len() as u32, data.len() as u32] {
            v.extend_from_slice(&if big_endian {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            });
        }
        v.extend_from_slice(data);
    }

    fn read_all(bytes: Vec<u8>) -> (Vec<RawFrame>, Option<CaptureError>) {
        let mut reader = FileReader::from_reader("mem.pcap".into(), std::io::Cursor::new(bytes), 0)
            .expect("header ok");
        let mut frames = Vec::new();
        for item in &mut reader {
            match item {
                Ok(f) => frames.push(f),
                Err(e) => return (frames, Some(e)),
            }
        }
        (frames, None)
    }

    #[test]
    fn nanosecond_big_endian_timestamps_are_exact() {
        let mut v = pcap_header(0xa1b2_3c4d, 101, true);
        record(&mut v, 1_700_000_000, 123_456_789, &[0x45; 20], true);
        let (frames, err) = read_all(v);
        assert!(err.is_none());
        assert_eq!(frames[0].ts_ns, 1_700_000_000_123_456_789);
        assert_eq!(frames[0].linktype, LinkType::RAW);
    }

    #[test]
    fn truncated_last_record_reports_whole_frames_first() {
        let mut v = pcap_header(0xa1b2_c3d4, 1, false);
        record(&mut v, 1, 0, &[0u8; 60], false);
        record(&mut v, 2, 0, &[0u8; 60], false);
        v.truncate(v.len() - 30);
        let (frames, err) = read_all(v);
        assert_eq!(frames.len(), 1);
        let err = err.expect("truncation reported");
        assert!(
            matches!(err, CaptureError::Truncated { after_frame: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn random_bytes_are_not_a_capture() {
        let err =
            FileReader::from_reader("x".into(), std::io::Cursor::new(b"hello world".to_vec()), 0)
                .err()
                .expect("rejected");
        assert_eq!(
            err.to_string(),
            "x is not a pcap or pcapng file (it starts with 0x68656c6c); \
             convert it with `editcap -F pcap IN OUT` or check the path"
        );
    }

    #[test]
    fn empty_file_is_reported() {
        let err = FileReader::from_reader("e".into(), std::io::Cursor::new(Vec::new()), 0)
            .err()
            .expect("rejected");
        assert!(matches!(err, CaptureError::Empty { .. }));
    }
}
