//! Fitting a line to a width: `capture`'s lines run to ~200 columns, and a line
//! that wraps in a narrow (split) terminal breaks the column layout the eye
//! follows. A cut line ends in `…`, so it is clear that something was left off.
//!
//! Widths are display columns (console's `truncate_str`, which knows that `→` is
//! one column and a CJK character two), and a cut never splits a character.

use std::borrow::Cow;

/// `line` cut to `width` columns with a trailing `…` when it is wider; unchanged
/// when it fits or when there is no width to fit (not a terminal, say).
pub fn fit_width(line: &str, width: Option<usize>) -> Cow<'_, str> {
    match width {
        Some(w) => console::truncate_str(line, w.max(1), "…"),
        None => Cow::Borrowed(line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_that_fits_is_left_alone() {
        assert_eq!(fit_width("abc", Some(3)), "abc");
        assert_eq!(fit_width("abc", Some(80)), "abc");
        assert_eq!(fit_width(&"x".repeat(300), None).len(), 300);
    }

    #[test]
    fn a_wide_line_is_cut_and_ends_in_an_ellipsis() {
        assert_eq!(fit_width("abcdefgh", Some(5)), "abcd…");
        let line = "    7 0.003052 127.0.0.1:55783 > 127.0.0.1:57038 TCP [F.] seq 1 ack 4";
        let fitted = fit_width(line, Some(60));
        assert_eq!(console::measure_text_width(&fitted), 60);
        assert!(fitted.ends_with('…') && line.starts_with(fitted.trim_end_matches('…')));
    }

    #[test]
    fn a_cut_counts_columns_and_never_splits_a_character() {
        // "→" is three bytes and one column: byte arithmetic would split it.
        assert_eq!(fit_width("a → b → c", Some(4)), "a →…");
        // A CJK character takes two columns: four of them do not fit in five.
        assert_eq!(fit_width("状态状态", Some(5)), "状态…");
        assert_eq!(fit_width("abc", Some(0)), "…");
    }
}
