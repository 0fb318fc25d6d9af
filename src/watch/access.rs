//! Who may see the live page. It shows captured payloads, so by default it is
//! served on loopback only, and a request must name a loopback host (a web page
//! elsewhere cannot reach it through DNS rebinding). Any other address needs a
//! token: a random string in the URL, required on every request and on the event
//! stream; without it the answer is 403. Pure, except [`new_token`].

use std::io::Read;
use std::net::SocketAddr;

/// Why the page may not be served as asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccessError {
    #[error(
        "--listen {addr} is not a loopback address: the page shows captured payloads, \
         so anyone who can reach {addr} would see them; add --token (a random token \
         the URL then carries), or listen on 127.0.0.1"
    )]
    NeedsToken { addr: SocketAddr },
}

/// The access rule of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// When set, every request must carry `token=<this>` in its query.
    pub token: Option<String>,
}

impl Access {
    /// The rule for a server on `addr`: a token is required off loopback.
    pub fn for_listen(addr: SocketAddr, token: Option<String>) -> Result<Access, AccessError> {
        if !addr.ip().is_loopback() && token.is_none() {
            return Err(AccessError::NeedsToken { addr });
        }
        Ok(Access { token })
    }

    /// Whether a request with this query string and `Host` header is let in.
    pub fn allows(&self, query: Option<&str>, host: Option<&str>) -> bool {
        match &self.token {
            Some(token) => query.is_some_and(|q| {
                q.split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .any(|(k, v)| k == "token" && constant_time_eq(v.as_bytes(), token.as_bytes()))
            }),
            None => host.is_some_and(is_loopback_host),
        }
    }

    /// The page's URL on `bound` (the token in it when there is one).
    pub fn url(&self, bound: SocketAddr) -> String {
        match &self.token {
            Some(t) => format!("http://{bound}/?token={t}"),
            None => format!("http://{bound}/"),
        }
    }
}

/// `127.0.0.1:8000`, `localhost`, `[::1]:8000`, …
fn is_loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        // `[::1]:80`, `127.0.0.1:80`, `localhost:80`; a bare `::1` has colons too.
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.ends_with(':') => {
            name
        }
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Compares without stopping at the first difference, so the time taken says
/// nothing about how much of a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 128 random bits from the kernel, as 32 hex digits.
pub fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_needs_no_token_and_anything_else_does() {
        let lo: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8000".parse().unwrap();
        assert!(Access::for_listen(lo, None).is_ok());
        assert!(Access::for_listen("[::1]:0".parse().unwrap(), None).is_ok());
        let err = Access::for_listen(any, None).unwrap_err();
        assert_eq!(err, AccessError::NeedsToken { addr: any });
        assert!(err.to_string().contains("add --token"), "{err}");
        assert!(Access::for_listen(any, Some("t".into())).is_ok());
    }

    #[test]
    fn with_a_token_every_request_must_carry_it() {
        let a = Access {
            token: Some("abc123".into()),
        };
        assert!(a.allows(Some("token=abc123"), Some("192.0.2.1:80")));
        assert!(a.allows(Some("x=1&token=abc123"), None));
        assert!(!a.allows(None, Some("127.0.0.1:80")));
        assert!(!a.allows(Some("token=abc124"), None));
        assert!(!a.allows(Some("token=abc12"), None));
        assert!(!a.allows(Some("tokenx=abc123"), None));
        assert_eq!(
            a.url("192.0.2.1:80".parse().unwrap()),
            "http://192.0.2.1:80/?token=abc123"
        );
    }

    #[test]
    fn without_a_token_the_host_must_be_loopback() {
        let a = Access { token: None };
        for host in [
            "127.0.0.1:8000",
            "localhost:1",
            "LOCALHOST",
            "[::1]:9",
            "::1",
        ] {
            assert!(a.allows(None, Some(host)), "{host}");
        }
        for host in [
            "evil.example:8000",
            "192.0.2.1:80",
            "localhost.evil.example",
        ] {
            assert!(!a.allows(None, Some(host)), "{host}");
        }
        assert!(!a.allows(None, None));
    }

    #[test]
    fn tokens_are_random_hex() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
