//! Where a webhook may be sent: the addresses an endpoint's URL must not reach when kassa refuses
//! private addresses (`--webhook-allow-private false`, the default on any listener that is not
//! loopback only).
//!
//! A merchant chooses an endpoint's URL, and kassa keeps the start of whatever answers it; on a
//! server with a network of its own behind it, that URL could reach the cloud's metadata service
//! (`169.254.169.254`), a database on `localhost`, or another internal service, and the kept answer
//! would let the merchant read it (server-side request forgery). So when private addresses are
//! refused, kassa sends only to **public** addresses: not loopback, private (RFC 1918, unique local
//! `fc00::/7`, site-local), link-local (`169.254/16`, `fe80::/10`), shared/CGNAT (`100.64/10`),
//! unspecified (`0.0.0.0/8`, `::`), multicast, broadcast or reserved ranges, nor an IPv6 address
//! that embeds one of those IPv4 addresses (IPv4-mapped `::ffff:…`, IPv4-compatible `::a.b.c.d`,
//! NAT64 `64:ff9b::/96`, 6to4 `2002::/16`).
//!
//! Every spelling of an address is caught because the URL is read as the HTTP client reads it
//! (the WHATWG URL rules of the `url` crate, which reqwest uses): `0x7f000001`, `2130706433`,
//! `127.1` and `0177.0.0.1` are all the host `127.0.0.1` once parsed, so the check sees what the
//! connection would reach. This module decides; the app applies it twice: to a literal address
//! when an endpoint is created or updated, and to every address a host name resolves to when a
//! delivery is sent (so a name that resolves to a private address, or is rebound to one later,
//! gets nothing).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restricted {
    Unspecified,
    Loopback,
    Private,
    LinkLocal,
    /// Shared address space, `100.64.0.0/10` (carrier-grade NAT).
    SharedAddressSpace,
    Multicast,
    Broadcast,
    /// Not routable on the internet for other reasons (future use, benchmarking, protocol
    /// assignments, discard-only).
    Reserved,
}

impl Restricted {
    /// "a loopback address", for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Unspecified => "an unspecified address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::LinkLocal => "a link-local address",
            Self::SharedAddressSpace => "a shared (carrier-grade NAT) address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "a broadcast address",
            Self::Reserved => "a reserved address",
        }
    }
}

/// Why `ip` is not a public address, or `None` when it is one.
pub fn restriction(ip: IpAddr) -> Option<Restricted> {
    match ip {
        IpAddr::V4(v4) => restriction_v4(v4),
        IpAddr::V6(v6) => restriction_v6(v6),
    }
}

/// "127.0.0.1 is a loopback address", or `None` for a public address.
pub fn refusal(ip: IpAddr) -> Option<String> {
    restriction(ip).map(|r| format!("{ip} is {}", r.describe()))
}

fn restriction_v4(ip: Ipv4Addr) -> Option<Restricted> {
    let [a, b, c, _] = ip.octets();
    let r = match (a, b) {
        (0, _) => Restricted::Unspecified,
        (127, _) => Restricted::Loopback,
        (10, _) | (172, 16..=31) | (192, 168) => Restricted::Private,
        (100, 64..=127) => Restricted::SharedAddressSpace,
        (169, 254) => Restricted::LinkLocal,
        _ if ip.is_broadcast() => Restricted::Broadcast,
        (224..=239, _) => Restricted::Multicast,
        (240..=255, _) | (198, 18..=19) => Restricted::Reserved,
        (192, 0) if c == 0 => Restricted::Reserved,
        _ => return None,
    };
    Some(r)
}

fn restriction_v6(ip: Ipv6Addr) -> Option<Restricted> {
    if ip.is_unspecified() {
        return Some(Restricted::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Restricted::Loopback);
    }
    if let Some(v4) = embedded_v4(ip) {
        return restriction_v4(v4);
    }
    let s = ip.segments();
    let r = match s[0] {
        x if x & 0xfe00 == 0xfc00 => Restricted::Private,
        x if x & 0xffc0 == 0xfe80 => Restricted::LinkLocal,
        // Site-local (deprecated, but still routed inside some networks).
        x if x & 0xffc0 == 0xfec0 => Restricted::Private,
        x if x & 0xff00 == 0xff00 => Restricted::Multicast,
        // Local-use NAT64 (64:ff9b:1::/48) translates to whatever the network chooses.
        0x0064 if s[1] == 0xff9b && s[2] == 0x0001 => Restricted::Private,
        // Discard-only (100::/64).
        0x0100 if s[1..4] == [0, 0, 0] => Restricted::Reserved,
        _ => return None,
    };
    Some(r)
}

/// The IPv4 address an IPv6 address stands for, where a host or the network would reach that
/// IPv4 address: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64
/// (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::…`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let from = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match s {
        [0, 0, 0, 0, 0, 0, hi, lo] => Some(from(hi, lo)),
        [0x0064, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(from(hi, lo)),
        [0x2002, hi, lo, ..] => Some(from(hi, lo)),
        _ => None,
    }
}

/// The address a URL names literally (`http://10.0.0.1/`, `http://[::1]/`, or any other spelling
/// that parses to an address, such as `http://0x7f000001/`), or `None` for a host name.
pub fn literal(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_restriction(url: &str) -> Option<Restricted> {
        let url = url::Url::parse(url).unwrap();
        literal(&url).and_then(restriction)
    }

    #[test]
    fn every_spelling_of_a_restricted_address_is_caught() {
        let cases = [
            ("http://127.0.0.1/", Restricted::Loopback),
            ("http://127.1/", Restricted::Loopback),
            ("http://0x7f000001/", Restricted::Loopback),
            ("http://2130706433/", Restricted::Loopback),
            ("http://0177.0.0.1/", Restricted::Loopback),
            ("http://0x7f.0.0.1/", Restricted::Loopback),
            ("http://127.0.0.1./", Restricted::Loopback),
            ("http://[::1]/", Restricted::Loopback),
            ("http://[::ffff:127.0.0.1]/", Restricted::Loopback),
            ("http://[::ffff:7f00:1]/", Restricted::Loopback),
            ("http://[::127.0.0.1]/", Restricted::Loopback),
            ("http://[64:ff9b::a9fe:a9fe]/", Restricted::LinkLocal),
            ("http://[2002:a00:1::]/", Restricted::Private),
            ("http://10.1.2.3:6379/", Restricted::Private),
            ("http://172.16.0.1/", Restricted::Private),
            ("http://172.31.255.255/", Restricted::Private),
            ("http://192.168.0.1/", Restricted::Private),
            ("http://[fc00::1]/", Restricted::Private),
            ("http://[fd12:3456::1]/", Restricted::Private),
            ("http://[fec0::1]/", Restricted::Private),
            ("http://169.254.169.254/latest/meta-data/", Restricted::LinkLocal),
            ("http://[fe80::1]/", Restricted::LinkLocal),
            ("http://100.64.0.1/", Restricted::SharedAddressSpace),
            ("http://100.127.255.255/", Restricted::SharedAddressSpace),
            ("http://0.0.0.0/", Restricted::Unspecified),
            ("http://0/", Restricted::Unspecified),
            ("http://[::]/", Restricted::Unspecified),
            ("http://224.0.0.1/", Restricted::Multicast),
            ("http://[ff02::1]/", Restricted::Multicast),
            ("http://255.255.255.255/", Restricted::Broadcast),
            ("http://240.0.0.1/", Restricted::Reserved),
            ("http://198.18.0.1/", Restricted::Reserved),
            ("http://192.0.0.8/", Restricted::Reserved),
        ];
        for (url, want) in cases {
            assert_eq!(host_restriction(url), Some(want), "{url}");
        }
    }

    #[test]
    fn public_addresses_and_host_names_pass() {
        for url in [
            "http://93.184.216.34/",
            "http://8.8.8.8/",
            "http://172.32.0.1/",
            "http://100.128.0.1/",
            "http://192.169.0.1/",
            "http://[2606:4700::1111]/",
            "http://[::ffff:8.8.8.8]/",
            "http://[2002:808:808::]/",
        ] {
            assert_eq!(host_restriction(url), None, "{url}");
        }
        // A name is checked when it is resolved, not here.
        assert_eq!(literal(&url::Url::parse("http://localhost:6379/").unwrap()), None);
    }

    #[test]
    fn refusals_name_the_address_and_why() {
        let ip: IpAddr = "169.254.169.254".parse().unwrap();
        assert_eq!(refusal(ip).unwrap(), "169.254.169.254 is a link-local address");
        assert_eq!(refusal("1.1.1.1".parse().unwrap()), None);
    }
}
