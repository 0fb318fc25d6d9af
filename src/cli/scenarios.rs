//! `protolab scenarios`: the scenarios, what each teaches, and the arcs of the TCP
//! state diagram each demonstrates (`--json` for scripts, `--arcs` for the coverage
//! table of every arc).

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::analyze::diagram::DiagramArc;
use crate::analyze::TcpState;
use crate::chart::Lang;
use crate::scenario::{self, arcs};

#[derive(Debug, Args)]
pub struct ScenariosArgs {
    /// Language of the explanations (zh: 用中文说明), as for run, report and chart.
    #[arg(long, value_parser = super::choices::lang_parser(), default_value = "en")]
    pub lang: Lang,
    /// The same as `--lang zh` (kept for scripts written before --lang).
    #[arg(long, hide = true)]
    pub zh: bool,
    /// One JSON object per scenario (NDJSON): id, transport, default_port, network,
    /// teaches, and the diagram arcs it demonstrates.
    #[arg(long)]
    pub json: bool,
    /// Instead, the coverage table of every arc of the TCP state diagram (Markdown):
    /// which scenario takes it, whether the packets show it, whether Linux can.
    #[arg(long, conflicts_with = "json")]
    pub arcs: bool,
}

/// One scenario as `--json` writes it.
#[derive(Serialize)]
struct ScenarioJson<'a> {
    id: &'a str,
    transport: &'a str,
    default_port: u16,
    /// `loopback`, or `lab` when the scenario needs the two namespaces (`run` picks them).
    network: &'a str,
    teaches: &'a str,
    arcs: Vec<ArcJson>,
}

/// One diagram arc a scenario demonstrates.
#[derive(Serialize)]
struct ArcJson {
    from: TcpState,
    to: TcpState,
    trigger: &'static str,
    label: &'static str,
}

impl ArcJson {
    fn of(a: &DiagramArc, zh: bool) -> Self {
        ArcJson {
            from: a.from,
            to: a.to,
            trigger: arcs::trigger_name(a.trigger),
            label: a.label_in(zh),
        }
    }
}

pub fn run(args: ScenariosArgs) -> anyhow::Result<ExitCode> {
    // writeln, not println: `protolab scenarios | head -1` closes the pipe early,
    // which must end the listing quietly rather than panic.
    let mut out = std::io::stdout().lock();
    let width = scenario::all()
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(0);
    if args.arcs {
        write!(out, "{}", arcs::coverage_table())?;
        return Ok(ExitCode::SUCCESS);
    }
    let zh = args.zh || args.lang == Lang::Zh;
    for s in scenario::all() {
        let transport = s.transport.name();
        let teaches = if zh { s.teaches_zh } else { s.teaches };
        let taken = arcs::arcs(s.name);
        if args.json {
            let record = ScenarioJson {
                id: s.id,
                transport,
                default_port: s.default_port,
                network: if scenario::link_needs(s.name).is_some() || s.name.crosses() {
                    "lab"
                } else {
                    "loopback"
                },
                teaches,
                arcs: taken.iter().map(|a| ArcJson::of(a, zh)).collect(),
            };
            serde_json::to_writer(&mut out, &record)?;
            writeln!(out)?;
            continue;
        }
        writeln!(
            out,
            "{:<width$} {transport} {:>5}  {teaches}",
            s.id, s.default_port
        )?;
        if !taken.is_empty() {
            let list: Vec<String> = taken
                .iter()
                .map(|a| format!("{} ({})", arcs::arc_name(a), a.label_in(zh)))
                .collect();
            let head = if zh { "状态图弧" } else { "arcs" };
            writeln!(out, "{:<width$} {head}: {}", "", list.join(" · "))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
