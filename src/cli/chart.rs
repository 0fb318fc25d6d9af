//! `protolab chart FILE --kind …`: one picture of one flow, as SVG or PNG.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;

use crate::chart::{render_png, render_svg, ChartError, ChartKind, ChartOptions, Lang};

#[derive(Debug, Args)]
pub struct ChartArgs {
    /// A pcap or pcapng file; `-` reads standard input (`tcpdump -w - | protolab …`).
    pub file: PathBuf,
    /// Which picture to draw.
    #[arg(long, value_parser = super::choices::kind_parser())]
    pub kind: ChartKind,
    /// Flow id (see `protolab flows FILE`); default: the first TCP flow. 0 draws the
    /// frames outside any flow (ARP, ICMP).
    #[arg(long)]
    pub flow: Option<u64>,
    /// Frame number for `--kind layers` (default: the flow's first frame).
    #[arg(long)]
    pub frame: Option<u64>,
    /// Language of the labels.
    #[arg(long, value_parser = super::choices::lang_parser(), default_value = "en")]
    pub lang: Lang,
    /// Width in pixels.
    #[arg(long, default_value_t = 1200)]
    pub width: u32,
    /// Height in pixels (default 800; the state diagram: as tall as its figure
    /// needs at this width).
    #[arg(long)]
    pub height: Option<u32>,
    /// Output file; `.svg` or `.png` decides the format.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Svg,
    Png,
}

pub fn run(args: ChartArgs) -> anyhow::Result<ExitCode> {
    let format = match args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("svg") => Format::Svg,
        Some("png") => Format::Png,
        _ => bail!(
            "{}: the output name must end in .svg or .png (that picks the format)",
            args.output.display()
        ),
    };
    let data =
        crate::files::load_capture(&args.file).with_context(|| args.file.display().to_string())?;
    let flow = match (args.flow, args.kind) {
        (Some(f), _) => f,
        (None, ChartKind::Layers) if args.frame.is_some() => args
            .frame
            .and_then(|n| data.frame(n))
            .and_then(|r| r.analysis.flow)
            .unwrap_or(0),
        (None, _) => match data.default_flow() {
            Some(f) => f,
            None if !data.other.is_empty() => 0,
            None => bail!("{}: {}", args.file.display(), ChartError::NoFlows),
        },
    };
    // A `--netns` run's capture: bridge.json beside it says which frames were dropped.
    let dropped = crate::files::dropped_frames_beside(&args.file);
    // …and kernel.json what the kernel's congestion control did (root runs).
    let (kernel_window, kernel_states) = match args.kind {
        ChartKind::Window => crate::report::dynamics::kernel_chart_lines(
            crate::files::kernel_tcp_beside(&args.file).as_ref(),
            &data,
            flow,
        ),
        _ => Default::default(),
    };
    let opts = ChartOptions {
        lang: args.lang,
        kernel: None,
        frame: args.frame,
        frames: None,
        mark: None,
        dropped: &dropped,
        kernel_window: &kernel_window,
        kernel_states: &kernel_states,
        width: args.width,
        height: args.height.unwrap_or(args.kind.default_height()),
    };
    let file = args.file.display();
    let bytes = match format {
        Format::Svg => render_svg(args.kind, &data, flow, &opts).map(String::into_bytes),
        Format::Png => {
            if args.lang == Lang::Zh {
                crate::files::load_cjk_font();
            }
            render_png(args.kind, &data, flow, &opts)
        }
    }
    .map_err(|e| match e {
        ChartError::NoSuchFlow(n) => {
            anyhow::anyhow!("no flow {n} in {file}: `protolab flows {file}` lists them")
        }
        e => anyhow::anyhow!("{file}: {e}"),
    })?;
    std::fs::write(&args.output, bytes)
        .with_context(|| format!("writing {}", args.output.display()))?;
    // Like inspect and flows: the whole frames are shown, then the damage is an error.
    if let Some(d) = &data.damage {
        bail!(d.after_writing(&format!("chart {}", args.output.display())));
    }
    Ok(ExitCode::SUCCESS)
}
