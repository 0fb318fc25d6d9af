//! The filter expression a tracefs event takes, keeping only the run's ports
//! (pure: the session writes it to the event's `filter` file).

/// The tracefs filter for the run's ports. `protocol` exists since Linux 4.16's
/// MPTCP/SCTP support; without it every socket reported is TCP anyway.
pub(crate) fn build_filter(ports: &[u16], has_protocol: bool) -> String {
    let ports = ports
        .iter()
        .map(|p| format!("sport == {p} || dport == {p}"))
        .collect::<Vec<_>>()
        .join(" || ");
    if has_protocol {
        format!("protocol == 6 && ({ports})")
    } else {
        ports
    }
}
