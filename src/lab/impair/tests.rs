//! Unit tests of the impairment model (statistics over fixed seeds, so they are
//! deterministic; tolerances are several standard deviations wide anyway).

use super::*;

const MS: u64 = 1_000_000;
const US: u64 = 1_000;

fn bernoulli(percent: f64, seed: u64) -> ImpairConfig {
    ImpairConfig {
        loss: Loss::Bernoulli { p: percent / 100.0 },
        seed,
        ..Default::default()
    }
}

/// Runs `n` frames of `len` bytes, one every `gap_ns`, and returns the verdicts.
fn run(cfg: ImpairConfig, n: usize, len: usize, gap_ns: u64) -> (Vec<Verdict>, ImpairStats) {
    let mut imp = Impairment::new(cfg);
    let v = (0..n).map(|i| imp.decide(len, i as u64 * gap_ns)).collect();
    (v, imp.stats())
}

fn dropped_indices(v: &[Verdict]) -> Vec<usize> {
    v.iter()
        .enumerate()
        .filter(|(_, v)| matches!(v, Verdict::Drop))
        .map(|(i, _)| i)
        .collect()
}

fn full_cfg(seed: u64) -> ImpairConfig {
    ImpairConfig {
        loss: Loss::Bernoulli { p: 0.1 },
        delay_ns: 10 * MS,
        jitter_ns: 2 * MS,
        reorder: 0.05,
        duplicate: 0.05,
        corrupt: 0.05,
        rate_bps: Some(100_000_000),
        seed,
    }
}

#[test]
fn same_seed_same_verdicts_different_seed_different() {
    let (a, _) = run(full_cfg(7), 10_000, 1500, 50 * US);
    let (b, _) = run(full_cfg(7), 10_000, 1500, 50 * US);
    let (c, _) = run(full_cfg(8), 10_000, 1500, 50 * US);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(dropped_indices(&a), dropped_indices(&c));
}

#[test]
fn dropped_frames_depend_only_on_seed_and_loss_model() {
    let plain = bernoulli(10.0, 42);
    let busy = ImpairConfig {
        loss: Loss::Bernoulli { p: 0.1 },
        ..full_cfg(42)
    };
    let (a, _) = run(plain, 20_000, 200, 10 * US);
    let (b, _) = run(busy, 20_000, 200, 10 * US);
    assert_eq!(dropped_indices(&a), dropped_indices(&b));
}

#[test]
fn bernoulli_loss_within_half_a_point_over_100k_frames() {
    for (i, pct) in [1.0, 5.0, 10.0, 20.0].into_iter().enumerate() {
        let (_, s) = run(bernoulli(pct, 1000 + i as u64), 100_000, 64, US);
        let measured = s.loss_percent();
        eprintln!("bernoulli {pct}%: measured {measured:.3}%");
        assert_eq!(s.frames, 100_000);
        assert_eq!(s.dropped + s.delivered, s.frames);
        assert!(
            (measured - pct).abs() <= 0.5,
            "configured {pct}%, measured {measured}%"
        );
    }
}

#[test]
fn no_loss_drops_nothing() {
    let (v, s) = run(ImpairConfig::default(), 10_000, 64, US);
    assert_eq!(s.dropped, 0);
    assert!(v.iter().all(|v| matches!(
        v,
        Verdict::Deliver {
            copies: 1,
            corrupt_at: None,
            reordered: false,
            ..
        }
    )));
    // Everything passes through at its arrival time.
    assert_eq!(
        v[5],
        Verdict::Deliver {
            at_ns: 5 * US,
            copies: 1,
            corrupt_at: None,
            reordered: false
        }
    );
}

#[test]
fn gilbert_elliott_mean_loss_and_burst_length() {
    // (p_gb, p_bg, loss_good, loss_bad) with loss_good = 0, so a burst of losses
    // lies within one bad spell: each further loss needs staying bad (1 - p_bg)
    // and losing (loss_bad), so mean burst = 1 / (1 - (1 - p_bg)·loss_bad).
    for (i, (p_gb, p_bg, lb)) in [(0.01, 0.3, 0.5), (0.05, 0.25, 1.0), (0.02, 0.1, 0.8)]
        .into_iter()
        .enumerate()
    {
        let loss = Loss::GilbertElliott {
            p_gb,
            p_bg,
            loss_good: 0.0,
            loss_bad: lb,
        };
        let cfg = ImpairConfig {
            loss,
            seed: 77 + i as u64,
            ..Default::default()
        };
        let (_, s) = run(cfg, 1_000_000, 64, US);
        let want_loss = loss.expected_loss() * 100.0;
        let want_burst = 1.0 / (1.0 - (1.0 - p_bg) * lb);
        let (got_loss, got_burst) = (s.loss_percent(), s.mean_burst_len());
        eprintln!(
            "GE {p_gb},{p_bg},0,{lb}: loss {got_loss:.3}% (analytic {want_loss:.3}%), \
             burst {got_burst:.3} (analytic {want_burst:.3})"
        );
        assert!(
            (got_loss - want_loss).abs() <= 0.05 * want_loss,
            "loss {got_loss} vs {want_loss}"
        );
        assert!(
            (got_burst - want_burst).abs() <= 0.05 * want_burst,
            "burst {got_burst} vs {want_burst}"
        );
    }
    // π_bad · loss_bad, by hand: 0.01 / 0.31 · 0.5.
    let ge = ImpairConfig::parse_loss("ge:0.01,0.3,0,0.5").unwrap();
    assert!((ge.expected_loss() - 0.01 / 0.31 * 0.5).abs() < 1e-12);
}

#[test]
fn gilbert_elliott_with_good_state_loss() {
    let loss = Loss::GilbertElliott {
        p_gb: 0.02,
        p_bg: 0.2,
        loss_good: 0.01,
        loss_bad: 0.6,
    };
    let cfg = ImpairConfig {
        loss,
        seed: 5,
        ..Default::default()
    };
    let (_, s) = run(cfg, 1_000_000, 64, US);
    let want = loss.expected_loss() * 100.0;
    assert!((s.loss_percent() - want).abs() <= 0.05 * want);
}

#[test]
fn delay_and_jitter_stay_in_bounds_and_monotonic() {
    let cfg = ImpairConfig {
        delay_ns: 10 * MS,
        jitter_ns: 2 * MS,
        seed: 3,
        ..Default::default()
    };
    let gap = 100 * US;
    let (v, s) = run(cfg, 50_000, 1500, gap);
    let mut last = 0;
    let (mut min_d, mut max_d) = (u64::MAX, 0);
    for (i, v) in v.iter().enumerate() {
        let Verdict::Deliver {
            at_ns, reordered, ..
        } = *v
        else {
            panic!("dropped without loss")
        };
        let now = i as u64 * gap;
        assert!(at_ns >= now + 8 * MS, "frame {i} too early");
        assert!(at_ns <= now + 12 * MS, "frame {i} too late");
        assert!(at_ns >= last, "frame {i} reordered");
        assert!(!reordered);
        last = at_ns;
        min_d = min_d.min(at_ns - now);
        max_d = max_d.max(at_ns - now);
    }
    assert_eq!(s.reordered, 0);
    assert!(min_d >= 8 * MS && max_d <= 12 * MS);
    // Frames further apart than the jitter window are not held back by earlier
    // ones, so their delays spread over the whole window.
    let cfg = ImpairConfig {
        delay_ns: 10 * MS,
        jitter_ns: 2 * MS,
        seed: 3,
        ..Default::default()
    };
    let (v, _) = run(cfg, 5_000, 1500, 5 * MS);
    let delays: Vec<u64> = v
        .iter()
        .enumerate()
        .map(|(i, v)| match *v {
            Verdict::Deliver { at_ns, .. } => at_ns - i as u64 * 5 * MS,
            Verdict::Drop => panic!(),
        })
        .collect();
    let (lo, hi) = (delays.iter().min().unwrap(), delays.iter().max().unwrap());
    assert!(*lo >= 8 * MS && *lo < 8 * MS + 20 * US, "min delay {lo}");
    assert!(*hi <= 12 * MS && *hi > 12 * MS - 20 * US, "max delay {hi}");
    let mean = delays.iter().sum::<u64>() as f64 / delays.len() as f64;
    assert!((mean - 10.0e6).abs() < 0.05e6, "mean delay {mean}");

    // Jitter larger than the delay: never before arrival.
    let cfg = ImpairConfig {
        delay_ns: MS,
        jitter_ns: 5 * MS,
        seed: 4,
        ..Default::default()
    };
    let (v, _) = run(cfg, 10_000, 64, 10 * US);
    let mut last = 0;
    for (i, v) in v.iter().enumerate() {
        let Verdict::Deliver { at_ns, .. } = *v else {
            panic!()
        };
        assert!(at_ns >= i as u64 * 10 * US && at_ns >= last);
        last = at_ns;
    }
}

#[test]
fn fixed_delay_is_exact() {
    let cfg = ImpairConfig {
        delay_ns: 20 * MS,
        ..Default::default()
    };
    let (v, _) = run(cfg, 100, 64, MS);
    for (i, v) in v.iter().enumerate() {
        let Verdict::Deliver { at_ns, .. } = *v else {
            panic!()
        };
        assert_eq!(at_ns, i as u64 * MS + 20 * MS);
    }
}

#[test]
fn reorder_reorders_at_about_the_configured_rate() {
    for (i, p) in [0.01, 0.05, 0.1, 0.25].into_iter().enumerate() {
        let cfg = ImpairConfig {
            delay_ns: 10 * MS,
            reorder: p,
            seed: 9 + i as u64,
            ..Default::default()
        };
        let n = 100_000;
        let (v, s) = run(cfg, n, 1500, 100 * US);
        // Count from the delivery times themselves: a frame is out of order when
        // it is due before some frame decided earlier.
        let mut max_at = 0;
        let mut out_of_order = 0u64;
        for v in &v {
            let Verdict::Deliver { at_ns, .. } = *v else {
                panic!()
            };
            if at_ns < max_at {
                out_of_order += 1;
            }
            max_at = max_at.max(at_ns);
        }
        assert_eq!(out_of_order, s.reordered);
        let rate = out_of_order as f64 / n as f64;
        eprintln!("reorder {p}: measured {rate:.4}");
        assert!((rate - p).abs() <= 0.005, "reorder {p}: measured {rate}");
    }
}

#[test]
fn duplicate_and_corrupt_rates() {
    let cfg = ImpairConfig {
        duplicate: 0.05,
        corrupt: 0.02,
        seed: 11,
        ..Default::default()
    };
    let n = 100_000;
    let (v, s) = run(cfg, n, 100, US);
    let dups = v
        .iter()
        .filter(|v| matches!(v, Verdict::Deliver { copies: 2, .. }))
        .count() as u64;
    let corrupt: Vec<usize> = v
        .iter()
        .filter_map(|v| match v {
            Verdict::Deliver { corrupt_at, .. } => *corrupt_at,
            Verdict::Drop => None,
        })
        .collect();
    assert_eq!(dups, s.duplicated);
    assert_eq!(corrupt.len() as u64, s.corrupted);
    let (dr, cr) = (dups as f64 / n as f64, corrupt.len() as f64 / n as f64);
    eprintln!(
        "duplicate 5%: {:.3}%, corrupt 2%: {:.3}%",
        dr * 100.0,
        cr * 100.0
    );
    assert!((dr - 0.05).abs() <= 0.005);
    assert!((cr - 0.02).abs() <= 0.005);
    // Corruption spares the Ethernet header and covers the rest.
    assert!(corrupt.iter().all(|&i| (14..100).contains(&i)));
    assert!(corrupt.contains(&14) && corrupt.contains(&99));

    let mut frame = vec![0u8; 20];
    corrupt_frame(&mut frame, Some(15));
    assert_eq!(frame[15], 0xFF);
    corrupt_frame(&mut frame, Some(50)); // out of range: ignored
    corrupt_frame(&mut frame, None);
    assert_eq!(frame.iter().filter(|&&b| b != 0).count(), 1);

    // Tiny frames can be corrupted anywhere; empty ones not at all.
    let cfg = ImpairConfig {
        corrupt: 1.0,
        ..Default::default()
    };
    let mut imp = Impairment::new(cfg);
    for _ in 0..100 {
        match imp.decide(4, 0) {
            Verdict::Deliver {
                corrupt_at: Some(i),
                ..
            } => assert!(i < 4),
            v => panic!("{v:?}"),
        }
    }
    assert!(matches!(
        imp.decide(0, 0),
        Verdict::Deliver {
            corrupt_at: None,
            ..
        }
    ));
}

#[test]
fn rate_limit_spaces_frames_by_serialization_time() {
    // 1 Mbit/s, 1250 bytes = 10,000 bits = 10 ms; a burst arriving at once
    // leaves one every 10 ms.
    let cfg = ImpairConfig {
        rate_bps: Some(1_000_000),
        ..Default::default()
    };
    let mut imp = Impairment::new(cfg.clone());
    let ats: Vec<u64> = (0..10)
        .map(|_| match imp.decide(1250, 0) {
            Verdict::Deliver { at_ns, .. } => at_ns,
            Verdict::Drop => panic!(),
        })
        .collect();
    for (i, at) in ats.iter().enumerate() {
        assert_eq!(*at, (i as u64 + 1) * 10 * MS);
    }
    // Arriving slower than the link: no queueing, just serialization.
    let (v, _) = run(cfg.clone(), 10, 1250, 50 * MS);
    for (i, v) in v.iter().enumerate() {
        assert!(
            matches!(*v, Verdict::Deliver { at_ns, .. } if at_ns == i as u64 * 50 * MS + 10 * MS)
        );
    }
    // With a delay the spacing is kept, shifted by the delay.
    let cfg = ImpairConfig {
        delay_ns: 20 * MS,
        ..cfg
    };
    let (v, _) = run(cfg, 5, 1250, 0);
    for (i, v) in v.iter().enumerate() {
        assert!(
            matches!(*v, Verdict::Deliver { at_ns, .. } if at_ns == 20 * MS + (i as u64 + 1) * 10 * MS)
        );
    }
}

#[test]
fn parse_loss_accepts_the_documented_forms() {
    assert_eq!(
        ImpairConfig::parse_loss("5").unwrap(),
        Loss::Bernoulli { p: 0.05 }
    );
    assert_eq!(
        ImpairConfig::parse_loss(" 5% ").unwrap(),
        Loss::Bernoulli { p: 0.05 }
    );
    assert_eq!(
        ImpairConfig::parse_loss("0.5").unwrap(),
        Loss::Bernoulli { p: 0.005 }
    );
    assert_eq!(ImpairConfig::parse_loss("0").unwrap(), Loss::None);
    assert_eq!(
        ImpairConfig::parse_loss("100%").unwrap(),
        Loss::Bernoulli { p: 1.0 }
    );
    assert_eq!(
        ImpairConfig::parse_loss("ge:0.01,0.3,0,0.5").unwrap(),
        Loss::GilbertElliott {
            p_gb: 0.01,
            p_bg: 0.3,
            loss_good: 0.0,
            loss_bad: 0.5
        }
    );
    assert_eq!(ImpairConfig::parse_percent("reorder", "2%").unwrap(), 0.02);
}

#[test]
fn parse_errors_say_what_is_accepted() {
    let msg = |s: &str| ImpairConfig::parse_loss(s).unwrap_err().to_string();
    for bad in [
        "abc",
        "",
        "150",
        "-1",
        "5%%",
        "nan",
        "ge:0.1,0.2",
        "ge:0.1,0.2,0,2",
        "ge:a,0,0,0",
    ] {
        let m = msg(bad);
        assert!(m.contains("expected a percentage 0-100"), "{bad}: {m}");
        assert!(m.contains("ge:P_GB,P_BG,LOSS_GOOD,LOSS_BAD"), "{bad}: {m}");
    }
    assert!(msg("150").contains("150 is outside 0-100"));
    assert!(msg("abc").contains("\"abc\" is not a number"));
    assert!(msg("ge:0.1,0.2").contains("needs 4 comma-separated values, got 2"));
    assert!(msg("ge:0.1,0.2,0,2").contains("LOSS_BAD = 2 is not a probability in 0-1"));
    assert!(msg("ge:a,0,0,0").contains("P_GB \"a\" is not a number"));
    let e = ImpairConfig::parse_percent("duplicate", "x")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("invalid duplicate \"x\""), "{e}");
    assert!(e.contains("expected a percentage 0-100"), "{e}");
}

#[test]
fn validate_rejects_bad_settings() {
    assert!(ImpairConfig::default().validate().is_ok());
    assert!(full_cfg(1).validate().is_ok());
    let e = ImpairConfig {
        reorder: 0.1,
        ..Default::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(e.contains("reorder needs a delay"), "{e}");
    let e = ImpairConfig {
        rate_bps: Some(0),
        ..Default::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(e.contains("rate must be above 0"), "{e}");
    let e = ImpairConfig {
        duplicate: 1.5,
        ..Default::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(e.contains("duplicate = 1.5 is not a probability"), "{e}");
    let e = ImpairConfig {
        loss: Loss::Bernoulli { p: f64::NAN },
        ..Default::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(e.contains("loss = NaN"), "{e}");
    // new() clamps rather than failing.
    let mut imp = Impairment::new(ImpairConfig {
        loss: Loss::Bernoulli { p: 7.0 },
        ..Default::default()
    });
    assert_eq!(imp.decide(64, 0), Verdict::Drop);
}

#[test]
fn delay_line_delivers_verdicts_in_time_order() {
    let mut imp = Impairment::new(full_cfg(21));
    let mut line = DelayLine::new();
    let mut out = Vec::new();
    let mut now = 0;
    for seq in 0..5_000u32 {
        now += 50 * US;
        if let Verdict::Deliver { at_ns, copies, .. } = imp.decide(1000, now) {
            for _ in 0..copies {
                line.push(at_ns, (at_ns, seq));
            }
        }
        while let Some(x) = line.pop_due(now) {
            out.push(x);
        }
    }
    while let Some(x) = line.pop_due(u64::MAX) {
        out.push(x);
    }
    let s = imp.stats();
    assert_eq!(out.len() as u64, s.delivered + s.duplicated);
    assert!(out.windows(2).all(|w| w[0].0 <= w[1].0));
    assert!(s.reordered > 0);
}

#[test]
fn parse_durations_and_rates() {
    let d = ImpairConfig::parse_duration_ns;
    assert_eq!(d("20ms").unwrap(), 20 * MS);
    assert_eq!(d(" 1.5s ").unwrap(), 1_500 * MS);
    assert_eq!(d("500us").unwrap(), 500 * US);
    assert_eq!(d("500µs").unwrap(), 500 * US);
    assert_eq!(d("100ns").unwrap(), 100);
    assert_eq!(d("0").unwrap(), 0);
    for bad in ["20", "ms", "20 minutes", "2h", "-5ms", "1e9s", ""] {
        let m = d(bad).unwrap_err().to_string();
        assert!(
            m.contains("expected a number with a unit ns, us, ms or s"),
            "{bad}: {m}"
        );
    }
    assert!(d("20").unwrap_err().to_string().contains("no unit"));
    assert!(d("2h")
        .unwrap_err()
        .to_string()
        .contains("unknown unit \"h\""));

    let r = ImpairConfig::parse_rate_bps;
    assert_eq!(r("10mbit").unwrap(), 10_000_000);
    assert_eq!(r("1Gbit").unwrap(), 1_000_000_000);
    assert_eq!(r("500kbit/s").unwrap(), 500_000);
    assert_eq!(r("1.5M").unwrap(), 1_500_000);
    assert_eq!(r("64000").unwrap(), 64_000);
    for bad in ["0", "fast", "10mbps", "", "0.1"] {
        let m = r(bad).unwrap_err().to_string();
        assert!(m.contains("expected bits per second"), "{bad}: {m}");
    }
    assert!(r("10mbps")
        .unwrap_err()
        .to_string()
        .contains("unknown unit \"mbps\""));
}
