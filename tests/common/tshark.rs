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

/// tshark's `-T fields` table of `file`: `args` (decode-as, display filter,
/// preferences) then `fields`; per line, per field, its values (a field shown
/// several times in one frame has several; an absent one none).
pub fn fields(file: &std::path::Path, args: &[&str], fields: &[&str]) -> Vec<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-r".as_ref(), file.as_os_str()]).args(args);
    cmd.args([
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        "aggregator=\u{1}",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    super::stdout_of(&mut cmd)
        .lines()
        .map(|line| {
            line.split('\t')
                .map(|f| {
                    f.split('\u{1}')
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .collect()
        })
        .collect()
}
