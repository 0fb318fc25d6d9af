//! Criterion benchmarks of the read → decode → analyse path, the
//! one `flows` and `inspect` run (goal: flows --json at least 4x faster than
//! tcptrace on the 1.5M-packet bench capture).
//!
//! - `decode`: one typical Ethernet/IPv4/TCP segment (NOP NOP Timestamp options,
//!   as Linux sends them), through `decode` and through `decode_into` with a
//!   reused `Packet`.
//! - `replay_fixture`: a synthetic capture of ~100k packets, made here in memory
//!   (64 interleaved TCP connections with handshakes, bulk data, ACKs and
//!   teardowns, plus a UDP stream; snaplen 128, like the benchmark capture), read
//!   with `FileReader`, decoded and analysed by `replay`, summaries included.
//! - `replay_bench_capture`: the same over the file `PROTOLAB_BENCH_CAPTURE` names
//!   (`scripts/bench` sets it to `target/bench/bench.pcap`); skipped when unset.
//!
//! Throughput is reported in packets (elements) per second.

use std::hint::black_box;
use std::io::Cursor;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use etherparse::{PacketBuilder, TcpOptionElement};

use protolab::capture::{FileReader, LinkType, RawFrame};
use protolab::decode::{decode, decode_into, Packet};
use protolab::replay::{replay, Next};

const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const SERVER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const SNAPLEN: usize = 128;

/// One TCP segment as bytes on the wire (Ethernet, IPv4, TCP with timestamps).
#[allow(clippy::too_many_arguments)]
fn tcp_segment(
    from_client: bool,
    client_port: u16,
    seq: u32,
    ack: Option<u32>,
    syn: bool,
    fin: bool,
    payload_len: usize,
    tsval: u32,
) -> Vec<u8> {
    let (src_mac, dst_mac) = if from_client {
        (CLIENT_MAC, SERVER_MAC)
    } else {
        (SERVER_MAC, CLIENT_MAC)
    };
    let (src_ip, dst_ip) = if from_client {
        ([198, 18, 0, 1], [198, 18, 0, 2])
    } else {
        ([198, 18, 0, 2], [198, 18, 0, 1])
    };
    let (sport, dport) = if from_client {
        (client_port, 5201)
    } else {
        (5201, client_port)
    };
    let mut builder = PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src_ip, dst_ip, 64)
        .tcp(sport, dport, seq, 64240);
    if syn {
        builder = builder.syn();
    }
    if fin {
        builder = builder.fin();
    }
    if let Some(ack) = ack {
        builder = builder.ack(ack);
    }
    if payload_len > 0 {
        builder = builder.psh();
    }
    let options: &[TcpOptionElement] = if syn {
        &[
            TcpOptionElement::MaximumSegmentSize(1460),
            TcpOptionElement::SelectiveAcknowledgementPermitted,
            TcpOptionElement::Timestamp(tsval, 0),
            TcpOptionElement::Noop,
            TcpOptionElement::WindowScale(7),
        ]
    } else {
        &[
            TcpOptionElement::Noop,
            TcpOptionElement::Noop,
            TcpOptionElement::Timestamp(tsval, tsval.wrapping_sub(1)),
        ]
    };
    let builder = builder.options(options).expect("options fit");
    let payload = vec![0x5a; payload_len];
    let mut bytes = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut bytes, &payload).expect("valid segment");
    bytes
}

/// Builds a classic µs pcap (snaplen 128) in memory: `connections` TCP
/// connections interleaved, each with `segments` data segments from the client,
/// an ACK from the server every second segment, and a FIN handshake; plus a UDP
/// stream. Returns the file and its number of packets.
fn synthetic_capture(connections: u16, segments: u32) -> (Vec<u8>, u64) {
    let mut file = Vec::new();
    for x in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, SNAPLEN as u32, 1] {
        file.extend_from_slice(&x.to_le_bytes());
    }
    let mut packets = 0u64;
    let mut now_us = 1_700_000_000_000_000u64;
    let mut write = |file: &mut Vec<u8>, frame: &[u8]| {
        now_us += 3;
        let caplen = frame.len().min(SNAPLEN);
        for x in [
            (now_us / 1_000_000) as u32,
            (now_us % 1_000_000) as u32,
            caplen as u32,
            frame.len() as u32,
        ] {
            file.extend_from_slice(&x.to_le_bytes());
        }
        file.extend_from_slice(&frame[..caplen]);
        packets += 1;
    };
    const MSS: u32 = 1448;
    let isn = |c: u16| 1_000_000 * u32::from(c);
    let server_isn = |c: u16| 3_000_000_000u32.wrapping_add(u32::from(c));
    let port = |c: u16| 40_000 + c;
    for c in 0..connections {
        let (cs, ss) = (isn(c), server_isn(c));
        write(
            &mut file,
            &tcp_segment(true, port(c), cs, None, true, false, 0, 1),
        );
        write(
            &mut file,
            &tcp_segment(false, port(c), ss, Some(cs + 1), true, false, 0, 1),
        );
        write(
            &mut file,
            &tcp_segment(true, port(c), cs + 1, Some(ss + 1), false, false, 0, 2),
        );
    }
    for i in 0..segments {
        for c in 0..connections {
            let (cs, ss) = (isn(c) + 1, server_isn(c) + 1);
            let seq = cs.wrapping_add(i * MSS);
            let frame = tcp_segment(true, port(c), seq, Some(ss), false, false, MSS as usize, i);
            write(&mut file, &frame);
            if i % 2 == 1 {
                let ack = seq.wrapping_add(MSS);
                let frame = tcp_segment(false, port(c), ss, Some(ack), false, false, 0, i);
                write(&mut file, &frame);
            }
        }
        if i % 8 == 0 {
            let mut v = Vec::new();
            PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC)
                .ipv4([198, 18, 0, 1], [198, 18, 0, 2], 64)
                .udp(50_000, 5202)
                .write(&mut v, &i.to_be_bytes())
                .expect("valid datagram");
            write(&mut file, &v);
        }
    }
    for c in 0..connections {
        let cs = (isn(c) + 1).wrapping_add(segments * MSS);
        let ss = server_isn(c) + 1;
        let (a, b) = (segments + 1, segments + 2);
        write(
            &mut file,
            &tcp_segment(true, port(c), cs, Some(ss), false, true, 0, a),
        );
        write(
            &mut file,
            &tcp_segment(false, port(c), ss, Some(cs + 1), false, true, 0, a),
        );
        write(
            &mut file,
            &tcp_segment(true, port(c), cs + 1, Some(ss + 1), false, false, 0, b),
        );
    }
    (file, packets)
}

/// Reads, decodes and analyses a whole capture as `protolab flows` does, and
/// returns how many flow summaries it produced.
fn replay_all(mut reader: FileReader) -> usize {
    let mut flows = 0usize;
    let replayed = replay(
        &mut reader,
        |_, packet, analysis| -> Result<Next, ()> {
            black_box((packet, analysis));
            Ok(Next::Continue)
        },
        |tick| {
            flows += tick.retired.len();
            black_box(tick.retired);
            Ok(())
        },
    )
    .expect("the visitor never fails");
    assert!(replayed.error.is_none(), "the capture reads cleanly");
    flows + black_box(replayed.analyzer.finish()).len()
}

fn bench_decode(c: &mut Criterion) {
    let bytes = tcp_segment(true, 40_000, 1_000, Some(5_000), false, false, 1448, 7);
    let orig_len = bytes.len() as u32;
    let frame = RawFrame {
        number: 1,
        ts_ns: 1_700_000_000_000_000_000,
        linktype: LinkType::ETHERNET,
        orig_len,
        bytes: bytes[..SNAPLEN].to_vec(),
    };
    let check = decode(&frame);
    assert!(check.error.is_none() && check.tcp().is_some());

    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode", |b| b.iter(|| decode(black_box(&frame))));
    let mut packet = Packet::default();
    group.bench_function("decode_into", |b| {
        b.iter(|| {
            decode_into(black_box(&frame), &mut packet);
            black_box(&packet);
        })
    });
    group.finish();
}

fn bench_replay_fixture(c: &mut Criterion) {
    let (file, packets) = synthetic_capture(64, 1_000);
    let len = file.len() as u64;
    let reader = FileReader::from_reader("synthetic.pcap".into(), Cursor::new(file.clone()), len)
        .expect("a valid capture");
    assert_eq!(replay_all(reader), 65, "64 connections and a UDP stream");
    let mut group = c.benchmark_group("replay_fixture");
    group.throughput(Throughput::Elements(packets));
    group.bench_function(format!("{packets}_packets"), |b| {
        b.iter_batched(
            || file.clone(),
            |file| {
                let len = file.len() as u64;
                let reader = FileReader::from_reader(
                    PathBuf::from("synthetic.pcap"),
                    Cursor::new(file),
                    len,
                )
                .expect("a valid capture");
                replay_all(reader)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn bench_replay_capture(c: &mut Criterion) {
    let Some(path) = std::env::var_os("PROTOLAB_BENCH_CAPTURE") else {
        eprintln!("replay_bench_capture: skipped (set PROTOLAB_BENCH_CAPTURE to a capture file)");
        return;
    };
    let path = PathBuf::from(path);
    let mut reader = match FileReader::open(&path) {
        Ok(reader) => reader,
        Err(e) => {
            eprintln!("replay_bench_capture: skipped ({e})");
            return;
        }
    };
    let mut frame = RawFrame {
        number: 0,
        ts_ns: 0,
        linktype: LinkType::ETHERNET,
        orig_len: 0,
        bytes: Vec::new(),
    };
    let mut packets = 0u64;
    while let Ok(true) = reader.read_next(&mut frame) {
        packets += 1;
    }
    let mut group = c.benchmark_group("replay_bench_capture");
    group.sample_size(10);
    group.throughput(Throughput::Elements(packets));
    group.bench_function(format!("{packets}_packets"), |b| {
        b.iter(|| replay_all(FileReader::open(&path).expect("opened once already")))
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_decode,
    bench_replay_fixture,
    bench_replay_capture
);
criterion_main!(benches);
