//! `flows --format parquet`: one row per flow, typed columns (the schema is in
//! docs/exports.md, beside the JSON fields each column mirrors).

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, ListBuilder, StringBuilder, TimestampNanosecondBuilder, UInt16Builder,
    UInt64Builder,
};
use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Schema};

use crate::analyze::COUNTED;

use super::parquet_file::{string_list_type, timestamp_type, ParquetFile, BATCH_ROWS};
use super::record::FlowRecord;
use super::sink::FlowSink;
use super::zeek_uid::conn_uid;

/// The flows table's schema: one place, in column order.
pub fn schema() -> Schema {
    use DataType::{Float64, UInt16, UInt64, Utf8};
    let mut fields = vec![
        Field::new("capture", Utf8, false),
        Field::new("flow", UInt64, false),
        Field::new("uid", Utf8, false),
        Field::new("community_id", Utf8, false),
        Field::new("proto", Utf8, false),
        Field::new("client_addr", Utf8, false),
        Field::new("client_port", UInt16, false),
        Field::new("server_addr", Utf8, false),
        Field::new("server_port", UInt16, false),
        Field::new("first_ts", timestamp_type(), false),
        Field::new("last_ts", timestamp_type(), false),
        Field::new("duration", Float64, false),
        Field::new("packets_client", UInt64, false),
        Field::new("packets_server", UInt64, false),
        Field::new("bytes_client", UInt64, false),
        Field::new("bytes_server", UInt64, false),
        Field::new("ip_bytes_client", UInt64, false),
        Field::new("ip_bytes_server", UInt64, false),
        Field::new("conn_state", Utf8, false),
        Field::new("history", Utf8, false),
        Field::new("client_states", string_list_type(), true),
        Field::new("server_states", string_list_type(), true),
        Field::new("rtt_handshake_ms", Float64, true),
        Field::new("rtt_min_ms", Float64, true),
        Field::new("rtt_mean_ms", Float64, true),
        Field::new("rtt_max_ms", Float64, true),
        Field::new("rtt_samples", UInt64, true),
        Field::new("anomalies", UInt64, true),
    ];
    fields.extend(
        COUNTED
            .iter()
            .map(|(name, _)| Field::new(*name, UInt64, true)),
    );
    fields.push(Field::new("udp_datagrams", UInt64, true));
    fields.push(Field::new("udp_answered", UInt64, true));
    Schema::new(fields)
}

/// One builder per column, filled row by row.
#[derive(Default)]
struct Columns {
    rows: usize,
    capture: StringBuilder,
    flow: UInt64Builder,
    uid: StringBuilder,
    community_id: StringBuilder,
    proto: StringBuilder,
    client_addr: StringBuilder,
    client_port: UInt16Builder,
    server_addr: StringBuilder,
    server_port: UInt16Builder,
    first_ts: TimestampNanosecondBuilder,
    last_ts: TimestampNanosecondBuilder,
    duration: Float64Builder,
    /// packets, bytes, ip_bytes: client then server.
    per_role: [UInt64Builder; 6],
    conn_state: StringBuilder,
    history: StringBuilder,
    client_states: ListBuilder<StringBuilder>,
    server_states: ListBuilder<StringBuilder>,
    rtt: [Float64Builder; 4],
    rtt_samples: UInt64Builder,
    anomalies: UInt64Builder,
    counters: Vec<UInt64Builder>,
    udp: [UInt64Builder; 2],
}

fn ns(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

fn states(list: &mut ListBuilder<StringBuilder>, states: Option<&[crate::analyze::TcpState]>) {
    match states {
        Some(states) => {
            for s in states {
                list.values().append_value(s.name());
            }
            list.append(true);
        }
        None => list.append_null(),
    }
}

impl Columns {
    fn push(&mut self, r: &FlowRecord) {
        let f = &r.summary;
        self.rows += 1;
        self.capture.append_value(&r.capture);
        self.flow.append_value(f.flow);
        self.uid.append_value(conn_uid(&r.capture, f.flow));
        self.community_id.append_value(&r.community_id);
        self.proto.append_value(f.proto);
        self.client_addr.append_value(f.client.ip().to_string());
        self.client_port.append_value(f.client.port());
        self.server_addr.append_value(f.server.ip().to_string());
        self.server_port.append_value(f.server.port());
        self.first_ts.append_value(ns(f.first_ts.0));
        self.last_ts.append_value(ns(f.last_ts.0));
        self.duration.append_value(f.duration.0 as f64 / 1e9);
        let per_role = [
            f.packets.client,
            f.packets.server,
            f.bytes.client,
            f.bytes.server,
            f.ip_bytes.client,
            f.ip_bytes.server,
        ];
        for (b, v) in self.per_role.iter_mut().zip(per_role) {
            b.append_value(v);
        }
        self.conn_state.append_value(f.conn_state);
        self.history.append_value(&f.history);
        let tcp = f.tcp.as_ref();
        states(&mut self.client_states, tcp.map(|t| &t.client_states[..]));
        states(&mut self.server_states, tcp.map(|t| &t.server_states[..]));
        let rtt = tcp.map(|t| t.rtt_ms);
        let rtts = [
            rtt.and_then(|r| r.handshake),
            rtt.and_then(|r| r.min),
            rtt.and_then(|r| r.mean),
            rtt.and_then(|r| r.max),
        ];
        for (b, v) in self.rtt.iter_mut().zip(rtts) {
            b.append_option(v);
        }
        self.rtt_samples.append_option(rtt.map(|r| r.samples));
        self.anomalies.append_option(tcp.map(|t| t.anomalies));
        // The counters by their JSON names, so a counter added to the analysis
        // becomes a column without a change here.
        let counters = tcp.and_then(|t| serde_json::to_value(t.counters).ok());
        if self.counters.is_empty() {
            self.counters = COUNTED.iter().map(|_| UInt64Builder::new()).collect();
        }
        for ((name, _), b) in COUNTED.iter().zip(&mut self.counters) {
            b.append_option(counters.as_ref().and_then(|c| c[name].as_u64()));
        }
        let udp = f.udp.as_ref();
        self.udp[0].append_option(udp.map(|u| u.datagrams));
        self.udp[1].append_option(udp.map(|u| u.answered));
    }

    /// The columns built so far, in [`schema`] order; the builders start afresh.
    fn finish(&mut self) -> Vec<ArrayRef> {
        self.rows = 0;
        if self.counters.is_empty() {
            self.counters = COUNTED.iter().map(|_| UInt64Builder::new()).collect();
        }
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(self.capture.finish()),
            Arc::new(self.flow.finish()),
            Arc::new(self.uid.finish()),
            Arc::new(self.community_id.finish()),
            Arc::new(self.proto.finish()),
            Arc::new(self.client_addr.finish()),
            Arc::new(self.client_port.finish()),
            Arc::new(self.server_addr.finish()),
            Arc::new(self.server_port.finish()),
            Arc::new(self.first_ts.finish().with_timezone("UTC")),
            Arc::new(self.last_ts.finish().with_timezone("UTC")),
            Arc::new(self.duration.finish()),
        ];
        cols.extend(
            self.per_role
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        cols.push(Arc::new(self.conn_state.finish()));
        cols.push(Arc::new(self.history.finish()));
        cols.push(Arc::new(self.client_states.finish()));
        cols.push(Arc::new(self.server_states.finish()));
        cols.extend(
            self.rtt
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        cols.push(Arc::new(self.rtt_samples.finish()));
        cols.push(Arc::new(self.anomalies.finish()));
        cols.extend(
            self.counters
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        cols.extend(
            self.udp
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        cols
    }
}

/// `--format parquet`: the flows of every capture into one Parquet file.
pub struct ParquetFlowSink {
    file: ParquetFile,
    columns: Columns,
}

impl ParquetFlowSink {
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        Ok(ParquetFlowSink {
            file: ParquetFile::create(path, schema())?,
            columns: Columns::default(),
        })
    }
}

impl FlowSink for ParquetFlowSink {
    fn record(&mut self, r: &FlowRecord) -> anyhow::Result<()> {
        self.columns.push(r);
        if self.columns.rows >= BATCH_ROWS {
            self.file.write(self.columns.finish())?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<()> {
        let columns = self.columns.finish();
        self.file.write(columns)?;
        self.file.close()
    }
}
