//! `grpc`: gRPC over cleartext HTTP/2 — a tonic greeter server and client on
//! one TCP connection, five calls on five streams of it.
//!
//! What it teaches:
//! - one TCP connection carries many HTTP/2 streams: each call is a stream
//!   (1, 3, 5, 7, 9: odd, the client's), its frames interleaved with the others';
//! - the connection starts with the client's preface (`PRI * HTTP/2.0…`) and a
//!   SETTINGS frame from each side, each acknowledged;
//! - HTTP/2 has flow control of its own on top of TCP's window: WINDOW_UPDATE
//!   frames give the sender more credit, per stream and per connection;
//! - a deadline travels as the `grpc-timeout` header (`100m`) and both ends
//!   may watch it; whichever gives up first ends the call on the wire, and
//!   the TCP connection carries on:
//!   - `Slow` (stream 7): the server ignores the deadline, so the client's
//!     timer fires first and it cancels the stream with RST_STREAM (CANCEL).
//!     No status travels: the caller's status is made up locally (tonic says
//!     CANCELLED, "Timeout expired"; other libraries DEADLINE_EXCEEDED);
//!   - `Deadline` (stream 9): the server reads `grpc-timeout` and gives up
//!     at a quarter of it, well before the client's timer: it answers with trailers
//!     only, `grpc-status: 4` (DEADLINE_EXCEEDED), and there is no RST_STREAM.
//!
//!   Why not both on one call: the server's timer starts when the request
//!   arrives, after the client's, so with the same deadline the client's
//!   fires first and the server's answer finds a reset stream. A server that
//!   watches deadlines answers early enough for its answer to travel.
//!
//! The calls: unary `SayHello`, the server-streaming `Countdown` (3, 2, 1),
//! the bidirectional `Echo` (two messages each way), `Slow`, whose answer
//! would come after the client's 100 ms deadline, and `Deadline`, whose
//! server gives up at a quarter of its 2 s deadline. The client then closes the
//! connection first. The service is in `proto/greeter.proto`.
//!
//! Try it by hand: `protolab serve grpc`, then `protolab client grpc`, and
//! `protolab inspect` the capture: the HTTP/2 dissector shows every frame.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_stream::{Stream, StreamExt};
use tonic::codegen::http;
use tonic::transport::Endpoint;
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_prost::ProstCodec;

use super::grpc_proto::{
    CountdownRequest, EchoMessage, HelloReply, HelloRequest, Tick, COUNTDOWN, DEADLINE, ECHO,
    SAY_HELLO, SLOW,
};
use super::lingering::{End, Lingering};
use super::{
    connect, ClientReport, ConnectionExpectation, Counted, Expectation, Params, ScenarioError,
    ServerReport, Shutdown, IO_TIMEOUT,
};

/// The deadline of the `Slow` call.
pub const SLOW_DEADLINE: Duration = Duration::from_millis(100);
/// The deadline of the `Deadline` call: long, so that the server's answer at
/// a quarter of it comes back well before the client's own timer, even on a
/// busy machine and through a lossy link (`run --netns --loss 5 --delay
/// 20ms`), where the request or the answer may be lost and resent a
/// retransmission timeout (≥ 200 ms) later, or twice.
pub const WATCHED_DEADLINE: Duration = Duration::from_secs(2);
/// How long `Slow` would take (it is cancelled long before).
const SLOW_TAKES: Duration = Duration::from_secs(5);

type Body = axum::body::Body;
type Answer = http::Response<tonic::body::Body>;
type TickStream = Pin<Box<dyn Stream<Item = Result<Tick, Status>> + Send>>;
type EchoStream = Pin<Box<dyn Stream<Item = Result<EchoMessage, Status>> + Send>>;

async fn say_hello(req: http::Request<Body>) -> Answer {
    let svc = tower::service_fn(|r: Request<HelloRequest>| async move {
        let name = r.into_inner().name;
        Ok::<_, Status>(Response::new(HelloReply {
            message: format!("Hello {name}!"),
        }))
    });
    tonic::server::Grpc::new(ProstCodec::default())
        .unary(svc, req)
        .await
}

async fn countdown(req: http::Request<Body>) -> Answer {
    let svc = tower::service_fn(|r: Request<CountdownRequest>| async move {
        let from = r.into_inner().from.min(100);
        let ticks = tokio_stream::iter((1..=from).rev().map(|n| Ok(Tick { n })));
        Ok::<_, Status>(Response::new(Box::pin(ticks) as TickStream))
    });
    tonic::server::Grpc::new(ProstCodec::default())
        .server_streaming(svc, req)
        .await
}

async fn echo(req: http::Request<Body>) -> Answer {
    let svc = tower::service_fn(|r: Request<Streaming<EchoMessage>>| async move {
        let answers = r.into_inner().map(|m| {
            m.map(|m| EchoMessage {
                text: format!("echo: {}", m.text),
            })
        });
        Ok::<_, Status>(Response::new(Box::pin(answers) as EchoStream))
    });
    tonic::server::Grpc::new(ProstCodec::default())
        .streaming(svc, req)
        .await
}

async fn slow(req: http::Request<Body>) -> Answer {
    let svc = tower::service_fn(|_: Request<HelloRequest>| async move {
        // The client's deadline passes first: it resets the stream, and this
        // future is dropped with it.
        tokio::time::sleep(SLOW_TAKES).await;
        Ok::<_, Status>(Response::new(HelloReply {
            message: "too late".into(),
        }))
    });
    tonic::server::Grpc::new(ProstCodec::default())
        .unary(svc, req)
        .await
}

/// The deadline a call carries: its `grpc-timeout` header, up to 8 digits
/// and a unit (`H`, `M`, `S`, `m`, `u`, `n`; the gRPC HTTP/2 protocol).
fn grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at_checked(value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

async fn deadline(req: http::Request<Body>) -> Answer {
    // The server watches the call's deadline and gives up at a quarter of
    // it, leaving the rest for its answer to reach the client in time, even
    // when a segment on the way is lost and resent.
    let budget = req
        .headers()
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(grpc_timeout)
        .map_or(SLOW_TAKES, |d| d / 4);
    let svc = tower::service_fn(move |_: Request<HelloRequest>| async move {
        match tokio::time::timeout(budget, tokio::time::sleep(SLOW_TAKES)).await {
            Ok(()) => Ok(Response::new(HelloReply {
                message: "too late".into(),
            })),
            Err(_) => Err(Status::deadline_exceeded("the server gave up")),
        }
    });
    tonic::server::Grpc::new(ProstCodec::default())
        .unary(svc, req)
        .await
}

/// The greeter's routes, by `:path`.
fn greeter() -> Router {
    Router::new()
        .route(SAY_HELLO, post(say_hello))
        .route(COUNTDOWN, post(countdown))
        .route(ECHO, post(echo))
        .route(SLOW, post(slow))
        .route(DEADLINE, post(deadline))
}

/// The server: HTTP/2 on each accepted connection, one after another, until
/// the expected connections are served or shutdown is asked.
pub async fn serve(
    listener: TcpListener,
    params: &Params,
    mut shutdown: Shutdown,
) -> Result<ServerReport, ScenarioError> {
    let log = params.log();
    let limit = params.limit(1);
    let mut report = ServerReport::default();
    while limit.is_none_or(|n| (report.connections as usize) < n) {
        let (stream, peer) = tokio::select! {
            () = shutdown.requested() => break,
            accepted = listener.accept() => accepted.map_err(|e| ScenarioError::io("accept", e))?,
        };
        log.push(format!("connect {peer}"));
        report.connections += 1;
        let stream = Counted::new(stream);
        let counts = stream.counts();
        let service = hyper_util::service::TowerToHyperService::new(greeter());
        let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(Lingering::new(stream, End::Server)), service);
        let mut conn = std::pin::pin!(conn);
        let served = tokio::select! {
            r = conn.as_mut() => r,
            () = shutdown.requested() => {
                // GOAWAY, then the calls in progress finish.
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = served {
            log.push(format!("connection {peer}: {e}"));
        }
        log.push(format!("close {peer}"));
        report.bytes_in += counts.read();
        report.bytes_out += counts.written();
    }
    report.log = log.take();
    Ok(report)
}

/// The client: the five calls on one connection, then it closes first.
pub async fn client(server: SocketAddr) -> Result<ClientReport, ScenarioError> {
    let stream = connect(server).await?;
    let counts = stream.counts();
    // tonic dials through this connector: it hands over our connection, once.
    let slot = Arc::new(Mutex::new(Some(stream)));
    let connector = tower::service_fn(move |_: http::Uri| {
        let stream = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        async move {
            stream
                .map(|s| TokioIo::new(Lingering::new(s, End::Client)))
                .ok_or_else(|| std::io::Error::other("the one connection is used"))
        }
    });
    let endpoint = Endpoint::from_shared(format!("http://{server}"))
        .map_err(|e| ScenarioError::Protocol(format!("endpoint: {e}")))?;
    let calls = async {
        let channel = endpoint
            .connect_with_connector(connector)
            .await
            .map_err(|e| ScenarioError::Protocol(format!("HTTP/2 connection: {e}")))?;
        let replies = calls(tonic::client::Grpc::new(channel)).await?;
        Ok::<_, ScenarioError>(replies)
    };
    let replies = tokio::time::timeout(IO_TIMEOUT, calls)
        .await
        .map_err(|_| ScenarioError::Timeout {
            what: format!("the gRPC calls to {server}"),
            after: IO_TIMEOUT,
        })??;
    // The channel is dropped: its connection task closes the socket, first
    // (`Lingering`: FIN, then read until the server's FIN).
    Ok(ClientReport {
        bytes_sent: counts.written(),
        bytes_received: counts.read(),
        replies,
        ..ClientReport::default()
    })
}

fn path(p: &'static str) -> http::uri::PathAndQuery {
    http::uri::PathAndQuery::from_static(p)
}

fn failed(call: &str, s: Status) -> ScenarioError {
    ScenarioError::Protocol(format!("{call}: {s}"))
}

/// The five calls, one after another; their answers, one line each.
async fn calls(
    mut grpc: tonic::client::Grpc<tonic::transport::Channel>,
) -> Result<Vec<String>, ScenarioError> {
    let mut replies = Vec::new();
    let ready = |e: tonic::transport::Error| ScenarioError::Protocol(format!("not ready: {e}"));

    grpc.ready().await.map_err(ready)?;
    let hello = Request::new(HelloRequest {
        name: "protolab".into(),
    });
    let r: Response<HelloReply> = grpc
        .unary(hello, path(SAY_HELLO), ProstCodec::default())
        .await
        .map_err(|s| failed("SayHello", s))?;
    replies.push(r.into_inner().message);

    grpc.ready().await.map_err(ready)?;
    let count = Request::new(CountdownRequest { from: 3 });
    let r: Response<Streaming<Tick>> = grpc
        .server_streaming(count, path(COUNTDOWN), ProstCodec::default())
        .await
        .map_err(|s| failed("Countdown", s))?;
    let mut ticks = r.into_inner();
    while let Some(t) = ticks.message().await.map_err(|s| failed("Countdown", s))? {
        replies.push(format!("tick {}", t.n));
    }

    grpc.ready().await.map_err(ready)?;
    let out = tokio_stream::iter(["one", "two"].map(|t| EchoMessage { text: t.into() }));
    let r: Response<Streaming<EchoMessage>> = grpc
        .streaming(Request::new(out), path(ECHO), ProstCodec::default())
        .await
        .map_err(|s| failed("Echo", s))?;
    let mut echoes = r.into_inner();
    while let Some(m) = echoes.message().await.map_err(|s| failed("Echo", s))? {
        replies.push(m.text);
    }

    grpc.ready().await.map_err(ready)?;
    let mut late = Request::new(HelloRequest {
        name: "slow".into(),
    });
    late.set_timeout(SLOW_DEADLINE);
    let r: Result<Response<HelloReply>, Status> =
        grpc.unary(late, path(SLOW), ProstCodec::default()).await;
    match r {
        // tonic's own deadline says Cancelled; a server's answer would say
        // DeadlineExceeded.
        Err(s) if s.code() == Code::DeadlineExceeded || s.code() == Code::Cancelled => {
            replies.push(format!("Slow: {:?}", s.code()));
        }
        Err(s) => return Err(failed("Slow", s)),
        Ok(_) => {
            return Err(ScenarioError::Protocol(
                "Slow answered within its deadline".into(),
            ))
        }
    }

    grpc.ready().await.map_err(ready)?;
    let mut watched = Request::new(HelloRequest {
        name: "deadline".into(),
    });
    watched.set_timeout(WATCHED_DEADLINE);
    let r: Result<Response<HelloReply>, Status> = grpc
        .unary(watched, path(DEADLINE), ProstCodec::default())
        .await;
    match r {
        // The server's trailers said so: grpc-status 4.
        Err(s) if s.code() == Code::DeadlineExceeded => {
            replies.push(format!("Deadline: {:?} ({})", s.code(), s.message()));
        }
        Err(s) => return Err(failed("Deadline", s)),
        Ok(_) => {
            return Err(ScenarioError::Protocol(
                "Deadline answered within its deadline".into(),
            ))
        }
    }
    Ok(replies)
}

/// One connection; the client closes first.
pub fn expectation() -> Expectation {
    Expectation {
        connections: vec![ConnectionExpectation::client_closes_first(None, None)],
        udp_datagrams: None,
        kernel_confirms: false,
        notes: vec![
            "one TCP connection, five HTTP/2 streams (1, 3, 5, 7, 9): one per call",
            "the preface and a SETTINGS from each side, each acknowledged, come first",
            "the Slow call's deadline passes: the client resets stream 7 (RST_STREAM CANCEL)",
            "the Deadline call's server watches grpc-timeout and gives up first: stream 9 ends with grpc-status 4",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_reads_every_unit_and_refuses_the_rest() {
        assert_eq!(grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(grpc_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(grpc_timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(grpc_timeout("9n"), Some(Duration::from_nanos(9)));
        for bad in ["", "m", "100", "123456789m", "1x", "-1m", "1.5S", "1é"] {
            assert_eq!(grpc_timeout(bad), None, "{bad}");
        }
    }
}
