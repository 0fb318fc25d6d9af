//! The binary records of the kernel's TCP congestion-control tracepoints, decoded
//! with the field offsets of this kernel's `format` files (pure: bytes in, values
//! out; the fixtures in `testdata/` were captured on a real kernel):
//!
//! - `tcp:tcp_probe` — fired for each segment a socket *receives* while established
//!   (so per ACK on the sender): `snd_cwnd` (segments), `ssthresh`, `srtt` (µs),
//!   `snd_wnd`, `snd_una`/`snd_nxt`, `rcv_wnd`;
//! - `tcp:tcp_cong_state_set` — the congestion state (`Open`, `Disorder`, `CWR`,
//!   `Recovery`, `Loss`: `enum tcp_ca_state`) each time it is set;
//! - `tcp:tcp_retransmit_skb` — each segment the kernel sends again.
//!
//! Each event names its socket by `skaddr` (the `struct sock` address) and its
//! ports and addresses; `tcp_probe` stores the addresses as `struct sockaddr_in`/
//! `sockaddr_in6` (28 bytes), the other two as separate v4 and v6 fields.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::lab::kernel::ring_buffer::{Field, Format, RawRecord};

/// The tracepoints, by their directory under `events/`.
pub(crate) const TCP_PROBE: &str = "tcp/tcp_probe";
pub(crate) const TCP_CONG_STATE_SET: &str = "tcp/tcp_cong_state_set";
pub(crate) const TCP_RETRANSMIT_SKB: &str = "tcp/tcp_retransmit_skb";

/// One `tcp_probe` record's values. `ssthresh` is the kernel's raw value
/// (`TCP_INFINITE_SSTHRESH` = 0x7fffffff until the first loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProbeValues {
    pub data_len: u16,
    pub snd_nxt: u32,
    pub snd_una: u32,
    pub snd_cwnd: u32,
    pub ssthresh: u32,
    pub snd_wnd: u32,
    /// Smoothed RTT in µs (`tp->srtt_us >> 3`).
    pub srtt_us: u32,
    pub rcv_wnd: u32,
}

/// What a TCP record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TcpEventKind {
    Probe(ProbeValues),
    /// `enum tcp_ca_state`: 0 Open, 1 Disorder, 2 CWR, 3 Recovery, 4 Loss.
    CongState(u8),
    Retransmit,
}

/// One TCP record in trace-clock time, before the session maps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TcpEventRecord {
    pub ts_trace_ns: u64,
    /// `skaddr`: the socket's address in kernel memory.
    pub sock: u64,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub kind: TcpEventKind,
}

/// The fields of `tcp_probe`.
#[derive(Debug, Clone)]
struct ProbeFields {
    id: u16,
    saddr: Field,
    daddr: Field,
    skaddr: Field,
    data_len: Field,
    snd_nxt: Field,
    snd_una: Field,
    snd_cwnd: Field,
    ssthresh: Field,
    snd_wnd: Field,
    srtt: Field,
    rcv_wnd: Field,
}

/// The address fields shared by `tcp_cong_state_set` and `tcp_retransmit_skb`.
#[derive(Debug, Clone)]
struct SplitAddrFields {
    id: u16,
    skaddr: Field,
    sport: Field,
    dport: Field,
    family: Field,
    saddr: Field,
    daddr: Field,
    saddr_v6: Field,
    daddr_v6: Field,
    /// `cong_state` for `tcp_cong_state_set`; none for `tcp_retransmit_skb`.
    cong_state: Option<Field>,
}

impl SplitAddrFields {
    fn parse(format: &str, cong: bool) -> Result<SplitAddrFields, String> {
        let f = Format::parse(format)?;
        let fields = SplitAddrFields {
            id: f.id,
            skaddr: f.field("skaddr")?,
            sport: f.field("sport")?,
            dport: f.field("dport")?,
            family: f.field("family")?,
            saddr: f.field("saddr")?,
            daddr: f.field("daddr")?,
            saddr_v6: f.field("saddr_v6")?,
            daddr_v6: f.field("daddr_v6")?,
            cong_state: if cong {
                Some(f.field("cong_state")?)
            } else {
                None
            },
        };
        if fields.id == 0 {
            return Err("missing ID line".to_string());
        }
        Ok(fields)
    }

    fn decode(&self, rec: &RawRecord<'_>) -> Option<TcpEventRecord> {
        let family = rec.uint(self.family)?;
        let addr = |v4: Field, v6: Field| -> Option<IpAddr> {
            match family {
                2 => Some(IpAddr::V4(Ipv4Addr::from(
                    <[u8; 4]>::try_from(rec.bytes(v4)?).ok()?,
                ))),
                10 => Some(IpAddr::V6(Ipv6Addr::from(
                    <[u8; 16]>::try_from(rec.bytes(v6)?).ok()?,
                ))),
                _ => None,
            }
        };
        let kind = match self.cong_state {
            Some(f) => TcpEventKind::CongState(rec.uint(f)? as u8),
            None => TcpEventKind::Retransmit,
        };
        Some(TcpEventRecord {
            ts_trace_ns: rec.ts,
            sock: rec.uint(self.skaddr)?,
            local: SocketAddr::new(
                addr(self.saddr, self.saddr_v6)?,
                rec.uint(self.sport)? as u16,
            ),
            remote: SocketAddr::new(
                addr(self.daddr, self.daddr_v6)?,
                rec.uint(self.dport)? as u16,
            ),
            kind,
        })
    }
}

/// A `struct sockaddr_in` or `sockaddr_in6` as the kernel stored it (family in host
/// order, port in network order).
fn sockaddr(b: &[u8]) -> Option<SocketAddr> {
    let family = u16::from_ne_bytes(b.get(..2)?.try_into().ok()?);
    let port = u16::from_be_bytes(b.get(2..4)?.try_into().ok()?);
    let ip = match family {
        2 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(b.get(4..8)?).ok()?)),
        // sockaddr_in6: family, port, flowinfo (4), then the address.
        10 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b.get(8..24)?).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Decodes the TCP tracepoints this kernel has (any of the three may be missing on
/// an older kernel: `tcp_cong_state_set` came in Linux 5.19).
#[derive(Debug, Clone, Default)]
pub(crate) struct TcpDecoder {
    probe: Option<ProbeFields>,
    cong: Option<SplitAddrFields>,
    retransmit: Option<SplitAddrFields>,
}

impl TcpDecoder {
    /// From the `format` texts of the events this kernel has (`None`: no such event).
    pub fn new(
        probe: Option<&str>,
        cong: Option<&str>,
        retransmit: Option<&str>,
    ) -> Result<TcpDecoder, String> {
        let probe = match probe {
            Some(text) => {
                let f = Format::parse(text)?;
                if f.id == 0 {
                    return Err("tcp_probe: missing ID line".to_string());
                }
                Some(ProbeFields {
                    id: f.id,
                    saddr: f.field("saddr")?,
                    daddr: f.field("daddr")?,
                    skaddr: f.field("skaddr")?,
                    data_len: f.field("data_len")?,
                    snd_nxt: f.field("snd_nxt")?,
                    snd_una: f.field("snd_una")?,
                    snd_cwnd: f.field("snd_cwnd")?,
                    ssthresh: f.field("ssthresh")?,
                    snd_wnd: f.field("snd_wnd")?,
                    srtt: f.field("srtt")?,
                    rcv_wnd: f.field("rcv_wnd")?,
                })
            }
            None => None,
        };
        Ok(TcpDecoder {
            probe,
            cong: cong.map(|t| SplitAddrFields::parse(t, true)).transpose()?,
            retransmit: retransmit
                .map(|t| SplitAddrFields::parse(t, false))
                .transpose()?,
        })
    }

    /// The record as a TCP event, if it is one of ours and whole.
    pub fn decode(&self, rec: &RawRecord<'_>) -> Option<TcpEventRecord> {
        let id = rec.event_id()?;
        if let Some(p) = self.probe.as_ref().filter(|p| p.id == id) {
            let u32_of = |f: Field| rec.uint(f).map(|v| v as u32);
            return Some(TcpEventRecord {
                ts_trace_ns: rec.ts,
                sock: rec.uint(p.skaddr)?,
                local: sockaddr(rec.bytes(p.saddr)?)?,
                remote: sockaddr(rec.bytes(p.daddr)?)?,
                kind: TcpEventKind::Probe(ProbeValues {
                    data_len: rec.uint(p.data_len)? as u16,
                    snd_nxt: u32_of(p.snd_nxt)?,
                    snd_una: u32_of(p.snd_una)?,
                    snd_cwnd: u32_of(p.snd_cwnd)?,
                    ssthresh: u32_of(p.ssthresh)?,
                    snd_wnd: u32_of(p.snd_wnd)?,
                    srtt_us: u32_of(p.srtt)?,
                    rcv_wnd: u32_of(p.rcv_wnd)?,
                }),
            });
        }
        for fields in [&self.cong, &self.retransmit].into_iter().flatten() {
            if fields.id == id {
                return fields.decode(rec);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::kernel::ring_buffer::{decode_page, PageLayout};

    const PROBE_FORMAT: &str = include_str!("../testdata/tcp_probe.format");
    const CONG_FORMAT: &str = include_str!("../testdata/tcp_cong_state_set.format");
    const RETRANSMIT_FORMAT: &str = include_str!("../testdata/tcp_retransmit_skb.format");
    /// The first page of CPU 0 during `protolab run file-transfer --netns --loss 5
    /// --delay 5ms --port 47911`, with only the three TCP events enabled.
    const PROBE_PAGE: &[u8] = include_bytes!("../testdata/trace_pipe_raw_tcp_probe.bin");

    fn decoder() -> TcpDecoder {
        TcpDecoder::new(
            Some(PROBE_FORMAT),
            Some(CONG_FORMAT),
            Some(RETRANSMIT_FORMAT),
        )
        .unwrap()
    }

    #[test]
    fn a_real_page_decodes_into_probes_and_a_state() {
        let page = decode_page(&PageLayout::DEFAULT, PROBE_PAGE).unwrap();
        let d = decoder();
        let events: Vec<TcpEventRecord> =
            page.records.iter().map(|r| d.decode(r).unwrap()).collect();
        assert_eq!(events.len(), 28, "every record of the page is one of ours");
        let server: SocketAddr = "198.18.0.2:47911".parse().unwrap();
        let client: SocketAddr = "198.18.0.1:45772".parse().unwrap();
        // The accepted socket starts Open (tcp_init_transfer sets it).
        assert_eq!(events[0].kind, TcpEventKind::CongState(0));
        assert_eq!((events[0].local, events[0].remote), (server, client));
        // Then the file name (19 bytes) arrives at the server: a probe on its socket.
        assert_eq!(events[1].ts_trace_ns, 67_199_673_482_698);
        assert_eq!(
            events[1].kind,
            TcpEventKind::Probe(ProbeValues {
                data_len: 19,
                snd_nxt: 4_287_718_997,
                snd_una: 4_287_718_997,
                snd_cwnd: 10,
                ssthresh: 0x7fff_ffff,
                snd_wnd: 64_512,
                srtt_us: 10_429,
                rcv_wnd: 65_160,
            })
        );
        // The client sends: each ACK it gets grows its window (slow start).
        let cwnd: Vec<u32> = events
            .iter()
            .filter(|e| e.local == client)
            .filter_map(|e| match e.kind {
                TcpEventKind::Probe(p) if p.data_len == 0 => Some(p.snd_cwnd),
                _ => None,
            })
            .collect();
        assert!(cwnd.windows(2).all(|w| w[0] <= w[1]), "{cwnd:?}");
        assert!(cwnd.contains(&11) && cwnd.contains(&15), "{cwnd:?}");
    }

    /// A record with `fields` written at their offsets of `format`.
    fn record(format: &str, fields: &[(&str, &[u8])]) -> Vec<u8> {
        let f = Format::parse(format).unwrap();
        let mut data = vec![0u8; 96];
        data[..2].copy_from_slice(&f.id.to_ne_bytes());
        for (name, bytes) in fields {
            let field = f.field(name).unwrap();
            data[field.offset..field.offset + bytes.len()].copy_from_slice(bytes);
        }
        data
    }

    #[test]
    fn state_changes_and_retransmissions_decode_with_their_socket() {
        let common: [(&str, &[u8]); 6] = [
            ("skaddr", &0xffff_8880_0000_1000u64.to_ne_bytes()),
            ("sport", &40000u16.to_ne_bytes()),
            ("dport", &9000u16.to_ne_bytes()),
            ("family", &2u16.to_ne_bytes()),
            ("saddr", &[198, 18, 0, 1]),
            ("daddr", &[198, 18, 0, 2]),
        ];
        let d = decoder();
        let mut fields = common.to_vec();
        fields.push(("cong_state", &[3]));
        let data = record(CONG_FORMAT, &fields);
        let got = d.decode(&RawRecord { ts: 5, data: &data }).unwrap();
        assert_eq!(got.kind, TcpEventKind::CongState(3));
        assert_eq!(got.sock, 0xffff_8880_0000_1000);
        assert_eq!(got.local, "198.18.0.1:40000".parse().unwrap());
        assert_eq!(got.remote, "198.18.0.2:9000".parse().unwrap());
        let data = record(RETRANSMIT_FORMAT, &common);
        let got = d.decode(&RawRecord { ts: 6, data: &data }).unwrap();
        assert_eq!((got.kind, got.ts_trace_ns), (TcpEventKind::Retransmit, 6));
        assert_eq!(got.remote, "198.18.0.2:9000".parse().unwrap());
        // An event the decoder was not given is not ours.
        let without = TcpDecoder::new(Some(PROBE_FORMAT), None, None).unwrap();
        assert_eq!(without.decode(&RawRecord { ts: 6, data: &data }), None);
    }

    #[test]
    fn a_format_without_the_fields_is_refused() {
        assert!(TcpDecoder::new(Some(CONG_FORMAT), None, None).is_err());
        assert!(TcpDecoder::new(None, Some(PROBE_FORMAT), None).is_err());
    }
}
