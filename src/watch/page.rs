//! The live page, assembled once from assets embedded in the binary: the HTML,
//! its script and style, the report's own style (for the state diagram and the
//! layers), and the state diagram as `chart --kind diagram` lays it out, drawn by
//! the report player's template. Nothing is fetched from anywhere else: the page
//! works with no network at all.

use crate::chart::Lang;
use crate::report::player_diagram;

const HTML: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/watch.js");
const STYLE: &str = include_str!("assets/watch.css");
const REPORT_STYLE: &str = include_str!("../report/templates/style.css");

/// The id of the page's diagram: its boxes are `w-n-{STATE}`, as in the player.
pub const DIAGRAM_ID: &str = "w";

/// The whole page, scripts and style inline (so one request, with its token,
/// fetches all of it).
pub fn page() -> String {
    let diagram = player_diagram::svg(&player_diagram::standard(DIAGRAM_ID, Lang::En));
    HTML.replace("/*STYLE*/", &format!("{REPORT_STYLE}\n{STYLE}"))
        .replace("<!--DIAGRAM-->", &diagram)
        .replace("/*SCRIPT*/", SCRIPT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_whole_and_fetches_nothing() {
        let p = page();
        assert!(p.contains("id=\"w-diagram\""));
        assert!(p.contains("id=\"w-n-ESTABLISHED\""));
        assert!(p.contains("EventSource"));
        assert!(!p.contains("/*SCRIPT*/") && !p.contains("<!--DIAGRAM-->"));
        for remote in [
            "src=\"http",
            "href=\"http",
            "url(http",
            "@import",
            "src=\"//",
        ] {
            assert!(!p.contains(remote), "the page must not load {remote}…");
        }
    }
}
