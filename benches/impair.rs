//! Criterion benchmark of the bridge's impairment decision (`Impairment::decide`):
//! decisions per second for 64- and 1500-byte frames at 0 % and 10 % Bernoulli loss, plus a configuration with every impairment on.
//! The whole bridge must forward ≥ 200k frames/s (5 µs a frame), so a decision
//! should cost a small fraction of that; criterion reports time per frame and
//! frames (elements) per second.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use protolab::lab::impair::{DelayLine, ImpairConfig, Impairment, Loss, Verdict};

fn bench_decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("impair_decide");
    group.throughput(Throughput::Elements(1));
    for len in [64usize, 1500] {
        for loss_pct in [0u32, 10] {
            let loss = if loss_pct == 0 {
                Loss::None
            } else {
                Loss::Bernoulli {
                    p: f64::from(loss_pct) / 100.0,
                }
            };
            let mut imp = Impairment::new(ImpairConfig {
                loss,
                seed: 7,
                ..Default::default()
            });
            let mut now = 0u64;
            group.bench_function(format!("{len}B_loss{loss_pct}"), |b| {
                b.iter(|| {
                    now += 5_000;
                    black_box(imp.decide(black_box(len), now))
                })
            });
        }
    }
    // Everything on: Gilbert-Elliott, delay + jitter, reorder, duplicate,
    // corrupt, rate limit.
    let mut imp = Impairment::new(ImpairConfig {
        loss: Loss::GilbertElliott {
            p_gb: 0.01,
            p_bg: 0.3,
            loss_good: 0.0,
            loss_bad: 0.5,
        },
        delay_ns: 20_000_000,
        jitter_ns: 2_000_000,
        reorder: 0.05,
        duplicate: 0.01,
        corrupt: 0.01,
        rate_bps: Some(10_000_000_000),
        seed: 7,
    });
    let mut now = 0u64;
    group.bench_function("1500B_all_impairments", |b| {
        b.iter(|| {
            now += 5_000;
            black_box(imp.decide(black_box(1500), now))
        })
    });
    group.finish();
}

/// decide + push into a `DelayLine` + pop what is due: the bridge's per-frame
/// scheduling work without the sockets (20 ms delay, a frame every 5 µs, so
/// about 4,000 frames wait in the line).
fn bench_decide_and_schedule(c: &mut Criterion) {
    let mut group = c.benchmark_group("impair_schedule");
    group.throughput(Throughput::Elements(1));
    let mut imp = Impairment::new(ImpairConfig {
        loss: Loss::Bernoulli { p: 0.1 },
        delay_ns: 20_000_000,
        jitter_ns: 1_000_000,
        seed: 7,
        ..Default::default()
    });
    let mut line: DelayLine<u64> = DelayLine::new();
    let mut now = 0u64;
    group.bench_function("1500B_loss10_delay20ms", |b| {
        b.iter(|| {
            now += 5_000;
            if let Verdict::Deliver { at_ns, .. } = imp.decide(1500, now) {
                line.push(at_ns, now);
            }
            while let Some(x) = line.pop_due(now) {
                black_box(x);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_decide, bench_decide_and_schedule);
criterion_main!(benches);
