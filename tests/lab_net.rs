//! The two-namespace lab network (needs root): created with real namespaces and
//! veth pairs, usable from a thread that enters a namespace, removed on drop, and
//! cleaned up by `protolab lab clean` after a run that never got to clean up.
//! Without root the tests are skipped with a message, unless
//! `PROTOLAB_REQUIRE_ROOT_TESTS=1` (CI), where they fail.

mod common;

use std::process::Command;

use protolab::lab::netns::{self, LabNet};

fn netns_list() -> String {
    String::from_utf8(
        Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
}

#[test]
fn lab_network_lifecycle() {
    if !common::require_root("lab network tests", "network namespaces") {
        return;
    }
    namespaces_are_created_usable_and_removed_on_drop();
    lab_clean_removes_what_a_killed_run_left();
}

fn namespaces_are_created_usable_and_removed_on_drop() {
    let net = LabNet::create().expect("create the lab network");
    let list = netns_list();
    assert!(
        list.contains(&net.client_ns) && list.contains(&net.server_ns),
        "{list}"
    );
    assert!(std::path::Path::new("/sys/class/net")
        .join(&net.client_peer)
        .exists());
    assert!(std::path::Path::new("/sys/class/net")
        .join(&net.server_peer)
        .exists());

    // A thread that enters the client namespace binds the client's address there;
    // the test's own thread stays in the root namespace, where that address is absent.
    let ns = net.client_ns.clone();
    let bound = std::thread::spawn(move || {
        netns::enter(&ns).unwrap();
        std::net::UdpSocket::bind((netns::CLIENT_V4, 0)).map(|_| ())
    })
    .join()
    .unwrap();
    assert!(
        bound.is_ok(),
        "198.18.0.1 is configured inside the client namespace: {bound:?}"
    );
    assert!(
        std::net::UdpSocket::bind((netns::CLIENT_V4, 0)).is_err(),
        "not in the root namespace"
    );

    let (c, s, cp) = (
        net.client_ns.clone(),
        net.server_ns.clone(),
        net.client_peer.clone(),
    );
    drop(net);
    let list = netns_list();
    assert!(!list.contains(&c) && !list.contains(&s), "{list}");
    assert!(!std::path::Path::new("/sys/class/net").join(cp).exists());
}

/// `lab clean` removes every plab- namespace, so it must not run beside the test
/// above: both steps live in this one test.
fn lab_clean_removes_what_a_killed_run_left() {
    let net = LabNet::create().expect("create the lab network");
    let (c, s) = (net.client_ns.clone(), net.server_ns.clone());
    // A run killed with SIGKILL never runs its destructors.
    std::mem::forget(net);
    assert!(netns_list().contains(&c));
    let out = common::protolab(&["lab", "clean"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("removed {c}")) && text.contains(&format!("removed {s}")),
        "{text}"
    );
    let list = netns_list();
    assert!(!list.contains(&c) && !list.contains(&s), "{list}");
}
