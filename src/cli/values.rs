//! Values of command-line options, parsed one way wherever they appear: every
//! size option takes the same units (`--bytes 4MiB` on `run`, `client` and
//! `compare` alike), every time option refuses a negative value in words, and
//! every listening or connecting address may be written `:PORT`.
//!
//! Options that can meet a leading `-` (`--delay -5ms`) are declared with
//! `allow_hyphen_values`, so the value reaches these parsers and gets their
//! message instead of clap's hint about `--`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// `4MiB`, `512KiB`, `1.5MB`, `1000` (bytes). Binary units are powers of 1024,
/// decimal ones powers of 1000.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!("invalid size {s:?}: must not be negative"));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}: expected e.g. 4MiB, 512KiB or 1000000"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "invalid size {s:?}: unknown unit {other:?} (use B, KB, MB, GB, KiB, MiB or GiB)"
            ))
        }
    };
    let bytes = value * scale;
    if !bytes.is_finite() || !(1.0..=64.0 * 1024.0 * 1024.0 * 1024.0).contains(&bytes) {
        return Err(format!(
            "invalid size {s:?}: must be between 1 byte and 64 GiB"
        ));
    }
    Ok(bytes.round() as u64)
}

/// A size that must fit `T` (`--max-frame`, `--snaplen`): [`parse_size`], then a range check.
fn size_in<T: TryFrom<u64>>(s: &str, min: u64, max: u64) -> Result<T, String> {
    let n = parse_size(s)?;
    if !(min..=max).contains(&n) {
        return Err(format!(
            "invalid size {s:?}: must be between {min} and {max} bytes"
        ));
    }
    T::try_from(n).map_err(|_| format!("invalid size {s:?}: too large"))
}

/// `--snaplen`: bytes kept per frame, as libpcap takes it.
pub fn parse_snaplen(s: &str) -> Result<i32, String> {
    size_in(s, 1, 262_144)
}

/// `--max-frame`: the chat's largest frame body.
pub fn parse_max_frame(s: &str) -> Result<usize, String> {
    size_in(s, 64, u64::from(u32::MAX))
}

/// `compare --datagram`: a UDP payload that carries the probe header (24 bytes)
/// and fits one 1500-byte Ethernet frame (1472).
pub fn parse_datagram(s: &str) -> Result<u16, String> {
    size_in(s, 24, 1472)
}

/// A span of time in seconds (`--duration`, `--idle-timeout`): `5`, `2.5`, or
/// with a unit as `--delay` takes it (`500ms`, `1.5s`).
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!("invalid duration {s:?}: must not be negative"));
    }
    let secs = match t.parse::<f64>() {
        Ok(v) => v,
        Err(_) => {
            crate::lab::impair::ImpairConfig::parse_duration_ns(t).map_err(|e| e.to_string())?
                as f64
                / 1e9
        }
    };
    if !secs.is_finite() {
        return Err(format!("invalid duration {s:?}: not a number of seconds"));
    }
    Ok(secs)
}

/// A time limit (`run --timeout`, `compare --timeout`): as [`parse_seconds`], and
/// more than zero, since a run given no time at all could only time out.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs = parse_positive_seconds(s)?;
    Duration::try_from_secs_f64(secs)
        .map_err(|_| format!("invalid time limit {s:?}: too long for the clock"))
}

/// As [`parse_seconds`], and more than zero: a limit (`capture --duration`) of no
/// time at all would stop before it started.
pub fn parse_positive_seconds(s: &str) -> Result<f64, String> {
    let secs = parse_seconds(s)?;
    if secs > 0.0 {
        Ok(secs)
    } else {
        Err(format!(
            "invalid time limit {s:?}: must be a positive number of seconds"
        ))
    }
}

/// A number of things to wait for (`capture -c`): a whole number, at least 1.
pub fn parse_count(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err(format!("invalid count {s:?}: must be at least 1")),
        Ok(n) => Ok(n),
        Err(_) if s.trim().starts_with('-') => {
            Err(format!("invalid count {s:?}: must not be negative"))
        }
        Err(_) => Err(format!("invalid count {s:?}: expected a whole number")),
    }
}

/// A congestion-control algorithm this process's sockets may use (`--cc
/// cubic`): checked on a throwaway socket, so a wrong name stops before the run
/// with the kernel's lists.
pub fn parse_congestion(s: &str) -> Result<String, String> {
    crate::scenario::congestion::check(s).map(|()| s.to_string())
}

/// A listening or connecting address: `127.0.0.1:8001`, `[::1]:8001`,
/// `localhost:8001`, or `:8001`, which means 127.0.0.1 (the lab stays on loopback
/// unless told).
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    let t = s.trim();
    if let Some(port) = t.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("invalid address {s:?}: {port:?} is not a port (0-65535)"))?;
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    if let Ok(addr) = t.parse() {
        return Ok(addr);
    }
    // A host name (`localhost:8001`), as nc and telnet take: its first address,
    // IPv4 first, since the servers listen on 127.0.0.1 unless told otherwise.
    let resolved: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(t)
        .map(Iterator::collect)
        .unwrap_or_default();
    resolved
        .iter()
        .find(|a| a.is_ipv4())
        .or(resolved.first())
        .copied()
        .ok_or_else(|| {
            format!(
                "invalid address {s:?}: expected IP:PORT (127.0.0.1:8001, [::1]:8001), \
                 HOST:PORT (localhost:8001) or :PORT"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4MiB"), Ok(4 * 1024 * 1024));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("1.5MB"), Ok(1_500_000));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("4XB").unwrap_err().contains("unknown unit"));
        assert!(parse_size("0").is_err());
        assert!(parse_size("-5KiB")
            .unwrap_err()
            .contains("must not be negative"));
        assert_eq!(parse_snaplen("128"), Ok(128));
        assert_eq!(parse_snaplen("256KiB"), Ok(262_144));
        assert!(parse_snaplen("1GiB").is_err());
        assert_eq!(parse_max_frame("1MiB"), Ok(1 << 20));
        assert!(parse_max_frame("10").unwrap_err().contains("between 64"));
        assert_eq!(parse_datagram("1KiB"), Ok(1024));
        assert!(parse_datagram("2000")
            .unwrap_err()
            .contains("between 24 and 1472"));
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("5"), Ok(5.0));
        assert_eq!(parse_seconds("2.5"), Ok(2.5));
        assert_eq!(parse_seconds("500ms"), Ok(0.5));
        assert!(parse_seconds("-5")
            .unwrap_err()
            .contains("must not be negative"));
        assert!(parse_seconds("-5ms")
            .unwrap_err()
            .contains("must not be negative"));
        assert!(parse_seconds("soon").is_err());
    }

    #[test]
    fn addresses() {
        assert_eq!(parse_addr(":9000"), Ok("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(parse_addr("[::1]:80"), Ok("[::1]:80".parse().unwrap()));
        assert_eq!(
            parse_addr("198.18.0.2:0"),
            Ok("198.18.0.2:0".parse().unwrap())
        );
        assert!(parse_addr(":99999").unwrap_err().contains("not a port"));
        assert!(parse_addr("localhost").unwrap_err().contains(":PORT"));
    }
}
