//! `protolab watch` end to end, with the real binary on loopback: the page in a
//! headless Chromium (WebDriver) following real connections to `serve tcp-upper`,
//! the token check, event streams that leave nothing behind when closed, and the
//! HTTP/1.1 and HTTP/2 (gRPC) messages of `run http-hello` and `run grpc`. The
//! main browser test runs in headless Firefox (geckodriver) too.
//!
//! Watching captures live, so most tests need root (CAP_NET_RAW): they are
//! skipped without it, and fail under `PROTOLAB_REQUIRE_ROOT_TESTS=1` (CI). The
//! browser tests also fail instead of skipping when `CI` is set and a browser or
//! its WebDriver server (chromedriver, geckodriver) is missing.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use common::browser::{geckodriver, have, Driver, CHROMEDRIVER, CHROMIUM, FIREFOX};
use common::wait::{wait_for, wait_until};

const DEADLINE: Duration = Duration::from_secs(30);

/// A protolab process, interrupted (Ctrl-C) and reaped when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_protolab"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run protolab")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `serve tcp-upper ARGS` on a free port, once it says it is serving.
fn serve_tcp_upper(args: &[&str]) -> (Proc, u16) {
    serve("tcp-upper", args)
}

/// `serve SCENARIO ARGS` on a free port, once it says it is serving.
fn serve(scenario: &str, args: &[&str]) -> (Proc, u16) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut all = vec!["serve", scenario, "--listen", &listen, "--no-kernel"];
    all.extend_from_slice(args);
    let mut child = spawn(&all);
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let serving = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains(&format!("serving {scenario}")));
    assert!(serving, "serve did not start");
    // Drained, so a chatty server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (Proc(child), port)
}

/// `protolab watch ARGS`, and the URL its first stdout line gives.
fn watch(args: &[&str]) -> (Proc, String) {
    let mut all = vec!["watch"];
    all.extend_from_slice(args);
    let mut child = spawn(&all);
    let url = url_of(&mut child);
    (Proc(child), url)
}

fn keep_draining(out: BufReader<ChildStdout>) {
    std::thread::spawn(move || out.lines().for_each(drop));
}

/// A GET on the page's server: the status code and the body (read to the end,
/// or only the head for an event stream, which does not end).
fn get(url: &str, path_and_query: &str) -> (u16, String) {
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let mut s = TcpStream::connect(&host).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        s,
        "GET {path_and_query} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    let status = body[9..12].parse().unwrap();
    (status, body)
}

fn token_of(url: &str) -> &str {
    url.split("token=").nth(1).expect("a token in the URL")
}

/// `/stats`' count of open event streams.
fn clients(url: &str) -> u64 {
    let (status, body) = get(url, &format!("/stats{}", query(url)));
    assert_eq!(status, 200, "{body}");
    let json = &body[body.find("\r\n\r\n").unwrap() + 4..];
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap_or_else(|e| {
        // Chunked framing around the JSON: take the object out of it.
        let start = json.find('{').unwrap();
        let end = json.rfind('}').unwrap();
        serde_json::from_str(&json[start..=end]).unwrap_or_else(|_| panic!("{e}: {json}"))
    });
    v["clients"].as_u64().unwrap()
}

fn query(url: &str) -> String {
    url.find('?')
        .map(|i| url[i..].to_string())
        .unwrap_or_default()
}

fn client_tcp_upper(port: u16) {
    let out = common::protolab(&[
        "client",
        "tcp-upper",
        "--connect",
        &format!("127.0.0.1:{port}"),
    ]);
    assert!(
        out.status.success(),
        "client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- the page in a browser -------------------------------------------------

/// Polls the page's DOM with `script` (which returns a string) until it returns
/// `want`; fails with what it last saw.
fn wait_dom(driver: &Driver, what: &str, script: &str, want: &str) {
    let mut last = String::new();
    let seen = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until(DEADLINE, what, || {
            last = driver.js(script).as_str().unwrap_or("").to_string();
            last == want
        })
    }));
    if seen.is_err() {
        panic!("{what}: the page shows {last:?}, not {want:?}");
    }
}

fn text_of(id: &str) -> String {
    format!("var e = document.getElementById('{id}'); return e ? e.textContent : '';")
}

fn class_of(id: &str) -> String {
    format!("var e = document.getElementById('{id}'); return e ? e.getAttribute('class') : '';")
}

#[test]
fn the_page_follows_connections_to_time_wait_with_the_kernel_agreeing() {
    if !common::require_root("watch tests", "live capture on lo")
        || !have(&[CHROMIUM, CHROMEDRIVER], "the_page_follows_connections")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let driver = follow_connections(|url| Driver::open_url(dir.path(), url));
    driver.save_screenshot("watch.png");
    let severe = driver.console_errors();
    assert!(severe.is_empty(), "console errors: {severe:#?}");
}

/// The same page in Firefox: the issue asks for both browsers. geckodriver has
/// no console log to read, so the page's own `data-ready` (set by the last line
/// of its script) says the script ran through.
#[test]
fn in_firefox_the_page_follows_connections_to_time_wait_too() {
    let gecko = geckodriver();
    if !common::require_root("watch tests", "live capture on lo")
        || !have(
            &[FIREFOX, &gecko],
            "in_firefox_the_page_follows_connections",
        )
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let driver = follow_connections(|url| Driver::open_firefox_url(dir.path(), url));
    let ready = driver.js("return document.body.getAttribute('data-ready');");
    assert_eq!(ready, "true");
}

/// `serve tcp-upper` watched, in the browser `open` starts on the page: two
/// clients, each followed to TIME_WAIT with the kernel agreeing. Returns the
/// driver, still on the page.
fn follow_connections(open: impl FnOnce(&str) -> Driver) -> Driver {
    let (_server, port) = serve_tcp_upper(&[]);
    let (_watch, url) = watch(&["-f", &format!("tcp port {port}")]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let driver = open(&url);
    wait_dom(&driver, "the stream is open", &text_of("status"), "live");
    wait_dom(
        &driver,
        "the kernel column says where it reads",
        "return document.getElementById('kernel-source').textContent.indexOf('tracepoint') >= 0 ? 'yes' : 'no';",
        "yes",
    );

    client_tcp_upper(port);
    let count = "return String(document.querySelectorAll('#conns .conn').length);";
    wait_dom(&driver, "one connection", count, "1");
    let flow = driver
        .js("return document.querySelector('#conns .conn').getAttribute('data-flow');")
        .as_str()
        .unwrap()
        .to_string();
    // The handshake's third segment left both ends ESTABLISHED, on the ladder.
    wait_dom(
        &driver,
        "the ACK of the handshake shows both ends ESTABLISHED",
        &format!(
            "return Array.from(document.querySelectorAll('#seg-{flow}-2 text.st')).map(e => e.textContent).join(' ');"
        ),
        "ESTABLISHED ESTABLISHED",
    );
    wait_dom(
        &driver,
        "the client ends in TIME_WAIT",
        &text_of(&format!("conn-{flow}-client-state")),
        "TIME_WAIT",
    );
    wait_dom(
        &driver,
        "the kernel agrees on the client's TIME_WAIT",
        &text_of(&format!("conn-{flow}-client-kernel")),
        "✓ kernel TIME_WAIT",
    );
    wait_dom(
        &driver,
        "the agreement is marked green",
        &class_of(&format!("conn-{flow}-client-kernel")),
        "kmark agree",
    );
    wait_dom(
        &driver,
        "the kernel agrees the server closed",
        &text_of(&format!("conn-{flow}-server-kernel")),
        "✓ kernel CLOSED",
    );
    // The state diagram lights the selected connection's states.
    wait_dom(
        &driver,
        "the client's TIME_WAIT box is lit",
        &class_of("w-n-TIME_WAIT"),
        "node lit-client",
    );
    // A segment clicked shows its layers.
    // Its row (a rect: Firefox does not scroll an SVG group into view to click it).
    driver.click(&format!("#seg-{flow}-0 rect.hit"));
    assert!(driver.text("#layers").contains("TCP"));

    client_tcp_upper(port);
    wait_dom(&driver, "a second connection", count, "2");
    let second = driver
        .js("var c = document.querySelectorAll('#conns .conn'); return c[1].getAttribute('data-flow');")
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(second, flow);
    wait_dom(
        &driver,
        "the second client ends in TIME_WAIT too",
        &text_of(&format!("conn-{second}-client-state")),
        "TIME_WAIT",
    );
    driver
}

// ---- access ----------------------------------------------------------------------

#[test]
fn with_a_token_every_request_without_it_gets_403() {
    if !common::require_root("watch tests", "live capture on lo") {
        return;
    }
    let port = free_port();
    let (_watch, url) = watch(&["-f", &format!("tcp port {port}"), "--token"]);
    let token = token_of(&url);
    assert_eq!(token.len(), 32, "{url}");
    for path in [
        "/",
        "/events",
        "/stats",
        "/stats?token=",
        "/stats?token=0000",
    ] {
        let (status, body) = get(&url, path);
        assert_eq!(status, 403, "{path}: {body}");
    }
    let (status, body) = get(&url, &format!("/?token={token}"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("EventSource"));
    assert_eq!(clients(&url), 0);
}

#[test]
fn a_page_on_another_address_needs_a_token() {
    let out = common::protolab(&["watch", "--listen", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("add --token"), "{stderr}");
    assert!(out.stdout.is_empty(), "no URL is printed");
}

#[test]
fn without_a_token_only_loopback_host_names_are_served() {
    if !common::require_root("watch tests", "live capture on lo") {
        return;
    }
    let port = free_port();
    let (_watch, url) = watch(&["-f", &format!("tcp port {port}")]);
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).unwrap();
    // What a page elsewhere would send through DNS rebinding.
    write!(
        s,
        "GET /stats HTTP/1.1\r\nHost: rebind.example:80\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.1 403"), "{body}");
    assert_eq!(get(&url, "/stats").0, 200);
}

// ---- resources -----------------------------------------------------------------

#[test]
fn event_streams_opened_and_dropped_leave_no_client_behind() {
    if !common::require_root("watch tests", "live capture on lo") {
        return;
    }
    let port = free_port();
    let (_watch, url) = watch(&["-f", &format!("tcp port {port}")]);
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    for round in 0..2 {
        let streams: Vec<TcpStream> = (0..10)
            .map(|_| {
                let mut s = TcpStream::connect(host).unwrap();
                s.set_read_timeout(Some(DEADLINE)).unwrap();
                write!(s, "GET /events HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
                // Each stream starts with its snapshot.
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !String::from_utf8_lossy(&head).contains("\"type\":\"snapshot\"") {
                    let n = s.read(&mut buf).unwrap();
                    assert!(n > 0, "the stream ended before its snapshot");
                    head.extend_from_slice(&buf[..n]);
                }
                s
            })
            .collect();
        wait_for(DEADLINE, "10 streams counted", || {
            (clients(&url) == 10).then_some(())
        });
        drop(streams);
        wait_until(DEADLINE, "every dropped stream's task to end", || {
            clients(&url) == 0
        });
        eprintln!("round {round}: 10 streams opened and dropped, 0 left");
    }
}

/// `/stats`' count of updates published.
fn published(url: &str) -> u64 {
    stat(url, "published")
}

#[test]
fn a_stalled_page_skips_to_a_snapshot_instead_of_holding_the_updates() {
    if !common::require_root("watch tests", "live capture on lo") {
        return;
    }
    let (_server, port) = serve_tcp_upper(&[]);
    let (_watch, url) = watch(&["-f", &format!("tcp port {port}")]);
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    // A tab that stops reading: a small receive window, its snapshot read, then
    // nothing until the traffic is over.
    let stalled = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    stalled.set_recv_buffer_size(4096).unwrap();
    stalled
        .connect(&host.parse::<std::net::SocketAddr>().unwrap().into())
        .unwrap();
    let mut stalled: TcpStream = stalled.into();
    stalled.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(stalled, "GET /events HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    read_until(&mut stalled, &["\"type\":\"snapshot\""]);
    let before = published(&url);
    // About 20 updates a connection (segments, states, kernel rows): far more
    // than the hub's 1,024 plus what the page's capped socket buffer can hold.
    for _ in 0..250 {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.write_all(b"hello\n").unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        c.read_to_end(&mut Vec::new()).unwrap();
    }
    wait_until(DEADLINE, "3,000 more updates published", || {
        published(&url) >= before + 3000
    });
    // The tab reads again: after what its buffers held, a fresh snapshot that
    // says how many updates it skipped.
    // (`coalesced` is a snapshot's last field: the `}` after it ends its number.)
    let after = read_until(
        &mut stalled,
        &["\"type\":\"snapshot\"", "\"coalesced\":", "}"],
    );
    let text = String::from_utf8_lossy(&after);
    let resync = &text[text.find("\"type\":\"snapshot\"").unwrap()..];
    let coalesced: u64 = resync[resync.find("\"coalesced\":").unwrap() + 12..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(coalesced >= 1000, "skipped {coalesced}");
    let held = text.find("\"type\":\"snapshot\"").unwrap();
    assert!(
        held < 1 << 20,
        "the stalled page was held {held} bytes of old updates"
    );
    eprintln!("the stalled page was held {held} bytes, then skipped {coalesced} updates");
    // (More may have been skipped since, if the pipeline was still publishing.)
    assert!(stat(&url, "coalesced") >= coalesced);
}

/// Reads `s` until what it read holds each of `marks`, in order (an event
/// stream never ends by itself: fails after [`DEADLINE`]).
fn read_until(s: &mut TcpStream, marks: &[&str]) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "{marks:?} not in the {} bytes read",
            seen.len()
        );
        let text = String::from_utf8_lossy(&seen);
        let mut at = Some(0);
        for m in marks {
            at = at.and_then(|i| text[i..].find(m).map(|j| i + j + m.len()));
        }
        if at.is_some() {
            return seen;
        }
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended");
        seen.extend_from_slice(&buf[..n]);
    }
}

// ---- serve --watch, run --watch ----------------------------------------------------

/// `/stats`' frame count.
fn frames(url: &str) -> u64 {
    stat(url, "frames")
}

/// One counter of `/stats`.
fn stat(url: &str, name: &str) -> u64 {
    let (_, body) = get(url, &format!("/stats{}", query(url)));
    let key = format!("\"{name}\":");
    let start = body.find(&key).expect("the counter in /stats") + key.len();
    body[start..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The URL on the first stdout line of `child`, the rest of stdout drained.
fn url_of(child: &mut Child) -> String {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    keep_draining(out);
    first
        .strip_prefix("watch: ")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .trim()
        .to_string()
}

#[test]
fn serve_with_watch_serves_the_page_for_its_own_port() {
    if !common::require_root("watch tests", "live capture on lo") {
        return;
    }
    let (mut server, port) = serve_tcp_upper(&["--watch"]);
    let url = url_of(&mut server.0);
    client_tcp_upper(port);
    // A tcp-upper exchange: handshake, lines both ways, the close: ten frames at least.
    wait_until(DEADLINE, "the page saw the client's connection", || {
        frames(&url) >= 10
    });
}

/// `run SCENARIO --watch` on a free port, once the run is over and its page stays
/// up: the process (interrupted when dropped), the page's URL and the run's folder.
fn run_watched(scenario: &str) -> (Proc, String, tempfile::TempDir) {
    let port = free_port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn(&[
        "run",
        scenario,
        "--port",
        &port,
        "--watch",
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    let url = url_of(&mut child);
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let run = Proc(child);
    let mut said = Vec::new();
    let over = stderr.lines().map_while(Result::ok).any(|l| {
        let done = l.contains("the page stays up until Ctrl-C");
        said.push(l);
        done
    });
    assert!(over, "run ended without keeping the page up: {said:#?}");
    (run, url, dir)
}

#[test]
fn run_with_watch_serves_the_page_during_the_run_and_after_it() {
    if !common::require_root("watch tests", "live capture on lo") {
        return;
    }
    let (_run, url, _dir) = run_watched("tcp-upper");
    assert!(frames(&url) >= 10, "the page saw the run's connection");
}

// ---- application messages -------------------------------------------------------

/// Every application message line of a snapshot's segments, in order.
fn app_lines(snap: &serde_json::Value) -> Vec<String> {
    snap["segs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["app"].as_array().unwrap().clone())
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn http_requests_and_responses_appear_as_messages() {
    if !common::require_root("watch tests", "live capture on lo") {
        return;
    }
    let (_run, url, _dir) = run_watched("http-hello");
    let lines = app_lines(&snapshot(&url));
    assert!(
        lines.iter().any(|l| l == "http GET / HTTP/1.1"),
        "the request line: {lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("http HTTP/1.1 200 OK")),
        "the status line: {lines:#?}"
    );
}

#[test]
fn http2_frames_and_grpc_calls_appear_as_messages_above_the_ladder() {
    if !common::require_root("watch tests", "live capture on lo")
        || !have(&[CHROMIUM, CHROMEDRIVER], "http2_frames_appear")
    {
        return;
    }
    let (_run, url, _dir) = run_watched("grpc");
    let lines = app_lines(&snapshot(&url));
    for want in [
        "h2 preface",
        "h2 HEADERS stream 1 POST /greet.Greeter/SayHello",
        "h2 HEADERS stream 5 POST /greet.Greeter/Echo",
    ] {
        assert!(lines.iter().any(|l| l == want), "{want}: {lines:#?}");
    }
    for kind in ["SETTINGS", "WINDOW_UPDATE", "DATA", "RST_STREAM"] {
        let prefix = format!("h2 {kind} ");
        assert!(
            lines.iter().any(|l| l.starts_with(&prefix)),
            "{kind}: {lines:#?}"
        );
    }
    // The page lists them above the selected connection's ladder, one row a message.
    let dir = tempfile::tempdir().unwrap();
    let driver = Driver::open_url(dir.path(), &url);
    wait_dom(
        &driver,
        "the call's HEADERS is a row above the ladder",
        "return Array.from(document.querySelectorAll('#app-messages tbody td')).some(td => td.textContent === 'h2 HEADERS stream 1 POST /greet.Greeter/SayHello') ? 'yes' : 'no';",
        "yes",
    );
    // A row clicked shows the segment that carried it.
    driver.click("#app-messages tbody tr");
    assert!(
        driver.text("#layers").contains("messages: h2 "),
        "{}",
        driver.text("#layers")
    );
    let severe = driver.console_errors();
    assert!(severe.is_empty(), "console errors: {severe:#?}");
}

#[test]
fn watch_flags_need_a_fixed_loopback_port() {
    let out = common::protolab(&["serve", "tcp-upper", "--listen", "127.0.0.1:0", "--watch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--watch follows a fixed port"));
    let out = common::protolab(&["run", "tcp-upper", "--port", "0", "--watch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--watch needs the run's port"));
}

// ---- UDP ------------------------------------------------------------------------------

/// The snapshot a page starts from: the first event of a new stream.
fn snapshot(url: &str) -> serde_json::Value {
    let host = url.trim_start_matches("http://").split('/').next().unwrap();
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        s,
        "GET /events{} HTTP/1.1\r\nHost: {host}\r\n\r\n",
        query(url)
    )
    .unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended before its snapshot");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Some(start) = text.find("data: {\"type\":\"snapshot\"") {
            if let Some(len) = text[start..].find("\n\n") {
                return serde_json::from_str(&text[start + 6..start + len]).unwrap();
            }
        }
    }
}

#[test]
fn udp_datagrams_appear_with_their_text_and_no_states() {
    if !common::require_root("watch tests", "live capture on lo") {
        return;
    }
    let (_server, port) = serve("udp-daytime", &[]);
    let (_watch, url) = watch(&["-f", &format!("udp port {port}")]);
    let out = common::protolab(&[
        "client",
        "udp-daytime",
        "--connect",
        &format!("127.0.0.1:{port}"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snap = wait_for(DEADLINE, "the request and its answer", || {
        let snap = snapshot(&url);
        (snap["segs"].as_array().unwrap().len() >= 2).then_some(snap)
    });
    assert_eq!(snap["conns"][0]["proto"], "udp");
    assert_eq!(snap["conns"][0]["client"]["state"], "");
    let answer = snap["segs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["from"] == "server")
        .expect("the server's answer");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| c.is_ascii_digit()),
        "the daytime answer is text with a time in it: {answer}"
    );
}
