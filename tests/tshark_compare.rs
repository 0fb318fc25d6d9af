//! Cross-check against Wireshark: every fixture's per-frame fields (addresses,
//! ports, flags, raw seq/ack, lengths, options, timestamps), TCP expert flags and
//! bytes in flight must equal what `tshark -T json` reports for the same file.
//!
//! Needs tshark (`scripts/setup` installs it). Without it the test says so and
//! passes, unless `PROTOLAB_REQUIRE_TSHARK=1` (set in CI), where it fails.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use protolab::analyze::FrameAnalysis;
use protolab::decode::{Packet, Transport};
use serde_json::Value;

/// The tshark fields compared, by name.
const FIELDS: &[&str] = &[
    "frame.number",
    "frame.time_epoch",
    "frame.len",
    "frame.cap_len",
    "eth.src",
    "eth.dst",
    "ieee8021ad.id",
    "vlan.id",
    "arp.opcode",
    "arp.src.proto_ipv4",
    "arp.dst.proto_ipv4",
    "ip.src",
    "ip.dst",
    "ip.ttl",
    "ip.id",
    "ip.proto",
    "ip.frag_offset",
    "ip.flags.mf",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.hlim",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.flags",
    "tcp.len",
    "tcp.window_size_value",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.options.sack_perm",
    "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr",
    "tcp.options.sack_le",
    "tcp.options.sack_re",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "icmp.type",
    "icmp.code",
    "icmpv6.type",
    "icmpv6.code",
    "tcp.analysis.bytes_in_flight",
];

const ANALYSIS: &[&str] = &[
    "retransmission",
    "fast_retransmission",
    "spurious_retransmission",
    "out_of_order",
    "duplicate_ack",
    "zero_window",
    "zero_window_probe",
    "window_full",
    "lost_segment",
    "keep_alive",
];

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// tshark's view: frame number → field → values.
fn tshark_frames(file: &str) -> BTreeMap<u64, BTreeMap<String, Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-r", file, "-T", "json"])
        // Raw sequence numbers everywhere (SACK edges too), no IP reassembly.
        .args([
            "-o",
            "tcp.relative_sequence_numbers:FALSE",
            "-o",
            "ip.defragment:FALSE",
        ]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    for a in ANALYSIS {
        cmd.args(["-e", &format!("tcp.analysis.{a}")]);
    }
    let out = cmd.output().expect("run tshark");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "tshark output for {file} is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut frames = BTreeMap::new();
    for pkt in json.as_array().expect("array") {
        let layers = pkt["_source"]["layers"].as_object().expect("layers");
        let fields: BTreeMap<String, Vec<String>> = layers
            .iter()
            .map(|(k, v)| {
                let vals = v
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect();
                (k.clone(), vals)
            })
            .collect();
        let n: u64 = fields["frame.number"][0].parse().unwrap();
        frames.insert(n, fields);
    }
    frames
}

/// protolab's view of the same fields, named as tshark names them.
fn our_fields(p: &Packet, a: &FrameAnalysis) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut put = |k: &str, v: String| m.entry(k.to_string()).or_default().push(v);
    put("frame.number", p.frame.to_string());
    put(
        "frame.time_epoch",
        protolab::timestamp::Seconds(p.ts_ns).to_string(),
    );
    put("frame.len", p.len.to_string());
    put("frame.cap_len", p.caplen.to_string());
    if let Some(eth) = &p.eth {
        put("eth.src", eth.src.to_string());
        put("eth.dst", eth.dst.to_string());
        for id in &eth.vlan {
            put("vlan.id", id.to_string());
        }
    }
    if let Some(arp) = &p.arp {
        let op = match arp.op {
            protolab::decode::ArpOp::Request => 1,
            protolab::decode::ArpOp::Reply => 2,
            protolab::decode::ArpOp::Other(n) => n,
        };
        put("arp.opcode", op.to_string());
        put("arp.src.proto_ipv4", arp.sender_ip.to_string());
        put("arp.dst.proto_ipv4", arp.target_ip.to_string());
    }
    if let Some(ip) = &p.ip {
        if ip.version == 4 {
            put("ip.src", ip.src.to_string());
            put("ip.dst", ip.dst.to_string());
            put("ip.ttl", ip.ttl.to_string());
            put("ip.id", format!("0x{:04x}", ip.id.unwrap_or(0)));
            put("ip.proto", ip.proto.to_string());
            let frag = ip.frag.unwrap_or(protolab::decode::Fragment {
                offset: 0,
                more: false,
            });
            // tshark 4.0 shows the raw field (8-byte units); protolab shows bytes, as tcpdump.
            put("ip.frag_offset", (frag.offset / 8).to_string());
            put("ip.flags.mf", u8::from(frag.more).to_string());
        } else {
            put("ipv6.src", ip.src.to_string());
            put("ipv6.dst", ip.dst.to_string());
            put("ipv6.hlim", ip.ttl.to_string());
        }
    }
    match &p.transport {
        Some(Transport::Tcp(t)) => {
            put("tcp.srcport", t.sport.to_string());
            put("tcp.dstport", t.dport.to_string());
            put("tcp.seq_raw", t.seq.to_string());
            put("tcp.ack_raw", t.ack.to_string());
            put("tcp.flags", format!("0x{:04x}", t.flags.0));
            put("tcp.len", t.len.to_string());
            put("tcp.window_size_value", t.window.to_string());
            let o = &t.options;
            if let Some(mss) = o.mss {
                put("tcp.options.mss_val", mss.to_string());
            }
            if let Some(ws) = o.wscale {
                put("tcp.options.wscale.shift", ws.to_string());
            }
            if o.sack_perm {
                put("tcp.options.sack_perm", String::new());
            }
            if let Some((val, ecr)) = o.ts {
                put("tcp.options.timestamp.tsval", val.to_string());
                put("tcp.options.timestamp.tsecr", ecr.to_string());
            }
            for (l, r) in &o.sack {
                put("tcp.options.sack_le", l.to_string());
                put("tcp.options.sack_re", r.to_string());
            }
        }
        Some(Transport::Udp(u)) => {
            put("udp.srcport", u.sport.to_string());
            put("udp.dstport", u.dport.to_string());
            put("udp.length", u.len.to_string());
        }
        Some(Transport::Icmp(i)) => {
            let proto = if i.version == 6 { "icmpv6" } else { "icmp" };
            put(&format!("{proto}.type"), i.icmp_type.to_string());
            put(&format!("{proto}.code"), i.code.to_string());
        }
        None => {}
    }
    for name in a.flags.names() {
        put(&format!("tcp.analysis.{name}"), String::new());
    }
    if let Some(b) = a.bytes_in_flight {
        put("tcp.analysis.bytes_in_flight", b.to_string());
    }
    m
}

/// tshark prints a present flag field as "1" or ""; compare presence only.
fn normalise(mut m: BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    for (k, v) in m.iter_mut() {
        let flag = k
            .strip_prefix("tcp.analysis.")
            .is_some_and(|name| ANALYSIS.contains(&name));
        if flag || k == "tcp.options.sack_perm" {
            *v = vec![String::new()];
        }
    }
    m
}

#[test]
fn every_fixture_matches_tshark_field_by_field() {
    if !tshark_available() {
        if std::env::var("PROTOLAB_REQUIRE_TSHARK").as_deref() == Ok("1") {
            panic!("tshark is required (PROTOLAB_REQUIRE_TSHARK=1): run scripts/setup");
        }
        eprintln!(
            "SKIPPED: tshark not installed; run scripts/setup to cross-check against Wireshark"
        );
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "fixtures present");
    let mut compared = 0;
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let ours = common::replay_fixture(&name);
        let theirs = tshark_frames(path.to_str().unwrap());
        for (p, a) in &ours.frames {
            // Malformed frames are described differently by design; only whole frames are compared.
            if p.error.is_some() {
                continue;
            }
            let mut expected = normalise(theirs.get(&p.frame).cloned().unwrap_or_default());
            // An 802.1ad (0x88a8) outer tag is `ieee8021ad.id` to Wireshark; protolab lists
            // all tags, outermost first, as `vlan`.
            if let Some(outer) = expected.remove("ieee8021ad.id") {
                let inner = expected.remove("vlan.id").unwrap_or_default();
                expected.insert("vlan.id".into(), outer.into_iter().chain(inner).collect());
            }
            let mut actual = normalise(our_fields(p, a));
            // tshark decodes the transport header inside a first fragment; protolab shows
            // fragments at the IP layer only (no reassembly), so compare IP fields there.
            if p.ip.as_ref().is_some_and(|ip| ip.frag.is_some()) {
                expected.retain(|k, _| !k.starts_with("udp.") && !k.starts_with("tcp."));
                actual.retain(|k, _| !k.starts_with("udp.") && !k.starts_with("tcp."));
            }
            // ICMP errors quote an inner IP header; tshark lists its fields too. Keep the outer.
            for v in expected.values_mut() {
                if v.len() > 1
                    && !v.iter().all(|x| x == &v[0])
                    && actual.values().all(|a| a.len() == 1)
                {
                    v.truncate(1);
                }
            }
            assert_eq!(actual, expected, "{name} frame {}", p.frame);
            compared += 1;
        }
    }
    eprintln!("compared {compared} frames with tshark");
    assert!(compared > 300);
}
