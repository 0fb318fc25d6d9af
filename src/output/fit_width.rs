//! Fitting a line to a width: `capture`'s lines run to ~200 columns, and a line
//! that wraps in a narrow (split) terminal breaks the column layout the eye
//! follows. A cut line shows `…` where text was left off.
//!
//! What is cut is the packet's details (options, timestamps), never its notes: the
//! notes at the end of a [`super::frame_line`] — expert flags `  [...]`, state
//! changes `  | ...`, a decoding error `  !! ...` — are what a live capture is
//! watched for. They stay on the frame's line when they leave room for the frame
//! number, time and addresses; otherwise they go on lines of their own under it,
//! indented past the time, so a state change is never lost to a narrow terminal.
//! Widths are display columns (console's `truncate_str`: `→` is one column, a CJK
//! character two), and a cut never splits a character.

use std::borrow::Cow;

/// How `frame_line` starts its notes, after the packet's own text.
const NOTE_STARTS: [&str; 3] = ["  [", "  | ", "  !! "];

/// Columns the packet's text keeps before its notes move to lines of their own:
/// the frame number, time, both addresses and the TCP flags
/// ("    7 0.003052 127.0.0.1:9101 > 127.0.0.1:42244 TCP [S.] seq 0 ").
const MIN_HEAD: usize = 60;

/// Indent of a line that carries notes only: past the frame number and time.
const NOTES_INDENT: &str = "               ";

/// `line` fitted to `width` columns: one line when it fits (or when there is no
/// width to fit, not a terminal say), else the packet's text cut and its notes
/// kept whole, beside it or on the lines after it.
pub fn fit_width(line: &str, width: Option<usize>) -> Vec<Cow<'_, str>> {
    let Some(width) = width.map(|w| w.max(1)) else {
        return vec![Cow::Borrowed(line)];
    };
    if console::measure_text_width(line) <= width {
        return vec![Cow::Borrowed(line)];
    }
    let Some(at) = NOTE_STARTS.iter().filter_map(|m| line.find(m)).min() else {
        return vec![console::truncate_str(line, width, "…")];
    };
    let (head, notes) = line.split_at(at);
    let notes_width = console::measure_text_width(notes);
    if notes_width + MIN_HEAD.min(width) <= width {
        let head = console::truncate_str(head, width - notes_width, "…");
        return vec![Cow::Owned(format!("{head}{notes}"))];
    }
    let mut out = vec![console::truncate_str(head, width, "…")];
    // Notes packed into lines under the frame, as many to a line as fit.
    let mut current = String::new();
    for note in split_notes(notes) {
        let note = note.trim_start();
        let joined = if current.is_empty() {
            format!("{NOTES_INDENT}{note}")
        } else {
            format!("{current}  {note}")
        };
        if current.is_empty() || console::measure_text_width(&joined) <= width {
            current = joined;
        } else {
            out.push(Cow::Owned(fit_one(&current, width)));
            current = format!("{NOTES_INDENT}{note}");
        }
    }
    if !current.is_empty() {
        out.push(Cow::Owned(fit_one(&current, width)));
    }
    out
}

/// One line cut to `width` (a note wider than the terminal on its own).
fn fit_one(line: &str, width: usize) -> String {
    console::truncate_str(line, width, "…").into_owned()
}

/// The notes one by one, each with the marker that starts it.
fn split_notes(notes: &str) -> Vec<&str> {
    let mut starts: Vec<usize> = NOTE_STARTS
        .iter()
        .flat_map(|m| notes.match_indices(m).map(|(i, _)| i))
        .collect();
    starts.sort_unstable();
    starts.dedup();
    let mut out = Vec::new();
    for (k, &from) in starts.iter().enumerate() {
        let to = starts.get(k + 1).copied().unwrap_or(notes.len());
        out.push(&notes[from..to]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYN: &str = "    1 0.000000 127.0.0.1:57038 > 127.0.0.1:55783 TCP [S] seq 0 win 65495 \
                       len 0 <mss 65495,sackOK,wscale 10>  flow 1  | client CLOSED -> SYN_SENT";

    const SYN_ACK: &str = "    2 0.000018 127.0.0.1:9101 > 127.0.0.1:42244 TCP [S.] seq 0 ack 1 \
                           win 65483 len 0 <mss 65495>  flow 1  | server LISTEN -> SYN_RECEIVED \
                           (at frame 1)  | client SYN_SENT -> ESTABLISHED";

    fn fit(line: &str, width: usize) -> Vec<String> {
        fit_width(line, Some(width))
            .into_iter()
            .map(Cow::into_owned)
            .collect()
    }

    #[test]
    fn a_line_that_fits_is_left_alone() {
        assert_eq!(fit("abc", 3), ["abc"]);
        assert_eq!(fit(SYN, 500), [SYN]);
        assert_eq!(fit_width(SYN, None), [SYN]);
    }

    #[test]
    fn a_wide_line_is_cut_and_ends_in_an_ellipsis() {
        assert_eq!(fit("abcdefgh", 5), ["abcd…"]);
        assert_eq!(fit("abc", 0), ["…"]);
    }

    #[test]
    fn notes_that_leave_room_for_the_addresses_stay_on_the_line() {
        assert_eq!(
            fit(SYN, 90),
            ["    1 0.000000 127.0.0.1:57038 > 127.0.0.1:55783 TCP [S] seq…  | client CLOSED -> SYN_SENT"]
        );
        let retx =
            "    9 0.200000 10.0.0.1:1 > 10.0.0.2:2 TCP [.] seq 1 len 1448 <TS val 1 ecr 2>  [retransmission]";
        assert_eq!(
            fit(retx, 80),
            ["    9 0.200000 10.0.0.1:1 > 10.0.0.2:2 TCP [.] seq 1 len 1448…  [retransmission]"]
        );
    }

    #[test]
    fn notes_that_do_not_leave_room_go_under_the_frame_whole() {
        assert_eq!(
            fit(SYN, 60),
            [
                "    1 0.000000 127.0.0.1:57038 > 127.0.0.1:55783 TCP [S] se…",
                "               | client CLOSED -> SYN_SENT",
            ]
        );
        // Two state changes: one line each when both do not fit on one.
        assert_eq!(
            fit(SYN_ACK, 70),
            [
                "    2 0.000018 127.0.0.1:9101 > 127.0.0.1:42244 TCP [S.] seq 0 ack 1 …",
                "               | server LISTEN -> SYN_RECEIVED (at frame 1)",
                "               | client SYN_SENT -> ESTABLISHED",
            ]
        );
        // At 80 columns they share a line... when they fit together.
        let lines = fit(SYN_ACK, 110);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(lines[1].ends_with("(at frame 1)  | client SYN_SENT -> ESTABLISHED"));
    }

    #[test]
    fn a_cut_counts_columns_and_never_splits_a_character() {
        // "→" is three bytes and one column: byte arithmetic would split it.
        assert_eq!(fit("a → b → c", 4), ["a →…"]);
        // A CJK character takes two columns: four of them do not fit in five.
        assert_eq!(fit("状态状态", 5), ["状态…"]);
        for width in 1..SYN.len() {
            for line in fit(SYN, width) {
                assert!(console::measure_text_width(&line) <= width, "{line:?}");
            }
            // The state change is always there, whole when the width allows it.
            let all = fit(SYN, width).join("\n");
            if width >= 15 + "| client CLOSED -> SYN_SENT".len() {
                assert!(
                    all.contains("| client CLOSED -> SYN_SENT"),
                    "{width}: {all}"
                );
            }
        }
    }
}
