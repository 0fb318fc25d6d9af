//! Flows in the formats other tools read, and many captures at once.
//!
//! - [`inputs`] — the captures a command line names (directories expanded).
//! - [`parallel`] — many captures read at once, results back in input order.
//! - [`record`] — one flow of one capture as every export writes it.
//! - [`community_id`] — the Community ID that joins our flows with Zeek's, Suricata's.
//! - [`sink`] — the `FlowSink` trait, and the text table and NDJSON.
//! - [`parquet_flows`], [`parquet_frames`] — flows and frames as Parquet rows;
//!   [`parquet_file`] — the writer they share.
//! - [`zeek_log`] — Zeek's `conn.log`, TSV and JSON; [`zeek_uid`] — its stable uids.
//!
//! An edge: it reads files and writes them; the formats' pure parts take values.

pub mod community_id;
pub mod inputs;
pub mod parallel;
pub mod parquet_file;
pub mod parquet_flows;
pub mod parquet_frames;
pub mod record;
pub mod sink;
pub mod zeek_log;
pub mod zeek_uid;
