//! Shared helpers for the integration tests: replay a committed capture through
//! the library and collect what analysis said; wait for a condition ([`wait`]).

#![allow(dead_code)]

pub mod browser;
pub mod http2_view;
pub mod repeat;
pub mod tcp_conversation;
pub mod tshark;
pub mod wait;

use std::path::PathBuf;

use protolab::analyze::{FlowSummary, FrameAnalysis, TcpState};
use protolab::capture::{CaptureError, FileReader};
use protolab::decode::Packet;
use protolab::replay::{replay, Next};

/// Runs the `protolab` binary with `args`, from the crate's root (so that
/// `captures/…` paths resolve), and returns what it did.
pub fn protolab(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_protolab"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run protolab")
}

/// What a command printed, once it has exited 0 (else its stderr, in a panic).
pub fn stdout_of(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Every file under `dir`, recursively, appended to `out` (directories walked in
/// `read_dir`'s order).
pub fn files_under(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// True when the test may go on: running as root. Without root it prints why
/// the test is skipped (`needs` says what for), unless `PROTOLAB_REQUIRE_ROOT_TESTS=1`
/// (CI), where a skipped root test would hide a failure: then it panics.
pub fn require_root(what: &str, needs: &str) -> bool {
    if nix::unistd::Uid::effective().is_root() {
        return true;
    }
    if std::env::var("PROTOLAB_REQUIRE_ROOT_TESTS").as_deref() == Ok("1") {
        panic!("{what} need root (PROTOLAB_REQUIRE_ROOT_TESTS=1): run as root");
    }
    eprintln!("SKIPPED: {what} need root ({needs})");
    false
}

/// Compares `actual` with `tests/golden/<dir>/<name>`, printing both in full on a
/// mismatch. With `PROTOLAB_BLESS=1` it rewrites the file instead (review the diff).
pub fn assert_golden(dir: &str, name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(dir)
        .join(name);
    assert_file(&path, actual);
}

/// Compares `actual` with the file at `path` (a golden file, or checked-in
/// generated code), printing both in full on a mismatch. With
/// `PROTOLAB_BLESS=1` it rewrites the file instead (review the diff).
pub fn assert_file(path: &std::path::Path, actual: &str) {
    if std::env::var_os("PROTOLAB_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("a file in a folder")).unwrap();
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with PROTOLAB_BLESS=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "output differs from {}\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }
}

/// Path of a committed fixture.
pub fn capture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

/// Everything one replay produced.
pub struct Replayed {
    pub frames: Vec<(Packet, FrameAnalysis)>,
    pub flows: Vec<FlowSummary>,
    pub error: Option<CaptureError>,
}

impl Replayed {
    pub fn frame(&self, n: u64) -> &(Packet, FrameAnalysis) {
        &self.frames[(n - 1) as usize]
    }

    /// Expert flag names of frame `n`.
    pub fn flags(&self, n: u64) -> Vec<&'static str> {
        self.frame(n).1.flags.names().collect()
    }

    /// Frames carrying expert flag `name`.
    pub fn frames_with(&self, name: &str) -> Vec<u64> {
        self.frames
            .iter()
            .filter(|(_, a)| a.flags.names().any(|n| n == name))
            .map(|(p, _)| p.frame)
            .collect()
    }
}

/// Replays a fixture from `captures/`.
pub fn replay_fixture(name: &str) -> Replayed {
    let mut reader = FileReader::open(capture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut frames = Vec::new();
    let result = replay(
        &mut reader,
        |_, p, a| -> Result<Next, ()> {
            frames.push((p.clone(), a.clone()));
            Ok(Next::Continue)
        },
        |_| Ok(()),
    )
    .expect("visitor never fails");
    Replayed {
        frames,
        flows: result.analyzer.finish(),
        error: result.error,
    }
}

/// Parses "CLOSED SYN_SENT …" into states, for readable expectations.
pub fn states(names: &str) -> Vec<TcpState> {
    names
        .split_whitespace()
        .map(|n| TcpState::from_name(n).unwrap_or_else(|| panic!("unknown state {n}")))
        .collect()
}

/// Frames at which `role`'s transitions happened, in order.
pub fn transition_frames(flow: &FlowSummary, client: bool) -> Vec<u64> {
    let tcp = flow.tcp.as_ref().expect("tcp flow");
    let list = if client {
        &tcp.client_transitions
    } else {
        &tcp.server_transitions
    };
    list.iter().map(|t| t.frame).collect()
}

/// A classic pcap file (µs) of Ethernet frames, one millisecond apart.
pub fn classic_pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    for v in [0u32, 0, 65535, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        out.extend_from_slice(&(i as u32 * 1000).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}
