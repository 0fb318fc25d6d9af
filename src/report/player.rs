//! The step-through player of the HTML report: a simple ladder of its own (one SVG
//! group with an id per segment, so a script can highlight it) and, per step, the
//! packet's layers and both endpoints' states as JSON embedded in the page.
//!
//! The states at a step are the initial states with every transition attributed to
//! a frame up to and including the step's frame applied — the same rule as the
//! transition table, so the player and the table never disagree.

use std::fmt::Write;

use serde::Serialize;

use super::html::esc;
use super::model::{payload_len, Connection};
use super::text::{self, text};
use crate::chart::{FrameRecord, Lang};
use crate::decode::Transport;

/// At most this many packets per connection in the player (the rest are counted).
pub const MAX_STEPS: usize = 300;

/// One step: a packet (or, first, the moment before any packet).
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Segment index in the ladder; `None` for the opening step.
    pub seg: Option<usize>,
    pub frame: Option<u64>,
    pub caption: String,
    pub client: String,
    pub server: String,
    /// Transitions this frame caused, in words.
    pub changes: Vec<String>,
    /// (layer name, fields), outermost first.
    pub layers: Vec<(String, String)>,
}

/// Layer-by-layer description of one packet.
pub fn layers(r: &FrameRecord, lang: Lang) -> Vec<(String, String)> {
    let p = &r.packet;
    let mut out = Vec::new();
    if let Some(e) = &p.eth {
        let mut s = format!("{} → {}", e.src, e.dst);
        if !e.vlan.is_empty() {
            let _ = write!(s, " vlan {:?}", e.vlan.as_slice());
        }
        out.push(("Ethernet".to_string(), s));
    }
    if let Some(a) = &p.arp {
        out.push((
            "ARP".to_string(),
            format!("{} {} → {}", a.op, a.sender_ip, a.target_ip),
        ));
    }
    if let Some(ip) = &p.ip {
        let mut s = format!("{} → {} ttl {}", ip.src, ip.dst, ip.ttl);
        if let Some(id) = ip.id {
            let _ = write!(s, " id {id}");
        }
        out.push((format!("IPv{}", ip.version), s));
    }
    match &p.transport {
        Some(Transport::Tcp(t)) => {
            let seq = r.analysis.rel_seq.unwrap_or(t.seq);
            let mut s = format!(
                "{} → {} [{}] seq {seq}",
                t.sport,
                t.dport,
                t.flags.tcpdump()
            );
            if t.flags.ack() {
                let _ = write!(s, " ack {}", r.analysis.rel_ack.unwrap_or(t.ack));
            }
            let _ = write!(s, " win {} len {}", t.window, t.len);
            out.push(("TCP".to_string(), s));
        }
        Some(Transport::Udp(u)) => {
            out.push((
                "UDP".to_string(),
                format!("{} → {} len {}", u.sport, u.dport, u.len),
            ));
        }
        Some(Transport::Icmp(i)) => {
            out.push((
                "ICMP".to_string(),
                format!("type {} code {}", i.icmp_type, i.code),
            ));
        }
        None => {}
    }
    let len = payload_len(r);
    if len > 0 {
        let word = text(lang).bytes;
        out.push((
            match lang {
                Lang::En => "Payload".to_string(),
                Lang::Zh => "应用数据".to_string(),
            },
            format!("{len} {word}"),
        ));
    }
    out
}

/// Short label of a segment on the ladder: flags, relative seq/ack, length.
pub fn label(r: &FrameRecord) -> String {
    match &r.packet.transport {
        Some(Transport::Tcp(t)) => {
            let mut s = format!(
                "[{}] seq {}",
                t.flags.tcpdump(),
                r.analysis.rel_seq.unwrap_or(t.seq)
            );
            if t.flags.ack() {
                let _ = write!(s, " ack {}", r.analysis.rel_ack.unwrap_or(t.ack));
            }
            if t.len > 0 {
                let _ = write!(s, " len {}", t.len);
            }
            s
        }
        Some(Transport::Udp(u)) => format!("UDP len {}", u.payload_len()),
        _ => String::new(),
    }
}

/// The player's steps for one connection.
pub fn steps(c: &Connection, frames: &[FrameRecord], lang: Lang) -> Vec<Step> {
    let t = text(lang);
    let tcp = c.proto == "tcp";
    let initial = |states: &[crate::analyze::TcpState]| {
        states
            .first()
            .map(|s| s.name().to_string())
            .unwrap_or_else(|| "—".to_string())
    };
    let mut client = initial(&c.client_states);
    let mut server = initial(&c.server_states);
    let mut out = vec![Step {
        seg: None,
        frame: None,
        caption: t.before_first.to_string(),
        client: client.clone(),
        server: server.clone(),
        changes: Vec::new(),
        layers: Vec::new(),
    }];
    let mut next_transition = 0;
    for (i, r) in frames.iter().take(MAX_STEPS).enumerate() {
        let frame = r.packet.frame;
        let mut changes = Vec::new();
        while let Some(tr) = c.transitions.get(next_transition) {
            if tr.frame > frame {
                break;
            }
            match tr.endpoint {
                "server" => server = tr.to.name().to_string(),
                _ => client = tr.to.name().to_string(),
            }
            changes.push(format!(
                "{}: {} → {} ({})",
                text::role(tr.endpoint, lang),
                tr.from,
                tr.to,
                tr.why
            ));
            next_transition += 1;
        }
        // A segment impossible in its endpoint's state, as `inspect` lists it.
        for n in &r.analysis.anomalies {
            let who = text::role(n.endpoint.name(), lang);
            changes.push(format!("{who}: {}", text::anomaly(n.what, lang)));
        }
        let sender = r
            .analysis
            .sender
            .map(|s| text::role(s.name(), lang))
            .unwrap_or("?");
        let mut flags: Vec<&str> = r
            .analysis
            .flags
            .names()
            .map(|f| text::flag(f, lang).0)
            .collect();
        if r.packet.error.is_some() {
            flags.push(text::flag("malformed", lang).0);
        }
        let mut caption = format!("{} {frame} · {sender} · {}", t.frame, label(r));
        if !flags.is_empty() {
            let _ = write!(caption, " · {}", flags.join(", "));
        }
        out.push(Step {
            seg: Some(i),
            frame: Some(frame),
            caption,
            client: if tcp { client.clone() } else { "—".into() },
            server: if tcp { server.clone() } else { "—".into() },
            changes,
            layers: layers(r, lang),
        });
    }
    out
}

/// The player's own ladder: evenly spaced rows, one `<g id="{id}-s{i}">` per segment.
pub fn ladder_svg(id: &str, c: &Connection, frames: &[FrameRecord], lang: Lang) -> String {
    const W: u32 = 640;
    const ROW: u32 = 30;
    const TOP: u32 = 44;
    let (xc, xs) = (150u32, 490u32);
    let n = frames.len().min(MAX_STEPS) as u32;
    let h = TOP + n * ROW + 20;
    let t = text(lang);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg id=\"{id}-ladder\" class=\"ladder\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {h}\" width=\"{W}\" height=\"{h}\" role=\"img\">"
    );
    let _ = write!(
        s,
        "<defs><marker id=\"{id}-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"context-stroke\"/></marker></defs>"
    );
    for (x, name, addr) in [(xc, t.client, c.client), (xs, t.server, c.server)] {
        let _ = write!(
            s,
            "<text x=\"{x}\" y=\"16\" text-anchor=\"middle\" class=\"who\">{}</text><text x=\"{x}\" y=\"32\" text-anchor=\"middle\" class=\"addr\">{}</text><line x1=\"{x}\" y1=\"{TOP}\" x2=\"{x}\" y2=\"{}\" class=\"life\"/>",
            esc(name),
            esc(&addr.to_string()),
            h - 8
        );
    }
    for (i, r) in frames.iter().take(MAX_STEPS).enumerate() {
        let y = TOP + i as u32 * ROW + 4;
        let to_server = r
            .analysis
            .sender
            .map(|s| s.name() == "client")
            .unwrap_or(true);
        let (x1, x2) = if to_server { (xc, xs) } else { (xs, xc) };
        let mut class = String::from("seg");
        let f = r.analysis.flags;
        if f.is_retransmission() {
            class.push_str(" retrans");
        }
        if f.has(crate::analyze::AnalysisFlags::DUPLICATE_ACK) {
            class.push_str(" dup");
        }
        if r.packet
            .tcp()
            .is_some_and(|t| t.flags.syn() || t.flags.fin() || t.flags.rst())
        {
            class.push_str(" ctl");
        }
        let _ = write!(
            s,
            "<g id=\"{id}-s{i}\" class=\"{class}\" data-step=\"{}\"><text x=\"8\" y=\"{}\" class=\"fno\">{}</text><line x1=\"{x1}\" y1=\"{}\" x2=\"{x2}\" y2=\"{}\" marker-end=\"url(#{id}-arrow)\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"lbl\">{}</text></g>",
            i + 1,
            y + 16,
            r.packet.frame,
            y + 10,
            y + ROW - 4,
            (xc + xs) / 2,
            y + 8,
            esc(&label(r))
        );
    }
    s.push_str("</svg>");
    s
}
