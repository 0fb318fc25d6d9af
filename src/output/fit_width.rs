//! Fitting a line to a width: `capture`'s lines run to ~200 columns, and a line
//! that wraps in a narrow (split) terminal breaks the column layout the eye
//! follows. A cut line shows `…` where text was left off.
//!
//! The cut falls in the packet's details (options, timestamps) when it can: the
//! notes at the end of a [`super::frame_line`] — expert flags `  [...]`, state
//! changes `  | ...`, a decoding error `  !! ...` — are what a live capture is
//! watched for, so they are kept whole when they leave room for the frame number
//! and time. Widths are display columns (console's `truncate_str`: `→` is one
//! column, a CJK character two), and a cut never splits a character.

use std::borrow::Cow;

/// How `frame_line` starts its notes, after the packet's own text.
const NOTE_STARTS: [&str; 3] = ["  [", "  | ", "  !! "];

/// Columns the packet's text keeps at least before the notes are cut too: the
/// frame number and time ("    7 0.003052 ").
const MIN_HEAD: usize = 16;

/// `line` cut to `width` columns when it is wider; unchanged when it fits or when
/// there is no width to fit (not a terminal, say).
pub fn fit_width(line: &str, width: Option<usize>) -> Cow<'_, str> {
    let Some(width) = width.map(|w| w.max(1)) else {
        return Cow::Borrowed(line);
    };
    if console::measure_text_width(line) <= width {
        return Cow::Borrowed(line);
    }
    let notes_at = NOTE_STARTS.iter().filter_map(|m| line.find(m)).min();
    if let Some(at) = notes_at {
        let (head, notes) = line.split_at(at);
        let notes_width = console::measure_text_width(notes);
        if notes_width + MIN_HEAD <= width {
            let head = console::truncate_str(head, width - notes_width, "…");
            return Cow::Owned(format!("{head}{notes}"));
        }
    }
    console::truncate_str(line, width, "…")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYN: &str = "    1 0.000000 127.0.0.1:57038 > 127.0.0.1:55783 TCP [S] seq 0 win 65495 \
                       len 0 <mss 65495,sackOK,wscale 10>  flow 1  | client CLOSED -> SYN_SENT";

    #[test]
    fn a_line_that_fits_is_left_alone() {
        assert_eq!(fit_width("abc", Some(3)), "abc");
        assert_eq!(fit_width(SYN, Some(500)), SYN);
        assert_eq!(fit_width(SYN, None), SYN);
    }

    #[test]
    fn a_wide_line_is_cut_and_ends_in_an_ellipsis() {
        assert_eq!(fit_width("abcdefgh", Some(5)), "abcd…");
        assert_eq!(fit_width("abc", Some(0)), "…");
    }

    #[test]
    fn the_cut_falls_before_the_state_changes_when_they_leave_room() {
        assert_eq!(
            fit_width(SYN, Some(60)),
            "    1 0.000000 127.0.0.1:57038…  | client CLOSED -> SYN_SENT"
        );
        // Too narrow for the frame number, time and the notes: cut at the end.
        assert_eq!(fit_width(SYN, Some(30)), "    1 0.000000 127.0.0.1:5703…");
        // Expert flags count as notes too.
        let retx =
            "    9 0.200000 10.0.0.1:1 > 10.0.0.2:2 TCP [.] seq 1 len 1448  [retransmission]";
        assert_eq!(
            fit_width(retx, Some(40)),
            "    9 0.200000 10.0.0…  [retransmission]"
        );
    }

    #[test]
    fn a_cut_counts_columns_and_never_splits_a_character() {
        // "→" is three bytes and one column: byte arithmetic would split it.
        assert_eq!(fit_width("a → b → c", Some(4)), "a →…");
        // A CJK character takes two columns: four of them do not fit in five.
        assert_eq!(fit_width("状态状态", Some(5)), "状态…");
        for width in 1..SYN.len() {
            let fitted = fit_width(SYN, Some(width));
            assert_eq!(console::measure_text_width(&fitted), width, "{fitted:?}");
        }
    }
}
