//! `protolab watch`: the live page. Captures like `capture`, serves the page on
//! loopback (or, with a token, elsewhere), prints its URL as the first line on
//! stdout, and runs until Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::scenario as catalogue;
use crate::watch::{access::new_token, Session, WatchConfig};

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Interface to capture on.
    #[arg(short = 'i', long, default_value = "lo")]
    pub interface: String,
    /// BPF filter (tcpdump syntax); default: the lab's ports (every scenario's).
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub filter: Option<String>,
    /// Address of the page: IP:PORT (default 127.0.0.1:0, any free port). Any
    /// address but loopback needs --token.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0", value_parser = super::values::parse_addr)]
    pub listen: SocketAddr,
    /// Require a random token in the page's URL on every request (403 without it).
    #[arg(long)]
    pub token: bool,
    /// Open the page in the desktop's browser (xdg-open).
    #[arg(long)]
    pub open: bool,
    /// Bytes kept per frame (the page shows payloads; 128 keeps only headers).
    #[arg(short = 's', long, value_name = "SIZE", default_value = "262144", value_parser = super::values::parse_snaplen, allow_hyphen_values = true)]
    pub snaplen: i32,
}

/// `--watch` and its options, for `serve` and `run`: the same page while a
/// server waits for `nc` or while a scenario runs.
#[derive(Debug, Args, Clone)]
pub struct WatchFlag {
    /// Also serve the live page of `protolab watch` for this port (its URL is the
    /// first line on stdout); needs root or CAP_NET_RAW, as any capture.
    #[arg(long)]
    pub watch: bool,
    /// With --watch: the page's address (default 127.0.0.1:0, any free port).
    #[arg(long, value_name = "ADDR", requires = "watch", default_value = "127.0.0.1:0", value_parser = super::values::parse_addr)]
    pub watch_listen: SocketAddr,
    /// With --watch: require a random token in the page's URL (needed off loopback).
    #[arg(long, requires = "watch")]
    pub watch_token: bool,
}

impl WatchFlag {
    /// Starts the page for traffic to `port` on loopback, when --watch was given.
    pub fn start(&self, port: u16, transport: &str) -> anyhow::Result<Option<Session>> {
        if !self.watch {
            return Ok(None);
        }
        let page = PageArgs {
            listen: self.watch_listen,
            token: self.watch_token,
            open: false,
        };
        page.start("lo", &format!("{transport} port {port}"), 262_144)
            .map(Some)
    }
}

/// Where and how the page is served: `watch`'s options, and those of `serve
/// --watch` and `run --watch`.
#[derive(Debug, Clone)]
pub struct PageArgs {
    pub listen: SocketAddr,
    pub token: bool,
    pub open: bool,
}

impl PageArgs {
    /// Starts a watch of `filter` on `interface`, prints the URL (first stdout
    /// line) and where the kernel column comes from.
    pub fn start(&self, interface: &str, filter: &str, snaplen: i32) -> anyhow::Result<Session> {
        let token = if self.token { Some(new_token()?) } else { None };
        let session = Session::start(WatchConfig {
            interface: interface.to_string(),
            filter: filter.to_string(),
            kernel_ports: ports_in_filter(filter),
            listen: self.listen,
            token,
            snaplen,
        })?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "watch: {}", session.url())?;
        out.flush()?;
        eprintln!(
            "protolab: watching {interface} ({filter}); kernel column: {}",
            session.kernel_note()
        );
        if self.open {
            // A missing browser is not an error: the URL is printed above.
            let _ = std::process::Command::new("xdg-open")
                .arg(session.url())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
        }
        Ok(session)
    }
}

pub fn run(args: WatchArgs) -> anyhow::Result<ExitCode> {
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }
    let filter = args.filter.clone().unwrap_or_else(lab_filter);
    let page = PageArgs {
        listen: args.listen,
        token: args.token,
        open: args.open,
    };
    let session = page.start(&args.interface, &filter, args.snaplen)?;
    eprintln!("protolab: Ctrl-C to stop");
    wait_for_interrupt(&interrupted);
    finish(session)?;
    Ok(ExitCode::SUCCESS)
}

/// Blocks until `flag` is set (by a signal handler).
pub fn wait_for_interrupt(flag: &AtomicBool) {
    while !flag.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops the session and says what the capture counted.
pub fn finish(session: Session) -> anyhow::Result<()> {
    let stats = session.stop()?;
    eprintln!(
        "protolab: watch: {} captured, {} dropped by the kernel",
        crate::output::words::plural(stats.frames, "frame", "frames"),
        stats.dropped
    );
    Ok(())
}

/// Every scenario's port, TCP or UDP: what the lab's servers listen on.
pub fn lab_filter() -> String {
    let mut ports: Vec<u16> = catalogue::all().iter().map(|i| i.default_port).collect();
    ports.sort_unstable();
    ports.dedup();
    ports
        .iter()
        .map(|p| format!("port {p}"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The ports a BPF filter names (`port N`, `src port N`, `tcp dst port N`), for
/// the kernel column: a filter that names none gets no kernel column.
pub fn ports_in_filter(filter: &str) -> Vec<u16> {
    let words: Vec<&str> = filter
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    let mut ports: Vec<u16> = words
        .windows(2)
        .filter(|w| w[0] == "port")
        .filter_map(|w| w[1].parse().ok())
        .filter(|&p| p != 0)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_filter_names_every_lab_port_once() {
        let f = lab_filter();
        assert!(f.starts_with("port 8001 or port 8002"), "{f}");
        assert!(f.contains("port 8889"));
        assert_eq!(ports_in_filter(&f).len(), catalogue::all().len());
    }

    #[test]
    fn the_kernel_column_follows_the_ports_a_filter_names() {
        assert_eq!(ports_in_filter("tcp port 9000"), vec![9000]);
        assert_eq!(
            ports_in_filter("(tcp dst port 80 or src port 8001) and host 127.0.0.1"),
            vec![80, 8001]
        );
        assert!(ports_in_filter("tcp").is_empty());
        assert!(ports_in_filter("port http").is_empty());
    }
}
