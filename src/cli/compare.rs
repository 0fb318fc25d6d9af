//! `protolab compare`: TCP vs UDP through the same impairing bridge at several
//! loss levels, with a report (needs root: namespaces and the bridge).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::lab::compare::{compare, CompareConfig, CompareError};
use crate::lab::impair::{ImpairConfig, ImpairError, Loss};

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Loss levels in percent, comma-separated.
    #[arg(long, value_name = "LIST", default_value = "0,1,5,10,20", value_parser = parse_levels)]
    pub loss: Levels,
    /// Bytes each protocol carries per level: 4MiB, 512KiB, 1000000.
    #[arg(long, value_name = "SIZE", default_value = "4MiB", value_parser = super::values::parse_size, allow_hyphen_values = true)]
    pub bytes: u64,
    #[command(flatten)]
    pub impair: super::link_args::ImpairArgs,
    /// Sending rate of the UDP stream (TCP finds its own).
    #[arg(long, value_name = "RATE", default_value = "20mbit", value_parser = ImpairConfig::parse_rate_bps)]
    pub udp_rate: u64,
    /// UDP payload per datagram, probe header included: 24 to 1472 bytes (1400, 1KiB).
    #[arg(long, value_name = "SIZE", default_value = "1400", value_parser = super::values::parse_datagram, allow_hyphen_values = true)]
    pub datagram: u16,
    /// The compare folder (compare-<time>) is created in DIR.
    #[arg(short = 'o', long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// Longest one TCP transfer may take: seconds (120, 2.5) or with a unit (90s).
    #[arg(long, value_name = "SECONDS", default_value = "120", value_parser = super::values::parse_timeout, allow_hyphen_values = true)]
    pub timeout: Duration,
    /// Language of the report (中文: zh).
    #[arg(long, value_parser = super::choices::lang_parser(), default_value = "en")]
    pub lang: crate::chart::Lang,
    /// Runs per level, each with its own seed (seed, seed+1, …): the report gives
    /// the median and the min–max of every figure, since one retransmission
    /// timeout more or less can double a transfer's time.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub runs: u32,
    /// The TCP sender's congestion control (TCP_CONGESTION), e.g. cubic or reno,
    /// the loss-based algorithms the Mathis model describes; default: the
    /// system's (sysctl net.ipv4.tcp_congestion_control).
    #[arg(long = "cc", value_name = "ALGO", value_parser = super::values::parse_congestion)]
    pub congestion_control: Option<String>,
}

/// `compare`'s one-way delay when `--delay` is not given: goodput depends on the
/// round trip, as on a real path (`--delay 0` turns it off).
pub const DEFAULT_DELAY_NS: u64 = 10_000_000;

/// Loss levels in percent.
#[derive(Debug, Clone)]
pub struct Levels(pub Vec<f64>);

fn parse_levels(s: &str) -> Result<Levels, ImpairError> {
    let mut levels = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        levels.push(ImpairConfig::parse_percent("loss level", part)? * 100.0);
    }
    if levels.is_empty() {
        return Err(ImpairError::Config(
            "--loss needs at least one level, e.g. 0,5,10".into(),
        ));
    }
    Ok(Levels(levels))
}

pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }
    let mut impair_args = args.impair.clone();
    impair_args.delay = impair_args.delay.or(Some(DEFAULT_DELAY_NS));
    let config = CompareConfig {
        levels: args.loss.0.clone(),
        impair: impair_args.config(Loss::None)?,
        runs: args.runs,
        congestion_control: args.congestion_control.clone(),
        seed: args.impair.seed,
        bytes: args.bytes,
        out_dir: args.out.clone(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        udp_rate_bps: args.udp_rate,
        datagram_len: usize::from(args.datagram),
        timeout: args.timeout,
        lang: args.lang,
    };
    let flag = Arc::clone(&interrupted);
    let outcome = compare(&config, &move || flag.load(Ordering::Relaxed), &|line| {
        eprintln!("compare: {line}")
    });
    let (report, dir) = match outcome {
        Ok(r) => r,
        Err(CompareError::Interrupted) => {
            eprintln!("protolab: compare interrupted; the lab network was removed");
            return Ok(ExitCode::from(130));
        }
        Err(e) => return Err(e.into()),
    };
    // Medians over the runs (the report has the min–max).
    println!(
        "{:>6} {:>9} | {:>9} {:>8} {:>9} {:>8} {:>7} {:>7} {:>7} {:>7} {:>5} | {:>9} {:>6} {:>9} {:>8}",
        "loss%",
        "measured%",
        "TCP del%",
        "time s",
        "Mbit/s",
        "model",
        "resent",
        "kernel",
        "skbs",
        "dropped",
        "RTOs",
        "UDP del%",
        "lost",
        "jitter ms",
        "p99 ms"
    );
    for l in &report.levels {
        let m = |name: &str| l.figure(name).map(|s| s.0);
        let n = |name: &str| m(name).map_or("-".to_string(), |v| format!("{v:.0}"));
        println!(
            "{:>6} {:>9.2} | {:>9.1} {:>8.3} {:>9.2} {:>8} {:>7} {:>7} {:>7} {:>7} {:>5} | {:>9.1} {:>6} {:>9.3} {:>8.3}",
            l.loss_configured,
            m("loss_measured").unwrap_or(l.loss_measured),
            l.tcp.delivered_percent,
            m("completion_s").unwrap_or(l.tcp.completion_s),
            m("goodput_mbps").unwrap_or(l.tcp.goodput_mbps),
            l.model_goodput_mbps.map_or("-".to_string(), |v| format!("{v:.2}")),
            n("retransmissions_sender_view"),
            n("retransmissions_kernel_segments"),
            n("retransmissions_kernel"),
            n("dropped_data_frames"),
            n("rto_count"),
            m("udp_delivered_percent").unwrap_or(l.udp.delivered_percent),
            n("udp_lost"),
            m("udp_jitter_ms").unwrap_or(l.udp.jitter_ms),
            m("udp_p99_ms").unwrap_or(l.udp.latency_ms.p99)
        );
    }
    println!(
        "report {} ({}, {})",
        dir.join("index.html").display(),
        dir.join("report.md").display(),
        dir.join("report.json").display()
    );
    let tcp_whole = report.levels.iter().all(|l| l.tcp.sha256_match);
    Ok(if tcp_whole {
        ExitCode::SUCCESS
    } else {
        eprintln!("protolab: TCP did not deliver every byte at every level (see the report)");
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse() {
        assert_eq!(
            parse_levels("0, 1,5,10,20").unwrap().0,
            vec![0.0, 1.0, 5.0, 10.0, 20.0]
        );
        assert!(parse_levels("5,200").is_err());
        assert!(parse_levels("").is_err());
    }
}
