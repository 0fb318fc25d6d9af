//! Streaming reader for pcap and pcapng files (via pcap-parser).
//!
//! Reads one record at a time into a reused buffer, so memory stays flat whatever
//! the file size. Classic pcap, by far the most common input, is parsed record by
//! record (pcap-parser's `parse_pcap_frame`) straight out of a buffer refilled with
//! plain `read`s; pcapng goes through pcap-parser's block reader. Handles classic pcap in µs and ns resolution and either byte
//! order, and pcapng with several interfaces, each with its own link type and
//! `if_tsresol`/`if_tsoffset`. A truncated or corrupt file yields every whole frame
//! first, then one error saying where the damage starts.

use std::fs::File;
use std::io::{Cursor, ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use pcap_parser::pcap::parse_pcap_header;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError, PcapHeader};

use super::{CaptureError, FrameRef, LinkType, RawFrame};

/// Initial read buffer; grown on demand for large records.
const INITIAL_BUFFER: usize = 1 << 20;
/// Read size for classic pcap: small enough that the buffer stays in the CPU's
/// cache between the kernel's copy and our parse, large enough that `read` calls
/// are rare (one per ~2000 snaplen-128 records).
const LEGACY_BUFFER: usize = 256 << 10;
/// No sane record is larger than this (libpcap's maximum snaplen is 256 KiB);
/// a length beyond it means the file is corrupt, not that we need more memory.
const MAX_RECORD: usize = 16 << 20;

/// Bytes read before the format is decided: every capture header is at least this
/// long (pcap's is 24, pcapng's smallest section header block 28), so fewer means
/// the file was cut inside its header, however the input hands out its bytes.
const MIN_HEADER_LEN: usize = 28;

/// Makes every `read` fill the buffer unless the input ends first, as a file does.
struct FullReads<R>(R);

impl<R: Read> Read for FullReads<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.0.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }
}

/// What a pcapng interface description tells us about its packets.
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: LinkType,
    /// Timestamp units per second (10^6 for µs, 10^9 for ns, 2^n when binary).
    units_per_second: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_seconds: i64,
}

/// Where records come from.
enum Records {
    /// Classic pcap, parsed record by record from our own buffer.
    Legacy(LegacyRecords),
    /// pcapng (and the rare "modified" pcap): pcap-parser's block reader.
    Blocks(Box<dyn PcapReaderIterator + Send>),
}

/// A classic pcap file after its header: a refillable window onto the records.
struct LegacyRecords {
    input: Box<dyn Read + Send>,
    /// `buf[start..end]` holds bytes read (or mapped) but not yet consumed.
    buf: Buffer,
    start: usize,
    end: usize,
    /// The input has returned 0 from `read`.
    eof: bool,
    /// The record headers are big-endian.
    big_endian: bool,
    /// Link type and timestamp resolution from the file header.
    iface: Interface,
    /// Bytes of the file consumed, header included.
    consumed: u64,
}

/// Where a classic pcap file's bytes are parsed from.
enum Buffer {
    /// Filled by `read` from the input.
    Read(Vec<u8>),
    /// A regular file, mapped window by window: no copy out of the page cache.
    Mapped(Window),
}

impl std::ops::Deref for Buffer {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Buffer::Read(v) => v,
            Buffer::Mapped(w) => &w.map,
        }
    }
}

/// One mapped stretch of a regular file.
struct Window {
    map: memmap2::Mmap,
    file: File,
    /// File offset of `map[0]`.
    offset: u64,
    /// The file's length when opened: windows end there.
    file_len: u64,
}

impl Window {
    /// Maps `len` bytes of `file` from `offset` (any offset: memmap2 aligns it).
    ///
    /// `read` into a buffer cost a quarter of `flows` on a large capture, most of
    /// it the kernel's copy out of the page cache; a mapping lends us those pages.
    /// MAP_POPULATE maps the whole window at once rather than page fault by page
    /// fault, and windows (not the whole file) keep the resident set small.
    #[allow(unsafe_code)]
    fn map(file: File, offset: u64, len: usize, file_len: u64) -> std::io::Result<Self> {
        // SAFETY: the mapping is read-only and private, and lives only as long as
        // this window. If another process truncated the file while it is mapped,
        // reading past the new end would raise SIGBUS (as in ripgrep, which maps
        // files the same way); captures are not rewritten in place while read, and a
        // file still being appended to is read past its opening length with `read`.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .populate()
                .map(&file)?
        };
        Ok(Window {
            map,
            file,
            offset,
            file_len,
        })
    }
}

/// Bytes mapped at a time from a regular file (in unit tests, a few pages and not
/// a multiple of one, so small files cross many unaligned windows).
const MAP_WINDOW: usize = if cfg!(test) { 3 * 4096 + 100 } else { 8 << 20 };

/// Windows start at file offsets that are multiples of this (2 MiB, a huge page).
/// The kernel then places them at addresses congruent to it, so a file cached in
/// 2 MiB folios (as Linux caches a file read from disk) is mapped a huge page at a
/// time: on the benchmark capture, mapping costs ~2 ms instead of ~17 ms.
const MAP_ALIGN: u64 = if cfg!(test) { 4096 } else { 2 << 20 };

/// Where to map from so that `offset` is inside the window: the aligned offset
/// at or below it, and how far into the window `offset` lies.
fn window_start(offset: u64) -> (u64, usize) {
    let aligned = offset & !(MAP_ALIGN - 1);
    (aligned, (offset - aligned) as usize)
}

/// A classic pcap record located in `LegacyRecords::buf`.
struct LegacyFrame {
    ts_ns: u64,
    /// As the record says (not yet raised to the captured length).
    orig_len: u32,
    data: std::ops::Range<usize>,
}

/// A streaming reader over one capture file.
pub struct FileReader {
    path: PathBuf,
    records: Records,
    /// Legacy pcap: the file header's link type and resolution.
    legacy: Option<Interface>,
    /// pcapng: interfaces of the current section, by index.
    interfaces: Vec<Interface>,
    frames_read: u64,
    done: bool,
    bytes_total: u64,
    /// pcapng: where `read_next_ref` parses a block's frame.
    scratch: RawFrame,
}

impl FileReader {
    /// Opens `path` and checks its header; fails early on non-capture files.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let path = path.as_ref().to_path_buf();
        // `-` is standard input, as for `tcpdump -r -`: `tcpdump -w - | protolab inspect -`.
        if path.as_os_str() == "-" {
            return Self::from_reader(PathBuf::from("<stdin>"), std::io::stdin(), 0);
        }
        let file = File::open(&path).map_err(|source| CaptureError::Open {
            path: path.clone(),
            source,
        })?;
        let metadata = file.metadata().ok();
        let bytes_total = metadata.as_ref().map_or(0, |m| m.len());
        // A regular file in classic pcap is mapped rather than read (pipes, devices
        // and pcapng are read); the clone shares the open file and its offset.
        let to_map = metadata
            .filter(|m| m.is_file())
            .and_then(|_| file.try_clone().ok());
        let mut reader = Self::from_reader(path, file, bytes_total)?;
        if let (Records::Legacy(records), Some(file)) = (&mut reader.records, to_map) {
            records.map_rest(file, bytes_total);
        }
        Ok(reader)
    }

    /// Reads a capture from any byte stream; `path` is used only in messages.
    pub fn from_reader(
        path: PathBuf,
        input: impl Read + Send + 'static,
        bytes_total: u64,
    ) -> Result<Self, CaptureError> {
        // Read the first bytes ourselves (however the input hands them out) so the
        // format can be told, and the error can show the magic.
        let mut input = input;
        let mut head = vec![0u8; LEGACY_BUFFER];
        let mut filled = 0;
        while filled < MIN_HEADER_LEN {
            match input.read(&mut head[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(source) => return Err(CaptureError::Read { path, source }),
            }
        }
        head.truncate(filled);
        if head.is_empty() {
            return Err(CaptureError::Empty { path });
        }
        let magic = head
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        // Classic pcap (not the "modified" variant): parse records ourselves.
        if let Ok((_, header)) = parse_pcap_header(&head) {
            if !header.is_modified_format() {
                return Ok(Self::legacy(
                    path,
                    head,
                    Box::new(input),
                    header,
                    bytes_total,
                ));
            }
        }
        // pcapng: pcap-parser's reader, fed whole reads, so that how the input
        // happens to split its data (a pipe) cannot change what is read.
        let input = FullReads(Cursor::new(head).chain(input));
        // A known magic in fewer bytes than the smallest header (pcapng's section
        // header block is 28) is a capture cut short, not something else.
        let capture_magic =
            ["a1b2c3d4", "d4c3b2a1", "a1b23c4d", "4d3cb2a1", "0a0d0d0a"].contains(&magic.as_str());
        let cut = capture_magic && filled < MIN_HEADER_LEN;
        let reader = pcap_parser::create_reader(INITIAL_BUFFER, input).map_err(|e| match e {
            PcapError::Eof => CaptureError::Empty { path: path.clone() },
            _ if cut => CaptureError::HeaderCut {
                path: path.clone(),
                have: filled,
            },
            PcapError::Incomplete(_) | PcapError::UnexpectedEof => CaptureError::HeaderCut {
                path: path.clone(),
                have: filled,
            },
            _ => CaptureError::NotACapture {
                path: path.clone(),
                magic: format!("0x{magic}"),
            },
        })?;
        Ok(FileReader {
            path,
            records: Records::Blocks(reader),
            legacy: None,
            interfaces: Vec::new(),
            frames_read: 0,
            done: false,
            bytes_total,
            scratch: RawFrame::empty(),
        })
    }

    /// A reader for classic pcap; `head` holds the first bytes of the file (the
    /// header at least), `input` the rest.
    fn legacy(
        path: PathBuf,
        mut buf: Vec<u8>,
        input: Box<dyn Read + Send>,
        header: PcapHeader,
        bytes_total: u64,
    ) -> Self {
        let end = buf.len();
        buf.resize(LEGACY_BUFFER.max(end), 0);
        let buf = Buffer::Read(buf);
        let header_len = header.size();
        let iface = Interface {
            linktype: LinkType(header.network.0 as u32),
            units_per_second: if header.is_nanosecond_precision() {
                1_000_000_000
            } else {
                1_000_000
            },
            offset_seconds: i64::from(header.thiszone),
        };
        let records = LegacyRecords {
            input,
            buf,
            start: header_len,
            end,
            eof: false,
            big_endian: header.is_bigendian(),
            iface,
            consumed: header_len as u64,
        };
        FileReader {
            path,
            records: Records::Legacy(records),
            legacy: Some(iface),
            interfaces: Vec::new(),
            frames_read: 0,
            done: false,
            bytes_total,
            scratch: RawFrame::empty(),
        }
    }

    /// Size of the file in bytes (0 when unknown), for progress bars.
    pub fn bytes_total(&self) -> u64 {
        self.bytes_total
    }

    /// Bytes consumed so far, for progress bars.
    pub fn bytes_read(&self) -> u64 {
        match &self.records {
            Records::Legacy(r) => r.consumed,
            Records::Blocks(r) => r.consumed() as u64,
        }
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
        let result = match self.records {
            Records::Legacy(_) => self.read_next_legacy().map(|found| {
                let Some(record) = found else { return false };
                self.lend(record).copy_into(frame);
                true
            }),
            Records::Blocks(_) => self.read_next_block(frame),
        };
        if !matches!(result, Ok(true)) {
            self.done = true;
        }
        result
    }

    /// Like [`FileReader::read_next`], but the frame is lent out of the reader's own
    /// buffer, valid until the next read: classic pcap records are not copied at all.
    /// `Ok(None)` at the end of the file and after an error.
    #[inline(always)]
    pub fn read_next_ref(&mut self) -> Result<Option<FrameRef<'_>>, CaptureError> {
        // The common case, small enough to inline into the caller's loop: a classic
        // pcap record wholly in the buffer. Everything else (refills, the end, damage,
        // pcapng) takes the general path, whose large error type and calls cost more
        // per frame than the parsing itself.
        let whole = match &mut self.records {
            Records::Legacy(records) if !self.done => records.next_whole_frame().ok(),
            _ => None,
        };
        match whole {
            Some(record) => {
                self.frames_read += 1;
                Ok(Some(self.lend(record)))
            }
            None => self.read_next_ref_general(),
        }
    }

    #[inline(never)]
    fn read_next_ref_general(&mut self) -> Result<Option<FrameRef<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        if let Records::Blocks(_) = self.records {
            // pcapng: blocks are parsed into a frame of the reader's own.
            let mut scratch = std::mem::replace(&mut self.scratch, RawFrame::empty());
            let result = self.read_next_block(&mut scratch);
            self.scratch = scratch;
            return match result {
                Ok(true) => Ok(Some(FrameRef::of(&self.scratch))),
                other => {
                    self.done = true;
                    other.map(|_| None)
                }
            };
        }
        match self.read_next_legacy() {
            Ok(Some(record)) => Ok(Some(self.lend(record))),
            other => {
                self.done = true;
                other.map(|_| None)
            }
        }
    }

    /// A classic pcap record just located in the buffer, lent out as a frame.
    #[inline(always)]
    fn lend(&self, record: LegacyFrame) -> FrameRef<'_> {
        let Records::Legacy(records) = &self.records else {
            unreachable!("legacy records only");
        };
        let bytes = &records.buf[record.data];
        FrameRef {
            number: self.frames_read,
            ts_ns: record.ts_ns,
            linktype: records.iface.linktype,
            // As `fill` does for an owned frame.
            orig_len: record.orig_len.max(bytes.len() as u32),
            bytes,
        }
    }

    /// Classic pcap: the next record, located in the buffer (counted in `frames_read`).
    #[inline]
    fn read_next_legacy(&mut self) -> Result<Option<LegacyFrame>, CaptureError> {
        let Records::Legacy(records) = &mut self.records else {
            unreachable!("called for legacy pcap only");
        };
        match records.next_frame() {
            Ok(found) => {
                self.frames_read += u64::from(found.is_some());
                Ok(found)
            }
            Err(RecordError::Truncated) => Err(CaptureError::Truncated {
                path: self.path.clone(),
                after_frame: self.frames_read,
            }),
            Err(RecordError::TooLarge(claimed)) => Err(self.corrupt(format!(
                "a record claims {claimed} bytes, more than {} MiB",
                MAX_RECORD >> 20
            ))),
            Err(RecordError::Read(source)) => Err(CaptureError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// pcapng (or modified pcap): the next packet block, skipping the others.
    fn read_next_block(&mut self, frame: &mut RawFrame) -> Result<bool, CaptureError> {
        let Records::Blocks(reader) = &mut self.records else {
            unreachable!("called for block readers only");
        };
        loop {
            match reader.next() {
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
                                units_per_second: units_per_second(idb.if_tsresol),
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
                    reader.consume(offset);
                    if got {
                        self.frames_read += 1;
                        return Ok(true);
                    }
                }
                Err(PcapError::Eof) => return Ok(false),
                Err(PcapError::Incomplete(_)) => refill(reader, &self.path)?,
                Err(PcapError::BufferTooSmall) => {
                    let wanted = reader.data().len().max(INITIAL_BUFFER) * 2;
                    if wanted > MAX_RECORD || !reader.grow(wanted) {
                        return Err(self.corrupt(format!(
                            "a record claims more than {} MiB",
                            MAX_RECORD >> 20
                        )));
                    }
                    refill(reader, &self.path)?;
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
        let mut frame = RawFrame::empty();
        match self.read_next(&mut frame) {
            Ok(true) => Some(Ok(frame)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

fn refill(
    reader: &mut Box<dyn PcapReaderIterator + Send>,
    path: &Path,
) -> Result<(), CaptureError> {
    reader.refill().map_err(|_| CaptureError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::other("read failed"),
    })
}

/// Why a classic pcap record could not be had.
enum RecordError {
    /// The file ends inside a record.
    Truncated,
    /// The record claims this many bytes, more than `MAX_RECORD`: no capture has
    /// records that large (libpcap's snaplen is at most 256 KiB), so the file is
    /// corrupt there, whether or not it ends first (as tcpdump and Wireshark say).
    TooLarge(usize),
    Read(std::io::Error),
}

impl LegacyRecords {
    /// The next record with its timestamp in nanoseconds, reading more of the file
    /// when the buffer ends inside it; `None` at the end.
    fn next_frame(&mut self) -> Result<Option<LegacyFrame>, RecordError> {
        loop {
            let needed = match self.next_whole_frame() {
                Ok(frame) => return Ok(Some(frame)),
                Err(needed) => needed,
            };
            if needed > RECORD_HEADER_LEN + MAX_RECORD {
                return Err(RecordError::TooLarge(needed - RECORD_HEADER_LEN));
            }
            if self.eof {
                return if self.start == self.end {
                    Ok(None)
                } else {
                    Err(RecordError::Truncated)
                };
            }
            self.read_at_least(needed)?;
        }
    }

    /// The next record when the buffer holds all of it; otherwise how many
    /// unconsumed bytes it needs (nothing is read here).
    #[inline(always)]
    fn next_whole_frame(&mut self) -> Result<LegacyFrame, usize> {
        let header = parse_record(&self.buf[self.start..self.end], self.big_endian)?;
        let data_start = self.start + RECORD_HEADER_LEN;
        let used = RECORD_HEADER_LEN + header.caplen;
        self.start += used;
        self.consumed += used as u64;
        let units =
            u64::from(header.ts_sec) * self.iface.units_per_second + u64::from(header.ts_frac);
        Ok(LegacyFrame {
            ts_ns: timestamp_ns(units, self.iface),
            orig_len: header.origlen,
            data: data_start..data_start + header.caplen,
        })
    }

    /// Switches to mapping `file` (of `file_len` bytes) from the first unconsumed
    /// byte; stays with `read` when the file cannot be mapped.
    fn map_rest(&mut self, file: File, file_len: u64) {
        let offset = self.consumed;
        let Some(len) = file_len.checked_sub(offset).filter(|&n| n > 0) else {
            return;
        };
        let (aligned, lead) = window_start(offset);
        let len = (len + lead as u64).min(MAP_WINDOW as u64) as usize;
        if let Ok(window) = Window::map(file, aligned, len, file_len) {
            self.buf = Buffer::Mapped(window);
            self.start = lead;
            self.end = len;
        }
    }

    /// Makes `needed` unconsumed bytes available, or finds that the input ends first.
    #[cold]
    fn read_at_least(&mut self, needed: usize) -> Result<(), RecordError> {
        if let Buffer::Mapped(window) = &self.buf {
            let offset = window.offset + self.start as u64;
            let window_end = window.offset + self.end as u64;
            let file_len = window.file_len;
            let file = window.file.try_clone().map_err(RecordError::Read)?;
            // Unmapped before the next window is mapped: one window is resident at a time.
            self.buf = Buffer::Read(Vec::new());
            self.start = 0;
            self.end = 0;
            // The next window starts at the first unconsumed byte and holds at least
            // the record wanted, up to the file's length when opened.
            if window_end < file_len && needed <= MAX_RECORD {
                let (aligned, lead) = window_start(offset);
                let len = (file_len - aligned).min(MAP_WINDOW.max(lead + needed) as u64) as usize;
                let next = file
                    .try_clone()
                    .and_then(|f| Window::map(f, aligned, len, file_len));
                if let Ok(next) = next {
                    self.buf = Buffer::Mapped(next);
                    self.start = lead;
                    self.end = len;
                    return Ok(());
                }
            }
            // At the opening length (or unmappable): read on from the first unconsumed
            // byte like any input, so a file still being written is read as far as it
            // goes and the end of the file is found exactly as without a mapping.
            let mut file = file;
            file.seek(SeekFrom::Start(offset))
                .map_err(RecordError::Read)?;
            self.input = Box::new(file);
            self.buf = Buffer::Read(vec![0; LEGACY_BUFFER]);
        }
        let Buffer::Read(buf) = &mut self.buf else {
            unreachable!("a mapped buffer was replaced just above");
        };
        buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        while self.end < needed {
            if self.end == buf.len() {
                if buf.len() >= MAX_RECORD {
                    return Err(RecordError::TooLarge(needed - RECORD_HEADER_LEN));
                }
                let grown = (buf.len() * 2).min(MAX_RECORD);
                buf.resize(grown, 0);
            }
            match self.input.read(&mut buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(RecordError::Read(e)),
            }
        }
        Ok(())
    }
}

/// Bytes in a classic pcap record header: seconds, fraction, caplen, orig_len.
const RECORD_HEADER_LEN: usize = 16;

/// The fields of one classic pcap record header.
struct RecordHeader {
    ts_sec: u32,
    ts_frac: u32,
    caplen: usize,
    origlen: u32,
}

/// Reads the record header at the start of `data`; when `data` does not hold the
/// whole record, how many bytes it needs. What pcap-parser's `parse_pcap_frame`
/// does, written out so the compiler can inline it into the per-frame loop (the
/// format has nothing to reject: any caplen is a length to read).
#[inline(always)]
fn parse_record(data: &[u8], big_endian: bool) -> Result<RecordHeader, usize> {
    // One test of the byte order per record rather than one per field.
    if big_endian {
        parse_record_in::<true>(data)
    } else {
        parse_record_in::<false>(data)
    }
}

#[inline(always)]
fn parse_record_in<const BIG_ENDIAN: bool>(data: &[u8]) -> Result<RecordHeader, usize> {
    let Some(header) = data.first_chunk::<RECORD_HEADER_LEN>() else {
        return Err(RECORD_HEADER_LEN);
    };
    let word = |i: usize| {
        let b = [header[i], header[i + 1], header[i + 2], header[i + 3]];
        if BIG_ENDIAN {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let caplen = word(8) as usize;
    let total = RECORD_HEADER_LEN.saturating_add(caplen);
    if data.len() < total {
        return Err(total);
    }
    Ok(RecordHeader {
        ts_sec: word(0),
        ts_frac: word(4),
        caplen,
        origlen: word(12),
    })
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

/// Timestamp units per second from pcapng's `if_tsresol`: a power of ten, or of two
/// when the high bit is set. (pcap-parser 0.17 rejects every binary resolution.)
fn units_per_second(tsresol: u8) -> u64 {
    let exp = u32::from(tsresol & 0x7f);
    let units = if tsresol & 0x80 != 0 {
        1u64.checked_shl(exp)
    } else {
        10u64.checked_pow(exp)
    };
    units.unwrap_or(1_000_000)
}

/// Converts a timestamp in the interface's units to nanoseconds since the epoch.
#[inline]
fn timestamp_ns(units: u64, iface: Interface) -> u64 {
    // µs and ns need no (128-bit, slow) division.
    let ns = match iface.units_per_second {
        1_000_000_000 => u128::from(units),
        1_000_000 => u128::from(units) * 1_000,
        per_sec => u128::from(units) * 1_000_000_000 / u128::from(per_sec.max(1)),
    };
    if iface.offset_seconds == 0 {
        return ns.min(u128::from(u64::MAX)) as u64;
    }
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

    /// Hands out at most `chunk` bytes per `read`, like a pipe.
    struct Trickle(std::io::Cursor<Vec<u8>>, usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.1);
            self.0.read(&mut buf[..n])
        }
    }

    fn read_trickled(bytes: Vec<u8>, chunk: usize) -> (Vec<RawFrame>, Option<CaptureError>) {
        let mut reader = FileReader::from_reader(
            "pipe".into(),
            Trickle(std::io::Cursor::new(bytes), chunk),
            0,
        )
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
    fn records_larger_than_the_buffer_and_pipes_read_the_same() {
        let mut v = pcap_header(0xa1b2_c3d4, 1, false);
        let sizes = [60usize, LEGACY_BUFFER + 1000, 0, 128, 3 * LEGACY_BUFFER, 1];
        for (i, &n) in sizes.iter().enumerate() {
            let data: Vec<u8> = (0..n).map(|b| (b + i) as u8).collect();
            record(&mut v, i as u32, 7, &data, false);
        }
        let total = v.len() as u64;
        let mut reader =
            FileReader::from_reader("mem.pcap".into(), std::io::Cursor::new(v.clone()), total)
                .unwrap();
        assert_eq!(reader.linktype(), Some(LinkType::ETHERNET));
        let mut frames = Vec::new();
        for f in &mut reader {
            frames.push(f.unwrap());
        }
        assert_eq!(reader.bytes_read(), total, "every byte consumed");
        let lens: Vec<usize> = frames.iter().map(|f| f.bytes.len()).collect();
        assert_eq!(lens, sizes);
        assert_eq!(frames[3].bytes[5], 8);
        assert_eq!(frames[4].ts_ns, 4_000_007_000);
        assert_eq!(frames[5].number, 6);
        for chunk in [1, 7, 24, 4096] {
            let (piped, err) = read_trickled(v.clone(), chunk);
            assert!(err.is_none());
            assert_eq!(piped, frames, "{chunk}-byte reads");
        }
    }

    #[test]
    fn a_record_claiming_too_much_is_corrupt_even_where_the_file_ends() {
        let mut v = pcap_header(0xa1b2_c3d4, 1, false);
        record(&mut v, 1, 0, &[0u8; 60], false);
        // A record header claiming 1 GiB.
        for x in [2u32, 0, 1 << 30, 1 << 30] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        let short = v.clone();
        v.resize(v.len() + MAX_RECORD + 100, 0);
        let (frames, err) = read_all(v.clone());
        assert_eq!(frames.len(), 1);
        let err = err.expect("corrupt");
        assert!(
            matches!(err, CaptureError::Corrupt { after_frame: 1, .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("a record claims 1073741824 bytes, more than 16 MiB"),
            "{err}"
        );
        let (piped_frames, piped_err) = read_trickled(v, 4093);
        assert_eq!(piped_frames.len(), 1);
        assert!(matches!(piped_err, Some(CaptureError::Corrupt { .. })));
        // The same header at the end of a short file: no writer cut short makes a
        // 1 GiB record, so this is corrupt too (tcpdump: "invalid packet capture length").
        let (frames, err) = read_all(short);
        assert_eq!(frames.len(), 1);
        assert!(matches!(
            err,
            Some(CaptureError::Corrupt { after_frame: 1, .. })
        ));
    }

    #[test]
    fn a_file_cut_inside_its_header_says_so() {
        let pcap = pcap_header(0xa1b2_c3d4, 1, false);
        let pcapng = [0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c];
        for cut in [&pcap[..4], &pcap[..12], &pcap[..23], &pcapng[..]] {
            let err = FileReader::from_reader("cut".into(), std::io::Cursor::new(cut.to_vec()), 0)
                .err()
                .expect("rejected");
            assert!(
                matches!(err, CaptureError::HeaderCut { have, .. } if have == cut.len()),
                "{err}"
            );
        }
    }

    /// Reads `bytes` from a file on disk (mapped) and from memory (read), both ways.
    fn mapped_and_read(bytes: &[u8]) -> [(Vec<RawFrame>, Option<String>); 3] {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        let collect = |mut reader: FileReader, borrowed: bool| {
            let mut frames = Vec::new();
            loop {
                let mut frame = RawFrame::empty();
                let got = if borrowed {
                    reader
                        .read_next_ref()
                        .map(|f| f.map(|f| f.copy_into(&mut frame)).is_some())
                } else {
                    reader.read_next(&mut frame)
                };
                match got {
                    Ok(true) => frames.push(frame),
                    Ok(false) => return (frames, None),
                    Err(e) => return (frames, Some(e.to_string())),
                }
            }
        };
        let mapped = FileReader::open(file.path()).unwrap();
        assert!(matches!(
            &mapped.records,
            Records::Legacy(LegacyRecords {
                buf: Buffer::Mapped(_),
                ..
            })
        ));
        let path = file.path().to_path_buf();
        let in_memory = || {
            FileReader::from_reader(path.clone(), std::io::Cursor::new(bytes.to_vec()), 0).unwrap()
        };
        [
            collect(mapped, true),
            collect(FileReader::open(file.path()).unwrap(), false),
            collect(in_memory(), false),
        ]
    }

    #[test]
    fn mapped_files_read_like_streams_across_windows_to_a_cut_end() {
        let mut v = pcap_header(0xa1b2_c3d4, 1, false);
        // Records of many sizes, one larger than a window, so windows start mid-record.
        for i in 0..400u32 {
            let n = [0, 1, 60, 128, 1514, 2 * MAP_WINDOW][i as usize % 6];
            let data: Vec<u8> = (0..n).map(|b| (b as u32 + i) as u8).collect();
            record(&mut v, i, 7, &data, false);
        }
        let [mapped, mapped_owned, read] = mapped_and_read(&v);
        assert_eq!(read.0.len(), 400);
        assert_eq!(read.1, None);
        assert_eq!(mapped, read);
        assert_eq!(mapped_owned, read);
        // Cut inside the last record: every whole frame, then the same error.
        v.truncate(v.len() - 5);
        let [mapped, mapped_owned, read] = mapped_and_read(&v);
        assert_eq!(read.0.len(), 399);
        assert!(
            read.1.as_deref().is_some_and(|e| e.contains("truncated")),
            "{read:?}"
        );
        assert_eq!(mapped, read);
        assert_eq!(mapped_owned, read);
    }

    #[test]
    fn header_split_across_reads_is_still_classic_pcap() {
        let mut v = pcap_header(0xa1b2_3c4d, 101, true);
        record(&mut v, 1_700_000_000, 123_456_789, &[0x45; 20], true);
        for chunk in [1, 5, 23] {
            let (frames, err) = read_trickled(v.clone(), chunk);
            assert!(err.is_none());
            assert_eq!(frames[0].ts_ns, 1_700_000_000_123_456_789);
            assert_eq!(frames[0].linktype, LinkType::RAW);
        }
    }

    #[test]
    fn timestamps_in_any_resolution_and_offset() {
        let iface = |units_per_second, offset_seconds| Interface {
            linktype: LinkType::ETHERNET,
            units_per_second,
            offset_seconds,
        };
        assert_eq!(timestamp_ns(1_500_000, iface(1_000_000, 0)), 1_500_000_000);
        assert_eq!(timestamp_ns(7, iface(1_000_000_000, 0)), 7);
        assert_eq!(timestamp_ns(3, iface(2, 0)), 1_500_000_000);
        assert_eq!(timestamp_ns(1_000_000, iface(1_000_000, -2)), 0);
        assert_eq!(timestamp_ns(1_000_000, iface(1_000_000, 1)), 2_000_000_000);
        assert_eq!(timestamp_ns(u64::MAX, iface(1_000_000, 0)), u64::MAX);
    }

    #[test]
    fn empty_file_is_reported() {
        let err = FileReader::from_reader("e".into(), std::io::Cursor::new(Vec::new()), 0)
            .err()
            .expect("rejected");
        assert!(matches!(err, CaptureError::Empty { .. }));
    }

    #[test]
    fn pcapng_time_resolutions_decimal_and_binary() {
        assert_eq!(units_per_second(6), 1_000_000);
        assert_eq!(units_per_second(9), 1_000_000_000);
        assert_eq!(units_per_second(0x80 | 10), 1024);
        assert_eq!(
            units_per_second(0x80 | 70),
            1_000_000,
            "absurd values fall back to µs"
        );
    }
}
