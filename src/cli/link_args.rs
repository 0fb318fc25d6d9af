//! The link impairments `run --netns` and `compare` share: what the bridge does
//! to every frame, per direction, from a seeded random stream.

use clap::Args;

use crate::lab::impair::{ImpairConfig, ImpairError, Loss};

#[derive(Debug, Clone, Args)]
pub struct ImpairArgs {
    /// One-way delay added in each direction (so the round trip grows by twice
    /// this), e.g. 20ms.
    #[arg(long, value_name = "DURATION", value_parser = ImpairConfig::parse_duration_ns, allow_hyphen_values = true)]
    pub delay: Option<u64>,
    /// Uniform jitter around --delay, e.g. 5ms (delivery order is kept).
    #[arg(long, value_name = "DURATION", value_parser = ImpairConfig::parse_duration_ns, allow_hyphen_values = true)]
    pub jitter: Option<u64>,
    /// Percentage of frames sent early, overtaking delayed ones (needs --delay).
    #[arg(long, value_name = "PERCENT", value_parser = parse_reorder)]
    pub reorder: Option<f64>,
    /// Percentage of frames delivered twice.
    #[arg(long, value_name = "PERCENT", value_parser = parse_duplicate)]
    pub duplicate: Option<f64>,
    /// Percentage of frames with one byte flipped.
    #[arg(long, value_name = "PERCENT", value_parser = parse_corrupt)]
    pub corrupt: Option<f64>,
    /// Link rate in each direction, e.g. 10mbit.
    #[arg(long, value_name = "RATE", value_parser = ImpairConfig::parse_rate_bps)]
    pub rate: Option<u64>,
    /// Seed of the bridge's random decisions: the same seed drops the same frames.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

fn parse_reorder(s: &str) -> Result<f64, ImpairError> {
    ImpairConfig::parse_percent("reorder", s)
}
fn parse_duplicate(s: &str) -> Result<f64, ImpairError> {
    ImpairConfig::parse_percent("duplicate", s)
}
fn parse_corrupt(s: &str) -> Result<f64, ImpairError> {
    ImpairConfig::parse_percent("corrupt", s)
}

impl ImpairArgs {
    /// True when any impairment besides loss was asked for.
    pub fn any(&self) -> bool {
        self.delay.is_some()
            || self.jitter.is_some()
            || self.reorder.is_some()
            || self.duplicate.is_some()
            || self.corrupt.is_some()
            || self.rate.is_some()
    }

    /// The model for one direction with `loss`, validated.
    pub fn config(&self, loss: Loss) -> Result<ImpairConfig, ImpairError> {
        let cfg = ImpairConfig {
            loss,
            delay_ns: self.delay.unwrap_or(0),
            jitter_ns: self.jitter.unwrap_or(0),
            reorder: self.reorder.unwrap_or(0.0),
            duplicate: self.duplicate.unwrap_or(0.0),
            corrupt: self.corrupt.unwrap_or(0.0),
            rate_bps: self.rate,
            seed: self.seed,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}
