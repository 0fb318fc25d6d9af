//! `protolab run SCENARIO`: run a scenario on loopback while capturing, with the
//! kernel's own socket states beside the inferred ones.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::lab::impair::{ImpairConfig, Loss};
use crate::lab::run::{run as run_lab, LinkSettings, RunConfig};
use crate::scenario::{Params, ScenarioName};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario (see `protolab scenarios`).
    #[arg(value_enum)]
    pub scenario: ScenarioName,
    #[command(flatten)]
    pub scenario_args: super::scenario_args::ScenarioArgs,
    /// Server port (each scenario has its own default; 0 picks a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Put the capture and the report under DIR/<run-id>/ instead of captures/ and reports/.
    #[arg(short = 'o', long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Stop the run after this long: seconds (30, 2.5) or with a unit (90s, 500ms).
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = super::values::parse_timeout, allow_hyphen_values = true)]
    pub timeout: Duration,
    /// Bytes kept per captured frame (128 keeps the headers of big transfers small).
    #[arg(short = 's', long, value_name = "SIZE", value_parser = super::values::parse_snaplen, allow_hyphen_values = true)]
    pub snaplen: Option<i32>,
    /// Language of the lab report (中文: zh).
    #[arg(long, value_parser = super::choices::lang_parser(), default_value = "en")]
    pub lang: crate::chart::Lang,
    /// Run in two network namespaces (client 198.18.0.1, server 198.18.0.2) joined
    /// by protolab's bridge, which captures the link; needs root. Implied by any
    /// impairment (--loss, --delay, ...).
    #[arg(long)]
    pub netns: bool,
    /// Frame loss in each direction: a percentage ("5") or Gilbert-Elliott bursts
    /// "ge:P_GB,P_BG,LOSS_GOOD,LOSS_BAD".
    #[arg(long, value_name = "LOSS", value_parser = ImpairConfig::parse_loss)]
    pub loss: Option<Loss>,
    #[command(flatten)]
    pub impair: super::link_args::ImpairArgs,
    #[command(flatten)]
    pub watch: super::watch::WatchFlag,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }
    let recv_dir = std::env::temp_dir().join(format!("protolab-recv-{}", std::process::id()));
    let params = Params {
        recv_dir: recv_dir.clone(),
        ..args.scenario_args.params(args.scenario)
    };
    let netns = if args.netns || args.loss.is_some() || args.impair.any() {
        Some(LinkSettings {
            impair: args.impair.config(args.loss.unwrap_or_default())?,
            seed: args.impair.seed,
        })
    } else {
        None
    };
    let config = RunConfig {
        scenario: args.scenario,
        params,
        port: args.port,
        out_dir: args.out.clone(),
        timeout: args.timeout,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        snaplen: args.snaplen,
        lang: args.lang,
        netns,
    };
    let watch = start_watch(&args, &config)?;
    let flag = Arc::clone(&interrupted);
    let outcome = run_lab(&config, &move || flag.load(Ordering::Relaxed));
    let _ = std::fs::remove_dir_all(&recv_dir);
    let code = outcome.map_err(anyhow::Error::from).map(|outcome| {
        print!("{}", crate::lab::summary::render(&outcome));
        if outcome.interrupted {
            eprintln!(
                "protolab: interrupted; the capture was flushed to {}",
                outcome.capture_path.display()
            );
            ExitCode::from(130)
        } else if outcome.mismatches.is_empty() && outcome.kernel.agree {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    });
    if let Some(session) = watch {
        // The page stays up after the run, for a look at what it showed.
        if !interrupted.load(Ordering::Relaxed) {
            let _ = std::io::Write::flush(&mut std::io::stdout());
            eprintln!("protolab: the run is over; the page stays up until Ctrl-C");
            super::watch::wait_for_interrupt(&interrupted);
        }
        super::watch::finish(session)?;
    }
    code
}

/// `run --watch`: the page on the run's port, started before the run. Only a
/// loopback run with a known port can be watched this way.
fn start_watch(
    args: &RunArgs,
    config: &RunConfig,
) -> anyhow::Result<Option<crate::watch::Session>> {
    if !args.watch.watch {
        return Ok(None);
    }
    let info = crate::scenario::info(args.scenario);
    if config.netns.is_some()
        || args.scenario.crosses()
        || crate::scenario::link_needs(args.scenario).is_some()
    {
        anyhow::bail!(
            "--watch watches loopback runs; {} runs in the lab's namespaces here \
             (watch its capture afterwards with `protolab report`)",
            info.id
        );
    }
    let port = match args.port.unwrap_or(info.default_port) {
        0 => anyhow::bail!("--watch needs the run's port: give --port a number"),
        port => port,
    };
    args.watch.start(port, &info.transport.to_string())
}
