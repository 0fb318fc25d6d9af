//! The lab report a student can hand in: `index.html` (self-contained, with a
//! step-through player per connection), `report.md`, `report.json` and the charts.
//!
//! - [`input`] — what a report is made from, as plain values (the file edge,
//!   [`crate::files`], reads a capture file or a run folder into it).
//! - [`model`] — the report's content as plain values (what `report.json` holds).
//! - `build` — [`build_report`]: the model from the input, then [`notices`], the
//!   "what to notice" list, from the model. One way: the model knows neither.
//! - [`text`] — every word of the report in English and Chinese.
//! - [`dynamics`] — each TCP connection's bytes in flight, retransmissions,
//!   windows, phases and RTO estimator table, in words and a table.
//! - [`streams`] — each HTTP/2 connection's streams: the call, its frames, how it ended.
//! - [`lab_questions`] — a TCP lab sheet's questions answered for the first
//!   connection, with frame numbers.
//! - [`page`], [`table`], [`player`] — the model as the values the templates lay
//!   out; the player's steps and ladder are values too, drawn by `player.html`,
//!   and so is its state diagram ([`player_diagram`]).
//! - [`markdown`], [`html`] — writers: one minijinja template per page
//!   (`templates/`), escaped by the engine.
//! - [`write`](mod@write) — renders everything in memory ([`crate::files`] writes the folder).
//! - [`compare`] — the report of `protolab compare` (TCP against UDP per loss level).
//!
//! All of it is pure: values in, strings and bytes out; times come from packet
//! timestamps, never from a clock. Reading the input and writing the folder are
//! the file edge's ([`crate::files`]).

mod build;
pub mod compare;
pub mod dynamics;
mod error;
pub mod html;
pub mod input;
pub mod lab_questions;
pub mod markdown;
pub mod model;
pub mod notices;
pub mod page;
pub mod player;
pub mod player_diagram;
pub mod streams;
pub mod table;
mod templates;
pub mod text;
pub mod write;

pub use build::build_report;
pub use compare::CompareFiles;
pub use error::ReportError;
pub use input::{ReportInput, RunInfo};
pub use model::Report;
pub use write::{render_report, RenderedReport, ReportFiles};

/// At most this many connections are detailed (ladder, states, transitions, player);
/// the rest are counted in a note, so a huge capture still makes a report in seconds.
pub const MAX_DETAILED_FLOWS: usize = 20;
