//! `protolab serve SCENARIO`: only the server side, on any address, until Ctrl-C —
//! so the lab runs across two machines, or against `nc` / `telnet` as the client.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::capture::{LiveCapture, LiveConfig};
use crate::scenario::{self, Listener, Params, ScenarioName, Transport};

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(value_enum)]
    pub scenario: ScenarioName,
    /// Address to listen on (default 127.0.0.1 and the scenario's port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Capture this side's traffic into FILE (pcap) while serving.
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
    /// Interface for --capture ("any" sees every interface).
    #[arg(short = 'i', long, default_value = "any")]
    pub interface: String,
    /// Where file-transfer saves received files.
    #[arg(long, value_name = "DIR", default_value = "received")]
    pub recv_dir: PathBuf,
    #[command(flatten)]
    pub chat: super::chat_args::ChatServeArgs,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let info = scenario::info(args.scenario);
    let addr = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], info.default_port)));
    let capture = match &args.capture {
        Some(path) => {
            let proto = if info.transport == Transport::Tcp {
                "tcp"
            } else {
                "udp"
            };
            let mut config =
                LiveConfig::new(&args.interface, &format!("{proto} port {}", addr.port()));
            config.write_to = Some(path.clone());
            Some(LiveCapture::start(config, None)?)
        }
        None => None,
    };
    // A stand-alone server serves until Ctrl-C, however many clients come.
    let params = Params {
        serve_forever: true,
        recv_dir: args.recv_dir.clone(),
        ..Params::default()
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(async {
        if args.scenario == ScenarioName::Chat {
            // The chat server has options of its own (--store, --max-frame, …).
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| bind_error(addr, e))?;
            eprintln!("protolab: serving chat on {addr}; Ctrl-C to stop");
            return super::chat_args::serve(listener, &args.chat).await;
        }
        let listener = match info.transport {
            Transport::Tcp => Listener::Tcp(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| bind_error(addr, e))?,
            ),
            Transport::Udp => Listener::Udp(
                tokio::net::UdpSocket::bind(addr)
                    .await
                    .map_err(|e| bind_error(addr, e))?,
            ),
        };
        eprintln!(
            "protolab: serving {} on {addr} ({}); Ctrl-C to stop",
            info.id, info.teaches
        );
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let server = tokio::spawn({
            let params = params.clone();
            let name = args.scenario;
            async move { scenario::serve(name, listener, &params, stop_rx).await }
        });
        tokio::signal::ctrl_c().await?;
        let _ = stop_tx.send(true);
        let report = server.await??;
        for line in &report.log {
            eprintln!("{line}");
        }
        anyhow::Ok(())
    });
    if let Some(capture) = capture {
        let stats = capture.stop()?;
        eprintln!(
            "protolab: {} frames written to {} ({} dropped)",
            stats.frames,
            args.capture
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            stats.dropped
        );
    }
    result?;
    Ok(ExitCode::from(130))
}

fn bind_error(addr: SocketAddr, e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        anyhow::anyhow!(
            "{addr} is in use: choose another with --listen, or see who holds it with `ss -tanp 'sport = :{}'`",
            addr.port()
        )
    } else {
        anyhow::anyhow!("cannot listen on {addr}: {e}")
    }
}
