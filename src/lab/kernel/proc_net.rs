//! The unprivileged fallback: the socket table from `/proc/net/tcp` and `/proc/net/tcp6`.
//!
//! Why keep it when sock_diag works: a lab run without root (no tracing) can still
//! show TIME_WAIT and CLOSE_WAIT, and these files exist everywhere. They are slower
//! (the kernel formats every TCP socket of the namespace as text, ~700 reads/s from
//! Python) and carry no filter, so samples are marked `source = "proc"`.
//!
//! Line format (`net/ipv4/tcp_ipv4.c`, `get_tcp4_sock`):
//!
//! ```text
//!   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
//!    1: 0100007F:1F42 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 118871 1 ...
//! ```
//!
//! Addresses are the raw 32-bit words in the machine's byte order printed as hex (so
//! 127.0.0.1 is `0100007F` on x86), ports are hex in host order, `st` is the kernel's
//! state number in hex.
//!
//! Network namespaces: the files are opened from `/proc/thread-self/net/` by the thread
//! that starts the sampler (`/proc/self/net` would be the *main* thread's namespace)
//! and re-read through the same descriptors, so they keep answering for that namespace.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use super::{
    normalize_ports, port_matches, realtime_ns, KernelError, KernelState, Probe, SocketSample,
};

/// Parses one line of `/proc/net/tcp` or `/proc/net/tcp6` (the family follows from the
/// address width); `None` for the header line and anything malformed. Pure, tested on
/// lines captured from a real kernel.
pub fn parse_proc_net_line(line: &str, ts_ns: u64) -> Option<SocketSample> {
    let mut f = line.split_whitespace();
    let slot = f.next()?;
    if !slot.ends_with(':') {
        return None; // the header ("sl local_address ...")
    }
    let local = parse_endpoint(f.next()?)?;
    let remote = parse_endpoint(f.next()?)?;
    let state = KernelState::from_code(u32::from_str_radix(f.next()?, 16).ok()?)?;
    let (tx, rx) = f.next()?.split_once(':')?;
    let send_q = u32::from_str_radix(tx, 16).ok()?;
    let recv_q = u32::from_str_radix(rx, 16).ok()?;
    let _timer = f.next()?; // tr:tm->when
    let _retransmits = f.next()?;
    let _uid = f.next()?;
    let _timeout = f.next()?;
    let inode = f.next()?.parse().ok()?;
    Some(SocketSample {
        ts_ns,
        local,
        remote,
        state,
        inode,
        cookie: 0,
        recv_q,
        send_q,
        source: "proc",
    })
}

/// `0100007F:1F42` or a 32-hex-digit IPv6 address and a port.
fn parse_endpoint(s: &str) -> Option<SocketAddr> {
    let (addr, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let hex = addr.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
    };
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// `/proc/net/tcp{,6}` of the opening thread's namespace, kept open and re-read.
pub(crate) struct ProcProbe {
    ports: Vec<u16>,
    files: Vec<(PathBuf, File)>,
    text: String,
}

impl ProcProbe {
    pub fn open(ports: &[u16]) -> Result<ProcProbe, KernelError> {
        let ports = normalize_ports(ports)?;
        let base = if Path::new("/proc/thread-self/net").is_dir() {
            Path::new("/proc/thread-self/net")
        } else {
            Path::new("/proc/self/net")
        };
        let mut files = Vec::new();
        for name in ["tcp", "tcp6"] {
            let path = base.join(name);
            match File::open(&path) {
                Ok(f) => files.push((path, f)),
                // No IPv6 in this kernel or namespace: IPv4 alone.
                Err(_) if name == "tcp6" => {}
                Err(source) => return Err(KernelError::Io { path, source }),
            }
        }
        Ok(ProcProbe {
            ports,
            files,
            text: String::with_capacity(64 * 1024),
        })
    }
}

impl Probe for ProcProbe {
    fn sample(&mut self, ts_ns: u64) -> Result<Vec<SocketSample>, KernelError> {
        let mut out = Vec::new();
        for (path, file) in &mut self.files {
            self.text.clear();
            // Seeking to 0 makes the kernel generate the table afresh.
            file.seek(SeekFrom::Start(0))
                .and_then(|_| file.read_to_string(&mut self.text))
                .map_err(|source| KernelError::Io {
                    path: path.clone(),
                    source,
                })?;
            out.extend(
                self.text
                    .lines()
                    .filter_map(|l| parse_proc_net_line(l, ts_ns))
                    .filter(|s| port_matches(&self.ports, &s.local, &s.remote)),
            );
        }
        Ok(out)
    }

    fn source(&self) -> &'static str {
        "proc"
    }
}

/// One snapshot from `/proc/net/tcp{,6}` (the fallback's [`super::sample_once`]).
pub fn sample_proc_once(ports: &[u16]) -> Result<Vec<SocketSample>, KernelError> {
    ProcProbe::open(ports)?.sample(realtime_ns())
}
