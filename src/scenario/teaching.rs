//! What each scenario teaches, in one sentence, in English and in Chinese
//! (`--lang zh`). `protolab scenarios` and the lab report print these; the
//! catalogue refers to them, so the prose lives apart from ids and ports and a
//! translator edits this file alone.

/// One scenario's lesson, in both languages of the course.
#[derive(Clone, Copy, Debug)]
pub(super) struct Lesson {
    pub en: &'static str,
    pub zh: &'static str,
}

pub(super) const TCP_UPPER: Lesson = Lesson {
    en: "A concurrent TCP server (one task per connection) echoes lines in upper case; \
         each client closes first, so the client ends in TIME_WAIT and the server passes \
         through CLOSE_WAIT and LAST_ACK.",
    zh: "并发 TCP 服务器（每个连接一个任务）把收到的每一行转成大写回写；客户端先关闭，\
         所以客户端最后处于 TIME_WAIT，服务器经过 CLOSE_WAIT 和 LAST_ACK。",
};

pub(super) const UDP_DAYTIME: Lesson = Lesson {
    en: "A UDP server answers every datagram with the current time: no handshake, no \
         close, no connection state — each datagram stands alone.",
    zh: "UDP 服务器对每个数据报回复当前时间：没有握手，没有挥手，没有连接状态——\
         每个数据报都是独立的。",
};

pub(super) const FILE_TRANSFER: Lesson = Lesson {
    en: "The notes' file protocol (name → ok → bytes, then close; or name → ok → size → \
         ok → bytes → ok): an application protocol on top of a byte stream, where \
         end-of-file is the sender's FIN.",
    zh: "笔记中的文件传输协议（文件名 → ok → 文件内容，然后关闭；或 文件名 → ok → \
         大小 → ok → 内容 → ok）：建立在字节流上的应用层协议，文件结束就是发送端的 FIN。",
};

pub(super) const HTTP_HELLO: Lesson = Lesson {
    en: "HTTP/1.1 is a TCP conversation: one request, one response; with \
         `Connection: close` the server closes first and keeps the TIME_WAIT.",
    zh: "HTTP/1.1 就是一次 TCP 对话：一个请求，一个响应；请求带 `Connection: close` \
         时服务器先关闭，TIME_WAIT 留在服务器一侧。",
};

pub(super) const HALF_CLOSE: Lesson = Lesson {
    en: "shutdown(Write) closes only one direction: the client sits in FIN_WAIT_2 and \
         the server in CLOSE_WAIT while the server keeps sending.",
    zh: "shutdown(Write) 只关闭一个方向：服务器继续发送数据时，客户端处于 FIN_WAIT_2，\
         服务器处于 CLOSE_WAIT（半关闭）。",
};

pub(super) const SERVER_CLOSE: Lesson = Lesson {
    en: "Whoever closes first does the active close: here the server sends the first \
         FIN and ends in TIME_WAIT, the client passes through CLOSE_WAIT and LAST_ACK.",
    zh: "先关闭的一方是主动关闭方：这里服务器先发 FIN，最后处于 TIME_WAIT；\
         客户端经过 CLOSE_WAIT 和 LAST_ACK。",
};

pub(super) const RST_ABORT: Lesson = Lesson {
    en: "With SO_LINGER set to 0 s, close() aborts the connection with RST instead of \
         FIN: both ends go straight to CLOSED, no TIME_WAIT, the peer reads \
         \"connection reset\".",
    zh: "把 SO_LINGER 设为 0 秒后，close() 用 RST 而不是 FIN 中止连接：两端直接进入 \
         CLOSED，没有 TIME_WAIT，对端读到 \"connection reset\"。",
};

pub(super) const REFUSED: Lesson = Lesson {
    en: "Connecting to a port where nobody listens: the kernel answers the SYN with \
         RST and connect() fails with ECONNREFUSED.",
    zh: "连接一个没有人监听的端口：内核用 RST 回答 SYN，connect() 返回 ECONNREFUSED。",
};

pub(super) const TIME_WAIT: Lesson = Lesson {
    en: "The side that closes first keeps a TIME_WAIT socket for 2×MSL; while it \
         lives, the port can be bound again only with SO_REUSEADDR.",
    zh: "先关闭的一方保留一个 TIME_WAIT 套接字（2MSL）；在它存在期间，\
         只有设置了 SO_REUSEADDR 才能再次绑定这个端口。",
};

pub(super) const CHAT: Lesson = Lesson {
    en: "The notes' chat system: an application protocol on TCP needs its own message \
         boundaries (a 4-byte length before each JSON message); N users register, log \
         in, broadcast, chat privately and receive offline messages.",
    zh: "笔记中的海量用户即时通讯系统：TCP 之上的应用层协议需要自己的消息边界（每条 JSON \
         消息前有 4 字节长度）；N 个用户注册、登录、群聊、私聊并接收离线留言。",
};

pub(super) const SIMULTANEOUS_OPEN: Lesson = Lesson {
    en: "Two sockets connect to each other at once and nobody listens: the SYNs cross, \
         each side answers the other's SYN with a SYN-ACK, and both go SYN_SENT → \
         SYN_RECEIVED → ESTABLISHED (the link's delay makes them cross every time).",
    zh: "两个套接字同时互相连接，没有一方监听：两个 SYN 在途中交叉，每一方都用 SYN-ACK \
         回答对方的 SYN，双方都经过 SYN_SENT → SYN_RECEIVED → ESTABLISHED（同时打开；\
         链路延迟保证每次都交叉）。",
};

pub(super) const SIMULTANEOUS_CLOSE: Lesson = Lesson {
    en: "Both sides close at once: the FINs cross, each side receives the other's FIN \
         before the ACK of its own, and both go FIN_WAIT_1 → CLOSING → TIME_WAIT.",
    zh: "双方同时关闭：两个 FIN 在途中交叉，每一方都先收到对方的 FIN、后收到对自己 FIN 的 \
         ACK，双方都经过 FIN_WAIT_1 → CLOSING → TIME_WAIT（同时关闭，两端都有 TIME_WAIT）。",
};

pub(super) const SYN_RECEIVED_CLOSE: Lesson = Lesson {
    en: "A socket closed while in SYN_RECEIVED sends a FIN and goes to FIN_WAIT_1; on \
         Linux only a simultaneous open puts a socket you hold in SYN_RECEIVED, so the \
         client closes there, before the server's SYN-ACK arrives.",
    zh: "处于 SYN_RECEIVED 的套接字被关闭时发送 FIN，进入 FIN_WAIT_1；在 Linux 上只有同时打开\
         才会让程序持有的套接字处于 SYN_RECEIVED，所以客户端在这里、在服务器的 SYN-ACK \
         到达之前关闭。",
};

pub(super) const CONNECT_TIMEOUT: Lesson = Lesson {
    en: "The link drops every SYN (a firewall's DROP, not REJECT): nobody answers, not \
         even with RST, so the client sends its SYN again with exponential backoff (the \
         gaps double: 1 s, 2 s, 4 s) and, after TCP_SYNCNT retransmissions (--syn-retries, \
         2: about 7 s), connect() fails with ETIMEDOUT: SYN_SENT → CLOSED by a timer.",
    zh: "链路丢弃每一个 SYN（防火墙的 DROP 而不是 REJECT）：没有任何回应，连 RST 都没有，\
         所以客户端按指数退避重传 SYN（间隔逐次翻倍：1 秒、2 秒、4 秒），重传 TCP_SYNCNT \
         次（--syn-retries，默认 2，约 7 秒）后 connect() 返回 ETIMEDOUT：\
         由定时器从 SYN_SENT 进入 CLOSED。",
};

pub(super) const ABORT_STATES: Lesson = Lesson {
    en: "A RST can end a connection from any state of the close: five connections, each \
         aborted with SO_LINGER 0 in another state (FIN_WAIT_2, CLOSE_WAIT, FIN_WAIT_1, \
         ESTABLISHED), reach the peer in CLOSE_WAIT, FIN_WAIT_2, CLOSING, FIN_WAIT_1 or \
         LAST_ACK, and both ends go straight to CLOSED, with no TIME_WAIT.",
    zh: "RST 可以在关闭过程的任何状态结束连接：五个连接，每个都用 SO_LINGER 0 在不同状态\
         （FIN_WAIT_2、CLOSE_WAIT、FIN_WAIT_1、ESTABLISHED）中止，RST 到达处于 CLOSE_WAIT、\
         FIN_WAIT_2、CLOSING、FIN_WAIT_1 或 LAST_ACK 的对端，两端都直接进入 CLOSED，\
         没有 TIME_WAIT。",
};

pub(super) const SYN_RECEIVED_ABORT: Lesson = Lesson {
    en: "A socket aborted (SO_LINGER 0) in SYN_RECEIVED sends a RST and goes straight to \
         CLOSED; the SYNs of a simultaneous open cross first, and the server, opened by \
         the client's SYN-ACK, is closed by the RST right behind it.",
    zh: "处于 SYN_RECEIVED 的套接字以 SO_LINGER 0 中止时发送 RST，直接进入 CLOSED；\
         先由同时打开让两个 SYN 交叉，服务器被客户端的 SYN-ACK 打开后，紧随其后的 RST \
         又把它关闭。",
};

pub(super) const CONNECT_ABANDON: Lesson = Lesson {
    en: "Two closes nothing on the wire shows: the link drops the SYN, the client \
         close()s its socket while the connect is under way (SYN_SENT → CLOSED, no RST, \
         no FIN), then the server closes its listener (LISTEN → CLOSED); the capture shows \
         one unanswered SYN, and only the kernel shows the two closes.",
    zh: "两次在线路上看不到的关闭：链路丢弃 SYN，客户端在连接进行中（SYN_SENT）调用 close()\
         （SYN_SENT → CLOSED，不发 RST 也不发 FIN），随后服务器关闭监听套接字（LISTEN → \
         CLOSED）；抓包里只有一个没有应答的 SYN，两次关闭只有内核能看到。",
};

pub(super) const TIME_WAIT_RST: Lesson = Lesson {
    en: "TIME_WAIT waits for delayed duplicates, and here one comes: the link sends the \
         server's FIN again after the client's last ACK; the client's TIME_WAIT \
         acknowledges it again, the closed server answers that ACK with a RST, and Linux \
         (tcp_rfc1337 = 0) lets the in-window RST end the TIME_WAIT at once (RFC 1337's \
         TIME-WAIT assassination; tcp_rfc1337 = 1 would keep it).",
    zh: "TIME_WAIT 等待的是迟到的重复报文，这里就来了一个：链路在客户端最后的 ACK 之后\
         再次发送服务器的 FIN；客户端的 TIME_WAIT 再次确认它，已关闭的服务器用 RST 回答\
         这个 ACK，而 Linux（tcp_rfc1337 = 0）让这个窗口内的 RST 立即结束 TIME_WAIT\
         （RFC 1337 所说的 TIME-WAIT 暗杀；tcp_rfc1337 = 1 会保留 TIME_WAIT）。",
};

pub(super) const TIME_WAIT_EXPIRY: Lesson = Lesson {
    en: "TIME_WAIT ends by its timer: after an ordinary close the client's TIME_WAIT \
         stays 2MSL (fixed at 60 s on Linux, TCP_TIMEWAIT_LEN) and then goes to CLOSED \
         with nothing on the wire; the socket table shows it go (the run takes a minute).",
    zh: "TIME_WAIT 由定时器结束：正常关闭后，客户端的 TIME_WAIT 保持 2MSL（Linux 上固定为 \
         60 秒，TCP_TIMEWAIT_LEN），然后在线路上没有任何报文的情况下进入 CLOSED；\
         套接字表显示它消失（运行需要一分钟）。",
};

pub(super) const GRPC: Lesson = Lesson {
    en: "gRPC over HTTP/2: one TCP connection carries many streams, one per call; it \
         opens with the client's preface and a SETTINGS from each side, WINDOW_UPDATE \
         frames add HTTP/2's own flow control on top of TCP's window, and a deadline \
         travels as `grpc-timeout`, watched by both ends: whoever gives up first ends \
         the call. Slow's server ignores it, so the client resets stream 7 \
         (RST_STREAM CANCEL, no grpc-status on the wire); Deadline's server gives up \
         at a quarter of it and answers stream 9 with trailers `grpc-status: 4` \
         (DEADLINE_EXCEEDED), no reset. The connection carries on.",
    zh: "基于 HTTP/2 的 gRPC：一个 TCP 连接承载多个流，每次调用一个流；连接以客户端的前言\
         （preface）和双方各自的 SETTINGS 开始，WINDOW_UPDATE 帧在 TCP 窗口之上再加一层 \
         HTTP/2 自己的流量控制；截止时间（deadline）以 `grpc-timeout` 头传递，两端都可以\
         监视它，先放弃的一方结束这次调用。Slow 的服务器不理会截止时间，于是客户端用 \
         RST_STREAM（CANCEL）重置流 7，线路上没有 grpc-status；Deadline 的服务器在截止\
         时间过去四分之一时放弃，用只含 trailers 的响应 `grpc-status: 4`（DEADLINE_EXCEEDED）\
         结束流 9，没有重置。TCP 连接继续使用。",
};
