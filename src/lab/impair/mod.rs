//! The link-impairment model the userspace bridge applies to each direction
//! (many kernels, ours included, have no netem, so the impairment is ours): loss
//! (Bernoulli or Gilbert-Elliott bursts), fixed delay plus jitter, reordering,
//! duplication, corruption and a rate limit.
//!
//! Pure and deterministic: no sockets and no clocks here; the caller passes the
//! time a frame arrived (nanoseconds, any monotonic origin) and gets a
//! [`Verdict`]. Every random decision comes from one seeded generator per
//! direction ([`rng::direction_seed`] derives the two from one `--seed`), and
//! each frame draws the same number of values in the same order whatever the
//! configuration and the outcome, so the same seed and frame sequence give the
//! same verdicts, and the frames dropped depend only on the seed and the loss
//! model (not on delay, duplication, ...).
//!
//! - [`DelayLine`] holds frames until their delivery time.
//! - [`rng`] is the generator (xoshiro256**, fixed forever so seeds stay meaningful).

mod delay_line;
pub mod rng;
#[cfg(test)]
mod tests;

pub use delay_line::DelayLine;
pub use rng::direction_seed;

use rng::{below, unit, Rng};

/// Length of the Ethernet header, which corruption leaves alone when the frame
/// is longer (a corrupted MAC address would just make the frame vanish).
const ETH_HEADER_LEN: usize = 14;

/// What a loss/parse/validation failure says, including what is accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImpairError {
    #[error(
        "invalid loss {input:?}: {reason}; expected a percentage 0-100 (\"5\" or \"5%\"), \
         or Gilbert-Elliott bursts \"ge:P_GB,P_BG,LOSS_GOOD,LOSS_BAD\" with four \
         probabilities 0-1 (e.g. \"ge:0.01,0.3,0,0.5\")"
    )]
    Loss { input: String, reason: String },
    #[error("invalid {what} {input:?}: {reason}; expected a percentage 0-100 (\"5\" or \"5%\")")]
    Percent {
        what: String,
        input: String,
        reason: String,
    },
    #[error(
        "invalid duration {input:?}: {reason}; expected a number with a unit ns, us, ms or s \
         (e.g. \"20ms\", \"1.5s\", \"500us\")"
    )]
    Duration { input: String, reason: String },
    #[error(
        "invalid rate {input:?}: {reason}; expected bits per second, a number with an \
         optional unit bit, kbit, mbit or gbit (e.g. \"10mbit\", \"1gbit\", \"64000\")"
    )]
    Rate { input: String, reason: String },
    #[error("invalid impairment settings: {0}")]
    Config(String),
}

/// How frames are lost. Probabilities are fractions in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Loss {
    #[default]
    None,
    /// Each frame lost independently with probability `p`.
    Bernoulli { p: f64 },
    /// Two-state Markov chain: `p_gb` is the chance per frame of moving from
    /// good to bad, `p_bg` from bad to good; a frame is lost with `loss_good` or
    /// `loss_bad` depending on the state it meets. The loss is decided in the
    /// current state, then the state moves. Starts good.
    GilbertElliott {
        p_gb: f64,
        p_bg: f64,
        loss_good: f64,
        loss_bad: f64,
    },
}

impl Loss {
    /// The long-run loss fraction the model should produce (`0..=1`).
    /// Gilbert-Elliott: `π_good·loss_good + π_bad·loss_bad` with
    /// `π_bad = p_gb / (p_gb + p_bg)`.
    pub fn expected_loss(&self) -> f64 {
        match *self {
            Loss::None => 0.0,
            Loss::Bernoulli { p } => p,
            Loss::GilbertElliott {
                p_gb,
                p_bg,
                loss_good,
                loss_bad,
            } => {
                let pi_bad = if p_gb + p_bg > 0.0 {
                    p_gb / (p_gb + p_bg)
                } else {
                    0.0 // never leaves the good state it starts in
                };
                (1.0 - pi_bad) * loss_good + pi_bad * loss_bad
            }
        }
    }

    /// As `--loss` accepts it: `0%`, `5%`, `ge:0.01,0.3,0,0.5`.
    pub fn spec(&self) -> String {
        match *self {
            Loss::None => "0%".to_string(),
            Loss::Bernoulli { p } => format!("{}%", p * 100.0),
            Loss::GilbertElliott {
                p_gb,
                p_bg,
                loss_good,
                loss_bad,
            } => format!("ge:{p_gb},{p_bg},{loss_good},{loss_bad}"),
        }
    }

    fn validate(&self) -> Result<(), String> {
        let check = |name: &str, v: f64| {
            if v.is_finite() && (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} = {v} is not a probability in 0-1"))
            }
        };
        match *self {
            Loss::None => Ok(()),
            Loss::Bernoulli { p } => check("loss", p),
            Loss::GilbertElliott {
                p_gb,
                p_bg,
                loss_good,
                loss_bad,
            } => {
                check("P_GB", p_gb)?;
                check("P_BG", p_bg)?;
                check("LOSS_GOOD", loss_good)?;
                check("LOSS_BAD", loss_bad)
            }
        }
    }
}

/// One direction's impairments. Probabilities are fractions in `[0, 1]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImpairConfig {
    pub loss: Loss,
    /// Fixed one-way delay added to every frame.
    pub delay_ns: u64,
    /// Uniform jitter: each frame's delay is `delay_ns ± jitter_ns` (never below
    /// zero), then raised if needed so delivery times never go backwards.
    pub jitter_ns: u64,
    /// Chance a frame is sent early, without the delay (as netem does), and so
    /// overtakes frames still in flight. Needs `delay_ns > 0`.
    pub reorder: f64,
    /// Chance a frame is delivered twice.
    pub duplicate: f64,
    /// Chance one byte of a frame is flipped (all its bits).
    pub corrupt: f64,
    /// Link rate: each frame occupies a virtual link for `len·8/rate` seconds
    /// and waits while the link is busy (an unbounded FIFO ahead of it).
    pub rate_bps: Option<u64>,
    pub seed: u64,
}

/// Parses a percentage `"5"` / `"5%"` / `"0.5"` into a fraction.
fn parse_percent_value(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let t = t.strip_suffix('%').unwrap_or(t).trim();
    if t.is_empty() {
        return Err("empty".into());
    }
    let v: f64 = t.parse().map_err(|_| format!("{t:?} is not a number"))?;
    if !v.is_finite() || !(0.0..=100.0).contains(&v) {
        return Err(format!("{v} is outside 0-100"));
    }
    Ok(v / 100.0)
}

impl ImpairConfig {
    /// Parses a `--loss` value: a percentage (`"5"`, `"5%"`, `"0.5"`; `"0"`
    /// means no loss) for Bernoulli loss, or `"ge:P_GB,P_BG,LOSS_GOOD,LOSS_BAD"`
    /// (probabilities 0-1) for Gilbert-Elliott bursts.
    pub fn parse_loss(s: &str) -> Result<Loss, ImpairError> {
        let err = |reason: String| ImpairError::Loss {
            input: s.to_string(),
            reason,
        };
        let t = s.trim();
        if let Some(rest) = t
            .strip_prefix("ge:")
            .or_else(|| t.strip_prefix("GE:"))
            .or_else(|| t.strip_prefix("gilbert-elliott:"))
        {
            let parts: Vec<&str> = rest.split(',').map(str::trim).collect();
            if parts.len() != 4 {
                return Err(err(format!(
                    "Gilbert-Elliott needs 4 comma-separated values, got {}",
                    parts.len()
                )));
            }
            let names = ["P_GB", "P_BG", "LOSS_GOOD", "LOSS_BAD"];
            let mut v = [0.0f64; 4];
            for (i, p) in parts.iter().enumerate() {
                let x: f64 = p
                    .parse()
                    .map_err(|_| err(format!("{} {p:?} is not a number", names[i])))?;
                if !x.is_finite() || !(0.0..=1.0).contains(&x) {
                    return Err(err(format!(
                        "{} = {x} is not a probability in 0-1",
                        names[i]
                    )));
                }
                v[i] = x;
            }
            return Ok(Loss::GilbertElliott {
                p_gb: v[0],
                p_bg: v[1],
                loss_good: v[2],
                loss_bad: v[3],
            });
        }
        let p = parse_percent_value(t).map_err(err)?;
        Ok(if p == 0.0 {
            Loss::None
        } else {
            Loss::Bernoulli { p }
        })
    }

    /// Parses a percentage option (`--reorder`, `--duplicate`, `--corrupt`):
    /// `"5"` or `"5%"` → `0.05`. `what` names the option in the error.
    pub fn parse_percent(what: &str, s: &str) -> Result<f64, ImpairError> {
        parse_percent_value(s).map_err(|reason| ImpairError::Percent {
            what: what.to_string(),
            input: s.to_string(),
            reason,
        })
    }

    /// Parses a `--delay` / `--jitter` value: `"20ms"`, `"1.5s"`, `"500us"`
    /// (`"µs"` too), `"100ns"`; `"0"` alone needs no unit.
    pub fn parse_duration_ns(s: &str) -> Result<u64, ImpairError> {
        let err = |reason: String| ImpairError::Duration {
            input: s.to_string(),
            reason,
        };
        let t = s.trim();
        if t == "0" {
            return Ok(0);
        }
        if t.starts_with('-') {
            return Err(err("must not be negative".into()));
        }
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| err("no unit".into()))?;
        let (num, unit) = t.split_at(split);
        let scale: f64 = match unit.trim() {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            u => return Err(err(format!("unknown unit {u:?}"))),
        };
        let v: f64 = num
            .parse()
            .map_err(|_| err(format!("{num:?} is not a number")))?;
        let ns = (v * scale).round();
        if !ns.is_finite() || ns > 3.6e12 {
            return Err(err("longer than an hour".into()));
        }
        Ok(ns as u64)
    }

    /// Parses a `--rate` value in bits per second: `"10mbit"`, `"1gbit"`,
    /// `"500kbit"`, `"64000"` (`"10M"` / `"10mbit/s"` too; k = 1000).
    pub fn parse_rate_bps(s: &str) -> Result<u64, ImpairError> {
        let err = |reason: String| ImpairError::Rate {
            input: s.to_string(),
            reason,
        };
        let t = s.trim().to_ascii_lowercase();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let unit = unit.trim();
        let unit = unit.strip_suffix("/s").unwrap_or(unit);
        let scale: f64 = match unit {
            "" | "bit" => 1.0,
            "k" | "kbit" => 1e3,
            "m" | "mbit" => 1e6,
            "g" | "gbit" => 1e9,
            u => return Err(err(format!("unknown unit {u:?}"))),
        };
        let v: f64 = num
            .parse()
            .map_err(|_| err(format!("{num:?} is not a number")))?;
        let bps = (v * scale).round();
        if !bps.is_finite() || !(1.0..=1e12).contains(&bps) {
            return Err(err("must be between 1 bit/s and 1000 gbit".into()));
        }
        Ok(bps as u64)
    }

    /// Checks ranges and combinations; [`Impairment::new`] clamps instead of
    /// failing, so call this where the settings come in.
    pub fn validate(&self) -> Result<(), ImpairError> {
        self.loss.validate().map_err(ImpairError::Config)?;
        for (name, v) in [
            ("reorder", self.reorder),
            ("duplicate", self.duplicate),
            ("corrupt", self.corrupt),
        ] {
            if !v.is_finite() || !(0.0..=1.0).contains(&v) {
                return Err(ImpairError::Config(format!(
                    "{name} = {v} is not a probability in 0-1"
                )));
            }
        }
        if self.rate_bps == Some(0) {
            return Err(ImpairError::Config(
                "rate must be above 0 bit/s (leave it unset for no limit)".into(),
            ));
        }
        if self.reorder > 0.0 && self.delay_ns == 0 {
            return Err(ImpairError::Config(
                "reorder needs a delay: reordered frames are sent without the delay and \
                 overtake the frames still delayed (e.g. --delay 10ms)"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// What to do with one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Drop,
    Deliver {
        /// When to send it out (same clock as the `now_ns` given to `decide`).
        at_ns: u64,
        /// 1, or 2 when duplicated (both copies at `at_ns`, identical).
        copies: u8,
        /// Flip all bits of this byte (see [`corrupt_frame`]) before sending.
        corrupt_at: Option<usize>,
        /// Sent early, ahead of at least one frame decided before it.
        reordered: bool,
    },
}

/// Applies a verdict's `corrupt_at` to the frame bytes.
pub fn corrupt_frame(frame: &mut [u8], corrupt_at: Option<usize>) {
    if let Some(b) = corrupt_at.and_then(|i| frame.get_mut(i)) {
        *b ^= 0xFF;
    }
}

/// Counters for one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ImpairStats {
    pub frames: u64,
    pub dropped: u64,
    pub delivered: u64,
    /// Frames delivered twice (each counted once here).
    pub duplicated: u64,
    pub corrupted: u64,
    /// Frames sent ahead of an earlier frame.
    pub reordered: u64,
    /// Runs of consecutive drops (a run of 3 dropped frames counts once).
    pub loss_bursts: u64,
}

impl ImpairStats {
    /// Measured loss, 0-100.
    pub fn loss_percent(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            self.dropped as f64 * 100.0 / self.frames as f64
        }
    }

    /// Mean number of consecutive frames dropped per loss burst.
    pub fn mean_burst_len(&self) -> f64 {
        if self.loss_bursts == 0 {
            0.0
        } else {
            self.dropped as f64 / self.loss_bursts as f64
        }
    }
}

/// One direction's impairment state.
#[derive(Debug, Clone)]
pub struct Impairment {
    cfg: ImpairConfig,
    rng: Rng,
    /// Gilbert-Elliott state.
    bad: bool,
    /// The previous frame was dropped (for burst counting).
    last_dropped: bool,
    /// When the virtual link finishes sending what it has been given.
    link_free_ns: u64,
    /// Latest delivery time given to an in-order frame: later in-order frames
    /// never go before it.
    last_at_ns: u64,
    /// Latest delivery time given to any frame (to tell real reordering).
    max_at_ns: u64,
    stats: ImpairStats,
}

fn clamp_p(p: f64) -> f64 {
    if p.is_nan() {
        0.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

impl Impairment {
    /// Out-of-range probabilities are clamped to 0-1 (NaN to 0) and a zero
    /// rate means no limit; use [`ImpairConfig::validate`] to reject them.
    pub fn new(mut cfg: ImpairConfig) -> Self {
        cfg.loss = match cfg.loss {
            Loss::None => Loss::None,
            Loss::Bernoulli { p } => Loss::Bernoulli { p: clamp_p(p) },
            Loss::GilbertElliott {
                p_gb,
                p_bg,
                loss_good,
                loss_bad,
            } => Loss::GilbertElliott {
                p_gb: clamp_p(p_gb),
                p_bg: clamp_p(p_bg),
                loss_good: clamp_p(loss_good),
                loss_bad: clamp_p(loss_bad),
            },
        };
        cfg.reorder = clamp_p(cfg.reorder);
        cfg.duplicate = clamp_p(cfg.duplicate);
        cfg.corrupt = clamp_p(cfg.corrupt);
        if cfg.rate_bps == Some(0) {
            cfg.rate_bps = None;
        }
        Impairment {
            rng: Rng::seed_from_u64(cfg.seed),
            cfg,
            bad: false,
            last_dropped: false,
            link_free_ns: 0,
            last_at_ns: 0,
            max_at_ns: 0,
            stats: ImpairStats::default(),
        }
    }

    pub fn config(&self) -> &ImpairConfig {
        &self.cfg
    }

    pub fn stats(&self) -> ImpairStats {
        self.stats
    }

    /// Decides the fate of the next frame, `frame_len` bytes long, arriving at
    /// `now_ns` (frames must be given in arrival order, `now_ns` not going
    /// backwards). Draws exactly seven random values whatever happens.
    pub fn decide(&mut self, frame_len: usize, now_ns: u64) -> Verdict {
        // Fixed draw order: loss, state move, jitter, reorder, duplicate,
        // corrupt, corrupt position.
        let r_loss = unit(self.rng.next_u64());
        let r_state = unit(self.rng.next_u64());
        let r_jitter = self.rng.next_u64();
        let r_reorder = unit(self.rng.next_u64());
        let r_dup = unit(self.rng.next_u64());
        let r_corrupt = unit(self.rng.next_u64());
        let r_pos = self.rng.next_u64();

        self.stats.frames += 1;

        let lost = match self.cfg.loss {
            Loss::None => false,
            Loss::Bernoulli { p } => r_loss < p,
            Loss::GilbertElliott {
                p_gb,
                p_bg,
                loss_good,
                loss_bad,
            } => {
                let lost = r_loss < if self.bad { loss_bad } else { loss_good };
                self.bad = if self.bad {
                    r_state >= p_bg
                } else {
                    r_state < p_gb
                };
                lost
            }
        };
        if lost {
            self.stats.dropped += 1;
            if !self.last_dropped {
                self.stats.loss_bursts += 1;
            }
            self.last_dropped = true;
            return Verdict::Drop;
        }
        self.last_dropped = false;

        let copies: u8 = if r_dup < self.cfg.duplicate { 2 } else { 1 };

        // Serialization on the virtual link.
        let departure = match self.cfg.rate_bps {
            Some(rate) => {
                let bits = frame_len as u128 * 8 * u128::from(copies);
                let ser = (bits * 1_000_000_000).div_ceil(u128::from(rate));
                let ser = u64::try_from(ser).unwrap_or(u64::MAX);
                let start = self.link_free_ns.max(now_ns);
                self.link_free_ns = start.saturating_add(ser);
                self.link_free_ns
            }
            None => now_ns,
        };

        let early = r_reorder < self.cfg.reorder;
        let at_ns = if early {
            departure
        } else {
            let j = self.cfg.jitter_ns;
            let delay = if j == 0 {
                self.cfg.delay_ns
            } else {
                // delay - j + [0, 2j], not below zero.
                let span = j.saturating_mul(2).saturating_add(1);
                (self.cfg.delay_ns.saturating_add(below(r_jitter, span))).saturating_sub(j)
            };
            let at = departure.saturating_add(delay).max(self.last_at_ns);
            self.last_at_ns = at;
            at
        };
        let reordered = at_ns < self.max_at_ns;
        self.max_at_ns = self.max_at_ns.max(at_ns);

        let corrupt_at = if frame_len > 0 && r_corrupt < self.cfg.corrupt {
            let (lo, n) = if frame_len > ETH_HEADER_LEN {
                (ETH_HEADER_LEN, frame_len - ETH_HEADER_LEN)
            } else {
                (0, frame_len)
            };
            Some(lo + below(r_pos, n as u64) as usize)
        } else {
            None
        };

        self.stats.delivered += 1;
        if copies > 1 {
            self.stats.duplicated += 1;
        }
        if corrupt_at.is_some() {
            self.stats.corrupted += 1;
        }
        if reordered {
            self.stats.reordered += 1;
        }
        Verdict::Deliver {
            at_ns,
            copies,
            corrupt_at,
            reordered,
        }
    }
}
