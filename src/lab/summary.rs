//! What `protolab run` prints: the verdict, each connection's inferred transitions
//! with the kernel's beside them (offsets in µs), every disagreement flagged.

use std::fmt::Write as _;

use super::run::RunOutcome;
use crate::model::kernel::EndpointComparison;
use crate::output::words::{plural, rate_of};

fn endpoint_table(s: &mut String, e: &EndpointComparison) {
    let _ = writeln!(s, "    {} {}", e.endpoint, e.local);
    let _ = writeln!(
        s,
        "      {:<14} {:>6}   {:<14} {:>10}",
        "inferred", "frame", "kernel", "offset"
    );
    for r in &e.rows {
        let inferred = r.inferred.map(|s| s.name()).unwrap_or("-");
        let kernel = r.kernel.map(|s| s.name()).unwrap_or("-");
        let frame = r.frame.map(|f| f.to_string()).unwrap_or_default();
        let offset = r.offset_us.map(|o| format!("{o:+} µs")).unwrap_or_default();
        let flag = if r.kernel_only {
            "   kernel only: no packet shows it"
        } else if r.agree {
            ""
        } else {
            "   <-- disagrees"
        };
        let _ = writeln!(
            s,
            "      {inferred:<14} {frame:>6}   {kernel:<14} {offset:>10}{flag}"
        );
    }
}

/// The run's report on stdout.
pub fn render(o: &RunOutcome) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "run {}", o.run_id);
    match &o.bridge {
        None => {
            let _ = writeln!(
                s,
                "  capture {} ({}, {} dropped by the kernel)   report {}",
                o.capture_path.display(),
                plural(o.stats.frames, "frame", "frames"),
                o.stats.dropped,
                o.report_dir.display()
            );
        }
        Some(b) => {
            let _ = writeln!(
                s,
                "  capture {} ({}, recorded by the bridge)   report {}",
                o.capture_path.display(),
                plural(b.frames_recorded, "frame", "frames"),
                o.report_dir.display()
            );
            for (name, d) in [
                ("client→server", &b.client_to_server),
                ("server→client", &b.server_to_client),
            ] {
                let st = d.stats;
                let _ = writeln!(
                    s,
                    "  bridge {name}: {}, {} dropped ({:.2}%), {} duplicated, {} corrupted, {} reordered",
                    plural(st.frames, "frame", "frames"),
                    st.dropped,
                    st.loss_percent(),
                    st.duplicated,
                    st.corrupted,
                    st.reordered
                );
            }
        }
    }
    match &o.report {
        Ok(html) => {
            let _ = writeln!(s, "  lab report {}", html.display());
        }
        Err(e) => {
            let _ = writeln!(s, "  lab report not written: {e}");
        }
    }
    for note in &o.notes {
        let _ = writeln!(s, "  note: {note}");
    }
    for f in &o.flows {
        let secs = f.duration.0 as f64 / 1e9;
        let bytes = f.bytes.client + f.bytes.server;
        let rate = rate_of(bytes, f.duration.0)
            .map(|r| format!(", {r}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  flow {} {} {} -> {}  {} {}  {} in {:.6} s{rate}",
            f.flow,
            f.proto,
            f.client,
            f.server,
            f.conn_state,
            f.history,
            plural(bytes, "byte", "bytes"),
            secs
        );
    }
    for w in &o.kernel_warnings {
        let _ = writeln!(s, "  kernel: {w}");
    }
    let k = &o.kernel;
    let udp = o.flows.iter().any(|f| f.proto == "udp");
    match &k.unavailable {
        Some(why) => {
            let _ = writeln!(s, "  kernel states: not available ({why})");
        }
        None if k.connections.is_empty() && !udp => {
            let _ = writeln!(
                s,
                "  kernel states from {}: no TCP connection to compare",
                k.source
            );
        }
        None => {
            // A header over nothing would look like a kernel that said nothing.
            if !k.connections.is_empty() {
                let _ = writeln!(s, "  kernel states from {}:", k.source);
            }
            for c in &k.connections {
                let _ = writeln!(s, "  connection {}", c.flow);
                endpoint_table(&mut s, &c.client);
                endpoint_table(&mut s, &c.server);
            }
        }
    }
    if udp {
        // The report says the same, in the report's language.
        let _ = writeln!(s, "  {}", crate::report::text::EN.kernel_udp);
    }
    if o.mismatches.is_empty() && k.agree {
        // UDP gave the kernel nothing to agree or disagree with (said just above).
        let ok = if udp {
            "OK: the capture shows what the scenario teaches"
        } else {
            "OK: the capture shows what the scenario teaches, and the kernel agrees"
        };
        let _ = writeln!(s, "{ok}");
    } else {
        for m in &o.mismatches {
            let _ = writeln!(s, "MISMATCH: {}", m.0);
        }
        if !k.agree {
            let _ = writeln!(
                s,
                "MISMATCH: the kernel's states differ from the inferred ones (marked above)"
            );
        }
    }
    s
}
