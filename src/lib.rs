//! protolab — a protocol lab for people learning and teaching TCP/IP.
//!
//! It decodes captures layer by layer, infers the TCP state of **both** endpoints
//! from the packets, flags what Wireshark's expert system would flag, and
//! summarises every connection with Zeek's `conn_state` and `history`.
//!
//! # Layout
//!
//! - [`capture`] — sources of frames: pcap/pcapng files (pcap-parser), BPF filters (libpcap).
//! - [`decode`] — `RawFrame` → [`decode::Packet`]; the only module that knows etherparse.
//! - [`analyze`] — flows, per-endpoint TCP state machines, expert flags, RTT, Zeek codes.
//! - [`dissect`] — application protocols of the lab in a capture (chat frames).
//! - [`replay`] — the read → decode → analyse loop shared by the commands.
//! - [`output`] — printers: one line per frame, NDJSON, the flows table.
//! - [`chart`] — ladder, state timeline, seq/time, throughput, RTT and layers charts (SVG/PNG).
//! - [`report`] — the lab report: index.html with step-through players, report.md, report.json, charts; en + zh.
//! - [`chat`] — the notes' instant-messaging system: frames, messages, store, server, client.
//! - [`scenario`] — the course's socket programs (servers, clients, what each teaches).
//! - [`serving`] — what every server shares: its event log and its shutdown signal.
//! - [`lab`] — runs a scenario while capturing, with the kernel's states beside the inferred ones.
//! - [`cli`] — argument parsing and the subcommands; `main` only calls [`cli::run`].
//! - [`timestamp`] — nanosecond times printed without floating-point loss.
//!
//! The core (`decode`, `analyze`, `output`) is pure: values in, values out; time
//! comes from packet timestamps. I/O lives at the edges (`capture`, `cli`).

pub mod analyze;
pub mod capture;
pub mod chart;
pub mod chat;
pub mod cli;
pub mod decode;
pub mod dissect;
pub mod lab;
pub mod output;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod serving;
pub mod timestamp;
