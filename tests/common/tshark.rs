//! tshark, which the cross-checks compare protolab with.

use std::process::Command;

/// True when tshark runs here. Without it the caller skips its cross-check and
/// says so, unless `PROTOLAB_REQUIRE_TSHARK=1` (CI): then it panics.
pub fn tshark_available() -> bool {
    let ok = Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("PROTOLAB_REQUIRE_TSHARK").as_deref() == Ok("1") {
            panic!("tshark is required (PROTOLAB_REQUIRE_TSHARK=1): run scripts/setup");
        }
        eprintln!(
            "SKIPPED: tshark not installed; run scripts/setup to cross-check against Wireshark"
        );
    }
    ok
}
