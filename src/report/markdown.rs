//! `report.md`: the report for hand-in, with the charts as PNG images under `charts/`.

use std::fmt::Write;

use super::model::{layers_chart, link_layer_chart, Connection, Phase, Report};
use super::notices;
use super::text::{self, text, Text};
use crate::chart::Lang;

/// Escapes a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn phase_line(t: &Text, name: &str, p: Option<Phase>) -> String {
    match p {
        None => format!("- **{name}**: {}\n", t.none_seen),
        Some(p) => format!(
            "- **{name}**: {} {}–{} ({} {}, {} {}, {} {})\n",
            t.frame,
            p.first_frame,
            p.last_frame,
            p.frames,
            t.frames_word,
            p.segments,
            t.segments,
            p.bytes,
            t.bytes
        ),
    }
}

fn connection(out: &mut String, c: &Connection, lang: Lang) {
    let t = text(lang);
    let kind = if c.proto == "udp" {
        t.udp_stream
    } else {
        t.connection
    };
    let _ = writeln!(out, "### {kind} {}: {} → {}\n", c.flow, c.client, c.server);
    let _ = writeln!(
        out,
        "- **{}**: {} / {}",
        t.conn_state, c.conn_state, c.history
    );
    if !c.client_states.is_empty() {
        let _ = writeln!(
            out,
            "- **{} ({})**: {}",
            t.states,
            t.client,
            crate::analyze::TcpState::path(&c.client_states)
        );
        let _ = writeln!(
            out,
            "- **{} ({})**: {}",
            t.states,
            t.server,
            crate::analyze::TcpState::path(&c.server_states)
        );
    }
    if c.proto == "tcp" {
        out.push_str(&phase_line(t, t.handshake, c.handshake));
        out.push_str(&phase_line(t, t.data, c.data));
        out.push_str(&phase_line(t, t.teardown, c.teardown));
    } else {
        out.push_str(&phase_line(t, t.data, c.data));
    }
    if c.folded > 0 {
        let _ = writeln!(out, "- {} frames: {}", c.folded, t.folded);
    }
    out.push('\n');
    if !c.messages.is_empty() {
        // The application's conversation first, then the TCP ladder that carried it.
        let _ = writeln!(out, "#### {}\n", t.messages);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            t.frame, t.time_ms, t.endpoint, t.message
        );
        out.push_str("|---:|---:|---|---|\n");
        for m in &c.messages {
            let arrow = if m.sender == "client" { "→" } else { "←" };
            let _ = writeln!(
                out,
                "| {} | {:.3} | {} {arrow} | {} |",
                m.frame,
                m.t.0 as f64 / 1e6,
                text::role(m.sender, lang),
                cell(&m.summary)
            );
        }
        out.push('\n');
    }
    for chart in &c.charts {
        let _ = writeln!(out, "![{}]({})\n", chart.title, chart.png);
    }
    if !c.transitions.is_empty() {
        let _ = writeln!(out, "#### {}\n", t.transitions);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            t.frame, t.time_ms, t.endpoint, t.from, t.to, t.why
        );
        out.push_str("|---:|---:|---|---|---|---|\n");
        for r in &c.transitions {
            let _ = writeln!(
                out,
                "| {} | {:.3} | {} | {} | {} | {} |",
                r.frame,
                r.t.0 as f64 / 1e6,
                text::role(r.endpoint, lang),
                r.from,
                r.to,
                cell(&r.why)
            );
        }
        out.push('\n');
    }
}

/// Renders `report.md`.
pub fn render_markdown(r: &Report, lang: Lang) -> String {
    let t = text(lang);
    let s = &r.summary;
    let mut out = String::new();
    let _ = writeln!(out, "# {}: {}\n", t.title, s.capture_name);
    if let Some(d) = &s.damage {
        // Before anything else: every number below is of the whole frames only.
        let _ = writeln!(out, "> **{}** {}\n", t.warning, notices::damage(d, lang));
    }

    let _ = writeln!(out, "## {}\n", t.summary);
    let _ = writeln!(out, "### {}\n", t.what_was_run);
    match &s.run {
        Some(run) => {
            let _ = writeln!(out, "- **{}**: {}", t.scenario, run.scenario);
            let _ = writeln!(out, "- **{}**: `{}`", t.command, run.command);
            if let Some(met) = run.expectation_met {
                let word = if met {
                    t.expectation_met
                } else {
                    t.expectation_failed
                };
                let _ = writeln!(out, "- **{}**: {word}", t.expectation);
                for m in &run.mismatches {
                    let _ = writeln!(out, "  - {m}");
                }
            }
            if !run.notes.is_empty() {
                let _ = writeln!(out, "- **{}**:", t.notes);
                for n in &run.notes {
                    let _ = writeln!(out, "  - {n}");
                }
            }
        }
        None => {
            let _ = writeln!(out, "{}", t.not_a_run);
        }
    }
    out.push('\n');
    let _ = writeln!(out, "- **{}**: `{}`", t.capture_file, s.capture);
    let _ = writeln!(out, "- **SHA-256**: `{}`", s.sha256);
    let _ = writeln!(out, "- **{}**: {}", t.frames, s.frames);
    let _ = writeln!(out, "- **{}**: {}", t.tcp_connections, s.tcp_connections);
    let _ = writeln!(out, "- **{}**: {}", t.udp_streams, s.udp_streams);
    let _ = writeln!(out, "- **{}**: {}", t.other_frames, s.other_frames);
    let _ = writeln!(out, "- **{}**: {} s\n", t.duration, s.duration);
    let _ = writeln!(out, "### {}\n", t.reproduce);
    out.push_str("```sh\n");
    for cmd in &s.reproduce {
        let _ = writeln!(out, "{cmd}");
    }
    out.push_str("```\n\n");

    if !r.notices.is_empty() {
        let _ = writeln!(out, "## {}\n", t.notice);
        for n in &r.notices {
            let _ = writeln!(out, "- {n}");
        }
        out.push('\n');
    }

    if r.link_layer {
        let chart = link_layer_chart(lang);
        let _ = writeln!(out, "## {}\n", t.link_layer);
        let _ = writeln!(out, "{}\n", t.link_layer_intro);
        let _ = writeln!(out, "![{}]({})\n", chart.title, chart.png);
    }

    if let Some(l) = r.layers {
        let chart = layers_chart(lang);
        let _ = writeln!(out, "## {}\n", t.layers);
        let _ = writeln!(
            out,
            "{}\n",
            t.layers_intro.replace("{frame}", &l.frame.to_string())
        );
        let _ = writeln!(out, "![{}]({})\n", chart.title, chart.png);
    }

    let _ = writeln!(out, "## {}\n", t.connections);
    for c in &r.connections {
        connection(&mut out, c, lang);
    }
    if r.omitted_connections > 0 {
        let _ = writeln!(out, "_{} {}_\n", r.omitted_connections, t.omitted);
    }

    let _ = writeln!(out, "## {}\n", t.anomalies);
    if r.anomalies.is_empty() {
        let _ = writeln!(out, "{}\n", t.no_anomalies);
    } else {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            t.frame, t.connection, t.endpoint, t.meaning
        );
        out.push_str("|---:|---:|---|---|\n");
        for a in &r.anomalies {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                a.frame,
                a.flow.map(|f| f.to_string()).unwrap_or_default(),
                a.sender.map(|s| text::role(s, lang)).unwrap_or(""),
                cell(&a.text)
            );
        }
        if r.anomalies_omitted > 0 {
            let _ = writeln!(out, "\n_{} {}_", r.anomalies_omitted, t.anomalies_cut);
        }
        out.push('\n');
    }

    if let Some(k) = &r.kernel {
        let _ = writeln!(out, "## {}\n", t.kernel);
        let _ = writeln!(out, "- **{}**: {}", t.kernel_source, k.source);
        if let Some(why) = &k.unavailable {
            let _ = writeln!(out, "- {}: {why}", t.kernel_unavailable);
        }
        out.push('\n');
        for c in &k.connections {
            for e in [&c.client, &c.server] {
                let _ = writeln!(
                    out,
                    "### {} {} — {} {}\n",
                    t.connection,
                    c.flow,
                    text::role(e.endpoint, lang),
                    e.local
                );
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    t.frame, t.inferred, t.kernel_state, t.offset_us, t.agree
                );
                out.push_str("|---:|---|---|---:|---|\n");
                for row in &e.rows {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {} |",
                        row.frame.map(|f| f.to_string()).unwrap_or_default(),
                        row.inferred.map(|s| s.name()).unwrap_or("—"),
                        row.kernel.map(|s| s.name()).unwrap_or("—"),
                        row.offset_us.map(|o| o.to_string()).unwrap_or_default(),
                        if row.agree { t.yes } else { t.no }
                    );
                }
                out.push('\n');
            }
        }
    }

    let _ = writeln!(out, "## {}\n", t.udp);
    if r.udp.is_empty() {
        let _ = writeln!(out, "{}\n", t.no_udp);
    } else {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            t.udp_stream, t.client, t.server, t.datagrams, t.answered
        );
        out.push_str("|---:|---|---|---|---:|\n");
        for u in &r.udp {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} / {} | {} |",
                u.flow, u.client, u.server, u.datagrams.client, u.datagrams.server, u.answered
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "---\n{} {}", t.generated_by, env!("CARGO_PKG_VERSION"));
    out
}
