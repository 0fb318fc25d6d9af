//! Zeek's `conn.log`, in its TSV form (`--format zeek`) and its JSON form
//! (`--format zeek-json`): the standard fields in Zeek's order and types, then
//! protolab's `community_id`, `orig_states` and `resp_states`.
//!
//! The originator is our client, the responder our server. `history` and
//! `conn_state` are the analysis's own Zeek codes. As Zeek does, `duration`,
//! `orig_bytes` and `resp_bytes` are set only when the connection lasted longer
//! than zero; `service`, `local_orig`, `local_resp` and `tunnel_parents` are
//! unset (no protocol detection, no local networks, no tunnels); `missed_bytes`
//! is 0 (gaps are counted as `lost_segments` in `flows --json`, not in bytes).

use std::io::Write;
use std::net::IpAddr;

use serde::Serialize;

use crate::timestamp::utc_stamp;

use super::record::FlowRecord;
use super::sink::FlowSink;
use super::zeek_uid::conn_uid;

/// The fields and their Zeek types, in order.
pub const FIELDS: [(&str, &str); 24] = [
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("service", "string"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
    ("community_id", "string"),
    ("orig_states", "vector[string]"),
    ("resp_states", "vector[string]"),
];

/// One `conn.log` line's values; `None` is Zeek's unset field. The JSON form is
/// Zeek's JSON log: the same names, unset fields left out, `ts` as epoch seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conn {
    #[serde(serialize_with = "epoch")]
    pub ts: u64,
    pub uid: String,
    #[serde(rename = "id.orig_h")]
    pub orig_h: IpAddr,
    #[serde(rename = "id.orig_p")]
    pub orig_p: u16,
    #[serde(rename = "id.resp_h")]
    pub resp_h: IpAddr,
    #[serde(rename = "id.resp_p")]
    pub resp_p: u16,
    pub proto: &'static str,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "epoch_opt")]
    pub duration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orig_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resp_bytes: Option<u64>,
    pub conn_state: &'static str,
    pub missed_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<String>,
    pub orig_pkts: u64,
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
    pub community_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orig_states: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resp_states: Option<Vec<&'static str>>,
}

/// Nanoseconds as seconds to Zeek's microsecond resolution.
fn seconds(ns: u64) -> f64 {
    (ns as f64 / 1_000.0).round() / 1_000_000.0
}

fn epoch<S: serde::Serializer>(ns: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(seconds(*ns))
}

fn epoch_opt<S: serde::Serializer>(ns: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(seconds(ns.unwrap_or(0)))
}

impl From<&FlowRecord> for Conn {
    fn from(r: &FlowRecord) -> Self {
        let f = &r.summary;
        let lasted = f.duration.0 > 0;
        let names = |states: &[crate::analyze::TcpState]| states.iter().map(|s| s.name()).collect();
        Conn {
            ts: f.first_ts.0,
            uid: conn_uid(&r.capture, f.flow),
            orig_h: f.client.ip(),
            orig_p: f.client.port(),
            resp_h: f.server.ip(),
            resp_p: f.server.port(),
            proto: f.proto,
            duration: lasted.then_some(f.duration.0),
            orig_bytes: lasted.then_some(f.bytes.client),
            resp_bytes: lasted.then_some(f.bytes.server),
            conn_state: f.conn_state,
            missed_bytes: 0,
            history: (!f.history.is_empty()).then(|| f.history.clone()),
            orig_pkts: f.packets.client,
            orig_ip_bytes: f.ip_bytes.client,
            resp_pkts: f.packets.server,
            resp_ip_bytes: f.ip_bytes.server,
            community_id: r.community_id.clone(),
            orig_states: f.tcp.as_ref().map(|t| names(&t.client_states)),
            resp_states: f.tcp.as_ref().map(|t| names(&t.server_states)),
        }
    }
}

const UNSET: &str = "-";
const EMPTY: &str = "(empty)";

/// A string as Zeek's ASCII writer escapes it: the separators and anything not
/// printable as `\xHH`, and a value that reads as unset or empty escaped likewise.
fn escape(s: &str, in_set: bool) -> String {
    if s == UNSET || s == EMPTY {
        return s.bytes().map(|b| format!("\\x{b:02x}")).collect();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\t' || c == '\\' || (in_set && c == ',') || c.is_control() {
            for b in c.to_string().bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn list(items: &Option<Vec<&'static str>>) -> String {
    match items {
        None => UNSET.to_string(),
        Some(v) if v.is_empty() => EMPTY.to_string(),
        Some(v) => v
            .iter()
            .map(|s| escape(s, true))
            .collect::<Vec<_>>()
            .join(","),
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| UNSET.to_string(), |v| v.to_string())
}

/// Zeek's `time`/`interval` text: seconds with six decimals.
fn time(ns: u64) -> String {
    format!("{}.{:06}", ns / 1_000_000_000, (ns % 1_000_000_000) / 1_000)
}

impl Conn {
    /// The TSV line, fields in [`FIELDS`] order, without the newline.
    pub fn tsv(&self) -> String {
        let history = self.history.as_deref().map(|h| escape(h, false));
        let values = [
            time(self.ts),
            escape(&self.uid, false),
            self.orig_h.to_string(),
            self.orig_p.to_string(),
            self.resp_h.to_string(),
            self.resp_p.to_string(),
            self.proto.to_string(),
            UNSET.to_string(),
            opt(self.duration.map(time)),
            opt(self.orig_bytes),
            opt(self.resp_bytes),
            escape(self.conn_state, false),
            UNSET.to_string(),
            UNSET.to_string(),
            self.missed_bytes.to_string(),
            opt(history),
            self.orig_pkts.to_string(),
            self.orig_ip_bytes.to_string(),
            self.resp_pkts.to_string(),
            self.resp_ip_bytes.to_string(),
            UNSET.to_string(),
            escape(&self.community_id, false),
            list(&self.orig_states),
            list(&self.resp_states),
        ];
        values.join("\t")
    }
}

/// Zeek's `#open`/`#close` stamp, `2026-12-07-01-35-18`, of the wall clock as Zeek's.
fn stamp_now() -> String {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let s = utc_stamp(ns); // 20261207T013518Z
    format!(
        "{}-{}-{}-{}-{}-{}",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    )
}

/// The header lines of a `conn.log`, each ending in a newline.
pub fn tsv_header(open: &str) -> String {
    let names: Vec<&str> = FIELDS.iter().map(|f| f.0).collect();
    let types: Vec<&str> = FIELDS.iter().map(|f| f.1).collect();
    format!(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t{EMPTY}\n#unset_field\t{UNSET}\n\
         #path\tconn\n#open\t{open}\n#fields\t{}\n#types\t{}\n",
        names.join("\t"),
        types.join("\t")
    )
}

/// `--format zeek`: the TSV `conn.log`.
pub struct ZeekTsvSink<W: Write> {
    out: W,
}

impl<W: Write> ZeekTsvSink<W> {
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(tsv_header(&stamp_now()).as_bytes())?;
        Ok(ZeekTsvSink { out })
    }
}

impl<W: Write> FlowSink for ZeekTsvSink<W> {
    fn record(&mut self, r: &FlowRecord) -> anyhow::Result<()> {
        writeln!(self.out, "{}", Conn::from(r).tsv())?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<()> {
        writeln!(self.out, "#close\t{}", stamp_now())?;
        self.out.flush()?;
        Ok(())
    }
}

/// `--format zeek-json`: one Zeek JSON log object per line.
pub struct ZeekJsonSink<W: Write> {
    pub out: W,
}

impl<W: Write> FlowSink for ZeekJsonSink<W> {
    fn record(&mut self, r: &FlowRecord) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.out, &Conn::from(r)).map_err(std::io::Error::from)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_zeeks_ascii_writer() {
        assert_eq!(escape("a\tb", false), "a\\x09b");
        assert_eq!(escape("a,b", true), "a\\x2cb");
        assert_eq!(escape("a,b", false), "a,b");
        assert_eq!(escape("-", false), "\\x2d");
        assert_eq!(list(&None), "-");
        assert_eq!(list(&Some(vec![])), "(empty)");
        assert_eq!(list(&Some(vec!["CLOSED", "SYN_SENT"])), "CLOSED,SYN_SENT");
        assert_eq!(time(1_700_000_000_000_123_456), "1700000000.000123");
    }

    #[test]
    fn the_header_names_every_field_once_with_its_type() {
        let h = tsv_header("2026-12-07-01-35-18");
        let fields = h.lines().find(|l| l.starts_with("#fields")).unwrap();
        assert_eq!(fields.split('\t').count(), 1 + FIELDS.len());
        assert!(h.starts_with("#separator \\x09\n#set_separator\t,\n"));
    }
}
