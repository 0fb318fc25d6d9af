//! A headless Chromium driven through chromedriver's WebDriver JSON API, without
//! selenium: the report's player tests and the live page's (`protolab watch`)
//! tests share it; the live page is also checked in a headless Firefox through
//! geckodriver, the same W3C WebDriver protocol. The browser tests print
//! `SKIPPED` when a browser or its driver is not installed, and fail instead
//! when `CI` is set (`scripts/setup` installs them all).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's Firefox (`apt-get install firefox-esr`).
pub const FIREFOX: &str = "/usr/bin/firefox-esr";

/// geckodriver, which no Debian package ships: where `cargo install geckodriver`
/// puts it ($CARGO_HOME/bin, else ~/.cargo/bin), else the first on PATH; the
/// cargo path when there is none, so that [`have`] names it as missing.
pub fn geckodriver() -> String {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    let cargo = home.join("bin").join("geckodriver");
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::iter::once(cargo.clone())
        .chain(std::env::split_paths(&path).map(|d| d.join("geckodriver")))
        .find(|p| p.is_file())
        .unwrap_or(cargo)
        .display()
        .to_string()
}

/// True when the browser tests can run; prints SKIPPED (or panics under CI) otherwise.
pub fn have(tools: &[&str], test: &str) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| !Path::new(t).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {missing:?} not installed, and CI is set (scripts/setup installs them)");
    }
    eprintln!("SKIPPED {test}: {missing:?} not installed (scripts/setup installs them)");
    false
}

pub fn headless_flags(profile: &Path) -> Vec<String> {
    vec![
        "--headless".into(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        format!("--user-data-dir={}", profile.display()),
    ]
}

/// A tiny blocking HTTP/1.1 client for chromedriver's JSON API.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> serde_json::Value {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to chromedriver");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).unwrap();
    // Read the head, then exactly Content-Length bytes (chromedriver keeps the
    // connection open whatever the request says).
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).expect("read from chromedriver");
        assert!(n > 0, "chromedriver closed the connection");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().expect("content-length"))
        .expect("chromedriver sends Content-Length");
    while raw.len() < head_end + length {
        let n = stream.read(&mut buf).expect("read from chromedriver");
        assert!(n > 0, "chromedriver closed the connection");
        raw.extend_from_slice(&buf[..n]);
    }
    let payload = String::from_utf8_lossy(&raw[head_end..head_end + length]).into_owned();
    serde_json::from_str(&payload).unwrap_or_else(|e| panic!("{e}: {head}\n{payload}"))
}

pub struct Driver {
    pub child: Child,
    pub port: u16,
    pub session: Option<String>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            let _ = std::panic::catch_unwind(|| {
                http(self.port, "DELETE", &format!("/session/{s}"), None)
            });
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub fn cmd(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let s = self.session.as_deref().unwrap();
        let v = http(
            self.port,
            method,
            &format!("/session/{s}{path}"),
            body.as_ref(),
        );
        assert!(v["value"].get("error").is_none(), "{method} {path}: {v}");
        v["value"].clone()
    }

    pub fn element(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(serde_json::json!({"using": "css selector", "value": css})),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|id| id.as_str())
            .expect("element id")
            .to_string()
    }

    pub fn text(&self, css: &str) -> String {
        let id = self.element(css);
        self.cmd("GET", &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn click(&self, css: &str) {
        let id = self.element(css);
        self.cmd(
            "POST",
            &format!("/element/{id}/click"),
            Some(serde_json::json!({})),
        );
    }
}

impl Driver {
    /// Starts chromedriver and a headless Chromium session on the page `index`
    /// (`dir` holds the browser profile).
    pub fn open(dir: &Path, index: &Path) -> Driver {
        Driver::open_url(dir, &format!("file://{}", index.display()))
    }

    /// Starts chromedriver and a headless Chromium session on `url` (`dir` holds
    /// the browser profile).
    pub fn open_url(dir: &Path, url: &str) -> Driver {
        let mut args = headless_flags(&dir.join("profile"));
        args.push("--window-size=1200,1600".into());
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"}
        }}});
        Driver::start(Command::new(CHROMEDRIVER), &caps, url)
    }

    /// Starts geckodriver and a headless Firefox session on `url`; geckodriver
    /// makes the profile in `dir`.
    pub fn open_firefox_url(dir: &Path, url: &str) -> Driver {
        let mut driver = Command::new(geckodriver());
        driver.env("TMPDIR", dir);
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "firefox",
            "moz:firefoxOptions": {
                "binary": FIREFOX,
                "args": ["-headless", "--width=1200", "--height=1600"],
            }
        }}});
        Driver::start(driver, &caps, url)
    }

    /// Starts a WebDriver server (`driver`, given a free `--port`), opens a
    /// session with `caps` and goes to `url`.
    fn start(mut driver: Command, caps: &serde_json::Value, url: &str) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = driver
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the WebDriver server");
        let mut driver = Driver {
            child,
            port,
            session: None,
        };
        super::wait::wait_until(
            Duration::from_secs(20),
            "the WebDriver server is ready",
            || {
                TcpStream::connect(("127.0.0.1", port)).is_ok()
                    && http(port, "GET", "/status", None)["value"]["ready"] == true
            },
        );
        let v = http(port, "POST", "/session", Some(caps));
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        driver.session = Some(session);
        driver.cmd("POST", "/url", Some(serde_json::json!({ "url": url })));
        driver
    }
}

impl Driver {
    /// The browser's SEVERE console messages so far.
    pub fn console_errors(&self) -> Vec<serde_json::Value> {
        let log = http(
            self.port,
            "POST",
            &format!("/session/{}/se/log", self.session.as_deref().unwrap()),
            Some(&serde_json::json!({"type": "browser"})),
        );
        log["value"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Saves a screenshot of the window as `name` in the tests' scratch folder
    /// and says where.
    pub fn save_screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let text = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(text.as_str().expect("a screenshot"))
            .expect("base64");
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }

    /// Runs `script` in the page and returns its value.
    pub fn js(&self, script: &str) -> serde_json::Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(serde_json::json!({"script": script, "args": []})),
        )
    }
}
