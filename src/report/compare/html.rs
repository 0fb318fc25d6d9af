//! `index.html` of a comparison: one self-contained page — the lab report's CSS,
//! the charts as inline SVG, links to each level's own lab report. No script, no
//! network; works from `file://`.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::notices::notices;
use super::text::compare_text;
use super::{chart_refs, run_report_link, table_cells, table_headings, what_ran};
use crate::chart::compare::loss_label;
use crate::chart::Lang;
use crate::model::compare::CompareReport;
use crate::report::html::{esc, inline_svg, CSS};

/// What the compare page adds to the lab report's style.
const EXTRA_CSS: &str = r#"
table.levels td{text-align:right;white-space:nowrap}
table.levels th{text-align:center}
table.levels th.tcp{background:#e3edf8}
table.levels th.udp{background:#fdeede}
"#;

/// Renders `index.html`. `svgs` maps chart paths (`charts/…svg`) to their SVG text.
pub fn render_compare_html(
    r: &CompareReport,
    svgs: &BTreeMap<String, String>,
    lang: Lang,
) -> String {
    let t = compare_text(lang);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}{EXTRA_CSS}</style></head><body>",
        t.html_lang,
        esc(t.title)
    );
    let _ = write!(out, "<h1>{}</h1><p>{}</p>", esc(t.title), esc(t.intro));

    let _ = write!(out, "<section id=\"what-ran\"><h2>{}</h2>", esc(t.what_ran));
    let mut ran = what_ran(r, lang).into_iter();
    if let Some((label, command)) = ran.next() {
        let _ = write!(out, "<p>{}:</p><pre>{}</pre>", esc(label), esc(&command));
    }
    out.push_str("<table>");
    for (label, value) in ran {
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            esc(label),
            esc(&value)
        );
    }
    out.push_str("</table></section>");

    let notices = notices(r, lang);
    if !notices.is_empty() {
        let _ = write!(
            out,
            "<section id=\"notice\"><h2>{}</h2><ul class=\"notices\">",
            esc(t.notice)
        );
        for n in &notices {
            let _ = write!(out, "<li>{}</li>", esc(n));
        }
        out.push_str("</ul></section>");
    }

    let _ = write!(
        out,
        "<section id=\"levels\"><h2>{}</h2><p>{}</p><div class=\"chart\"><table class=\"levels\">",
        esc(t.levels),
        esc(t.levels_intro)
    );
    // Two heading rows: the loss columns and the run link span both, TCP's and
    // UDP's figures are grouped under their protocol.
    let h = table_headings(lang);
    out.push_str("<tr>");
    for name in &h[..2] {
        let _ = write!(out, "<th rowspan=\"2\">{}</th>", esc(name));
    }
    out.push_str(
        "<th class=\"tcp\" colspan=\"7\">TCP</th><th class=\"udp\" colspan=\"7\">UDP</th>",
    );
    let _ = write!(out, "<th rowspan=\"2\">{}</th></tr><tr>", esc(h[16]));
    for (i, name) in h[2..16].iter().enumerate() {
        let class = if i < 7 { "tcp" } else { "udp" };
        let _ = write!(out, "<th class=\"{class}\">{}</th>", esc(name));
    }
    out.push_str("</tr>");
    for l in &r.levels {
        let bad = l.tcp.error.is_some() || !l.tcp.sha256_match;
        out.push_str(if bad { "<tr class=\"bad\">" } else { "<tr>" });
        for c in table_cells(l, lang) {
            let _ = write!(out, "<td>{}</td>", esc(&c));
        }
        let _ = write!(
            out,
            "<td><a href=\"{}\">{}</a></td></tr>",
            esc(&run_report_link(l)),
            esc(t.lab_report)
        );
    }
    out.push_str("</table></div>");
    let failed: Vec<_> = r
        .levels
        .iter()
        .filter_map(|l| Some((l, l.tcp.error.as_ref()?)))
        .collect();
    if !failed.is_empty() {
        out.push_str("<ul>");
        for (l, e) in failed {
            let _ = write!(
                out,
                "<li><b>{} ({})</b>: {}</li>",
                esc(t.failed),
                esc(&loss_label(l.loss_configured)),
                esc(e)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");

    let _ = write!(out, "<section id=\"charts\"><h2>{}</h2>", esc(t.charts));
    for chart in chart_refs(lang) {
        let _ = write!(
            out,
            "<h3 id=\"{}\">{}</h3><div class=\"chart\">",
            chart.name,
            esc(chart.title)
        );
        match svgs.get(&chart.svg) {
            Some(svg) => out.push_str(inline_svg(svg)),
            None => {
                let _ = write!(out, "<p><i>{}</i></p>", esc(t.chart_failed));
            }
        }
        out.push_str("</div>");
    }
    out.push_str("</section>");
    let _ = writeln!(
        out,
        "<footer>{} {}</footer></body></html>",
        esc(t.generated_by),
        esc(&r.protolab_version)
    );
    out
}
