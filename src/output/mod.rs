//! Printers: turn packets, frame analysis and flow summaries into text or NDJSON.
//!
//! Pure formatting onto any `io::Write` or into `String`s, so tests compare whole outputs.
//! [`words`] is what every English sentence of protolab uses for counts and rates.

mod fit_width;
mod flows_table;
mod frame_json;
mod frame_text;
pub mod words;

pub use fit_width::fit_width;
pub use flows_table::{flow_rows, flows_header};
pub use frame_json::{write_end_json, write_frame_json, write_frame_json_app};
pub(crate) use frame_text::rel_sack;
pub use frame_text::{end_line, frame_line};
