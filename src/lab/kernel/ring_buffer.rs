//! Decoding of the ftrace ring buffer as `per_cpu/cpuN/trace_pipe_raw` hands it out.
//!
//! Why binary and not the text of `trace_pipe`: the text form of
//! `sock:inet_sock_set_state` does not print `skaddr` (the socket's address, the only
//! stable identity: the client's first transition, CLOSE → SYN_SENT, still has local
//! port 0), and its timestamps are cut to microseconds. The binary records carry every
//! field of the event (layout read from the event's `format` file, so a kernel that
//! moves fields still decodes) and a nanosecond clock.
//!
//! The layout, as `events/header_page` and `events/header_event` describe it (and as
//! libtraceevent's kbuffer reads it):
//!
//! - a sub-buffer ("page") starts with `u64 timestamp` and `local_t commit` (bytes of
//!   data in the page; bit 31 = events were lost before this page, bit 30 = their count
//!   is stored right after the data), then the data;
//! - each entry starts with a `u32`: `type_len` (low 5 bits) and `time_delta` (27 bits,
//!   added to the running timestamp). `type_len` 1..=28: the record is `type_len * 4`
//!   bytes; 0: the next `u32` is the record length + 4; 29: padding (`time_delta` 0
//!   means the rest of the page is empty); 30: time extend (the next `u32` holds the
//!   delta's upper bits); 31: absolute time stamp.
//!
//! Everything here is pure: bytes in, records out.

use std::collections::HashMap;

/// `type_len` values with a special meaning.
const TYPE_PADDING: u32 = 29;
const TYPE_TIME_EXTEND: u32 = 30;
const TYPE_TIME_STAMP: u32 = 31;
/// `commit` flag bits (kernel `RB_MISSED_EVENTS`, `RB_MISSED_STORED`).
const MISSED_EVENTS: u64 = 1 << 31;
const MISSED_STORED: u64 = 1 << 30;
/// Upper bits of an absolute timestamp that the record leaves to the page (`TS_MSB`).
const TS_MSB: u64 = 0xf8 << 56;

/// One field of an event or page header as a tracefs `format` file describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    pub offset: usize,
    pub size: usize,
}

/// The fields of a tracefs `format` file (`events/*/*/format`, `events/header_page`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Format {
    /// The event id (`ID:` line); 0 for `header_page`, which has none.
    pub id: u16,
    pub fields: HashMap<String, Field>,
}

impl Format {
    /// Parses lines like `\tfield:__u8 saddr[4];\toffset:32;\tsize:4;\tsigned:0;`.
    pub fn parse(text: &str) -> Result<Format, String> {
        let mut id = 0u16;
        let mut fields = HashMap::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("ID:") {
                id = rest
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad ID line {line:?}"))?;
                continue;
            }
            let Some(rest) = line.strip_prefix("field:") else {
                continue;
            };
            let mut parts = rest.split(';').map(str::trim);
            let decl = parts.next().unwrap_or_default();
            // The name is the declaration's last word, without an array suffix.
            let name = decl
                .rsplit(|c: char| c.is_whitespace() || c == '*')
                .next()
                .unwrap_or_default();
            let name = name.split('[').next().unwrap_or_default().to_string();
            let mut offset = None;
            let mut size = None;
            for part in parts {
                if let Some(v) = part.strip_prefix("offset:") {
                    offset = v.trim().parse().ok();
                } else if let Some(v) = part.strip_prefix("size:") {
                    size = v.trim().parse().ok();
                }
            }
            match (offset, size) {
                (Some(offset), Some(size)) if !name.is_empty() => {
                    fields.insert(name, Field { offset, size });
                }
                _ => return Err(format!("bad field line {line:?}")),
            }
        }
        if fields.is_empty() {
            return Err("no field lines".to_string());
        }
        Ok(Format { id, fields })
    }

    pub fn field(&self, name: &str) -> Result<Field, String> {
        self.fields
            .get(name)
            .copied()
            .ok_or_else(|| format!("no field {name:?}"))
    }
}

/// Where a sub-buffer keeps its timestamp, commit word and data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageLayout {
    pub timestamp: Field,
    pub commit: Field,
    pub data_offset: usize,
}

impl PageLayout {
    /// The layout of every 64-bit kernel to date.
    pub const DEFAULT: PageLayout = PageLayout {
        timestamp: Field { offset: 0, size: 8 },
        commit: Field { offset: 8, size: 8 },
        data_offset: 16,
    };

    /// From `events/header_page`.
    pub fn from_header_page(text: &str) -> Result<PageLayout, String> {
        let format = Format::parse(text)?;
        let layout = PageLayout {
            timestamp: format.field("timestamp")?,
            commit: format.field("commit")?,
            data_offset: format.field("data")?.offset,
        };
        if layout.timestamp.size != 8 || !matches!(layout.commit.size, 4 | 8) {
            return Err(format!("unsupported page header {layout:?}"));
        }
        Ok(layout)
    }
}

/// One record of a page: its absolute trace-clock time and its bytes (starting with
/// the common fields `common_type`, `common_flags`, `common_preempt_count`, `common_pid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawRecord<'a> {
    pub ts: u64,
    pub data: &'a [u8],
}

impl RawRecord<'_> {
    /// The event id (`common_type`).
    pub fn event_id(&self) -> Option<u16> {
        self.data.get(..2).map(|b| u16::from_ne_bytes([b[0], b[1]]))
    }

    /// An unsigned field of 1, 2, 4 or 8 bytes, in the machine's byte order (the ring
    /// buffer is written natively).
    pub fn uint(&self, field: Field) -> Option<u64> {
        let b = self.data.get(field.offset..field.offset + field.size)?;
        Some(match field.size {
            1 => b[0] as u64,
            2 => u16::from_ne_bytes(b.try_into().ok()?) as u64,
            4 => u32::from_ne_bytes(b.try_into().ok()?) as u64,
            8 => u64::from_ne_bytes(b.try_into().ok()?),
            _ => return None,
        })
    }

    pub fn bytes(&self, field: Field) -> Option<&[u8]> {
        self.data.get(field.offset..field.offset + field.size)
    }

    /// A `char buf[]` field that runs to the end of the record, up to its NUL.
    pub fn c_string_from(&self, offset: usize) -> Option<String> {
        let b = self.data.get(offset..)?;
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        Some(String::from_utf8_lossy(&b[..end]).into_owned())
    }
}

/// A decoded page.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Page<'a> {
    pub records: Vec<RawRecord<'a>>,
    /// Events the kernel dropped before this page (buffer overrun): `Some(n)` when the
    /// kernel stored the count.
    pub missed: Option<u64>,
    /// The kernel flagged lost events without storing how many.
    pub missed_unknown: bool,
}

fn read_u32(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| format!("entry at byte {at} runs past the page"))
}

fn read_uint(b: &[u8], field: Field) -> Result<u64, String> {
    RawRecord { ts: 0, data: b }
        .uint(field)
        .ok_or_else(|| format!("page too short for {field:?}"))
}

/// Decodes one sub-buffer as returned by a `read()` of `trace_pipe_raw` (the bytes
/// after the commit length are ignored: a partial page is zero-filled).
pub(crate) fn decode_page<'a>(layout: &PageLayout, page: &'a [u8]) -> Result<Page<'a>, String> {
    let mut out = Page::default();
    if page.is_empty() {
        return Ok(out);
    }
    let page_ts = read_uint(page, layout.timestamp)?;
    let commit = read_uint(page, layout.commit)?;
    let flags_mask = MISSED_EVENTS | MISSED_STORED;
    let len = (commit & !flags_mask & 0xffff_ffff) as usize;
    let data = page
        .get(layout.data_offset..layout.data_offset + len)
        .ok_or_else(|| format!("commit length {len} exceeds the {}-byte page", page.len()))?;
    if commit & MISSED_EVENTS != 0 {
        if commit & MISSED_STORED != 0 {
            let at = layout.data_offset + len;
            let count = page.get(at..at + 8).map(|b| {
                if layout.commit.size == 8 {
                    u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]))
                } else {
                    u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as u64
                }
            });
            match count {
                Some(n) => out.missed = Some(n),
                None => out.missed_unknown = true,
            }
        } else {
            out.missed_unknown = true;
        }
    }

    let mut ts = page_ts;
    let mut at = 0usize;
    while at + 4 <= data.len() {
        let header = read_u32(data, at)?;
        let type_len = header & 0x1f;
        let delta = (header >> 5) as u64;
        match type_len {
            TYPE_PADDING => {
                if delta == 0 {
                    break; // the rest of the page is unused
                }
                let skip = read_u32(data, at + 4)? as usize;
                at += 4 + skip.max(4);
            }
            TYPE_TIME_EXTEND => {
                let high = read_u32(data, at + 4)? as u64;
                ts = ts.wrapping_add((high << 27) | delta);
                at += 8;
            }
            TYPE_TIME_STAMP => {
                let high = read_u32(data, at + 4)? as u64;
                let abs = (high << 27) | delta;
                ts = (abs & !TS_MSB) | (page_ts & TS_MSB);
                at += 8;
            }
            0 => {
                let stored = read_u32(data, at + 4)? as usize;
                let body_len = stored
                    .checked_sub(4)
                    .ok_or_else(|| format!("entry at byte {at} has length {stored}"))?;
                let body_len = (body_len + 3) & !3;
                ts = ts.wrapping_add(delta);
                let body = data
                    .get(at + 8..at + 8 + body_len)
                    .ok_or_else(|| format!("entry at byte {at} runs past the page"))?;
                out.records.push(RawRecord { ts, data: body });
                at += 8 + body_len;
            }
            n => {
                let body_len = n as usize * 4;
                ts = ts.wrapping_add(delta);
                let body = data
                    .get(at + 4..at + 4 + body_len)
                    .ok_or_else(|| format!("entry at byte {at} runs past the page"))?;
                out.records.push(RawRecord { ts, data: body });
                at += 4 + body_len;
            }
        }
    }
    Ok(out)
}
