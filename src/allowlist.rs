//! [`IpAllowlist`]: the peer addresses a webhook may come from.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr},
    str::FromStr,
};

use ipnet::{IpNet, Ipv4Net};

/// A set of IP addresses and CIDR ranges, IPv4 and IPv6, that webhooks may come from.
///
/// Parse one from a list separated by commas and/or whitespace; single addresses and CIDR
/// ranges may be mixed. IPv4-mapped IPv6 addresses (`::ffff:52.194.91.27`) are folded to IPv4,
/// both in the list and in the peer address checked against it, so a dual-stack listener
/// matches IPv4 entries.
///
/// # Example
///
/// ```
/// use std::net::IpAddr;
/// use tower_webhook::IpAllowlist;
///
/// let allowlist: IpAllowlist = "52.194.91.27, 10.0.0.0/8 2001:db8::/32".parse()?;
/// assert!(allowlist.contains("52.194.91.27".parse::<IpAddr>()?));
/// assert!(allowlist.contains("::ffff:10.1.2.3".parse::<IpAddr>()?));
/// assert!(allowlist.contains("2001:db8::1".parse::<IpAddr>()?));
/// assert!(!allowlist.contains("52.194.91.28".parse::<IpAddr>()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct IpAllowlist {
    nets: Vec<IpNet>,
}

impl IpAllowlist {
    /// An allowlist of the given networks. A single address is a `/32` or `/128` network.
    ///
    /// ```
    /// use ipnet::IpNet;
    /// use tower_webhook::IpAllowlist;
    ///
    /// let loopback: Vec<IpNet> = vec!["127.0.0.0/8".parse()?, "::1/128".parse()?];
    /// let allowlist = IpAllowlist::new(loopback);
    /// assert!(allowlist.contains([127, 0, 0, 1].into()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn new(nets: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            nets: nets.into_iter().map(fold_mapped_net).collect(),
        }
    }

    /// Whether `addr` is in one of the allowlist's networks.
    ///
    /// ```
    /// use tower_webhook::IpAllowlist;
    ///
    /// let allowlist: IpAllowlist = "192.0.2.0/24".parse()?;
    /// assert!(allowlist.contains([192, 0, 2, 200].into()));
    /// assert!(!allowlist.contains([192, 0, 3, 1].into()));
    /// # Ok::<(), tower_webhook::allowlist::AllowlistParseError>(())
    /// ```
    #[must_use]
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.nets.iter().any(|net| net.contains(&addr))
    }

    /// The networks in the allowlist, IPv4-mapped entries folded to IPv4.
    ///
    /// ```
    /// use tower_webhook::IpAllowlist;
    ///
    /// let allowlist: IpAllowlist = "::ffff:192.0.2.1".parse()?;
    /// assert_eq!(allowlist.nets()[0].to_string(), "192.0.2.1/32");
    /// # Ok::<(), tower_webhook::allowlist::AllowlistParseError>(())
    /// ```
    #[must_use]
    pub fn nets(&self) -> &[IpNet] {
        &self.nets
    }
}

/// `::ffff:a.b.c.d/n` (n ≥ 96) is the IPv4 network `a.b.c.d/(n-96)`: store it that way so it
/// matches peers that are folded to IPv4 too.
fn fold_mapped_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net {
        if let (Some(v4), true) = (v6.addr().to_ipv4_mapped(), v6.prefix_len() >= 96) {
            if let Ok(v4net) = Ipv4Net::new(v4, v6.prefix_len() - 96) {
                return IpNet::V4(v4net);
            }
        }
    }
    net
}

fn parse_entry(entry: &str) -> Option<IpNet> {
    if entry.contains('/') {
        entry.parse::<IpNet>().ok()
    } else {
        entry.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

impl FromStr for IpAllowlist {
    type Err = AllowlistParseError;

    /// Parses addresses and CIDR ranges separated by commas and/or whitespace.
    ///
    /// An empty list is an error: it would turn every request away, and it is far more often
    /// an unset environment variable than an intent.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut nets = Vec::new();
        for entry in s
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|entry| !entry.is_empty())
        {
            match parse_entry(entry) {
                Some(net) => nets.push(fold_mapped_net(net)),
                None => {
                    return Err(AllowlistParseError {
                        entry: Some(entry.to_owned()),
                    })
                }
            }
        }
        if nets.is_empty() {
            return Err(AllowlistParseError { entry: None });
        }
        Ok(Self { nets })
    }
}

impl FromIterator<IpNet> for IpAllowlist {
    fn from_iter<I: IntoIterator<Item = IpNet>>(iter: I) -> Self {
        Self::new(iter)
    }
}

impl FromIterator<IpAddr> for IpAllowlist {
    fn from_iter<I: IntoIterator<Item = IpAddr>>(iter: I) -> Self {
        Self::new(iter.into_iter().map(IpNet::from))
    }
}

impl From<IpAddr> for IpAllowlist {
    fn from(addr: IpAddr) -> Self {
        Self::new([IpNet::from(addr)])
    }
}

impl From<Ipv4Addr> for IpAllowlist {
    fn from(addr: Ipv4Addr) -> Self {
        Self::from(IpAddr::V4(addr))
    }
}

impl fmt::Debug for IpAllowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.nets).finish()
    }
}

impl fmt::Display for IpAllowlist {
    /// The entries separated by `", "`; parses back to an equal allowlist.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, net) in self.nets.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{net}")?;
        }
        Ok(())
    }
}

/// The error from parsing an [`IpAllowlist`]: an entry that is neither an IP address nor a
/// CIDR range, or a list with no entries at all.
///
/// ```
/// use tower_webhook::IpAllowlist;
///
/// let error = "10.0.0.1, 10.0.0.300".parse::<IpAllowlist>().unwrap_err();
/// assert_eq!(error.to_string(), "invalid IP address or CIDR range in allowlist: `10.0.0.300`");
/// assert_eq!(error.entry(), Some("10.0.0.300"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowlistParseError {
    entry: Option<String>,
}

impl AllowlistParseError {
    /// The entry that failed to parse, or `None` when the list was empty.
    #[must_use]
    pub fn entry(&self) -> Option<&str> {
        self.entry.as_deref()
    }
}

impl fmt::Display for AllowlistParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entry {
            Some(entry) => write!(
                f,
                "invalid IP address or CIDR range in allowlist: `{entry}`"
            ),
            None => f.write_str("empty allowlist: it would reject every request"),
        }
    }
}

impl std::error::Error for AllowlistParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_addresses_and_ranges_with_any_separator() {
        let list: IpAllowlist = " 52.194.91.27,10.0.0.0/8\n2001:db8::/32\t::1 ,, "
            .parse()
            .unwrap();
        assert_eq!(
            list.to_string(),
            "52.194.91.27/32, 10.0.0.0/8, 2001:db8::/32, ::1/128"
        );
        assert_eq!(list.to_string().parse::<IpAllowlist>().unwrap(), list);
    }

    #[test]
    fn matches_single_addresses_exactly() {
        let list: IpAllowlist = "52.194.91.27".parse().unwrap();
        assert!(list.contains(ip("52.194.91.27")));
        assert!(!list.contains(ip("52.194.91.26")));
        assert!(!list.contains(ip("52.194.91.28")));
        assert!(!list.contains(ip("::")));
    }

    #[test]
    fn matches_ranges_at_their_edges() {
        let list: IpAllowlist = "10.0.0.0/8, 2001:db8::/32".parse().unwrap();
        assert!(list.contains(ip("10.0.0.0")));
        assert!(list.contains(ip("10.255.255.255")));
        assert!(!list.contains(ip("11.0.0.0")));
        assert!(!list.contains(ip("9.255.255.255")));
        assert!(list.contains(ip("2001:db8:ffff:ffff::1")));
        assert!(!list.contains(ip("2001:db9::")));
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_entries() {
        let list: IpAllowlist = "52.194.91.27, 10.0.0.0/8".parse().unwrap();
        assert!(list.contains(ip("::ffff:52.194.91.27")));
        assert!(list.contains(ip("::ffff:10.9.8.7")));
        assert!(!list.contains(ip("::ffff:52.194.91.28")));
        // IPv4-compatible (deprecated, ::a.b.c.d) is not IPv4-mapped and does not fold.
        assert!(!list.contains(ip("::52.194.91.27")));
    }

    #[test]
    fn ipv4_mapped_entries_match_ipv4_peers() {
        let list: IpAllowlist = "::ffff:52.194.91.27, ::ffff:10.0.0.0/104".parse().unwrap();
        assert!(list.contains(ip("52.194.91.27")));
        assert!(list.contains(ip("10.200.0.1")));
        assert!(!list.contains(ip("11.0.0.1")));
    }

    #[test]
    fn rejects_bad_entries_and_names_them() {
        for (input, bad) in [
            ("10.0.0.1, nope", "nope"),
            ("10.0.0.0/33", "10.0.0.0/33"),
            ("10.0.0.1;10.0.0.2", "10.0.0.1;10.0.0.2"),
            ("fe80::1%eth0", "fe80::1%eth0"),
            ("10.0.0.1/", "10.0.0.1/"),
            ("/8", "/8"),
            ("10.0.0.256", "10.0.0.256"),
        ] {
            let error = input.parse::<IpAllowlist>().unwrap_err();
            assert_eq!(error.entry(), Some(bad), "{input}");
        }
    }

    #[test]
    fn empty_list_is_an_error() {
        for input in ["", " ", ",", " , \n"] {
            let error = input.parse::<IpAllowlist>().unwrap_err();
            assert_eq!(error.entry(), None);
        }
    }
}
