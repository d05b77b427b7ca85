//! Who is asking: the client's address, as far as it can be believed, and
//! the network that per-address limits count against.
//!
//! Behind reverse proxies the connection comes from a proxy, and the client's
//! address is in `X-Forwarded-For`, which each proxy appends to. Only the
//! entries appended by proxies we trust (`TRUSTED_PROXIES`) are believed:
//! walking the header from the right, the client is the nearest hop that is
//! not one of ours. Anything a client writes into the header itself sits to
//! the left of that hop and is never read. By default no proxy is trusted
//! and the header is ignored.

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// Who is asking: the per-request facts the use cases need.
#[derive(Clone, Debug)]
pub struct Client {
    pub ip: IpAddr,
    /// The browser's `User-Agent`, cut to a sane length.
    pub user_agent: String,
    /// The language it reads (its `lang` cookie, else `Accept-Language`,
    /// else the default): what a use case says to it is said in it.
    pub locale: crate::i18n::Locale,
}

impl Client {
    /// What per-address limits count against: an IPv4 address, or the /64
    /// of an IPv6 one (one subscriber holds a whole /64 and can rotate
    /// through its addresses at will).
    pub fn network(&self) -> IpNet {
        network_of(self.ip)
    }
}

/// The network a client at `ip` counts as (see [`Client::network`]); the
/// accept loop counts connections by it too.
pub fn network_of(ip: IpAddr) -> IpNet {
    let prefix = if ip.is_ipv4() { 32 } else { 64 };
    IpNet::new(ip, prefix).map_or(IpNet::from(ip), |net| net.trunc())
}

/// The networks our own reverse proxies connect from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// A `TRUSTED_PROXIES` entry that is neither an address nor a network.
#[derive(Debug, thiserror::Error)]
#[error("\"{0}\" is not an IP address or network (e.g. 10.0.0.0/8, 127.0.0.1, ::1)")]
pub struct BadProxyNetwork(String);

/// Most hops read from `X-Forwarded-For`: a longer chain is not ours.
const MAX_HOPS: usize = 32;

impl TrustedProxies {
    /// Parses a comma-separated list of networks (`10.0.0.0/8`) and single
    /// addresses (`127.0.0.1`, `::1`).
    pub fn parse(list: &str) -> Result<TrustedProxies, BadProxyNetwork> {
        let networks = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .map(|net| net.trunc())
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| BadProxyNetwork(entry.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies(networks))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of our proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address, given the connection's peer and the request's
    /// `X-Forwarded-For` values (each header in order, as received).
    pub fn client_ip<'a>(&self, peer: IpAddr, forwarded_for: impl IntoIterator<Item = &'a str>) -> IpAddr {
        let mut hop = peer.to_canonical();
        if self.is_empty() || !self.trusts(hop) {
            return hop;
        }
        let entries: Vec<&str> = forwarded_for.into_iter().flat_map(|value| value.split(',')).collect();
        for entry in entries.iter().rev().take(MAX_HOPS) {
            if !self.trusts(hop) {
                break;
            }
            // An entry our proxy wrote that is no address ("unknown"): the
            // proxy itself is the nearest hop we know.
            let Some(ip) = parse_hop(entry) else { break };
            hop = ip;
        }
        hop
    }
}

/// One `X-Forwarded-For` entry: an address, with or without a port
/// (`203.0.113.7`, `203.0.113.7:5100`, `2001:db8::1`, `[2001:db8::1]:443`).
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim().trim_matches('"');
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .or_else(|_| entry.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>())
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    #[test]
    fn by_default_no_forwarded_header_is_believed() {
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(ip("127.0.0.1"), ["203.0.113.7"]), ip("127.0.0.1"));
    }

    #[test]
    fn a_header_from_a_peer_that_is_not_our_proxy_is_ignored() {
        let ours = proxies("10.0.0.0/8");
        assert_eq!(ours.client_ip(ip("198.51.100.9"), ["203.0.113.7"]), ip("198.51.100.9"));
    }

    /// The attack: the client writes its own `X-Forwarded-For`, hoping to
    /// be someone new on every request; our proxy appends the real address.
    #[test]
    fn the_client_is_the_nearest_hop_that_is_not_ours() {
        let ours = proxies("10.0.0.0/8, 127.0.0.1");
        let forged = ["1.1.1.1, 2.2.2.2", "198.51.100.9, 10.0.0.5"];
        assert_eq!(ours.client_ip(ip("127.0.0.1"), forged), ip("198.51.100.9"));
        assert_eq!(ours.client_ip(ip("10.0.0.2"), ["9.9.9.9, 198.51.100.9"]), ip("198.51.100.9"));
        // Only our proxies on the way: the leftmost is the client.
        assert_eq!(ours.client_ip(ip("10.0.0.2"), ["10.0.0.7"]), ip("10.0.0.7"));
    }

    #[test]
    fn entries_may_carry_ports_and_brackets() {
        let ours = proxies("127.0.0.1");
        assert_eq!(ours.client_ip(ip("127.0.0.1"), ["203.0.113.7:5100"]), ip("203.0.113.7"));
        assert_eq!(ours.client_ip(ip("127.0.0.1"), ["[2001:db8::1]:443"]), ip("2001:db8::1"));
        assert_eq!(ours.client_ip(ip("127.0.0.1"), ["2001:db8::1"]), ip("2001:db8::1"));
        assert_eq!(ours.client_ip(ip("127.0.0.1"), ["\"[2001:db8::2]\""]), ip("2001:db8::2"));
    }

    #[test]
    fn an_entry_that_is_no_address_stops_at_our_proxy() {
        let ours = proxies("127.0.0.1");
        assert_eq!(ours.client_ip(ip("127.0.0.1"), ["1.2.3.4, unknown"]), ip("127.0.0.1"));
        assert_eq!(ours.client_ip(ip("127.0.0.1"), std::iter::empty::<&str>()), ip("127.0.0.1"));
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4() {
        let ours = proxies("127.0.0.1");
        assert_eq!(ours.client_ip(ip("::ffff:127.0.0.1"), ["::ffff:203.0.113.7"]), ip("203.0.113.7"));
    }

    #[test]
    fn single_addresses_and_networks_parse_and_garbage_is_refused() {
        assert_eq!(proxies("10.1.2.3/8").0, vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]);
        assert_eq!(proxies("::1").0, vec!["::1/128".parse::<IpNet>().unwrap()]);
        assert!(proxies("").is_empty());
        assert!(TrustedProxies::parse("10.0.0.0/8,nonsense").is_err());
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        let client = |s: &str| Client { ip: ip(s), user_agent: String::new(), locale: crate::i18n::Locale::REFERENCE };
        assert_eq!(client("2001:db8:1:2:aaaa::1").network(), client("2001:db8:1:2:ffff::9").network());
        assert_ne!(client("2001:db8:1:2::1").network(), client("2001:db8:1:3::1").network());
        assert_eq!(client("2001:db8:1:2::1").network().to_string(), "2001:db8:1:2::/64");
        assert_eq!(client("203.0.113.7").network().to_string(), "203.0.113.7/32");
    }
}
