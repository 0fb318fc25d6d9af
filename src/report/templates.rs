//! The pages' templates (minijinja), embedded in the binary: one template per page
//! (`report.html`, `report.md`, `compare.html`, `compare.md`), the `table` macros the
//! pages share (`table.html`, `table.md`), and the page's inline style and script.
//!
//! Escaping is the engine's: templates named `*.html` are auto-escaped for HTML, so
//! a value is escaped exactly once, where it is written. Markup made by protolab
//! itself (the inline SVG charts) goes in as a safe value, see [`trusted`].
//! Markdown has no escaping of its own; the `cell` filter keeps a table cell on its
//! row (`|` and newlines).

use minijinja::{Environment, Value};
use serde::Serialize;

/// (name, source) of every template.
const TEMPLATES: &[(&str, &str)] = &[
    ("report.html", include_str!("templates/report.html")),
    ("report.md", include_str!("templates/report.md")),
    ("compare.html", include_str!("templates/compare.html")),
    ("compare.md", include_str!("templates/compare.md")),
    ("table.html", include_str!("templates/table.html")),
    ("table.md", include_str!("templates/table.md")),
    ("player.html", include_str!("templates/player.html")),
    ("style.css", include_str!("templates/style.css")),
    ("compare.css", include_str!("templates/compare.css")),
    ("player.js", include_str!("templates/player.js")),
];

/// A Markdown table cell on one line, its `|` escaped.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Block tags on their own lines leave no blank lines behind.
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.add_filter("cell", md_cell);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name}: {e:#}"));
    }
    env
}

/// Renders the page `name` with `ctx`. The templates are part of the binary and
/// tested, so an error here is a bug in them, not in the input.
pub fn render(name: &str, ctx: impl Serialize) -> String {
    environment()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| panic!("template {name}: {e:#}"))
}

/// Renders a template given as source (one that imports the embedded macros).
pub fn render_str(source: &str, ctx: impl Serialize) -> String {
    environment()
        .render_str(source, ctx)
        .unwrap_or_else(|e| panic!("template {source:?}: {e:#}"))
}

/// Markup protolab made itself (a chart's SVG), to be written as it is.
pub fn trusted(markup: &str) -> Value {
    Value::from_safe_string(markup.to_string())
}

/// A chart's SVG for inline use (the XML declaration removed).
pub fn inline_svg(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let env = environment();
        for (name, _) in TEMPLATES {
            env.get_template(name).unwrap();
        }
    }

    #[test]
    fn html_pages_are_escaped_by_the_engine_and_markdown_cells_stay_on_their_row() {
        let env = environment();
        let html = env
            .render_str("{{ x }}", minijinja::context! { x => "<b a=\"1\">&'" })
            .unwrap();
        // render_str has no name, so no auto-escape: the .html templates do.
        assert_eq!(html, "<b a=\"1\">&'");
        let t = env.template_from_named_str("x.html", "{{ x }}").unwrap();
        let out = t
            .render(minijinja::context! { x => "<b a=\"1\">&'" })
            .unwrap();
        assert_eq!(out, "&lt;b a=&quot;1&quot;&gt;&amp;&#x27;");
        assert_eq!(md_cell("a|b\nc"), "a\\|b c");
    }

    #[test]
    fn embedded_json_cannot_end_its_script_element() {
        let env = environment();
        let t = env
            .template_from_named_str("x.html", "<script>{{ x|tojson }}</script>")
            .unwrap();
        let out = t
            .render(minijinja::context! { x => vec!["</script><script>alert(1)"] })
            .unwrap();
        let json = out
            .strip_prefix("<script>")
            .and_then(|s| s.strip_suffix("</script>"))
            .unwrap();
        assert!(!json.contains('<'), "{json}");
        let back: Vec<String> = serde_json::from_str(json).unwrap();
        assert_eq!(back, ["</script><script>alert(1)"]);
    }

    #[test]
    fn a_chart_that_was_not_drawn_is_said_in_its_place() {
        let t = crate::report::text::text(crate::chart::Lang::En);
        let page = render(
            "report.html",
            minijinja::context! {
                t,
                connections => vec![minijinja::context! {
                    flow => 1,
                    heading => "Connection 1",
                    charts => vec![minijinja::context! { title => "Ladder", png => "charts/x.png" }],
                }],
            },
        );
        assert!(
            page.contains(&format!(
                "<h4>Ladder</h4>\n<div class=\"chart\"><p><i>{}</i></p></div>",
                t.chart_failed
            )),
            "{page}"
        );
    }

    #[test]
    fn page_text_is_escaped_in_html_and_kept_in_markdown() {
        let t = crate::report::text::text(crate::chart::Lang::En);
        let ctx = minijinja::context! { t, title => "a<b>&c", notices => vec!["x < y"] };
        let html = render("report.html", &ctx);
        assert!(
            html.contains("<h1>Lab report: a&lt;b&gt;&amp;c</h1>"),
            "{html}"
        );
        assert!(html.contains("<li>x &lt; y</li>"));
        let md = render("report.md", &ctx);
        assert!(md.starts_with("# Lab report: a<b>&c\n"), "{md}");
        assert!(md.contains("- x < y\n"));
    }

    #[test]
    fn inline_svg_drops_the_xml_declaration() {
        assert_eq!(inline_svg("<?xml version=\"1.0\"?>\n<svg/>"), "<svg/>");
    }
}
