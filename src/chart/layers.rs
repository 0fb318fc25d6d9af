//! The encapsulation of one frame (封装): Ethernet → IP → TCP/UDP → payload as
//! nested boxes with their header fields, and the frame's bytes below as a hex dump
//! coloured by the layer each byte belongs to.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::text::Text;
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

/// Where a frame's headers are: the lengths the layers' byte ranges come from.
struct Spans {
    /// Bytes kept of the frame (ranges are clipped to it).
    n: usize,
    link_len: usize,
    /// IP header length.
    iphl: usize,
    /// Transport header length.
    thl: usize,
    lang: Lang,
}

impl Spans {
    fn of(r: &FrameRecord, lang: Lang) -> Spans {
        let p = &r.packet;
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
        Spans {
            n: r.bytes.len(),
            link_len,
            iphl,
            thl,
            lang,
        }
    }

    fn clip(&self, x: usize) -> usize {
        x.min(self.n)
    }

    /// `start..start + len`, clipped to the bytes kept.
    fn range(&self, start: usize, len: usize) -> Range<usize> {
        self.clip(start)..self.clip(start + len)
    }

    /// Where the transport header starts.
    fn transport_start(&self) -> usize {
        self.link_len + self.iphl
    }

    fn pick(&self, en: &str, zh: &str) -> String {
        match self.lang {
            Lang::En => en.to_string(),
            Lang::Zh => zh.to_string(),
        }
    }
}

/// The layers of `r`, outermost first, with the byte range each occupies.
fn layers(r: &FrameRecord, lang: Lang) -> Vec<Layer> {
    let p: &Packet = &r.packet;
    let sp = Spans::of(r, lang);
    let mut out: Vec<Layer> = link_layer(p, &sp).into_iter().collect();
    if let Some(arp) = &p.arp {
        out.push(Layer {
            title: format!("{} — {}", sp.pick("ARP packet", "ARP 报文"), arp.op),
            fields: vec![
                format!("sender {} ({})", arp.sender_ip, arp.sender_mac),
                format!("target {} ({})", arp.target_ip, arp.target_mac),
            ],
            color: NET,
            bytes: sp.range(sp.link_len, 28),
        });
    }
    out.extend(ip_layer(p, &sp));
    out.extend(transport_layer(r, &sp));
    if p.transport.is_some() {
        out.push(payload_layer(r, &sp));
    }
    out
}

/// The Ethernet header, or a bare link-layer header of another link type.
fn link_layer(p: &Packet, sp: &Spans) -> Option<Layer> {
    let link_len = sp.link_len;
    if let Some(e) = &p.eth {
        let mut f = vec![format!(
            "dst {}   src {}   EtherType 0x{:04x}",
            e.dst, e.src, e.ether_type
        )];
        if !e.vlan.is_empty() {
            f.push(format!("802.1Q VLAN {:?}", e.vlan.as_slice()));
        }
        Some(Layer {
            title: format!(
                "{} — {} {} B",
                sp.pick("Ethernet II frame", "以太网帧"),
                sp.pick("header", "首部"),
                link_len
            ),
            fields: f,
            color: ETH,
            bytes: 0..sp.clip(link_len),
        })
    } else if link_len > 0 {
        Some(Layer {
            title: format!(
                "{} — {link_len} B",
                sp.pick("Link-layer header", "链路层首部")
            ),
            fields: vec![],
            color: ETH,
            bytes: 0..sp.clip(link_len),
        })
    } else {
        None
    }
}

fn ip_layer(p: &Packet, sp: &Spans) -> Option<Layer> {
    let ip = p.ip.as_ref()?;
    let mut l1 = format!(
        "version {}   {} {} B   TTL {}",
        ip.version,
        sp.pick("header", "首部"),
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
    Some(Layer {
        title: format!("IPv{} {}", ip.version, sp.pick("datagram", "数据报")),
        fields: vec![l1, l2],
        color: NET,
        bytes: sp.range(sp.link_len, sp.iphl),
    })
}

fn transport_layer(r: &FrameRecord, sp: &Spans) -> Option<Layer> {
    let bytes = sp.range(sp.transport_start(), sp.thl);
    let (title, fields) = match r.packet.transport.as_ref()? {
        Transport::Tcp(t) => (sp.pick("TCP segment", "TCP 段"), tcp_fields(t, r, sp)),
        Transport::Udp(u) => (
            sp.pick("UDP datagram", "UDP 数据报"),
            vec![format!(
                "src port {}  →  dst port {}   length {}",
                u.sport, u.dport, u.len
            )],
        ),
        Transport::Icmp(i) => {
            let mut f = format!("type {}   code {}", i.icmp_type, i.code);
            if let Some((id, seq)) = i.echo {
                f.push_str(&format!("   echo id {id} seq {seq}"));
            }
            (sp.pick("ICMP message", "ICMP 报文"), vec![f])
        }
    };
    Some(Layer {
        title,
        fields,
        color: TRANSPORT,
        bytes,
    })
}

/// A TCP header's lines: ports, numbers (raw and relative), flags and window, options.
fn tcp_fields(t: &crate::decode::TcpInfo, r: &FrameRecord, sp: &Spans) -> Vec<String> {
    let a = &r.analysis;
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
    let rel_word = sp.pick("rel", "相对");
    // SACK edges are sequence numbers of the peer's data, like the ack beside them:
    // shown raw and relative to the same base as the ack, as inspect prints them.
    let rel_sack = crate::output::rel_sack(t, a);
    for (i, (l, r)) in t.options.sack.iter().enumerate() {
        match rel_sack.as_ref().and_then(|b| b.get(i)) {
            Some((rl, rr)) => opts.push(format!("SACK {l}-{r} ({rel_word} {rl}-{rr})")),
            None => opts.push(format!("SACK {l}-{r}")),
        }
    }
    let rel = |raw: u32, rel: Option<u32>| match rel {
        Some(r) => format!("{raw} ({rel_word} {r})"),
        None => raw.to_string(),
    };
    let mut f = vec![
        format!(
            "src port {}  →  dst port {}   {} {} B",
            t.sport,
            t.dport,
            sp.pick("header", "首部"),
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
    f
}

/// The application data: its length and the first 48 bytes as text.
fn payload_layer(r: &FrameRecord, sp: &Spans) -> Layer {
    let p = &r.packet;
    let payload_len = match &p.transport {
        Some(Transport::Tcp(t)) => t.len as usize,
        Some(Transport::Udp(u)) => u.payload_len() as usize,
        _ => p.payload.len(),
    };
    let start = sp.clip(p.payload.start.max(sp.transport_start() + sp.thl));
    let end = sp.clip(p.payload.end.max(start));
    let preview: String = r.bytes[start..end]
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
    let mut f = vec![format!("{payload_len} {}", sp.pick("bytes", "字节"))];
    if !preview.is_empty() {
        f[0].push_str(&format!(
            ":  \"{preview}{}\"",
            if payload_len > 48 { "…" } else { "" }
        ));
    }
    Layer {
        title: sp.pick("Application data", "应用数据"),
        fields: f,
        color: PAYLOAD,
        bytes: start..end,
    }
}

/// The frame the picture shows: `--frame`, else the flow's first.
fn record<'a>(ctx: &Ctx<'a>) -> Result<&'a FrameRecord, ChartError> {
    match ctx.opts.frame {
        Some(n) => ctx.data.frame(n).ok_or(ChartError::NoSuchFrame(n)),
        None => ctx.frames.first().ok_or(ChartError::NoSuchFrame(1)),
    }
}

/// Vertical layout, in pixels.
const TOP: i32 = 66;
const LINE_H: i32 = 21;
const ROW_H: i32 = 20;
/// Room below the dump: the "… more bytes" line and the legend.
const FOOT: i32 = 50;

/// Height of a layer's own header: its title and field lines.
fn head(l: &Layer) -> i32 {
    26 + LINE_H * l.fields.len() as i32
}

/// Where the nested boxes end.
fn boxes_bottom(layers: &[Layer]) -> i32 {
    TOP + layers.iter().map(head).sum::<i32>() + 14 * layers.len() as i32 + 8
}

/// The top of the hex dump's heading.
fn dump_top(layers: &[Layer]) -> i32 {
    boxes_bottom(layers) + 24
}

/// The height that shows the whole picture: the boxes, then every row of the dump,
/// then the legend. The canvas is cut to it, so a short frame leaves no empty area.
pub fn content_height(ctx: &Ctx) -> Result<u32, ChartError> {
    let record = record(ctx)?;
    let layers = layers(record, ctx.t.lang);
    let rows = record.bytes.len().div_ceil(16).max(1) as i32;
    let legend = legend_extra(ctx.t.family(), &layers, ctx.opts.width as i32)?;
    Ok((dump_top(&layers) + 24 + rows * ROW_H + FOOT + legend) as u32)
}

/// The legend's words: each layer's name.
fn legend_labels(layers: &[Layer]) -> impl Iterator<Item = &str> {
    layers
        .iter()
        .map(|l| l.title.split(" — ").next().unwrap_or(&l.title))
}

/// Pixels the legend takes beyond its one row, when a narrow picture wraps it.
fn legend_extra(fam: &str, layers: &[Layer], w: i32) -> Result<i32, ChartError> {
    let (_, rows) = style::legend_layout(fam, legend_labels(layers), w)?;
    Ok((rows - 1) * style::LEGEND_ROW)
}

pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx,
) -> Result<(), ChartError> {
    let t = ctx.t;
    let fam = t.family();
    let (w, h) = root.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let record = record(ctx)?;
    let layers = layers(record, t.lang);
    draw_title(root, t, record)?;
    draw_boxes(root, fam, &layers, w)?;
    // The dump ends above the legend, however many rows it wraps onto.
    draw_hex_dump(root, t, record, &layers, h - legend_extra(fam, &layers, w)?)?;
    let entries: Vec<(RGBColor, &str)> = layers
        .iter()
        .map(|l| l.color)
        .zip(legend_labels(&layers))
        .collect();
    style::legend(root, fam, &entries, h - 22)
}

/// Title (the frame) and subtitle (its length on the wire and as captured).
fn draw_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: Text,
    record: &FrameRecord,
) -> Result<(), ChartError> {
    let title = match t.lang {
        Lang::En => format!(
            "Frame {} — encapsulation, layer by layer",
            record.packet.frame
        ),
        Lang::Zh => format!("第 {} 帧 — 逐层封装", record.packet.frame),
    };
    let cut = record.bytes.len() < record.packet.caplen as usize;
    let subtitle = match t.lang {
        Lang::En => format!(
            "{} bytes on the wire, {} captured{}",
            record.packet.len,
            record.packet.caplen,
            if cut {
                format!(", first {} shown", record.bytes.len())
            } else {
                String::new()
            }
        ),
        Lang::Zh => format!(
            "线路上 {} 字节，捕获 {} 字节{}",
            record.packet.len,
            record.packet.caplen,
            if cut {
                format!("，显示前 {} 字节", record.bytes.len())
            } else {
                String::new()
            }
        ),
    };
    style::title(root, t.family(), &title, &subtitle)
}

/// The layers as nested boxes, each with its title, byte range and fields.
fn draw_boxes<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fam: &str,
    layers: &[Layer],
    w: i32,
) -> Result<(), ChartError> {
    let boxes_bottom = boxes_bottom(layers);
    let mut y = TOP;
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
                (inset + 18, y + 28 + LINE_H * j as i32),
                15,
                fam,
                &style::INK,
                (HPos::Left, VPos::Top),
            )?;
        }
        y += head(l) + 6;
    }
    Ok(())
}

/// Hex dump, each byte on its layer's colour, as many rows as fit above the legend.
fn draw_hex_dump<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: Text,
    record: &FrameRecord,
    layers: &[Layer],
    h: i32,
) -> Result<(), ChartError> {
    let fam = t.family();
    let dump_top = dump_top(layers);
    let heading = match (record.masked, t.lang) {
        (0, _) => t
            .pick(
                "Bytes of the frame (hex), coloured by layer",
                "帧的字节（十六进制），按层着色",
            )
            .to_string(),
        (n, Lang::En) => format!(
            "Bytes of the frame (hex), coloured by layer; {n} password bytes shown as * (the capture file keeps them)"
        ),
        (n, Lang::Zh) => {
            format!("帧的字节（十六进制），按层着色；{n} 个密码字节显示为 *（抓包文件中保留原值）")
        }
    };
    style::text(
        root,
        &heading,
        (20, dump_top),
        16,
        fam,
        &style::INK,
        (HPos::Left, VPos::Top),
    )?;
    let rows_fit = ((h - FOOT - (dump_top + 24)) / ROW_H).max(1) as usize;
    let color_of = |i: usize| {
        layers
            .iter()
            .rev()
            .find(|l| l.bytes.contains(&i))
            .map_or(WHITE, |l| l.color)
    };
    for (row, chunk) in record.bytes.chunks(16).enumerate().take(rows_fit) {
        let y = dump_top + 24 + row as i32 * ROW_H;
        style::mono(
            root,
            &format!("{:04x}", row * 16),
            (20, y),
            15,
            &style::GREY,
        )?;
        for (k, b) in chunk.iter().enumerate() {
            draw_byte(root, (k, y), *b, color_of(row * 16 + k))?;
        }
    }
    let shown = rows_fit * 16;
    if record.bytes.len() > shown {
        let more = match t.lang {
            Lang::En => format!(
                "… {}",
                crate::output::words::plural(record.bytes.len() - shown, "more byte", "more bytes")
            ),
            Lang::Zh => format!("… 另有 {} 字节", record.bytes.len() - shown),
        };
        style::text(
            root,
            &more,
            (HEX_X, h - 46),
            15,
            fam,
            &style::GREY,
            (HPos::Left, VPos::Top),
        )?;
    }
    Ok(())
}

/// Left edge of the hex columns, and one byte's width there.
const HEX_X: i32 = 80;
const CELL: i32 = 28;

/// Byte `b` in column `k` of the row at `y`: as hex, and as a character on the right.
fn draw_byte<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (k, y): (usize, i32),
    b: u8,
    color: RGBColor,
) -> Result<(), ChartError> {
    let x = HEX_X + k as i32 * CELL + if k >= 8 { 8 } else { 0 };
    root.draw(&Rectangle::new(
        [(x - 2, y - 1), (x + CELL - 4, y + ROW_H - 2)],
        color.filled(),
    ))
    .map_err(draw_err)?;
    style::mono(root, &format!("{b:02x}"), (x, y), 15, &style::INK)?;
    let ax = HEX_X + 16 * CELL + 30 + k as i32 * 10;
    let c = if (0x20..0x7f).contains(&b) {
        b as char
    } else {
        '.'
    };
    root.draw(&Rectangle::new(
        [(ax, y - 1), (ax + 10, y + ROW_H - 2)],
        color.filled(),
    ))
    .map_err(draw_err)?;
    style::mono(root, &c.to_string(), (ax, y), 15, &style::INK)
}
