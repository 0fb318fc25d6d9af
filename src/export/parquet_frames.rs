//! `inspect --format parquet`: one row per frame with the flat fields of
//! `inspect --json` (docs/exports.md), for packet-level questions over many rows.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, ListBuilder, StringBuilder, TimestampNanosecondBuilder, UInt16Builder,
    UInt32Builder, UInt64Builder, UInt8Builder,
};
use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Schema};

use crate::analyze::FrameAnalysis;
use crate::decode::{Packet, Transport};
use crate::timestamp::millis;

use super::parquet_file::{string_list_type, timestamp_type, ParquetFile, BATCH_ROWS};

/// The frames table's schema, in column order.
pub fn schema() -> Schema {
    use DataType::{Float64, UInt16, UInt32, UInt64, UInt8, Utf8};
    Schema::new(vec![
        Field::new("frame", UInt64, false),
        Field::new("ts", timestamp_type(), false),
        Field::new("caplen", UInt32, false),
        Field::new("len", UInt32, false),
        Field::new("src_addr", Utf8, true),
        Field::new("dst_addr", Utf8, true),
        Field::new("ip_proto", UInt8, true),
        Field::new("ttl", UInt8, true),
        Field::new("sport", UInt16, true),
        Field::new("dport", UInt16, true),
        Field::new("tcp_flags", string_list_type(), true),
        Field::new("seq", UInt32, true),
        Field::new("ack", UInt32, true),
        Field::new("rel_seq", UInt32, true),
        Field::new("rel_ack", UInt32, true),
        Field::new("window", UInt16, true),
        Field::new("tcp_len", UInt32, true),
        Field::new("udp_len", UInt16, true),
        Field::new("icmp_type", UInt8, true),
        Field::new("icmp_code", UInt8, true),
        Field::new("flow", UInt64, true),
        Field::new("sender", Utf8, true),
        Field::new("analysis", string_list_type(), false),
        Field::new("dup_ack", UInt32, true),
        Field::new("ack_rtt_ms", Float64, true),
        Field::new("bytes_in_flight", UInt32, true),
        Field::new("transitions", UInt32, false),
        Field::new("error", Utf8, true),
    ])
}

#[derive(Default)]
struct Columns {
    rows: usize,
    frame: UInt64Builder,
    ts: TimestampNanosecondBuilder,
    caplen: UInt32Builder,
    len: UInt32Builder,
    src_addr: StringBuilder,
    dst_addr: StringBuilder,
    ip_proto: UInt8Builder,
    ttl: UInt8Builder,
    sport: UInt16Builder,
    dport: UInt16Builder,
    tcp_flags: ListBuilder<StringBuilder>,
    seq: UInt32Builder,
    ack: UInt32Builder,
    rel_seq: UInt32Builder,
    rel_ack: UInt32Builder,
    window: UInt16Builder,
    tcp_len: UInt32Builder,
    udp_len: UInt16Builder,
    icmp_type: UInt8Builder,
    icmp_code: UInt8Builder,
    flow: UInt64Builder,
    sender: StringBuilder,
    analysis: ListBuilder<StringBuilder>,
    dup_ack: UInt32Builder,
    ack_rtt_ms: Float64Builder,
    bytes_in_flight: UInt32Builder,
    transitions: UInt32Builder,
    error: StringBuilder,
}

impl Columns {
    fn push(&mut self, p: &Packet, a: &FrameAnalysis) {
        self.rows += 1;
        self.frame.append_value(p.frame);
        self.ts
            .append_value(i64::try_from(p.ts_ns).unwrap_or(i64::MAX));
        self.caplen.append_value(p.caplen);
        self.len.append_value(p.len);
        let ip = p.ip.as_ref();
        self.src_addr.append_option(ip.map(|i| i.src.to_string()));
        self.dst_addr.append_option(ip.map(|i| i.dst.to_string()));
        self.ip_proto.append_option(ip.map(|i| i.proto));
        self.ttl.append_option(ip.map(|i| i.ttl));
        let tcp = p.tcp();
        let (sport, dport) = match &p.transport {
            Some(Transport::Tcp(t)) => (Some(t.sport), Some(t.dport)),
            Some(Transport::Udp(u)) => (Some(u.sport), Some(u.dport)),
            _ => (None, None),
        };
        self.sport.append_option(sport);
        self.dport.append_option(dport);
        match tcp {
            Some(t) => {
                for name in t.flags.names() {
                    self.tcp_flags.values().append_value(name);
                }
                self.tcp_flags.append(true);
            }
            None => self.tcp_flags.append_null(),
        }
        self.seq.append_option(tcp.map(|t| t.seq));
        self.ack.append_option(tcp.map(|t| t.ack));
        self.rel_seq.append_option(tcp.and(a.rel_seq));
        self.rel_ack.append_option(tcp.and(a.rel_ack));
        self.window.append_option(tcp.map(|t| t.window));
        self.tcp_len.append_option(tcp.map(|t| t.len));
        self.udp_len.append_option(p.udp().map(|u| u.len));
        let icmp = match &p.transport {
            Some(Transport::Icmp(i)) => Some(i),
            _ => None,
        };
        self.icmp_type.append_option(icmp.map(|i| i.icmp_type));
        self.icmp_code.append_option(icmp.map(|i| i.code));
        self.flow.append_option(a.flow);
        self.sender.append_option(a.sender.map(|r| r.name()));
        for name in a.flags.names() {
            self.analysis.values().append_value(name);
        }
        self.analysis.append(true);
        self.dup_ack
            .append_option((a.dup_ack_count > 0).then_some(a.dup_ack_count));
        self.ack_rtt_ms.append_option(a.rtt_ns.map(millis));
        self.bytes_in_flight.append_option(a.bytes_in_flight);
        self.transitions.append_value(a.transitions.len() as u32);
        self.error
            .append_option(p.error.as_ref().map(|e| e.to_string()));
    }

    /// The columns built so far, in [`schema`] order; the builders start afresh.
    fn finish(&mut self) -> Vec<ArrayRef> {
        self.rows = 0;
        vec![
            Arc::new(self.frame.finish()),
            Arc::new(self.ts.finish().with_timezone("UTC")),
            Arc::new(self.caplen.finish()),
            Arc::new(self.len.finish()),
            Arc::new(self.src_addr.finish()),
            Arc::new(self.dst_addr.finish()),
            Arc::new(self.ip_proto.finish()),
            Arc::new(self.ttl.finish()),
            Arc::new(self.sport.finish()),
            Arc::new(self.dport.finish()),
            Arc::new(self.tcp_flags.finish()),
            Arc::new(self.seq.finish()),
            Arc::new(self.ack.finish()),
            Arc::new(self.rel_seq.finish()),
            Arc::new(self.rel_ack.finish()),
            Arc::new(self.window.finish()),
            Arc::new(self.tcp_len.finish()),
            Arc::new(self.udp_len.finish()),
            Arc::new(self.icmp_type.finish()),
            Arc::new(self.icmp_code.finish()),
            Arc::new(self.flow.finish()),
            Arc::new(self.sender.finish()),
            Arc::new(self.analysis.finish()),
            Arc::new(self.dup_ack.finish()),
            Arc::new(self.ack_rtt_ms.finish()),
            Arc::new(self.bytes_in_flight.finish()),
            Arc::new(self.transitions.finish()),
            Arc::new(self.error.finish()),
        ]
    }
}

/// A Parquet file of frames, written a batch at a time.
pub struct FrameParquet {
    file: ParquetFile,
    columns: Columns,
}

impl FrameParquet {
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        Ok(FrameParquet {
            file: ParquetFile::create(path, schema())?,
            columns: Columns::default(),
        })
    }

    pub fn push(&mut self, p: &Packet, a: &FrameAnalysis) -> anyhow::Result<()> {
        self.columns.push(p, a);
        if self.columns.rows >= BATCH_ROWS {
            self.file.write(self.columns.finish())?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> anyhow::Result<()> {
        let columns = self.columns.finish();
        self.file.write(columns)?;
        self.file.close()
    }
}
