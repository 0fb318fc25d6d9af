//! `report.md` of a comparison: for hand-in, with the charts as PNG images under
//! `charts/`.

use std::fmt::Write;

use super::notices::notices;
use super::text::compare_text;
use super::{chart_refs, run_report_link, table_cells, table_headings, what_ran};
use crate::chart::compare::loss_label;
use crate::chart::Lang;
use crate::model::compare::CompareReport;

/// Escapes a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders `report.md`. `drawn` lists the chart files that exist (`charts/…png`);
/// the others are said to be not drawn.
pub fn render_compare_markdown(r: &CompareReport, drawn: &[String], lang: Lang) -> String {
    let t = compare_text(lang);
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n\n{}\n", t.title, t.intro);

    let _ = writeln!(out, "## {}\n", t.what_ran);
    let mut ran = what_ran(r, lang).into_iter();
    if let Some((label, command)) = ran.next() {
        let _ = writeln!(out, "{label}:\n\n```\n{command}\n```\n");
    }
    for (label, value) in ran {
        let _ = writeln!(out, "- **{label}**: {value}");
    }
    out.push('\n');

    let notices = notices(r, lang);
    if !notices.is_empty() {
        let _ = writeln!(out, "## {}\n", t.notice);
        for n in &notices {
            let _ = writeln!(out, "- {n}");
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## {}\n\n{}\n", t.levels, t.levels_intro);
    let headings = table_headings(lang);
    let _ = writeln!(out, "| {} |", headings.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(headings.len()));
    for l in &r.levels {
        let cells: Vec<String> = table_cells(l, lang).iter().map(|c| cell(c)).collect();
        let link = run_report_link(l);
        let _ = writeln!(
            out,
            "| {} | [{}]({}) |",
            cells.join(" | "),
            t.lab_report,
            link.replace(' ', "%20")
        );
    }
    out.push('\n');
    for l in &r.levels {
        if let Some(e) = &l.tcp.error {
            let _ = writeln!(
                out,
                "- **{} ({})**: {}",
                t.failed,
                loss_label(l.loss_configured),
                cell(e)
            );
        }
    }
    if r.levels.iter().any(|l| l.tcp.error.is_some()) {
        out.push('\n');
    }

    let _ = writeln!(out, "## {}\n", t.charts);
    for chart in chart_refs(lang) {
        let _ = writeln!(out, "### {}\n", chart.title);
        if drawn.contains(&chart.png) {
            let _ = writeln!(out, "![{}]({})\n", chart.title, chart.png);
        } else {
            let _ = writeln!(out, "*{}*\n", t.chart_failed);
        }
    }
    let _ = writeln!(out, "---\n\n{} {}", t.generated_by, r.protolab_version);
    out
}
