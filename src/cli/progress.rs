//! A progress bar on stderr for long files, shown only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Files smaller than this finish too fast for a bar to help.
const MIN_BYTES: u64 = 16 << 20;

/// A bar over `total` bytes, or a hidden one when not useful.
pub fn file_progress(total: u64) -> ProgressBar {
    if total < MIN_BYTES || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {wide_bar} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// One bar for many captures: bytes read of all of them, and files done. Shown on a
/// terminal when there is more than one file or enough bytes to wait for.
pub fn captures_progress(files: usize, total: u64) -> ProgressBar {
    if (files < 2 && total < MIN_BYTES) || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} files, {bytes}/{total_bytes} {wide_bar} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(format!("0/{files}"));
    bar
}
