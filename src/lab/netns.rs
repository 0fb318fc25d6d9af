//! The lab network: two network namespaces, client and server, each
//! joined by a veth pair whose root-side end the userspace bridge will own.
//!
//! Everything is named with the `plab-` prefix and removed when the `LabNet` is
//! dropped (also while unwinding from a panic); `protolab lab clean` removes what a
//! killed run left behind. Created with iproute2's `ip`, which every Linux with
//! namespaces has; checksum offload is turned off inside the namespaces with
//! `ethtool` because the bridge forwards frames whose checksums the kernel left
//! for hardware to fill in (with offload on, the receiving namespace drops
//! every SYN as a checksum error: `TcpInCsumErrors` grows).

use std::fs::File;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Prefix of every namespace and link a run creates.
pub const PREFIX: &str = "plab-";

/// Errors setting up or tearing down the lab network.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("`{command}` failed: {detail} (the lab network needs root, for CAP_NET_ADMIN and CAP_SYS_ADMIN: run it with sudo)")]
    Command { command: String, detail: String },
    #[error("cannot enter network namespace {name}: {detail}")]
    Enter { name: String, detail: String },
}

/// Addresses of the two lab hosts (RFC 2544 benchmarking range, RFC 3849 documentation range).
pub const CLIENT_V4: &str = "198.18.0.1";
pub const SERVER_V4: &str = "198.18.0.2";
pub const CLIENT_V6: &str = "2001:db8::1";
pub const SERVER_V6: &str = "2001:db8::2";

/// One run's two namespaces and their links.
#[derive(Debug)]
pub struct LabNet {
    /// Short token naming this run's objects (interface names are limited to 15 bytes).
    pub token: String,
    pub client_ns: String,
    pub server_ns: String,
    /// Root-side ends of the veth pairs: the bridge forwards between these two.
    pub client_peer: String,
    pub server_peer: String,
    /// Whether `ethtool` turned checksum offload off inside both namespaces.
    pub offload_off: bool,
    removed: bool,
}

fn run(args: &[&str]) -> Result<(), NetnsError> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| NetnsError::Command {
            command: args.join(" "),
            detail: e.to_string(),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NetnsError::Command {
            command: args.join(" "),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// A token unique to this process and call: `<pid mod 36^3><counter>` in base 36.
fn new_token() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = std::process::id() % 46_656 * 36 + NEXT.fetch_add(1, Ordering::Relaxed) % 36;
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    let mut v = n;
    for _ in 0..4 {
        out.push(digits[(v % 36) as usize]);
        v /= 36;
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

impl LabNet {
    /// Creates both namespaces, the veth pairs, addresses and routes. On any error,
    /// whatever was created so far is removed again.
    pub fn create() -> Result<Self, NetnsError> {
        let token = new_token();
        let mut net = LabNet {
            client_ns: format!("{PREFIX}{token}-c"),
            server_ns: format!("{PREFIX}{token}-s"),
            client_peer: format!("{PREFIX}{token}-cb"),
            server_peer: format!("{PREFIX}{token}-sb"),
            token,
            offload_off: false,
            removed: false,
        };
        // On failure `net` drops here and removes what exists.
        net.build()?;
        Ok(net)
    }

    fn build(&mut self) -> Result<(), NetnsError> {
        for (ns, peer, v4, v6) in [
            (&self.client_ns, &self.client_peer, CLIENT_V4, CLIENT_V6),
            (&self.server_ns, &self.server_peer, SERVER_V4, SERVER_V6),
        ] {
            let inner = format!("{peer}0");
            run(&["ip", "netns", "add", ns])?;
            run(&[
                "ip", "link", "add", &inner, "type", "veth", "peer", "name", peer,
            ])?;
            run(&["ip", "link", "set", &inner, "netns", ns, "name", "eth0"])?;
            run(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v4}/24"),
                "dev",
                "eth0",
            ])?;
            run(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                "eth0",
                "nodad",
            ])?;
            // No router here: no router solicitations in the capture either.
            let _ = run(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.eth0.router_solicitations=0",
            ]);
            run(&["ip", "-n", ns, "link", "set", "eth0", "up"])?;
            run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
            // The root side is a wire, not a host: no IPv6 of its own (no router
            // solicitations or MLD reports from it in the lab's capture).
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{peer}/disable_ipv6"), "1");
            run(&["ip", "link", "set", peer, "up"])?;
        }
        // The bridge hands frames over from userspace: checksums must be complete.
        self.offload_off = [&self.client_ns, &self.server_ns].iter().all(|ns| {
            run(&[
                "ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tx", "off",
            ])
            .is_ok()
        });
        Ok(())
    }

    /// Sets sysctl `name` to `value` inside the client's namespace (the host's stays
    /// as it is). A sysctl this kernel does not have is skipped: `false`.
    pub fn set_client_sysctl(&self, name: &str, value: &str) -> Result<bool, NetnsError> {
        let path = format!("/proc/sys/{}", name.replace('.', "/"));
        if !std::path::Path::new(&path).exists() {
            return Ok(false);
        }
        run(&[
            "ip",
            "netns",
            "exec",
            &self.client_ns,
            "sysctl",
            "-qw",
            &format!("{name}={value}"),
        ])?;
        Ok(true)
    }

    /// Removes both namespaces and links now (dropping does the same).
    pub fn remove(mut self) -> Result<(), NetnsError> {
        self.teardown()
    }

    fn teardown(&mut self) -> Result<(), NetnsError> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        let mut first_error = None;
        // Deleting a namespace deletes its end of the veth, and with it the root-side peer.
        for ns in [&self.client_ns, &self.server_ns] {
            if exists(ns) {
                if let Err(e) = run(&["ip", "netns", "del", ns]) {
                    first_error.get_or_insert(e);
                }
            }
        }
        for link in [&self.client_peer, &self.server_peer] {
            let _ = run(&["ip", "link", "del", link]);
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for LabNet {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

fn exists(ns: &str) -> bool {
    std::path::Path::new("/var/run/netns").join(ns).exists()
}

/// Moves the calling thread into namespace `name` (only this thread: others stay).
pub fn enter(name: &str) -> Result<(), NetnsError> {
    let err = |detail: String| NetnsError::Enter {
        name: name.to_string(),
        detail,
    };
    let file = File::open(std::path::Path::new("/var/run/netns").join(name))
        .map_err(|e| err(e.to_string()))?;
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| err(e.to_string()))
}

/// Names of lab namespaces and root-side links that exist now.
pub fn leftovers() -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/var/run/netns") {
        names.extend(
            dir.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with(PREFIX)),
        );
    }
    if let Ok(dir) = std::fs::read_dir("/sys/class/net") {
        names.extend(
            dir.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with(PREFIX)),
        );
    }
    names.sort();
    names
}

/// `protolab lab clean`: removes every `plab-` namespace and link; returns their names.
pub fn clean_all() -> Result<Vec<String>, NetnsError> {
    let found = leftovers();
    for name in &found {
        if exists(name) {
            run(&["ip", "netns", "del", name])?;
        } else if std::path::Path::new("/sys/class/net").join(name).exists() {
            // Already gone with its namespace's peer is fine.
            let _ = run(&["ip", "link", "del", name]);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_fit_interface_names() {
        let t = new_token();
        assert_eq!(t.len(), 4);
        // "plab-" + 4 + "-cb0" = 13 bytes: under IFNAMSIZ - 1 = 15.
        assert!(format!("{PREFIX}{t}-cb0").len() <= 15);
        assert_ne!(new_token(), new_token());
    }
}
