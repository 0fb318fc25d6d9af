//! protolab — a protocol lab for people learning and teaching TCP/IP.
//!
//! It decodes captures layer by layer, infers the TCP state of **both** endpoints
//! from the packets, flags what Wireshark's expert system would flag, and
//! summarises every connection with Zeek's `conn_state` and `history`.
//!
//! # Layout
//!
//! A pure core, and I/O at the edges around it.
//!
//! The pure core takes values and returns values (or writes to an `impl Write` or
//! a plotters backend). No sockets, pcap handles, files, clocks, environment or
//! clap; time comes from packet timestamps:
//!
//! - [`frame`] — the frame every source yields: `RawFrame`, `FrameRef`, `LinkType`.
//! - [`decode`] — a frame → [`decode::Packet`]; the only module that knows etherparse.
//! - [`analyze`] — flows, per-endpoint TCP state machines, expert flags, RTT, Zeek codes.
//! - [`dissect`] — application protocols of the lab in a capture (chat frames).
//! - [`model`] — results several layers share: the kernel comparison, the loss comparison.
//! - [`output`] — printers: one line per frame, NDJSON, the flows table.
//! - [`chart`] — ladder, state timeline, seq/time, throughput, RTT and layers charts (SVG/PNG).
//! - [`report`] — the lab report: index.html with step-through players, report.md, report.json, charts; en + zh.
//! - [`timestamp`] — nanosecond times printed without floating-point loss.
//!
//! The edges do the I/O and hand plain values to the core:
//!
//! - [`capture`] — sources of frames (one [`capture::FrameSource`]): pcap/pcapng files, live libpcap.
//! - [`replay`] — the one read → decode → analyse loop over any source, shared by every command.
//! - [`files`] — captures and run folders read into chart and report input; report folders written.
//! - [`export`] — flows of many captures at once, as Zeek conn.log, Parquet, with Community IDs.
//! - [`chat`] — the notes' instant-messaging system: frames, messages, store, server, client.
//! - [`scenario`] — the course's socket programs (servers, clients, what each teaches).
//! - [`serving`] — what every server shares: its event log and its shutdown signal.
//! - [`lab`] — runs a scenario while capturing, with the kernel's states beside the inferred ones.
//! - [`watch`] — the live page: capture, analysis and the kernel's table sent to a browser.
//! - [`cli`] — argument parsing and the subcommands; `main` only calls [`cli::run`].
//!
//! The rule: a core module imports only other core modules (and `chat`'s message
//! and frame types, which are plain data), never `capture`, `replay`, `files`,
//! `lab`, `scenario`, `cli` or the chat server. Edges may import the core and each
//! other. `tests/architecture.rs` checks the rule on every build of the tests.

pub mod analyze;
pub mod capture;
pub mod chart;
pub mod chat;
pub mod cli;
pub mod decode;
pub mod dissect;
pub mod export;
pub mod files;
pub mod frame;
pub mod lab;
pub mod model;
pub mod output;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod serving;
pub mod timestamp;
pub mod watch;
