//! The catalogue of scenarios: their names as the command line spells them, the
//! transport each runs over, the port each serves on by default, and what each
//! teaches (the sentences themselves are in [`super::teaching`]).

use std::fmt;

use super::teaching::{self, Lesson};

/// The scenarios, as the command line spells them (`tcp-upper`, `udp-daytime`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ScenarioName {
    TcpUpper,
    UdpDaytime,
    FileTransfer,
    HttpHello,
    HalfClose,
    ServerClose,
    RstAbort,
    Refused,
    TimeWait,
    Chat,
    SimultaneousOpen,
    SimultaneousClose,
    SynReceivedClose,
    ConnectTimeout,
    AbortStates,
    SynReceivedAbort,
    ConnectAbandon,
    TimeWaitRst,
    TimeWaitExpiry,
    Grpc,
}

impl ScenarioName {
    /// Every scenario, in catalogue order.
    pub fn all() -> &'static [ScenarioName] {
        <ScenarioName as clap::ValueEnum>::value_variants()
    }

    /// The scenario's catalogue entry.
    pub fn info(self) -> &'static ScenarioInfo {
        info(self)
    }

    /// The command-line id, e.g. `tcp-upper`.
    pub fn id(self) -> &'static str {
        info(self).id
    }

    /// Parses a command-line id.
    pub fn from_id(id: &str) -> Option<ScenarioName> {
        all().iter().find(|i| i.id == id).map(|i| i.name)
    }

    /// Whether `serve` needs a listening socket (every scenario but `refused` and
    /// those that open simultaneously, whose server connects instead).
    pub fn listens(self) -> bool {
        self != ScenarioName::Refused && !self.opens_simultaneously()
    }
}

impl fmt::Display for ScenarioName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The transport a scenario runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One scenario's catalogue entry (`protolab scenarios` prints these).
#[derive(Debug)]
pub struct ScenarioInfo {
    pub name: ScenarioName,
    /// The command-line id, e.g. `tcp-upper`.
    pub id: &'static str,
    pub transport: Transport,
    /// The port `serve` listens on when none is given; distinct per scenario.
    pub default_port: u16,
    /// What the scenario teaches, one sentence.
    pub teaches: &'static str,
    /// The same in Chinese, for `--lang zh`.
    pub teaches_zh: &'static str,
}

impl ScenarioInfo {
    /// An entry whose lesson comes from [`super::teaching`].
    const fn new(
        name: ScenarioName,
        id: &'static str,
        transport: Transport,
        port: u16,
        lesson: Lesson,
    ) -> Self {
        ScenarioInfo {
            name,
            id,
            transport,
            default_port: port,
            teaches: lesson.en,
            teaches_zh: lesson.zh,
        }
    }
}

/// In declaration order of [`ScenarioName`]; `catalogue_is_in_enum_order` pins it.
static ALL: [ScenarioInfo; 20] = {
    use ScenarioName::*;
    use Transport::{Tcp, Udp};
    [
        ScenarioInfo::new(TcpUpper, "tcp-upper", Tcp, 8001, teaching::TCP_UPPER),
        ScenarioInfo::new(UdpDaytime, "udp-daytime", Udp, 8006, teaching::UDP_DAYTIME),
        ScenarioInfo::new(
            FileTransfer,
            "file-transfer",
            Tcp,
            8008,
            teaching::FILE_TRANSFER,
        ),
        ScenarioInfo::new(HttpHello, "http-hello", Tcp, 8080, teaching::HTTP_HELLO),
        ScenarioInfo::new(HalfClose, "half-close", Tcp, 8005, teaching::HALF_CLOSE),
        ScenarioInfo::new(
            ServerClose,
            "server-close",
            Tcp,
            8002,
            teaching::SERVER_CLOSE,
        ),
        ScenarioInfo::new(RstAbort, "rst-abort", Tcp, 8007, teaching::RST_ABORT),
        ScenarioInfo::new(Refused, "refused", Tcp, 8003, teaching::REFUSED),
        ScenarioInfo::new(TimeWait, "time-wait", Tcp, 8009, teaching::TIME_WAIT),
        ScenarioInfo::new(Chat, "chat", Tcp, 8889, teaching::CHAT),
        ScenarioInfo::new(
            SimultaneousOpen,
            "simultaneous-open",
            Tcp,
            8021,
            teaching::SIMULTANEOUS_OPEN,
        ),
        ScenarioInfo::new(
            SimultaneousClose,
            "simultaneous-close",
            Tcp,
            8022,
            teaching::SIMULTANEOUS_CLOSE,
        ),
        ScenarioInfo::new(
            SynReceivedClose,
            "syn-received-close",
            Tcp,
            8023,
            teaching::SYN_RECEIVED_CLOSE,
        ),
        ScenarioInfo::new(
            ConnectTimeout,
            "connect-timeout",
            Tcp,
            8014,
            teaching::CONNECT_TIMEOUT,
        ),
        ScenarioInfo::new(
            AbortStates,
            "abort-states",
            Tcp,
            8024,
            teaching::ABORT_STATES,
        ),
        ScenarioInfo::new(
            SynReceivedAbort,
            "syn-received-abort",
            Tcp,
            8025,
            teaching::SYN_RECEIVED_ABORT,
        ),
        ScenarioInfo::new(
            ConnectAbandon,
            "connect-abandon",
            Tcp,
            8026,
            teaching::CONNECT_ABANDON,
        ),
        ScenarioInfo::new(
            TimeWaitRst,
            "time-wait-rst",
            Tcp,
            8027,
            teaching::TIME_WAIT_RST,
        ),
        ScenarioInfo::new(
            TimeWaitExpiry,
            "time-wait-expiry",
            Tcp,
            8028,
            teaching::TIME_WAIT_EXPIRY,
        ),
        ScenarioInfo::new(Grpc, "grpc", Tcp, 50051, teaching::GRPC),
    ]
};

/// Every scenario, in catalogue order.
pub fn all() -> &'static [ScenarioInfo] {
    &ALL
}

/// The catalogue entry of `name`.
pub fn info(name: ScenarioName) -> &'static ScenarioInfo {
    // The table is in declaration order; the test `catalogue_is_in_enum_order` pins it.
    &ALL[name as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn catalogue_is_in_enum_order() {
        for v in ScenarioName::value_variants() {
            assert_eq!(info(*v).name, *v);
            let clap_id = v.to_possible_value().map(|p| p.get_name().to_string());
            assert_eq!(clap_id.as_deref(), Some(info(*v).id));
            assert_eq!(ScenarioName::from_id(v.id()), Some(*v));
        }
        let mut ports: Vec<u16> = all().iter().map(|i| i.default_port).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), all().len(), "default ports must be distinct");
    }

    /// The notes' programs have their ports compiled in: protolab's servers and
    /// clients default to the same ones, and the lab's own scenarios take ports
    /// of their own, so no two scenarios of one transport share a port.
    #[test]
    fn default_ports_are_the_notes_and_never_shared() {
        use ScenarioName::*;
        for (name, port) in [
            (TcpUpper, 8001),
            (UdpDaytime, 8006),
            (FileTransfer, 8008),
            (HttpHello, 8080),
            (Chat, 8889),
        ] {
            assert_eq!(info(name).default_port, port, "{}", info(name).id);
        }
        let mut seen = std::collections::HashSet::new();
        for i in all() {
            assert!(
                seen.insert((i.transport == Transport::Tcp, i.default_port)),
                "{} shares port {}",
                i.id,
                i.default_port
            );
        }
    }

    #[test]
    fn every_scenario_teaches_in_both_languages() {
        for i in all() {
            assert!(i.teaches.ends_with('.'), "{}: {}", i.id, i.teaches);
            assert!(!i.teaches_zh.is_empty(), "{}", i.id);
        }
    }
}
