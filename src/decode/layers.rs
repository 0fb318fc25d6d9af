//! Copies etherparse's slices into protolab's owned `Packet`, layer by layer,
//! and adds the length checks lax slicing leaves to the caller.

use std::net::IpAddr;

use arrayvec::ArrayVec;
use etherparse::err::{self, packet::SliceError, LenError};
use etherparse::{
    ArpOperation, EtherType, Ethernet2Slice, IpNumber, Ipv4HeaderSlice, Ipv6ExtensionSlice,
    LaxLinkExtSlice, LaxNetSlice, LaxSlicedPacket, LenSource, LinkSlice, SingleVlanSlice,
    TcpOptionElement, TcpSlice, TransportSlice, UdpSlice,
};

use super::link::why;
use super::{
    ArpInfo, ArpOp, DecodeError, EthInfo, Fragment, IcmpInfo, IpInfo, Layer, MacAddr, Packet,
    TcpFlags, TcpInfo, TcpOptions, Transport, UdpInfo,
};

/// Fills `packet` from the sliced frame. `frame` is the whole captured frame, so
/// payload positions can be stored as offsets into it.
pub fn fill(packet: &mut Packet, sliced: &LaxSlicedPacket<'_>, frame: &[u8], truncated: bool) {
    packet.eth = ethernet(sliced);
    // `packet.error` holds the first problem found; later checks only fill it when empty.
    packet.error = sliced
        .stop_err
        .as_ref()
        .map(|(e, _)| slice_error(e, truncated));

    match &sliced.net {
        Some(LaxNetSlice::Arp(arp)) => packet.arp = arp_info(arp),
        Some(LaxNetSlice::Ipv4(v4)) => {
            let available = v4.header().slice().len() + v4.payload().payload.len();
            ipv4(
                packet,
                &v4.header(),
                v4.payload().ip_number.0,
                available,
                truncated,
            );
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let ext_len = v6.extensions().slice().len();
            let mut ext = ArrayVec::new();
            let mut id = None;
            let mut frag = None;
            // etherparse's iterator follows the last header's "next header" field even
            // past a header that failed to parse, reading beyond the slice (found by
            // fuzzing): stop once the headers seen cover the extension bytes.
            let mut seen = 0;
            let mut headers = v6.extensions().clone().into_iter();
            while seen < ext_len {
                let Some(e) = headers.next() else { break };
                seen += match &e {
                    Ipv6ExtensionSlice::HopByHop(h)
                    | Ipv6ExtensionSlice::Routing(h)
                    | Ipv6ExtensionSlice::DestinationOptions(h) => h.slice().len(),
                    Ipv6ExtensionSlice::Fragment(f) => f.slice().len(),
                    Ipv6ExtensionSlice::Authentication(a) => a.slice().len(),
                }
                .max(1);
                let number = match e {
                    Ipv6ExtensionSlice::HopByHop(_) => 0,
                    Ipv6ExtensionSlice::Routing(_) => 43,
                    Ipv6ExtensionSlice::Fragment(f) => {
                        id = Some(f.identification());
                        let offset = u32::from(f.fragment_offset().value()) * 8;
                        if f.more_fragments() || offset > 0 {
                            frag = Some(Fragment {
                                offset,
                                more: f.more_fragments(),
                            });
                        }
                        44
                    }
                    Ipv6ExtensionSlice::DestinationOptions(_) => 60,
                    Ipv6ExtensionSlice::Authentication(_) => 51,
                };
                let _ = ext.try_push(number);
            }
            let payload_length = usize::from(h.payload_length());
            let available = v6.payload().payload.len() + ext_len;
            packet.ip = Some(IpInfo {
                version: 6,
                src: IpAddr::V6(h.source_addr()),
                dst: IpAddr::V6(h.destination_addr()),
                ttl: h.hop_limit(),
                id,
                proto: v6.payload().ip_number.0,
                header_len: (40 + ext_len) as u16,
                payload_len: payload_length.saturating_sub(ext_len) as u32,
                options_len: 0,
                ext,
                frag,
            });
            if packet.error.is_none() && payload_length > available && !truncated {
                packet.error = Some(DecodeError::LengthPastFrame {
                    layer: Layer::Ipv6,
                    field: "payload length",
                    claimed: payload_length + 40,
                    available: available + 40,
                    within: "in the frame",
                });
            }
        }
        None => {}
    }

    let ip_payload = packet.ip.as_ref().map(|ip| ip.payload_len);
    match &sliced.transport {
        Some(TransportSlice::Tcp(tcp)) => tcp_layer(packet, tcp, frame, ip_payload),
        Some(TransportSlice::Udp(udp)) => udp_layer(packet, udp, frame, ip_payload),
        Some(TransportSlice::Icmpv4(icmp)) => {
            packet.payload = range_in(frame, icmp.payload());
            packet.transport = Some(Transport::Icmp(icmp_info(4, icmp.slice(), [8, 0])));
        }
        Some(TransportSlice::Icmpv6(icmp)) => {
            packet.payload = range_in(frame, icmp.payload());
            packet.transport = Some(Transport::Icmp(icmp_info(6, icmp.slice(), [128, 129])));
        }
        _ => {}
    }
}

/// The common case, decoded without building a `LaxSlicedPacket`: Ethernet II (with
/// up to three VLAN tags), an unfragmented IPv4 packet without extension headers,
/// and a TCP or UDP header that is whole. Returns false, leaving `packet`
/// untouched, for anything else; the general path then decodes the frame.
///
/// Whenever it returns true, `packet` holds exactly what [`fill`] would have
/// produced from `LaxSlicedPacket::from_ethernet(frame)`.
#[inline]
pub fn fill_fast(packet: &mut Packet, frame: &[u8], truncated: bool) -> bool {
    let Ok(eth) = Ethernet2Slice::from_slice_without_fcs(frame) else {
        return false;
    };
    let mut ether_type = eth.ether_type();
    let mut net = eth.payload_slice();
    let mut vlan: ArrayVec<u16, 4> = ArrayVec::new();
    while matches!(
        ether_type,
        EtherType::VLAN_TAGGED_FRAME
            | EtherType::PROVIDER_BRIDGING
            | EtherType::VLAN_DOUBLE_TAGGED_FRAME
    ) {
        // etherparse keeps at most LINK_EXTS_CAP tags; more is the general path's business.
        if vlan.len() == LaxSlicedPacket::LINK_EXTS_CAP {
            return false;
        }
        let Ok(tag) = SingleVlanSlice::from_slice(net) else {
            return false;
        };
        vlan.push(tag.vlan_identifier().value());
        ether_type = tag.ether_type();
        net = tag.payload_slice();
    }
    if ether_type != EtherType::IPV4 {
        return false;
    }
    let Ok(h) = Ipv4HeaderSlice::from_slice(net) else {
        return false;
    };
    let header_len = h.slice().len();
    let total_len = usize::from(h.total_len());
    if total_len < header_len || h.is_fragmenting_payload() {
        return false;
    }
    // Lax slicing: a packet cut short (snaplen) keeps what there is.
    let ip_payload = &net[header_len..total_len.min(net.len())];
    let available = header_len + ip_payload.len();
    let transport = match h.protocol() {
        IpNumber::TCP => match TcpSlice::from_slice(ip_payload) {
            Ok(tcp) => TransportSlice::Tcp(tcp),
            Err(_) => return false,
        },
        IpNumber::UDP => match UdpSlice::from_slice_lax(ip_payload) {
            Ok(udp) => TransportSlice::Udp(udp),
            Err(_) => return false,
        },
        _ => return false,
    };

    // Every layer is written in place, field by field: no large temporaries are
    // built and copied, and a reused `Packet` keeps its layers' storage.
    let info = packet.eth.get_or_insert_with(EthInfo::default);
    info.src = MacAddr(eth.source());
    info.dst = MacAddr(eth.destination());
    info.vlan = vlan;
    info.ether_type = ether_type.0;
    packet.arp = None;
    if packet.error.is_some() {
        packet.error = None;
    }
    ipv4(packet, &h, h.protocol().0, available, truncated);
    let ip_payload_len = packet.ip.as_ref().map(|ip| ip.payload_len);
    match &transport {
        TransportSlice::Tcp(tcp) => tcp_layer(packet, tcp, frame, ip_payload_len),
        TransportSlice::Udp(udp) => udp_layer(packet, udp, frame, ip_payload_len),
        _ => {}
    }
    true
}

/// Fills the IPv4 layer from its header; `proto` is the protocol after any
/// authentication header and `available` the bytes of the packet in the frame.
/// A length problem the header reveals becomes `packet.error` unless one is there.
#[inline(always)]
fn ipv4(
    packet: &mut Packet,
    h: &Ipv4HeaderSlice<'_>,
    proto: u8,
    available: usize,
    truncated: bool,
) {
    let header_len = u16::from(h.ihl()) * 4;
    let total_len = h.total_len();
    let offset = u32::from(h.fragments_offset().value()) * 8;
    let frag = (h.more_fragments() || offset > 0).then_some(Fragment {
        offset,
        more: h.more_fragments(),
    });
    let ip = packet.ip.get_or_insert_with(IpInfo::blank);
    ip.version = 4;
    ip.src = IpAddr::V4(h.source_addr());
    ip.dst = IpAddr::V4(h.destination_addr());
    ip.ttl = h.ttl();
    ip.id = Some(u32::from(h.identification()));
    ip.proto = proto;
    ip.header_len = header_len;
    ip.payload_len = u32::from(total_len.saturating_sub(header_len));
    ip.options_len = h.options().len() as u8;
    ip.ext.clear();
    ip.frag = frag;
    if packet.error.is_some() {
        return;
    }
    if total_len < header_len {
        packet.error = Some(DecodeError::Ipv4TotalLengthTooSmall {
            total_len,
            header_len,
        });
    } else if usize::from(total_len) > available && !truncated {
        packet.error = Some(DecodeError::LengthPastFrame {
            layer: Layer::Ipv4,
            field: "total length",
            claimed: usize::from(total_len),
            available,
            within: "in the frame",
        });
    }
}

/// Fills the TCP layer; `ip_payload` is the IP payload length per the IP header.
/// A length problem becomes `packet.error` unless one is there.
#[inline(always)]
fn tcp_layer(packet: &mut Packet, tcp: &TcpSlice<'_>, frame: &[u8], ip_payload: Option<u32>) {
    let header_len = usize::from(tcp.data_offset()) * 4;
    let ip_payload = ip_payload.unwrap_or(tcp.slice().len() as u32) as usize;
    if ip_payload < header_len && packet.error.is_none() {
        packet.error = Some(DecodeError::TcpHeaderPastPayload {
            header_len,
            ip_payload,
        });
    }
    packet.payload = range_in(frame, tcp.payload());
    if !matches!(packet.transport, Some(Transport::Tcp(_))) {
        packet.transport = Some(Transport::Tcp(TcpInfo::default()));
    }
    let Some(Transport::Tcp(info)) = &mut packet.transport else {
        unreachable!("set just above");
    };
    info.sport = tcp.source_port();
    info.dport = tcp.destination_port();
    info.seq = tcp.sequence_number();
    info.ack = tcp.acknowledgment_number();
    info.flags = tcp_flags(tcp);
    info.window = tcp.window_size();
    info.len = ip_payload.saturating_sub(header_len) as u32;
    info.header_len = header_len as u8;
    tcp_options(&mut info.options, tcp);
}

/// Fills the UDP layer; `ip_payload` is the IP payload length per the IP header.
/// A length problem becomes `packet.error` unless one is there.
#[inline(always)]
fn udp_layer(packet: &mut Packet, udp: &UdpSlice<'_>, frame: &[u8], ip_payload: Option<u32>) {
    let len = udp.length();
    if packet.error.is_none() {
        let ip_payload = ip_payload.unwrap_or(u32::from(len)) as usize;
        if len < 8 {
            packet.error = Some(DecodeError::UdpLengthTooSmall { len });
        } else if usize::from(len) > ip_payload {
            packet.error = Some(DecodeError::LengthPastFrame {
                layer: Layer::Udp,
                field: "length",
                claimed: usize::from(len),
                available: ip_payload,
                within: "of IP payload",
            });
        }
    }
    packet.payload = range_in(frame, udp.payload());
    let info = UdpInfo {
        sport: udp.source_port(),
        dport: udp.destination_port(),
        len,
    };
    match &mut packet.transport {
        Some(Transport::Udp(old)) => *old = info,
        other => *other = Some(Transport::Udp(info)),
    }
}

fn ethernet(sliced: &LaxSlicedPacket<'_>) -> Option<EthInfo> {
    let Some(LinkSlice::Ethernet2(eth)) = &sliced.link else {
        return None;
    };
    let mut vlan = ArrayVec::new();
    let mut ether_type = eth.ether_type().0;
    for ext in &sliced.link_exts {
        if let LaxLinkExtSlice::Vlan(tag) = ext {
            let _ = vlan.try_push(tag.vlan_identifier().value());
            ether_type = tag.ether_type().0;
        }
    }
    Some(EthInfo {
        src: MacAddr(eth.source()),
        dst: MacAddr(eth.destination()),
        vlan,
        ether_type,
    })
}

fn arp_info(arp: &etherparse::ArpPacketSlice<'_>) -> Option<ArpInfo> {
    let mac = |b: &[u8]| -> Option<MacAddr> { Some(MacAddr(b.try_into().ok()?)) };
    let ip = |b: &[u8]| -> Option<IpAddr> {
        let v4: [u8; 4] = b.try_into().ok()?;
        Some(IpAddr::from(v4))
    };
    Some(ArpInfo {
        op: match arp.operation() {
            ArpOperation::REQUEST => ArpOp::Request,
            ArpOperation::REPLY => ArpOp::Reply,
            other => ArpOp::Other(other.0),
        },
        sender_mac: mac(arp.sender_hw_addr())?,
        sender_ip: ip(arp.sender_protocol_addr())?,
        target_mac: mac(arp.target_hw_addr())?,
        target_ip: ip(arp.target_protocol_addr())?,
    })
}

/// The nine flag bits as they sit in the header (NS in byte 12, CWR … FIN in byte
/// 13), which is `TcpFlags`' own bit order.
#[inline(always)]
fn tcp_flags(tcp: &etherparse::TcpSlice<'_>) -> TcpFlags {
    let header = tcp.header_slice();
    TcpFlags(u16::from_be_bytes([header[12], header[13]]) & 0x01ff)
}

/// Reads the options protolab understands into `options`, clearing the rest.
#[inline(always)]
fn tcp_options(options: &mut TcpOptions, tcp: &etherparse::TcpSlice<'_>) {
    options.mss = None;
    options.wscale = None;
    options.sack_perm = false;
    options.ts = None;
    options.sack.clear();
    let raw = tcp.options();
    // Shortcuts for the two layouts nearly every segment has (none, or Linux's
    // NOP NOP Timestamp); they give exactly what the iterator below would.
    if raw.is_empty() {
        return;
    }
    if let [1, 1, 8, 10, v0, v1, v2, v3, e0, e1, e2, e3] = *raw {
        options.ts = Some((
            u32::from_be_bytes([v0, v1, v2, v3]),
            u32::from_be_bytes([e0, e1, e2, e3]),
        ));
        return;
    }
    // A malformed option ends option parsing, as in Wireshark; the segment stays valid.
    for option in tcp.options_iterator().map_while(Result::ok) {
        match option {
            TcpOptionElement::MaximumSegmentSize(mss) => options.mss = Some(mss),
            TcpOptionElement::WindowScale(ws) => options.wscale = Some(ws),
            TcpOptionElement::SelectiveAcknowledgementPermitted => options.sack_perm = true,
            TcpOptionElement::Timestamp(val, ecr) => options.ts = Some((val, ecr)),
            TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
                let _ = options.sack.try_push(first);
                for block in rest.into_iter().flatten() {
                    let _ = options.sack.try_push(block);
                }
            }
            TcpOptionElement::Noop => {}
        }
    }
}

fn icmp_info(version: u8, header: &[u8], echo_types: [u8; 2]) -> IcmpInfo {
    let icmp_type = header[0];
    let echo = (echo_types.contains(&icmp_type) && header.len() >= 8).then(|| {
        (
            u16::from_be_bytes([header[4], header[5]]),
            u16::from_be_bytes([header[6], header[7]]),
        )
    });
    IcmpInfo {
        version,
        icmp_type,
        code: header[1],
        echo,
    }
}

/// Where `part` lies inside `whole`, as byte offsets (both come from the same frame).
fn range_in(whole: &[u8], part: &[u8]) -> std::ops::Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
    let start = start.min(whole.len());
    start..(start + part.len()).min(whole.len())
}

fn slice_error(e: &SliceError, truncated: bool) -> DecodeError {
    match e {
        SliceError::Len(len) => len_error(len, truncated),
        SliceError::Ip(err::ip::HeaderError::UnsupportedIpVersion { version_number }) => {
            DecodeError::IpVersion {
                layer: Layer::Ip,
                version: *version_number,
            }
        }
        SliceError::Ip(err::ip::HeaderError::Ipv4HeaderLengthSmallerThanHeader { ihl })
        | SliceError::Ipv4(err::ipv4::HeaderError::HeaderLengthSmallerThanHeader { ihl }) => {
            DecodeError::Ipv4Ihl { ihl: *ihl }
        }
        SliceError::Ipv4(err::ipv4::HeaderError::UnexpectedVersion { version_number }) => {
            DecodeError::IpVersion {
                layer: Layer::Ipv4,
                version: *version_number,
            }
        }
        SliceError::Ipv6(err::ipv6::HeaderError::UnexpectedVersion { version_number }) => {
            DecodeError::IpVersion {
                layer: Layer::Ipv6,
                version: *version_number,
            }
        }
        SliceError::Tcp(err::tcp::HeaderError::DataOffsetTooSmall { data_offset }) => {
            DecodeError::TcpDataOffset {
                offset: *data_offset,
            }
        }
        SliceError::Ipv6Exts(err::ipv6_exts::HeaderError::HopByHopNotAtStart) => {
            DecodeError::HopByHopNotFirst
        }
        SliceError::Ipv6Exts(err::ipv6_exts::HeaderError::IpAuth(_)) | SliceError::Ipv4Exts(_) => {
            DecodeError::AuthZeroLength
        }
        SliceError::LinuxSll(e) => DecodeError::Other {
            layer: Layer::Sll,
            detail: e.to_string(),
        },
        SliceError::Macsec(e) => DecodeError::Other {
            layer: Layer::Ethernet,
            detail: e.to_string(),
        },
    }
}

fn len_error(len: &LenError, truncated: bool) -> DecodeError {
    let layer = match len.layer {
        err::Layer::Ethernet2Header | err::Layer::EtherPayload => Layer::Ethernet,
        err::Layer::VlanHeader => Layer::Vlan,
        err::Layer::LinuxSllHeader => Layer::Sll,
        err::Layer::IpHeader => Layer::Ip,
        err::Layer::Ipv4Header | err::Layer::Ipv4Packet => Layer::Ipv4,
        err::Layer::Ipv6Header | err::Layer::Ipv6Packet => Layer::Ipv6,
        err::Layer::IpAuthHeader
        | err::Layer::Ipv6ExtHeader
        | err::Layer::Ipv6HopByHopHeader
        | err::Layer::Ipv6DestOptionsHeader
        | err::Layer::Ipv6RouteHeader
        | err::Layer::Ipv6FragHeader => Layer::Ipv6Ext,
        err::Layer::UdpHeader | err::Layer::UdpPayload => Layer::Udp,
        err::Layer::TcpHeader => Layer::Tcp,
        err::Layer::Icmpv4 | err::Layer::Icmpv4Timestamp | err::Layer::Icmpv4TimestampReply => {
            Layer::Icmp
        }
        err::Layer::Icmpv6 => Layer::Icmpv6,
        err::Layer::Arp => Layer::Arp,
        _ => Layer::Frame,
    };
    let why = match len.len_source {
        LenSource::Slice => why(truncated),
        LenSource::Ipv4HeaderTotalLen | LenSource::Ipv6HeaderPayloadLen => "within the IP length",
        LenSource::UdpHeaderLen => "within the UDP length",
        _ => "available",
    };
    DecodeError::Truncated {
        layer,
        needed: len.required_len,
        available: len.len,
        why,
    }
}
