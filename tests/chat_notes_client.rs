//! A chat client written as the course notes write theirs, against the real
//! `protolab serve chat` on its default port (8889, the notes' port).
//!
//! The notes' client is Go: `message.Message` is `{Type string; Data string}`,
//! so `json.Unmarshal` fails on any frame whose `data` is not a string
//! ("cannot unmarshal object into Go struct field Message.data of type
//! string"). The client here is typed the same way ([`GoMessage`]): serde,
//! like Go's `encoding/json`, refuses an object where a string is declared, and
//! ignores fields it does not know. Each frame goes out as the notes send it:
//! the 4-byte big-endian length, then the marshalled `Message`, whose `data`
//! is the inner struct marshalled to a string.
//!
//! It registers, logs in, chats to everyone and privately, gets an offline
//! message and sends a file. Beside it, a client that sends `data` as an
//! object must get every frame, broadcasts included, as objects: the server
//! answers each client in its own form.

mod common;

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The notes' chat port, which `serve chat` listens on without `--listen`.
const NOTES_PORT: u16 = 8889;
/// Longest any one read may wait.
const LIMIT: Duration = Duration::from_secs(10);

/// `message.Message` of the notes: `Data string`, exactly as Go declares it.
/// A missing `data` is `""`, as Go leaves an absent field at its zero value.
#[derive(Debug, Serialize, Deserialize)]
struct GoMessage {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: String,
}

/// The notes' `LoginResMes` (protolab's extra fields are ignored, as Go does).
#[derive(Debug, Deserialize)]
struct LoginResMes {
    code: i64,
    #[serde(rename = "usersId", default)]
    users_id: Vec<i64>,
    #[serde(default)]
    error: String,
}

#[derive(Debug, Deserialize)]
struct CodeOnly {
    code: i64,
    #[serde(default)]
    error: String,
}

/// Who is online, for `NotifyUserStatusMes`.
#[derive(Debug, Deserialize)]
struct NotifyUserStatusMes {
    #[serde(rename = "userId")]
    user_id: i64,
    status: i64,
}

#[derive(Debug, Deserialize)]
struct User {
    #[serde(rename = "userId")]
    user_id: i64,
}

#[derive(Debug, Deserialize)]
struct ContentFrom {
    content: String,
    user: User,
}

/// One client speaking the notes' form, over a plain blocking socket.
struct NotesClient {
    conn: TcpStream,
    /// Frames read while waiting for another type, in order (the notes' client
    /// hands them to its `processServerMes` goroutine).
    pending: VecDeque<GoMessage>,
}

impl NotesClient {
    fn connect(addr: SocketAddr) -> NotesClient {
        let conn = TcpStream::connect(addr)
            .unwrap_or_else(|e| panic!("connect to serve chat on {addr}: {e}"));
        conn.set_read_timeout(Some(LIMIT)).unwrap();
        NotesClient {
            conn,
            pending: VecDeque::new(),
        }
    }

    /// The notes' `WritePkg`: marshal the struct, put it into `Message.Data`,
    /// marshal the `Message`, send its length (4 bytes, big-endian) and then it.
    fn write_pkg(&mut self, kind: &str, data: Value) {
        let message = GoMessage {
            kind: kind.into(),
            data: data.to_string(),
        };
        let body = serde_json::to_vec(&message).unwrap();
        let len = (body.len() as u32).to_be_bytes();
        self.conn.write_all(&len).unwrap();
        self.conn.write_all(&body).unwrap();
    }

    /// The notes' `ReadPkg` and `json.Unmarshal(buf, &mes)`: a frame that is
    /// not a `Message` with a string `data` fails here, as it fails in Go.
    fn read_pkg(&mut self) -> GoMessage {
        let mut len = [0u8; 4];
        self.conn.read_exact(&mut len).expect("a frame header");
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.conn.read_exact(&mut body).expect("a frame body");
        serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!(
                "a notes client cannot read this frame: {e}\n(body {})",
                String::from_utf8_lossy(&body)
            )
        })
    }

    /// The data of the next `kind` message, unmarshalled (the notes' second
    /// `json.Unmarshal([]byte(mes.Data), &…)`); other frames wait in order.
    fn expect<T: for<'de> Deserialize<'de>>(&mut self, kind: &str) -> T {
        let at = self.pending.iter().position(|m| m.kind == kind);
        let message = match at {
            Some(i) => self.pending.remove(i).unwrap(),
            None => loop {
                let m = self.read_pkg();
                if m.kind == kind {
                    break m;
                }
                assert_ne!(m.kind, "ErrorMes", "waiting for {kind}: {}", m.data);
                self.pending.push_back(m);
            },
        };
        serde_json::from_str(&message.data)
            .unwrap_or_else(|e| panic!("{kind} data {:?}: {e}", message.data))
    }

    /// Reads status notifications until the one saying `id` went to `status`.
    fn notified(&mut self, id: i64, status: i64) {
        loop {
            let n: NotifyUserStatusMes = self.expect("NotifyUserStatusMes");
            if (n.user_id, n.status) == (id, status) {
                return;
            }
        }
    }

    fn register(&mut self, id: i64, name: &str, pwd: &str) {
        self.write_pkg(
            "RegisterMes",
            json!({"user": {"userId": id, "userPwd": pwd, "userName": name}}),
        );
        let res: CodeOnly = self.expect("RegisterResMes");
        assert_eq!(res.code, 200, "register {id}: {}", res.error);
    }

    fn login(&mut self, id: i64, pwd: &str) -> LoginResMes {
        self.write_pkg(
            "LoginMes",
            json!({"userId": id, "userPwd": pwd, "userName": ""}),
        );
        let res: LoginResMes = self.expect("LoginResMes");
        assert_eq!(res.code, 200, "login {id}: {}", res.error);
        res
    }
}

/// A client that sends `data` as a nested object, and checks that everything it
/// gets has `data` as an object too.
struct ObjectClient {
    conn: TcpStream,
}

impl ObjectClient {
    fn send(&mut self, kind: &str, data: Value) {
        let body = json!({"type": kind, "data": data}).to_string();
        self.conn
            .write_all(&(body.len() as u32).to_be_bytes())
            .unwrap();
        self.conn.write_all(body.as_bytes()).unwrap();
    }

    /// The next frame's type and data, which must be an object.
    fn recv(&mut self) -> (String, Value) {
        let mut len = [0u8; 4];
        self.conn.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.conn.read_exact(&mut body).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert!(
            v["data"].is_object(),
            "an object-form client got data in another form: {v}"
        );
        (v["type"].as_str().unwrap().to_string(), v["data"].clone())
    }

    /// Frames until one of `kind`.
    fn until(&mut self, kind: &str) -> Value {
        loop {
            let (k, data) = self.recv();
            if k == kind {
                return data;
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `protolab serve chat` with its defaults but a store of its own; stopped on drop.
struct Server(Child);

impl Server {
    fn start(store: &std::path::Path) -> (Server, SocketAddr) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_protolab"))
            .args(["serve", "chat", "--no-kernel", "--store"])
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        // "protolab: serving chat on ADDR…" once it listens.
        let addr = loop {
            let mut line = String::new();
            let n = std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
            assert!(n > 0, "serve chat ended before listening:\n{seen}");
            seen.push_str(&line);
            if let Some(rest) = line.strip_prefix("protolab: serving chat on ") {
                let addr = rest.split_whitespace().next().unwrap();
                break addr.trim_end_matches(';').parse::<SocketAddr>().unwrap();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        (Server(child), addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_client_written_as_the_notes_write_it_does_the_whole_chat() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr) = Server::start(&dir.path().join("chat.redb"));
    assert_eq!(addr.port(), NOTES_PORT, "serve chat's default port");

    let mut alice = NotesClient::connect(addr);
    let mut bob = NotesClient::connect(addr);
    let mut carol = NotesClient::connect(addr);
    alice.register(100, "alice", "alice-pw");
    bob.register(200, "bob", "bob-pw");
    carol.register(300, "carol", "carol-pw");

    let res = alice.login(100, "alice-pw");
    assert_eq!(res.users_id, vec![100]);
    let res = bob.login(200, "bob-pw");
    assert_eq!(res.users_id, vec![100, 200]);
    alice.notified(200, 0);

    // An object-form client online at the same time gets the same chat as objects.
    let mut dave = ObjectClient {
        conn: TcpStream::connect(addr).unwrap(),
    };
    dave.conn.set_read_timeout(Some(LIMIT)).unwrap();
    dave.send(
        "RegisterMes",
        json!({"user": {"userId": 400, "userPwd": "dave-pw", "userName": "dave"}}),
    );
    assert_eq!(dave.until("RegisterResMes")["code"], 200);
    dave.send("LoginMes", json!({"userId": 400, "userPwd": "dave-pw"}));
    assert_eq!(dave.until("LoginResMes")["code"], 200);
    alice.notified(400, 0);
    bob.notified(400, 0);

    // Group chat: everyone online but the sender.
    alice.write_pkg("SmsMes", json!({"content": "hello all"}));
    let sms: ContentFrom = bob.expect("SmsMes");
    assert_eq!((sms.content.as_str(), sms.user.user_id), ("hello all", 100));
    let sms = dave.until("SmsMes");
    assert_eq!(sms["content"], "hello all");
    assert_eq!(sms["user"]["userId"], 100);

    // Private chat to someone online, then to someone offline (stored).
    alice.write_pkg("PrivateMes", json!({"toUserId": 200, "content": "hi bob"}));
    let private: ContentFrom = bob.expect("PrivateMes");
    assert_eq!(
        (private.content.as_str(), private.user.user_id),
        ("hi bob", 100)
    );
    let res: CodeOnly = alice.expect("PrivateResMes");
    assert_eq!(res.code, 200, "{}", res.error);
    alice.write_pkg(
        "PrivateMes",
        json!({"toUserId": 300, "content": "for when you come"}),
    );
    let res: CodeOnly = alice.expect("PrivateResMes");
    assert_eq!(res.code, 202, "stored for carol: {}", res.error);

    // Carol logs in and gets what waited.
    #[derive(Deserialize)]
    struct Offline {
        offline: u32,
    }
    carol.write_pkg("LoginMes", json!({"userId": 300, "userPwd": "carol-pw"}));
    let res: Offline = carol.expect("LoginResMes");
    assert_eq!(res.offline, 1);
    let waited: ContentFrom = carol.expect("OfflineMes");
    assert_eq!(
        (waited.content.as_str(), waited.user.user_id),
        ("for when you come", 100)
    );

    // A file from alice to bob: offer, one chunk, done; bob's verdict comes back.
    let file = b"a file written as the notes write it\n".repeat(100);
    let sha = hex(&Sha256::digest(&file));
    alice.write_pkg(
        "FileOfferMes",
        json!({"toUserId": 200, "fileId": 1, "fileName": "notes.txt", "size": file.len(), "sha256": sha}),
    );
    alice.write_pkg(
        "FileChunkMes",
        json!({"toUserId": 200, "fileId": 1, "seq": 0,
               "data": base64::engine::general_purpose::STANDARD.encode(&file)}),
    );
    alice.write_pkg("FileDoneMes", json!({"toUserId": 200, "fileId": 1}));
    #[derive(Deserialize)]
    struct Offer {
        #[serde(rename = "fileName")]
        file_name: String,
        size: usize,
        sha256: String,
        user: User,
    }
    #[derive(Deserialize)]
    struct Chunk {
        data: String,
    }
    let offer: Offer = bob.expect("FileOfferMes");
    assert_eq!(
        (offer.file_name.as_str(), offer.size, offer.user.user_id),
        ("notes.txt", file.len(), 100)
    );
    let chunk: Chunk = bob.expect("FileChunkMes");
    let got = base64::engine::general_purpose::STANDARD
        .decode(chunk.data)
        .unwrap();
    let _: Value = bob.expect("FileDoneMes");
    assert_eq!(hex(&Sha256::digest(&got)), offer.sha256);
    bob.write_pkg(
        "FileResMes",
        json!({"toUserId": 100, "fileId": 1, "code": 200, "error": ""}),
    );
    let verdict: CodeOnly = alice.expect("FileResMes");
    assert_eq!(verdict.code, 200, "{}", verdict.error);

    // Logging out tells the others; the answer is in the notes' form too.
    alice.write_pkg("LogoutMes", json!({}));
    let res: CodeOnly = alice.expect("LogoutResMes");
    assert_eq!(res.code, 200);
    bob.notified(100, 1);
    carol.notified(100, 1);
    while dave.until("NotifyUserStatusMes")
        != json!({"userId": 100, "userName": "alice", "status": 1})
    {}
}
