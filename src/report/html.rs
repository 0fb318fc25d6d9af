//! `index.html`: the report in one self-contained page — inline CSS, inline SVG
//! charts, and a small inline script for the step-through players. No network,
//! works from `file://`.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::input::ReportInput;
use super::model::{layers_chart, link_layer_chart, Connection, Phase, Report};
use super::notices;
use super::player;
use super::text::{self, text, Text};
use crate::chart::Lang;

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside `<script>`: no `</script>` can end it early.
fn script_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value)
        .expect("serialisable")
        .replace("</", "<\\/")
}

/// A chart's SVG for inline use (the XML declaration removed).
pub(crate) fn inline_svg(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

pub(crate) const CSS: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:0 auto;max-width:1100px;padding:1rem 1.5rem;color:#222;line-height:1.45}
h1{border-bottom:3px solid #2a6f97;padding-bottom:.3rem}
h2{border-bottom:1px solid #ccc;margin-top:2rem}
code{background:#f3f3f3;padding:0 .25rem;border-radius:3px}
pre{background:#f3f3f3;padding:.6rem;overflow-x:auto}
table{border-collapse:collapse;margin:.5rem 0;font-size:.92rem}
th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#eef4f8}
tr.bad td{background:#fde2e2}
.chart{overflow-x:auto;margin:.5rem 0}
.chart svg{max-width:100%;height:auto}
.notices li{margin:.2rem 0}
.player{border:1px solid #9ab;border-radius:6px;padding:.6rem;margin:1rem 0;background:#fafcfd}
.player .controls{display:flex;gap:.5rem;align-items:center;flex-wrap:wrap}
.player .controls input[type=range]{flex:1;min-width:200px}
.player .states{display:flex;gap:1rem;margin:.5rem 0}
.player .state{flex:1;border:1px solid #ccc;border-radius:4px;padding:.3rem .5rem;background:#fff}
.player .state b{font-family:ui-monospace,monospace;font-size:1.1rem;color:#2a6f97}
.player .state.changed{border-color:#e07a00;box-shadow:0 0 0 2px #ffd9a8}
.player .caption{font-family:ui-monospace,monospace;font-size:.9rem}
.player .changes{color:#a35200;font-size:.9rem;min-height:1.2rem}
.player .body{display:flex;gap:1rem;flex-wrap:wrap}
.player .ladder-box{max-height:480px;overflow:auto;border:1px solid #ddd;background:#fff}
.player .layers{flex:1;min-width:260px}
.layer{border:2px solid #888;border-radius:4px;padding:.25rem .4rem;margin:.25rem}
.layer .name{font-weight:bold}
.layer .fields{font-family:ui-monospace,monospace;font-size:.82rem}
.layer.l0{border-color:#6a4c93;background:#f3eefa}.layer.l1{border-color:#1982c4;background:#e9f4fb}
.layer.l2{border-color:#8ac926;background:#f1f9e6}.layer.l3{border-color:#ff924c;background:#fff1e8}
.ladder .who{font-weight:bold;font-size:14px}
.ladder .addr{font-size:11px;fill:#555}
.ladder .life{stroke:#333;stroke-width:2}
.ladder .seg line{stroke:#4a4a4a;stroke-width:1.3}
.ladder .seg.ctl line{stroke:#2a6f97}
.ladder .seg.retrans line{stroke:#d62828}
.ladder .seg.dup line{stroke:#e07a00}
.ladder .seg text.lbl{font-size:11px;font-family:ui-monospace,monospace;paint-order:stroke;stroke:#fff;stroke-width:3px}
.ladder .seg text.fno{font-size:10px;fill:#777}
.ladder .seg.current line{stroke:#d10068;stroke-width:3.5}
.ladder .seg.current text.lbl{fill:#d10068;font-weight:bold}
.ladder .seg.past{opacity:.55}
footer{margin-top:2rem;color:#777;font-size:.85rem}
.damage{background:#fde2e2;border-left:4px solid #d62828;padding:.5rem .8rem}
"#;

const SCRIPT: &str = r#"
(function () {
  'use strict';
  function setText(id, value) {
    var e = document.getElementById(id);
    if (e) { e.textContent = value; }
  }
  document.querySelectorAll('.player').forEach(function (p) {
    var id = p.getAttribute('data-player');
    var steps = JSON.parse(document.getElementById(id + '-data').textContent);
    var slider = document.getElementById(id + '-slider');
    var prev = document.getElementById(id + '-prev');
    var next = document.getElementById(id + '-next');
    var layers = document.getElementById(id + '-layers');
    var at = 0;
    function show(n) {
      var before = steps[at];
      at = Math.max(0, Math.min(steps.length - 1, n));
      var s = steps[at];
      p.querySelectorAll('.seg').forEach(function (g) {
        var k = parseInt(g.getAttribute('data-step'), 10);
        g.classList.toggle('current', k === at);
        g.classList.toggle('past', k < at);
      });
      var cur = document.getElementById(id + '-s' + s.seg);
      if (cur && cur.scrollIntoView) { cur.scrollIntoView({block: 'nearest'}); }
      setText(id + '-client-state', s.client);
      setText(id + '-server-state', s.server);
      document.getElementById(id + '-client-box').classList.toggle('changed', at > 0 && before.client !== s.client);
      document.getElementById(id + '-server-box').classList.toggle('changed', at > 0 && before.server !== s.server);
      setText(id + '-caption', s.caption);
      setText(id + '-changes', s.changes.join(' · '));
      setText(id + '-pos', at + ' / ' + (steps.length - 1));
      while (layers.firstChild) { layers.removeChild(layers.firstChild); }
      var parent = layers;
      s.layers.forEach(function (l, i) {
        var box = document.createElement('div');
        box.className = 'layer l' + Math.min(i, 3);
        var name = document.createElement('div');
        name.className = 'name';
        name.textContent = l[0];
        var fields = document.createElement('div');
        fields.className = 'fields';
        fields.textContent = l[1];
        box.appendChild(name);
        box.appendChild(fields);
        parent.appendChild(box);
        parent = box;
      });
      slider.value = String(at);
      prev.disabled = at === 0;
      next.disabled = at === steps.length - 1;
    }
    prev.addEventListener('click', function () { show(at - 1); });
    next.addEventListener('click', function () { show(at + 1); });
    slider.addEventListener('input', function () { show(parseInt(slider.value, 10)); });
    p.addEventListener('keydown', function (e) {
      if (e.key === 'ArrowRight') { show(at + 1); }
      if (e.key === 'ArrowLeft') { show(at - 1); }
    });
    show(0);
  });
  document.body.setAttribute('data-players-ready', 'true');
})();
"#;

fn phase_item(out: &mut String, t: &Text, name: &str, p: Option<Phase>) {
    match p {
        None => {
            let _ = write!(out, "<li><b>{}</b>: {}</li>", esc(name), esc(t.none_seen));
        }
        Some(p) => {
            let _ = write!(
                out,
                "<li><b>{}</b>: {} {}–{} ({} {}, {} {}, {} {})</li>",
                esc(name),
                esc(t.frame),
                p.first_frame,
                p.last_frame,
                p.frames,
                esc(t.frames_word),
                p.segments,
                esc(t.segments),
                p.bytes,
                esc(t.bytes)
            );
        }
    }
}

fn chart_block(
    out: &mut String,
    title: &str,
    path: &str,
    svgs: &BTreeMap<String, String>,
    t: &Text,
) {
    if !title.is_empty() {
        let _ = write!(out, "<h4>{}</h4>", esc(title));
    }
    out.push_str("<div class=\"chart\">");
    match svgs.get(path) {
        Some(svg) => out.push_str(inline_svg(svg)),
        None => {
            let _ = write!(out, "<p><i>{}</i></p>", esc(t.chart_failed));
        }
    }
    out.push_str("</div>");
}

fn player_block(out: &mut String, c: &Connection, input: &ReportInput, lang: Lang) {
    let t = text(lang);
    let empty = Vec::new();
    let frames = input.data.frames.get(&c.flow).unwrap_or(&empty);
    let id = format!("p{}", c.flow);
    let steps = player::steps(c, frames, lang);
    let last = steps.len() - 1;
    let _ = write!(
        out,
        "<h4>{}</h4><div class=\"player\" id=\"{id}\" data-player=\"{id}\" tabindex=\"0\">\
         <div class=\"controls\"><button type=\"button\" id=\"{id}-prev\" class=\"prev\">{}</button>\
         <input type=\"range\" id=\"{id}-slider\" min=\"0\" max=\"{last}\" value=\"0\">\
         <button type=\"button\" id=\"{id}-next\" class=\"next\">{}</button><span id=\"{id}-pos\"></span></div>\
         <div class=\"caption\" id=\"{id}-caption\"></div>\
         <div class=\"states\"><div class=\"state\" id=\"{id}-client-box\">{} {}: <b id=\"{id}-client-state\"></b></div>\
         <div class=\"state\" id=\"{id}-server-box\">{} {}: <b id=\"{id}-server-state\"></b></div></div>\
         <div class=\"changes\" id=\"{id}-changes\"></div>\
         <div class=\"body\"><div class=\"ladder-box\">{}</div><div class=\"layers\" id=\"{id}-layers\"></div></div>\
         <script type=\"application/json\" id=\"{id}-data\">{}</script></div>",
        esc(t.player),
        esc(t.previous),
        esc(t.next),
        esc(t.client),
        esc(&c.client.to_string()),
        esc(t.server),
        esc(&c.server.to_string()),
        player::ladder_svg(&id, c, frames, lang),
        script_json(&steps)
    );
    if frames.len() > player::MAX_STEPS {
        let _ = write!(
            out,
            "<p><i>{} / {} {}</i></p>",
            player::MAX_STEPS,
            frames.len(),
            esc(t.frames_word)
        );
    }
}

fn connection(
    out: &mut String,
    c: &Connection,
    input: &ReportInput,
    svgs: &BTreeMap<String, String>,
    lang: Lang,
) {
    let t = text(lang);
    let kind = if c.proto == "udp" {
        t.udp_stream
    } else {
        t.connection
    };
    let _ = write!(
        out,
        "<section class=\"connection\" id=\"flow-{}\"><h3>{} {}: {} → {}</h3><ul>",
        c.flow,
        esc(kind),
        c.flow,
        esc(&c.client.to_string()),
        esc(&c.server.to_string())
    );
    let _ = write!(
        out,
        "<li><b>{}</b>: {} / <code>{}</code></li>",
        esc(t.conn_state),
        esc(c.conn_state),
        esc(&c.history)
    );
    if !c.client_states.is_empty() {
        for (who, states) in [(t.client, &c.client_states), (t.server, &c.server_states)] {
            let _ = write!(
                out,
                "<li><b>{} ({})</b>: <code>{}</code></li>",
                esc(t.states),
                esc(who),
                esc(&crate::analyze::TcpState::path(states))
            );
        }
        phase_item(out, t, t.handshake, c.handshake);
        phase_item(out, t, t.data, c.data);
        phase_item(out, t, t.teardown, c.teardown);
    } else {
        phase_item(out, t, t.data, c.data);
    }
    if c.folded > 0 {
        let _ = write!(
            out,
            "<li>{} {}: {}</li>",
            c.folded,
            esc(t.frames_word),
            esc(t.folded)
        );
    }
    out.push_str("</ul>");
    if !c.messages.is_empty() {
        // The application's conversation first, then the TCP segments that carried it.
        let _ = write!(
            out,
            "<h4>{}</h4><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            esc(t.messages),
            esc(t.frame),
            esc(t.time_ms),
            esc(t.endpoint),
            esc(t.message)
        );
        for m in &c.messages {
            let arrow = if m.sender == "client" { "→" } else { "←" };
            let _ =
                write!(
                out,
                "<tr><td>{}</td><td>{:.3}</td><td>{} {arrow}</td><td><code>{}</code> {}</td></tr>",
                m.frame,
                m.t.0 as f64 / 1e6,
                esc(text::role(m.sender, lang)),
                esc(&m.kind),
                esc(m.summary.strip_prefix(m.kind.as_str()).unwrap_or(&m.summary).trim())
            );
        }
        out.push_str("</table>");
    }
    player_block(out, c, input, lang);
    for chart in &c.charts {
        chart_block(out, &chart.title, &chart.svg, svgs, t);
    }
    if !c.transitions.is_empty() {
        let _ = write!(
            out,
            "<h4>{}</h4><table class=\"transitions\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            esc(t.transitions),
            esc(t.frame),
            esc(t.time_ms),
            esc(t.endpoint),
            esc(t.from),
            esc(t.to),
            esc(t.why)
        );
        for r in &c.transitions {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                r.frame,
                r.t.0 as f64 / 1e6,
                esc(text::role(r.endpoint, lang)),
                r.from,
                r.to,
                esc(&r.why)
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</section>");
}

/// Renders `index.html`. `svgs` maps chart paths (`charts/…svg`) to their SVG text.
pub fn render_html(
    r: &Report,
    input: &ReportInput,
    svgs: &BTreeMap<String, String>,
    lang: Lang,
) -> String {
    let t = text(lang);
    let s = &r.summary;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}: {}</title><style>{CSS}</style></head><body>",
        t.html_lang,
        esc(t.title),
        esc(&s.capture_name)
    );
    let _ = write!(out, "<h1>{}: {}</h1>", esc(t.title), esc(&s.capture_name));
    if let Some(d) = &s.damage {
        // Before anything else: every number below is of the whole frames only.
        let _ = write!(
            out,
            "<p class=\"damage\"><b>{}</b> {}</p>",
            esc(t.warning),
            esc(&notices::damage(d, lang))
        );
    }

    let _ = write!(
        out,
        "<section id=\"summary\"><h2>{}</h2><h3>{}</h3>",
        esc(t.summary),
        esc(t.what_was_run)
    );
    match &s.run {
        Some(run) => {
            let _ = write!(
                out,
                "<ul><li><b>{}</b>: {}</li><li><b>{}</b>: <code>{}</code></li>",
                esc(t.scenario),
                esc(&run.scenario),
                esc(t.command),
                esc(&run.command)
            );
            if let Some(met) = run.expectation_met {
                let word = if met {
                    t.expectation_met
                } else {
                    t.expectation_failed
                };
                let _ = write!(out, "<li><b>{}</b>: {}", esc(t.expectation), esc(word));
                if !run.mismatches.is_empty() {
                    out.push_str("<ul>");
                    for m in &run.mismatches {
                        let _ = write!(out, "<li>{}</li>", esc(m));
                    }
                    out.push_str("</ul>");
                }
                out.push_str("</li>");
            }
            if !run.notes.is_empty() {
                let _ = write!(out, "<li><b>{}</b>:<ul>", esc(t.notes));
                for n in &run.notes {
                    let _ = write!(out, "<li>{}</li>", esc(n));
                }
                out.push_str("</ul></li>");
            }
            out.push_str("</ul>");
        }
        None => {
            let _ = write!(out, "<p>{}</p>", esc(t.not_a_run));
        }
    }
    let _ = write!(
        out,
        "<table><tr><th>{}</th><td><code>{}</code></td></tr><tr><th>SHA-256</th><td><code>{}</code></td></tr>\
         <tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr>\
         <tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{} s</td></tr></table>",
        esc(t.capture_file),
        esc(&s.capture),
        esc(&s.sha256),
        esc(t.frames),
        s.frames,
        esc(t.tcp_connections),
        s.tcp_connections,
        esc(t.udp_streams),
        s.udp_streams,
        esc(t.other_frames),
        s.other_frames,
        esc(t.duration),
        s.duration
    );
    let _ = write!(out, "<h3>{}</h3><pre>", esc(t.reproduce));
    for cmd in &s.reproduce {
        let _ = writeln!(out, "{}", esc(cmd));
    }
    out.push_str("</pre></section>");

    if !r.notices.is_empty() {
        let _ = write!(
            out,
            "<section id=\"notice\"><h2>{}</h2><ul class=\"notices\">",
            esc(t.notice)
        );
        for n in &r.notices {
            let _ = write!(out, "<li>{}</li>", esc(n));
        }
        out.push_str("</ul></section>");
    }

    if r.link_layer {
        let chart = link_layer_chart(lang);
        let _ = write!(
            out,
            "<section id=\"link-layer\"><h2>{}</h2><p>{}</p>",
            esc(t.link_layer),
            esc(t.link_layer_intro)
        );
        chart_block(&mut out, "", &chart.svg, svgs, t);
        out.push_str("</section>");
    }

    if let Some(l) = r.layers {
        let chart = layers_chart(lang);
        let _ = write!(
            out,
            "<section id=\"layers\"><h2>{}</h2><p>{}</p>",
            esc(t.layers),
            esc(&t.layers_intro.replace("{frame}", &l.frame.to_string()))
        );
        // The section heading already names it.
        chart_block(&mut out, "", &chart.svg, svgs, t);
        out.push_str("</section>");
    }

    let _ = write!(
        out,
        "<section id=\"connections\"><h2>{}</h2>",
        esc(t.connections)
    );
    for c in &r.connections {
        connection(&mut out, c, input, svgs, lang);
    }
    if r.omitted_connections > 0 {
        let _ = write!(
            out,
            "<p><i>{} {}</i></p>",
            r.omitted_connections,
            esc(t.omitted)
        );
    }
    out.push_str("</section>");

    let _ = write!(
        out,
        "<section id=\"anomalies\"><h2>{}</h2>",
        esc(t.anomalies)
    );
    if r.anomalies.is_empty() {
        let _ = write!(out, "<p>{}</p>", esc(t.no_anomalies));
    } else {
        let _ = write!(
            out,
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            esc(t.frame),
            esc(t.connection),
            esc(t.endpoint),
            esc(t.meaning)
        );
        for a in &r.anomalies {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                a.frame,
                a.flow.map(|f| f.to_string()).unwrap_or_default(),
                a.sender.map(|s| text::role(s, lang)).unwrap_or(""),
                esc(&a.text)
            );
        }
        out.push_str("</table>");
        if r.anomalies_omitted > 0 {
            let _ = write!(
                out,
                "<p><i>{} {}</i></p>",
                r.anomalies_omitted,
                esc(t.anomalies_cut)
            );
        }
    }
    out.push_str("</section>");

    if let Some(k) = &r.kernel {
        let _ = write!(
            out,
            "<section id=\"kernel\"><h2>{}</h2><p><b>{}</b>: {}</p>",
            esc(t.kernel),
            esc(t.kernel_source),
            esc(&k.source)
        );
        if let Some(why) = &k.unavailable {
            let _ = write!(out, "<p>{}: {}</p>", esc(t.kernel_unavailable), esc(why));
        }
        for c in &k.connections {
            for e in [&c.client, &c.server] {
                let _ = write!(
                    out,
                    "<h4>{} {} — {} {}</h4><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
                    esc(t.connection),
                    c.flow,
                    esc(text::role(e.endpoint, lang)),
                    e.local,
                    esc(t.frame),
                    esc(t.inferred),
                    esc(t.kernel_state),
                    esc(t.offset_us),
                    esc(t.agree)
                );
                for row in &e.rows {
                    let _ = write!(
                        out,
                        "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        if row.agree { "" } else { " class=\"bad\"" },
                        row.frame.map(|f| f.to_string()).unwrap_or_default(),
                        row.inferred.map(|s| s.name()).unwrap_or("—"),
                        row.kernel.map(|s| s.name()).unwrap_or("—"),
                        row.offset_us.map(|o| o.to_string()).unwrap_or_default(),
                        esc(if row.agree { t.yes } else { t.no })
                    );
                }
                out.push_str("</table>");
            }
        }
        out.push_str("</section>");
    }

    let _ = write!(out, "<section id=\"udp\"><h2>{}</h2>", esc(t.udp));
    if r.udp.is_empty() {
        let _ = write!(out, "<p>{}</p>", esc(t.no_udp));
    } else {
        let _ = write!(
            out,
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            esc(t.udp_stream),
            esc(t.client),
            esc(t.server),
            esc(t.datagrams),
            esc(t.answered)
        );
        for u in &r.udp {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td></tr>",
                u.flow, u.client, u.server, u.datagrams.client, u.datagrams.server, u.answered
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</section>");
    let _ = writeln!(
        out,
        "<footer>{} {}</footer><script>{SCRIPT}</script></body></html>",
        esc(t.generated_by),
        env!("CARGO_PKG_VERSION")
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_html() {
        assert_eq!(esc("<b a=\"1\">&'"), "&lt;b a=&quot;1&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn embedded_json_cannot_end_its_script_element() {
        let json = script_json(&vec!["</script><script>alert(1)"]);
        assert!(!json.contains("</"), "{json}");
        let back: Vec<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ["</script><script>alert(1)"]);
    }

    #[test]
    fn inline_svg_drops_the_xml_declaration() {
        assert_eq!(inline_svg("<?xml version=\"1.0\"?>\n<svg/>"), "<svg/>");
    }
}
