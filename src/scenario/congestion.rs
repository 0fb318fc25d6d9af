//! A socket's congestion-control algorithm (`TCP_CONGESTION`): `run --cc cubic`
//! has the `file-transfer` client send with the textbook's loss-based algorithm,
//! whose slow-start threshold the window chart can draw, on a machine whose
//! default is BBR (which never sets one).
//!
//! The kernel checks the name per socket: an algorithm it does not have is
//! `ENOENT`, and one outside `net.ipv4.tcp_allowed_congestion_control` needs
//! CAP_NET_ADMIN (`EPERM`). [`check`] asks a throwaway socket the same question
//! before a run starts, so a wrong name stops it with the lists that would work.

use std::ffi::OsString;
use std::io;
use std::os::fd::AsFd;

use nix::sys::socket::{self, sockopt};

/// The kernel's longest algorithm name (`TCP_CA_NAME_MAX` is 16, with its NUL).
const NAME_MAX: usize = 15;

/// Has `socket` use `name` from now on (a connected socket reinitialises its
/// window state with it).
pub(crate) fn set(socket: &impl AsFd, name: &str) -> Result<(), String> {
    socket::setsockopt(socket, sockopt::TcpCongestion, &OsString::from(name))
        .map_err(|e| explain(name, e))
}

/// The algorithm `socket` uses.
pub(crate) fn of(socket: &impl AsFd) -> io::Result<String> {
    let name = socket::getsockopt(socket, sockopt::TcpCongestion)?;
    Ok(name.to_string_lossy().trim_end_matches('\0').to_string())
}

/// Whether a TCP socket of this process may use `name`: `Err` says why not,
/// and what would work.
pub fn check(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > NAME_MAX || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "{name:?} is not a congestion-control name (at most {NAME_MAX} characters, like cubic, reno or bbr)"
        ));
    }
    let probe = socket::socket(
        socket::AddressFamily::Inet,
        socket::SockType::Stream,
        socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| format!("cannot open a TCP socket to check {name:?}: {e}"))?;
    set(&probe, name)
}

/// The message for a refused algorithm, with the kernel's own lists.
fn explain(name: &str, e: nix::errno::Errno) -> String {
    let list = |what: &str| {
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/tcp_{what}_congestion_control"))
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(", "))
            .unwrap_or_else(|_| "unknown".into())
    };
    match e {
        nix::errno::Errno::ENOENT => format!(
            "congestion control {name:?} is not in this kernel (available: {}); if it is a module, `modprobe tcp_{name}` as root",
            list("available")
        ),
        nix::errno::Errno::EPERM => format!(
            "congestion control {name:?} needs root (CAP_NET_ADMIN): without it this kernel allows only {}",
            list("allowed")
        ),
        e => format!("cannot set congestion control {name:?}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reno_is_always_there_and_a_made_up_name_is_refused_with_the_list() {
        // Reno is built into every Linux kernel and always allowed.
        check("reno").unwrap();
        let e = check("no-such-cc").unwrap_err();
        assert!(
            e.contains("not in this kernel (available: ") && e.contains("reno"),
            "{e}"
        );
        assert!(check("")
            .unwrap_err()
            .contains("not a congestion-control name"));
        assert!(check("a-name-longer-than-fifteen").is_err());
    }

    #[test]
    fn a_socket_says_the_algorithm_it_was_given() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        set(&stream, "reno").unwrap();
        assert_eq!(of(&stream).unwrap(), "reno");
    }
}
