//! The encapsulation of one frame (封装): Ethernet → IP → TCP/UDP → payload as
//! nested boxes with their header fields, and the frame's bytes below as a hex dump
//! coloured by the layer each byte belongs to.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{draw_err, style, ChartError, Ctx, FrameRecord, Lang};
use crate::decode::{Packet, Transport};

const ETH: RGBColor = RGBColor(187, 222, 251);
const NET: RGBColor = RGBColor(200, 230, 201);
const TRANSPORT: RGBColor = RGBColor(255, 224, 178);
const PAYLOAD: RGBColor = RGBColor(225, 190, 231);

/// One layer: its title, header fields (one string per line), colour and bytes.
struct Layer {
    title: String,
    fields: Vec<String>,
    color: RGBColor,
    bytes: Range<usize>,
}

fn ip_proto_name(p: u8) -> &'static str {
    match p {
        1 => "ICMP",
        6 => "TCP",
        17 => "UDP",
        58 => "ICMPv6",
        _ => "?",
    }
}

/// The layers of `r`, outermost first, with the byte range each occupies.
fn layers(r: &FrameRecord, lang: Lang) -> Vec<Layer> {
    let p: &Packet = &r.packet;
    let a = &r.analysis;
    let zh = lang == Lang::Zh;
    let pick = |en: &str, z: &str| if zh { z.to_string() } else { en.to_string() };
    let n = r.bytes.len();
    let clip = |x: usize| x.min(n);

    let thl = match &p.transport {
        Some(Transport::Tcp(t)) => usize::from(t.header_len),
        Some(Transport::Udp(_) | Transport::Icmp(_)) => 8,
        None => 0,
    };
    let iphl = p.ip.as_ref().map_or(0, |ip| usize::from(ip.header_len));
    let link_len = match (&p.transport, &p.eth) {
        (Some(_), _) if p.payload.start >= thl + iphl => p.payload.start - thl - iphl,
        (_, Some(e)) => 14 + 4 * e.vlan.len(),
        _ => 0,
    };

    let mut out = Vec::new();
    if let Some(e) = &p.eth {
        let mut f = vec![format!(
            "dst {}   src {}   EtherType 0x{:04x}",
            e.dst, e.src, e.ether_type
        )];
        if !e.vlan.is_empty() {
            f.push(format!("802.1Q VLAN {:?}", e.vlan.as_slice()));
        }
        out.push(Layer {
            title: format!(
                "{} — {} {} B",
                pick("Ethernet II frame", "以太网帧"),
                pick("header", "首部"),
                link_len
            ),
            fields: f,
            color: ETH,
            bytes: 0..clip(link_len),
        });
    } else if link_len > 0 {
        out.push(Layer {
            title: format!("{} — {link_len} B", pick("Link-layer header", "链路层首部")),
            fields: vec![],
            color: ETH,
            bytes: 0..clip(link_len),
        });
    }
    if let Some(arp) = &p.arp {
        out.push(Layer {
            title: format!("{} — {}", pick("ARP packet", "ARP 报文"), arp.op),
            fields: vec![
                format!("sender {} ({})", arp.sender_ip, arp.sender_mac),
                format!("target {} ({})", arp.target_ip, arp.target_mac),
            ],
            color: NET,
            bytes: clip(link_len)..clip(link_len + 28),
        });
    }
    if let Some(ip) = &p.ip {
        let mut l1 = format!(
            "version {}   {} {} B   TTL {}",
            ip.version,
            pick("header", "首部"),
            ip.header_len,
            ip.ttl
        );
        if let Some(id) = ip.id {
            l1.push_str(&format!("   id {id}"));
        }
        l1.push_str(&format!(
            "   protocol {} ({})",
            ip.proto,
            ip_proto_name(ip.proto)
        ));
        let mut l2 = format!(
            "src {}  →  dst {}   payload {} B",
            ip.src, ip.dst, ip.payload_len
        );
        if let Some(fr) = ip.frag {
            l2.push_str(&format!(
                "   fragment offset {} more {}",
                fr.offset, fr.more
            ));
        }
        out.push(Layer {
            title: format!("IPv{} {}", ip.version, pick("datagram", "数据报")),
            fields: vec![l1, l2],
            color: NET,
            bytes: clip(link_len)..clip(link_len + iphl),
        });
    }
    let t_start = link_len + iphl;
    match &p.transport {
        Some(Transport::Tcp(t)) => {
            let mut opts = Vec::new();
            if let Some(m) = t.options.mss {
                opts.push(format!("MSS {m}"));
            }
            if let Some(w) = t.options.wscale {
                opts.push(format!("wscale {w}"));
            }
            if t.options.sack_perm {
                opts.push("SACK-permitted".to_string());
            }
            if let Some((v, e)) = t.options.ts {
                opts.push(format!("TS {v}/{e}"));
            }
            for (l, r) in &t.options.sack {
                opts.push(format!("SACK {l}-{r}"));
            }
            let rel = |raw: u32, rel: Option<u32>| match rel {
                Some(r) => format!("{raw} ({} {r})", if zh { "相对" } else { "rel" }),
                None => raw.to_string(),
            };
            let mut f = vec![
                format!(
                    "src port {}  →  dst port {}   {} {} B",
                    t.sport,
                    t.dport,
                    pick("header", "首部"),
                    t.header_len
                ),
                format!(
                    "seq {}   ack {}",
                    rel(t.seq, a.rel_seq),
                    rel(t.ack, a.rel_ack)
                ),
                format!(
                    "flags [{}] {}   window {}",
                    t.flags.tcpdump(),
                    t.flags.names().collect::<Vec<_>>().join(" "),
                    t.window
                ),
            ];
            if !opts.is_empty() {
                f.push(format!("options: {}", opts.join(", ")));
            }
            out.push(Layer {
                title: pick("TCP segment", "TCP 段"),
                fields: f,
                color: TRANSPORT,
                bytes: clip(t_start)..clip(t_start + thl),
            });
        }
        Some(Transport::Udp(u)) => out.push(Layer {
            title: pick("UDP datagram", "UDP 数据报"),
            fields: vec![format!(
                "src port {}  →  dst port {}   length {}",
                u.sport, u.dport, u.len
            )],
            color: TRANSPORT,
            bytes: clip(t_start)..clip(t_start + thl),
        }),
        Some(Transport::Icmp(i)) => {
            let mut f = format!("type {}   code {}", i.icmp_type, i.code);
            if let Some((id, seq)) = i.echo {
                f.push_str(&format!("   echo id {id} seq {seq}"));
            }
            out.push(Layer {
                title: pick("ICMP message", "ICMP 报文"),
                fields: vec![f],
                color: TRANSPORT,
                bytes: clip(t_start)..clip(t_start + thl),
            });
        }
        None => {}
    }
    if p.transport.is_some() {
        let payload_len = match &p.transport {
            Some(Transport::Tcp(t)) => t.len as usize,
            Some(Transport::Udp(u)) => u.payload_len() as usize,
            _ => p.payload.len(),
        };
        let start = clip(p.payload.start.max(t_start + thl));
        let shown = &r.bytes[start..clip(p.payload.end.max(start))];
        let preview: String = shown
            .iter()
            .take(48)
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        let mut f = vec![format!("{payload_len} {}", pick("bytes", "字节"))];
        if !preview.is_empty() {
            f[0].push_str(&format!(
                ":  \"{preview}{}\"",
                if payload_len > 48 { "…" } else { "" }
            ));
        }
        out.push(Layer {
            title: pick("Application data", "应用数据"),
            fields: f,
            color: PAYLOAD,
            bytes: start..clip(p.payload.end.max(start)),
        });
    }
    out
}

pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
) -> Result<(), ChartError> {
    let t = ctx.t;
    let fam = t.family();
    let (w, h) = root.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let record = match ctx.opts.frame {
        Some(n) => ctx.data.frame(n).ok_or(ChartError::NoSuchFrame(n))?,
        None => ctx.frames.first().ok_or(ChartError::NoSuchFrame(1))?,
    };
    let layers = layers(record, t.lang);
    let title = match t.lang {
        Lang::En => format!(
            "Frame {} — encapsulation, layer by layer",
            record.packet.frame
        ),
        Lang::Zh => format!("第 {} 帧 — 逐层封装", record.packet.frame),
    };
    let subtitle = match t.lang {
        Lang::En => format!(
            "{} bytes on the wire, {} captured{}",
            record.packet.len,
            record.packet.caplen,
            if record.bytes.len() < record.packet.caplen as usize {
                format!(", first {} shown", record.bytes.len())
            } else {
                String::new()
            }
        ),
        Lang::Zh => format!(
            "线路上 {} 字节，捕获 {} 字节{}",
            record.packet.len,
            record.packet.caplen,
            if record.bytes.len() < record.packet.caplen as usize {
                format!("，显示前 {} 字节", record.bytes.len())
            } else {
                String::new()
            }
        ),
    };
    style::title(root, fam, &title, &subtitle)?;

    // Nested boxes.
    let top = 66;
    let line_h = 21;
    let head = |l: &Layer| 26 + line_h * l.fields.len() as i32;
    let boxes_bottom = top + layers.iter().map(head).sum::<i32>() + 14 * layers.len() as i32 + 8;
    let mut y = top;
    for (i, l) in layers.iter().enumerate() {
        let inset = 20 + 22 * i as i32;
        let bottom = boxes_bottom - 8 * i as i32;
        root.draw(&Rectangle::new(
            [(inset, y), (w - inset, bottom)],
            l.color.filled(),
        ))
        .map_err(draw_err)?;
        root.draw(&Rectangle::new(
            [(inset, y), (w - inset, bottom)],
            ShapeStyle::from(&style::GREY).stroke_width(1),
        ))
        .map_err(draw_err)?;
        let range = if l.bytes.is_empty() {
            String::new()
        } else {
            format!("   [{}..{})", l.bytes.start, l.bytes.end)
        };
        style::text(
            root,
            &format!("{}{range}", l.title),
            (inset + 10, y + 6),
            17,
            fam,
            &style::INK,
            (HPos::Left, VPos::Top),
        )?;
        for (j, f) in l.fields.iter().enumerate() {
            style::text(
                root,
                f,
                (inset + 18, y + 28 + line_h * j as i32),
                15,
                fam,
                &style::INK,
                (HPos::Left, VPos::Top),
            )?;
        }
        y += head(l) + 6;
    }

    // Hex dump, each byte on its layer's colour.
    let dump_top = boxes_bottom + 24;
    style::text(
        root,
        t.pick(
            "Bytes of the frame (hex), coloured by layer",
            "帧的字节（十六进制），按层着色",
        ),
        (20, dump_top),
        16,
        fam,
        &style::INK,
        (HPos::Left, VPos::Top),
    )?;
    let row_h = 20;
    let cell = 28;
    let x0 = 80;
    let rows_fit = ((h - 50 - (dump_top + 24)) / row_h).max(1) as usize;
    let color_of = |i: usize| {
        layers
            .iter()
            .rev()
            .find(|l| l.bytes.contains(&i))
            .map_or(WHITE, |l| l.color)
    };
    for (row, chunk) in record.bytes.chunks(16).enumerate().take(rows_fit) {
        let y = dump_top + 24 + row as i32 * row_h;
        style::mono(
            root,
            &format!("{:04x}", row * 16),
            (20, y),
            15,
            &style::GREY,
        )?;
        for (k, b) in chunk.iter().enumerate() {
            let i = row * 16 + k;
            let x = x0 + k as i32 * cell + if k >= 8 { 8 } else { 0 };
            root.draw(&Rectangle::new(
                [(x - 2, y - 1), (x + cell - 4, y + row_h - 2)],
                color_of(i).filled(),
            ))
            .map_err(draw_err)?;
            style::mono(root, &format!("{b:02x}"), (x, y), 15, &style::INK)?;
            let ax = x0 + 16 * cell + 30 + k as i32 * 10;
            let c = if (0x20..0x7f).contains(b) {
                *b as char
            } else {
                '.'
            };
            root.draw(&Rectangle::new(
                [(ax, y - 1), (ax + 10, y + row_h - 2)],
                color_of(i).filled(),
            ))
            .map_err(draw_err)?;
            style::mono(root, &c.to_string(), (ax, y), 15, &style::INK)?;
        }
    }
    let shown = rows_fit * 16;
    if record.bytes.len() > shown {
        let more = match t.lang {
            Lang::En => format!("… {} more bytes", record.bytes.len() - shown),
            Lang::Zh => format!("… 另有 {} 字节", record.bytes.len() - shown),
        };
        style::text(
            root,
            &more,
            (x0, h - 46),
            15,
            fam,
            &style::GREY,
            (HPos::Left, VPos::Top),
        )?;
    }

    let entries: Vec<(RGBColor, String)> = layers
        .iter()
        .map(|l| {
            (
                l.color,
                l.title.split(" — ").next().unwrap_or(&l.title).to_string(),
            )
        })
        .collect();
    let entries: Vec<(RGBColor, &str)> = entries.iter().map(|(c, s)| (*c, s.as_str())).collect();
    style::legend(root, fam, &entries, h - 22)
}
