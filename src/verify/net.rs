//! The network guard every verifier goes through: names are resolved here, every address is
//! checked (loopback, private, link-local, unique-local and other special ranges are refused
//! unless the user's config allows them), and connections go to the checked address only, so
//! a second resolution cannot swap it (DNS rebinding).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Duration;

/// Limits and permissions for outgoing connections (from `[verify]` of the user's config).
#[derive(Debug, Clone)]
pub struct Net {
    /// Connect to loopback, private and other special addresses (tests, internal services).
    pub allow_private: bool,
    /// Longest wait for name resolution plus the TCP connection.
    pub connect_timeout: Duration,
    /// Longest wait for one whole exchange (request and answer, or a handshake).
    pub timeout: Duration,
}

impl Default for Net {
    fn default() -> Net {
        Net {
            allow_private: false,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Why a connection was not made. The message names hosts and addresses only, never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// The guard refused it (a private address without the user's consent, plain HTTP to a
    /// public address): the check is `unknown`, nothing was sent.
    Refused(String),
    /// It failed (no such host, no answer, TLS, a malformed answer): the check is `error`.
    Failed(String),
}

impl NetError {
    /// The reason, for a report.
    pub fn message(&self) -> &str {
        match self {
            NetError::Refused(m) | NetError::Failed(m) => m,
        }
    }
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl From<NetError> for super::Outcome {
    fn from(e: NetError) -> super::Outcome {
        match e {
            NetError::Refused(m) => super::Outcome::unknown(m),
            NetError::Failed(m) => super::Outcome::error(m),
        }
    }
}

impl Net {
    /// Resolves `host`, within the connect timeout, to addresses that may be contacted.
    pub fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, NetError> {
        let failed = |why: String| Err(NetError::Failed(format!("cannot resolve {host}: {why}")));
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => {
                let (tx, rx) = mpsc::sync_channel(1);
                let name = format!("{host}:{port}");
                std::thread::spawn(move || {
                    let _ = tx.send(name.to_socket_addrs().map(Iterator::collect::<Vec<_>>));
                });
                match rx.recv_timeout(self.connect_timeout) {
                    Ok(Ok(a)) => a,
                    Ok(Err(e)) => return failed(e.kind().to_string()),
                    Err(_) => return failed("timed out".into()),
                }
            }
        };
        if addrs.is_empty() {
            return failed("no address".into());
        }
        if !self.allow_private {
            if let Some(a) = addrs.iter().find(|a| special(a.ip())) {
                return Err(NetError::Refused(format!(
                    "{host} resolves to {}, a loopback, private or reserved address: refused (allow it with [verify] allow_private_addresses = true in your config)",
                    a.ip()
                )));
            }
        }
        Ok(addrs)
    }

    /// Resolves and connects (first address that answers), with read and write timeouts set.
    pub fn connect(&self, host: &str, port: u16) -> Result<TcpStream, NetError> {
        let addrs = self.resolve(host, port)?;
        let mut last = String::new();
        for a in addrs {
            match TcpStream::connect_timeout(&a, self.connect_timeout) {
                Ok(s) => {
                    let _ = s.set_read_timeout(Some(self.timeout));
                    let _ = s.set_write_timeout(Some(self.timeout));
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = format!("cannot connect to {host}:{port}: {}", e.kind()),
            }
        }
        Err(NetError::Failed(last))
    }
}

/// Loopback, private, link-local, unique-local, carrier-grade NAT, multicast, documentation
/// and other addresses that are not the public internet (the SSRF guard's list).
pub fn special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special_v4(v4);
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64: may wrap a private v4
                || (s[0] == 0x2002) // 6to4: wraps a v4
                || v6 == Ipv6Addr::UNSPECIFIED
        }
    }
}

fn special_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0 // this network
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // carrier-grade NAT 100.64/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18/15
        || o[0] >= 240 // reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_ranges_are_refused_and_public_ones_pass() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(special(a.parse().expect("ip")), "{a} must be refused");
        }
        for a in ["140.82.112.3", "1.1.1.1", "2606:4700::1111"] {
            assert!(!special(a.parse().expect("ip")), "{a} is public");
        }
    }

    #[test]
    fn a_name_for_loopback_is_refused_after_resolution() {
        let net = Net::default();
        let e = net.resolve("localhost", 443).expect_err("refused");
        assert!(matches!(e, NetError::Refused(_)), "{e}");
        let open = Net {
            allow_private: true,
            ..Net::default()
        };
        assert!(open.resolve("localhost", 443).is_ok());
    }
}
