//! The file edge of charts and reports: reading a capture or a run folder into the
//! plain values `chart` and `report` draw from, and writing what they rendered.
//!
//! - [`capture`] — a capture file replayed into a [`crate::chart::CaptureData`].
//! - [`report_input`] — a capture or run folder read into a [`crate::report::ReportInput`].
//! - [`report_output`] — a rendered report written into its folder.
//! - [`font`] — the system's CJK font, read for Chinese labels in PNG charts.
//!
//! Everything here is I/O; what it reads goes to, and what it writes comes from,
//! the pure modules, which never touch a file themselves.

pub mod capture;
pub mod font;
pub mod report_input;
pub mod report_output;

pub use capture::{load_capture, load_capture_with, load_close_up};
pub use font::load_cjk_font;
pub use report_input::{
    dropped_frames_beside, kernel_tcp_beside, load_input, sha256_file, sha256_hex,
};
pub use report_output::{render_compare_report, write_compare_report, write_report};
