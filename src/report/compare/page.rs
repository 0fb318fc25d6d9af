//! What the compare report's templates lay out: the [`CompareReport`] in words,
//! its table of levels as a [`Table`]. `compare.html` and `compare.md` get the same
//! [`ComparePage`]; only the HTML one inlines the charts' SVG.

use std::collections::BTreeMap;

use serde::Serialize;

use super::notices::notices;
use super::text::{compare_text, CompareText};
use super::{chart_refs, run_report_link, table_cells, table_headings, what_ran, CompareReport};
use crate::chart::compare::loss_label;
use crate::chart::Lang;
use crate::report::table::{heads, Cell, Row, Table};
use crate::report::templates::{inline_svg, trusted};

/// The whole page.
#[derive(Debug, Serialize)]
pub struct ComparePage {
    pub t: &'static CompareText,
    /// The command that reproduces the comparison, with its label.
    pub command: Option<(&'static str, String)>,
    /// The other "what ran" facts: (label, value).
    pub facts: Vec<(&'static str, String)>,
    pub notices: Vec<String>,
    /// The table of levels: every heading, each level's cells and its run's link.
    pub levels: Table,
    /// Levels whose TCP run failed: (loss label, error).
    pub failed: Vec<(String, String)>,
    pub charts: Vec<CompareChart>,
    pub version: String,
}

/// One chart: its anchor, title, PNG (if drawn) and inline SVG (HTML, if drawn).
#[derive(Debug, Serialize)]
pub struct CompareChart {
    pub name: &'static str,
    pub title: &'static str,
    pub png: String,
    pub drawn: bool,
    pub svg: Option<minijinja::Value>,
}

fn levels(r: &CompareReport, lang: Lang) -> Table {
    let t = compare_text(lang);
    let head: Vec<(&str, bool)> = table_headings(lang).iter().map(|h| (*h, false)).collect();
    let rows = r
        .levels
        .iter()
        .map(|l| {
            let mut row = Row::of(table_cells(l, lang));
            row.bad = l.tcp.error.is_some() || !l.tcp.sha256_match;
            row.cells.push(Cell {
                text: t.lab_report.to_string(),
                href: Some(run_report_link(l)),
                ..Cell::default()
            });
            row
        })
        .collect();
    Table {
        class: Some("levels"),
        head: heads(&head),
        rows,
    }
}

/// The page; `svgs` (chart path to SVG text) and `drawn` (chart files that exist)
/// say which charts could be drawn.
pub fn page(
    r: &CompareReport,
    svgs: &BTreeMap<String, String>,
    drawn: &[String],
    lang: Lang,
) -> ComparePage {
    let mut ran = what_ran(r, lang).into_iter();
    let command = ran.next();
    let charts = chart_refs(lang)
        .into_iter()
        .map(|c| CompareChart {
            name: c.name,
            title: c.title,
            drawn: drawn.contains(&c.png),
            svg: svgs.get(&c.svg).map(|svg| trusted(inline_svg(svg))),
            png: c.png,
        })
        .collect();
    ComparePage {
        t: compare_text(lang),
        command,
        facts: ran.collect(),
        notices: notices(r, lang),
        levels: levels(r, lang),
        failed: r
            .levels
            .iter()
            .filter_map(|l| Some((loss_label(l.loss_configured), l.tcp.error.clone()?)))
            .collect(),
        charts,
        version: r.protolab_version.clone(),
    }
}
