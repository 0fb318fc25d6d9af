//! The step-through player of the HTML report: a simple ladder of its own (one SVG
//! group with an id per segment, so a script can highlight it) and, per step, the
//! packet's layers and both endpoints' states as JSON embedded in the page.
//!
//! The states at a step are the initial states with every transition attributed to
//! a frame up to and including the step's frame applied — the same rule as the
//! transition table, so the player and the table never disagree.

use std::fmt::Write;

use serde::Serialize;

use super::model::{payload_len, Connection};
use super::player_diagram::{self, DiagramView};
use super::text::{self, text};
use crate::chart::diagram_layout::Layout;
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
    /// The boxes of the state diagram each endpoint is in (keys of
    /// [`Node::key`](crate::chart::diagram_layout::Node::key); empty for UDP).
    pub client_node: String,
    pub server_node: String,
    /// The diagram's arrows this frame moved an endpoint along.
    pub arcs: Vec<ArcTaken>,
}

/// An arrow of the player's diagram taken at a step.
#[derive(Debug, Clone, Serialize)]
pub struct ArcTaken {
    /// `client` or `server`.
    pub who: &'static str,
    /// Index of the arrow in [`DiagramView::edges`].
    pub edge: usize,
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
        let (label, size) = match lang {
            Lang::En => (
                "Payload",
                crate::output::words::plural(len, "byte", "bytes"),
            ),
            Lang::Zh => ("应用数据", format!("{len} {}", text(lang).bytes)),
        };
        out.push((label.to_string(), size));
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
    let layout = Layout::standard();
    let extra = player_diagram::off_diagram(c);
    let (mut client_node, mut server_node) = if tcp {
        (
            player_diagram::start_key(&c.client_states),
            player_diagram::start_key(&c.server_states),
        )
    } else {
        (String::new(), String::new())
    };
    let mut out = vec![Step {
        seg: None,
        frame: None,
        caption: t.before_first.to_string(),
        client: client.clone(),
        server: server.clone(),
        changes: Vec::new(),
        layers: Vec::new(),
        client_node: client_node.clone(),
        server_node: server_node.clone(),
        arcs: Vec::new(),
    }];
    let mut next_transition = 0;
    for (i, r) in frames.iter().take(MAX_STEPS).enumerate() {
        let frame = r.packet.frame;
        let mut changes = Vec::new();
        let mut arcs = Vec::new();
        while let Some(tr) = c.transitions.get(next_transition) {
            if tr.frame > frame {
                break;
            }
            let (edge, node) = player_diagram::place(&layout, &extra, tr);
            match tr.endpoint {
                "server" => {
                    server = tr.to.name().to_string();
                    server_node = node;
                }
                _ => {
                    client = tr.to.name().to_string();
                    client_node = node;
                }
            }
            arcs.push(ArcTaken {
                who: if tr.endpoint == "server" {
                    "server"
                } else {
                    "client"
                },
                edge,
            });
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
            client_node: client_node.clone(),
            server_node: server_node.clone(),
            arcs,
        });
    }
    out
}

/// The player's own ladder, as values for `player.html` to draw: evenly spaced
/// rows, one segment each (its `<g id="{id}-s{i}">` is what the script highlights).
#[derive(Debug, Clone, Serialize)]
pub struct Ladder {
    pub id: String,
    pub width: u32,
    pub height: u32,
    /// Where the lifelines start and end.
    pub top: u32,
    pub life_end: u32,
    /// Row height.
    pub row: u32,
    /// x of the segment labels (between the lifelines).
    pub mid: u32,
    pub ends: [LadderEnd; 2],
    pub segs: Vec<LadderSeg>,
}

/// One endpoint's lifeline.
#[derive(Debug, Clone, Serialize)]
pub struct LadderEnd {
    pub x: u32,
    pub who: &'static str,
    pub addr: String,
}

/// One segment's arrow: from `x1` to `x2`, starting at row top `y`.
#[derive(Debug, Clone, Serialize)]
pub struct LadderSeg {
    pub y: u32,
    pub x1: u32,
    pub x2: u32,
    /// `seg` and any of `retrans`, `dup`, `ctl` (the page's CSS colours them).
    pub class: String,
    pub frame: u64,
    pub label: String,
}

/// The CSS classes of a segment's arrow.
fn seg_class(r: &FrameRecord) -> String {
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
    class
}

/// The player's own ladder for one connection; `id` names the player on the page.
pub fn ladder(id: &str, c: &Connection, frames: &[FrameRecord], lang: Lang) -> Ladder {
    const W: u32 = 640;
    const ROW: u32 = 30;
    const TOP: u32 = 44;
    let (xc, xs) = (150u32, 490u32);
    let n = frames.len().min(MAX_STEPS) as u32;
    let height = TOP + n * ROW + 20;
    let t = text(lang);
    let segs = frames
        .iter()
        .take(MAX_STEPS)
        .enumerate()
        .map(|(i, r)| {
            let to_server = r
                .analysis
                .sender
                .map(|s| s.name() == "client")
                .unwrap_or(true);
            let (x1, x2) = if to_server { (xc, xs) } else { (xs, xc) };
            LadderSeg {
                y: TOP + i as u32 * ROW + 4,
                x1,
                x2,
                class: seg_class(r),
                frame: r.packet.frame,
                label: label(r),
            }
        })
        .collect();
    Ladder {
        id: id.to_string(),
        width: W,
        height,
        top: TOP,
        life_end: height - 8,
        row: ROW,
        mid: (xc + xs) / 2,
        ends: [
            LadderEnd {
                x: xc,
                who: t.client,
                addr: c.client.to_string(),
            },
            LadderEnd {
                x: xs,
                who: t.server,
                addr: c.server.to_string(),
            },
        ],
        segs,
    }
}

/// Everything `player.html` needs for one connection.
#[derive(Debug, Clone, Serialize)]
pub struct Player {
    pub id: String,
    pub client: String,
    pub server: String,
    pub steps: Vec<Step>,
    pub ladder: Ladder,
    /// The state diagram (TCP connections only).
    pub diagram: Option<DiagramView>,
    /// Frames of the connection, and how many of them the player shows.
    pub frames: usize,
    pub shown: usize,
}

/// The player of one connection, named `p{flow}` on the page.
pub fn player(c: &Connection, frames: &[FrameRecord], lang: Lang) -> Player {
    let id = format!("p{}", c.flow);
    Player {
        client: c.client.to_string(),
        server: c.server.to_string(),
        steps: steps(c, frames, lang),
        ladder: ladder(&id, c, frames, lang),
        diagram: (c.proto == "tcp").then(|| player_diagram::diagram(&id, c, lang).0),
        frames: frames.len(),
        shown: MAX_STEPS,
        id,
    }
}
