//! Option values are parsed one way everywhere, and a wrong one gets a message
//! that says what is wrong: sizes with units on every size option, negative
//! durations refused in words (with `=` or without), `:PORT` addresses, and an
//! interface that does not exist named as such, with the ones that do.

mod common;

use common::{protolab, require_root};

/// Runs protolab expecting a usage error; returns its stderr.
fn usage_error(args: &[&str]) -> String {
    let out = protolab(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "protolab {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn every_size_option_takes_units() {
    // `--bytes 4MiB` is accepted by run, client and compare alike: a bad unit
    // gets the same message from each.
    for cmd in [
        &["run", "file-transfer"][..],
        &["client", "file-transfer"][..],
        &["compare"][..],
    ] {
        let mut args = cmd.to_vec();
        args.extend(["--bytes", "4XB"]);
        let err = usage_error(&args);
        assert!(
            err.contains("unknown unit") && err.contains("MiB"),
            "{args:?}: {err}"
        );
        let mut args = cmd.to_vec();
        args.extend(["--bytes", "-4MiB"]);
        assert!(
            usage_error(&args).contains("must not be negative"),
            "{args:?}"
        );
    }
    assert!(usage_error(&["capture", "-s", "1GiB"]).contains("between 1 and 262144 bytes"));
    assert!(usage_error(&["serve", "chat", "--max-frame", "10"]).contains("between 64"));
}

#[test]
fn negative_durations_are_refused_in_words() {
    for args in [
        &["run", "tcp-upper", "--delay=-5ms"][..],
        &["run", "tcp-upper", "--delay", "-5ms"][..],
        &["run", "tcp-upper", "--jitter", "-1ms"][..],
        &["capture", "--duration", "-5"][..],
        &["serve", "chat", "--idle-timeout", "-1"][..],
    ] {
        let err = usage_error(args);
        assert!(err.contains("must not be negative"), "{args:?}: {err}");
        assert!(!err.contains("unknown unit"), "{args:?}: {err}");
        assert!(
            !err.contains("to pass '-5"),
            "{args:?} got clap's hint: {err}"
        );
    }
}

#[test]
fn a_colon_port_address_means_loopback() {
    let err = usage_error(&["serve", "tcp-upper", "--listen", ":99999"]);
    assert!(err.contains("not a port"), "{err}");
    let err = usage_error(&["client", "tcp-upper", "--connect", "localhost"]);
    assert!(err.contains(":PORT"), "{err}");
    // `:PORT` is accepted: a busy port shows the address it was read as.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let out = protolab(&["serve", "tcp-upper", "--listen", &format!(":{port}")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    // So is a host name, as nc takes it: localhost is read as 127.0.0.1.
    let out = protolab(&[
        "serve",
        "tcp-upper",
        "--listen",
        &format!("localhost:{port}"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[test]
fn a_missing_interface_is_named_with_the_ones_that_exist() {
    if !require_root("capturing", "libpcap opens interfaces as root") {
        return;
    }
    let out = protolab(&["capture", "-i", "nosuchif0", "-c", "1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no interface \"nosuchif0\""), "{err}");
    assert!(err.contains("lo"), "lists the interfaces that exist: {err}");
    assert!(!err.contains("libpcap installed"), "{err}");
}

#[test]
fn compare_datagram_and_timeout_use_the_shared_parsers() {
    let err = usage_error(&["compare", "--datagram", "2000"]);
    assert!(err.contains("between 24 and 1472 bytes"), "{err}");
    let err = usage_error(&["compare", "--datagram", "-5"]);
    assert!(err.contains("must not be negative"), "{err}");
    let err = usage_error(&["compare", "--timeout", "-1"]);
    assert!(err.contains("must not be negative"), "{err}");
    assert!(!err.contains("to pass '-1"), "clap's hint: {err}");
    let err = usage_error(&["compare", "--timeout", "0"]);
    assert!(err.contains("positive number of seconds"), "{err}");
}

#[test]
fn run_timeout_takes_units_like_every_time_option() {
    let err = usage_error(&["run", "tcp-upper", "--timeout", "-5s"]);
    assert!(err.contains("must not be negative"), "{err}");
    let err = usage_error(&["run", "tcp-upper", "--timeout=0ms"]);
    assert!(err.contains("positive number of seconds"), "{err}");
    let err = usage_error(&["run", "tcp-upper", "--timeout", "soon"]);
    assert!(err.contains("\"soon\""), "{err}");
}

/// Bug: `capture -c 0` and `--duration 0` were taken and stopped at once.
#[test]
fn capture_limits_of_nothing_are_refused_in_words() {
    let err = usage_error(&["capture", "-c", "0"]);
    assert!(err.contains("must be at least 1"), "{err}");
    let err = usage_error(&["capture", "-c", "-3"]);
    assert!(err.contains("must not be negative"), "{err}");
    let err = usage_error(&["capture", "--duration", "0"]);
    assert!(err.contains("positive number of seconds"), "{err}");
    let err = usage_error(&["capture", "--duration=0ms"]);
    assert!(err.contains("positive number of seconds"), "{err}");
}
