//! Where the peer address checked against the allowlist comes from.

use std::net::{IpAddr, SocketAddr};

use http::{
    header::{HeaderName, FORWARDED},
    request::Parts,
};

use crate::IpAllowlist;

/// Finds the address of the peer that sent a request.
///
/// The layer asks for it only when an allowlist is set, and before the body is read. Returning
/// `None` makes the layer answer `403` ([`Rejection::UnknownPeer`](crate::Rejection::UnknownPeer)):
/// an allowlist never passes a request it cannot place.
///
/// Implement it to take the address from somewhere the server records it; any
/// `Fn(&Parts) -> Option<IpAddr>` closure is one. Never take it from a header the client can
/// set (such as `X-Forwarded-For`) unless you only accept it from proxies you run.
///
/// # Example
///
/// ```
/// use std::net::IpAddr;
/// use http::request::Parts;
/// use tower_webhook::{presets, IpAllowlist, WebhookSignatureLayer};
///
/// /// The address a TLS terminator recorded in an extension of its own.
/// #[derive(Clone)]
/// struct TerminatorAddr(IpAddr);
///
/// let layer = WebhookSignatureLayer::new(presets::loopwise("secret"))
///     .allow_ips("52.194.91.27".parse::<IpAllowlist>()?)
///     .peer_source(|parts: &Parts| parts.extensions.get::<TerminatorAddr>().map(|a| a.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait PeerSource: Send + Sync + 'static {
    /// The peer's address, or `None` if it is not known.
    fn peer_addr(&self, request: &Parts) -> Option<IpAddr>;
}

impl<F> PeerSource for F
where
    F: Fn(&Parts) -> Option<IpAddr> + Send + Sync + 'static,
{
    fn peer_addr(&self, request: &Parts) -> Option<IpAddr> {
        self(request)
    }
}

/// The default [`PeerSource`]: the TCP peer as the server recorded it in request extensions.
///
/// It looks, in order, for:
/// 1. a [`PeerAddr`] (what a hyper server, or any other, inserts itself);
/// 2. axum's `ConnectInfo<SocketAddr>` (cargo feature `axum`; serve with
///    `into_make_service_with_connect_info::<SocketAddr>()`);
/// 3. tonic's `TcpConnectInfo` (cargo feature `tonic`).
///
/// Request extensions are set by the server, never by the client, so none of these can be
/// spoofed from the wire. Behind a proxy this is the proxy's address.
///
/// ```
/// use std::net::{IpAddr, SocketAddr};
/// use tower_webhook::{peer::{ConnectionPeer, PeerAddr, PeerSource}};
///
/// let mut request = http::Request::new(());
/// let addr: SocketAddr = "192.0.2.7:4711".parse()?;
/// request.extensions_mut().insert(PeerAddr::from(addr));
/// let (parts, ()) = request.into_parts();
/// assert_eq!(ConnectionPeer.peer_addr(&parts), Some(IpAddr::from([192, 0, 2, 7])));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnectionPeer;

impl PeerSource for ConnectionPeer {
    fn peer_addr(&self, request: &Parts) -> Option<IpAddr> {
        let extensions = &request.extensions;
        if let Some(PeerAddr(addr)) = extensions.get::<PeerAddr>() {
            return Some(*addr);
        }
        #[cfg(feature = "axum")]
        if let Some(info) = extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
            return Some(info.0.ip());
        }
        #[cfg(feature = "tonic")]
        if let Some(info) = extensions.get::<tonic::transport::server::TcpConnectInfo>() {
            return info.remote_addr().map(|addr| addr.ip());
        }
        None
    }
}

/// The peer address of a request, inserted into its extensions by the server.
///
/// This is how a plain hyper server (or anything that is not axum or tonic) tells the layer
/// who it is talking to: insert it when the connection is accepted.
///
/// ```
/// use std::net::SocketAddr;
/// use tower_webhook::peer::PeerAddr;
///
/// let remote: SocketAddr = "203.0.113.9:55000".parse()?;
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(PeerAddr::from(remote));
/// assert_eq!(request.extensions().get::<PeerAddr>(), Some(&PeerAddr(remote.ip())));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub IpAddr);

impl From<IpAddr> for PeerAddr {
    fn from(addr: IpAddr) -> Self {
        Self(addr)
    }
}

impl From<SocketAddr> for PeerAddr {
    fn from(addr: SocketAddr) -> Self {
        Self(addr.ip())
    }
}

/// The client address from forwarding headers, believed only when proxies you run set them.
///
/// Behind a load balancer the TCP peer is the balancer. It appends the address it received the
/// request from to `X-Forwarded-For` (or RFC 7239 `Forwarded`), but everything to the left of
/// that was written by whoever sent the request, so it can be anything. This source:
///
/// 1. takes the TCP peer from [`ConnectionPeer`]; if it is not one of `proxies`, the request
///    came directly and the headers are ignored;
/// 2. otherwise walks the header's addresses from the right (the most recently added), skipping
///    trusted proxies, and returns the first address that is not one: the hop just before your
///    infrastructure;
/// 3. returns `None` (so an allowlist answers `403`) if a trusted proxy sent no header, or an
///    entry it must rely on is not an IP address (`unknown`, an obfuscated name, a zone id).
///
/// If every address in the header is a trusted proxy, the left-most is returned.
///
/// # Example
///
/// ```
/// use std::net::IpAddr;
/// use tower_webhook::{peer::{PeerAddr, PeerSource, TrustedProxies}, presets, IpAllowlist, WebhookSignatureLayer};
///
/// let proxies = TrustedProxies::new("10.0.0.0/8".parse::<IpAllowlist>()?);
///
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(PeerAddr("10.0.0.2".parse()?));
/// request.headers_mut().insert("x-forwarded-for", "6.6.6.6, 52.194.91.27, 10.0.0.7".parse()?);
/// let (parts, ()) = request.into_parts();
/// assert_eq!(proxies.peer_addr(&parts), Some("52.194.91.27".parse::<IpAddr>()?));
///
/// let layer = WebhookSignatureLayer::new(presets::loopwise("secret"))
///     .allow_ips(presets::loopwise_ips())
///     .peer_source(proxies);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct TrustedProxies {
    proxies: IpAllowlist,
    header: ForwardingHeader,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ForwardingHeader {
    XForwardedFor,
    Forwarded,
}

impl TrustedProxies {
    /// Trusts `X-Forwarded-For` from peers in `proxies` (the addresses of your load balancers
    /// and reverse proxies), and from nobody else.
    #[must_use]
    pub fn new(proxies: IpAllowlist) -> Self {
        Self {
            proxies,
            header: ForwardingHeader::XForwardedFor,
        }
    }

    /// Reads RFC 7239 `Forwarded` (its `for=` parameters) instead of `X-Forwarded-For`.
    ///
    /// ```
    /// use tower_webhook::{peer::TrustedProxies, IpAllowlist};
    ///
    /// let proxies = TrustedProxies::new("10.0.0.0/8".parse::<IpAllowlist>()?).rfc7239_forwarded();
    /// # Ok::<(), tower_webhook::allowlist::AllowlistParseError>(())
    /// ```
    #[must_use]
    pub fn rfc7239_forwarded(mut self) -> Self {
        self.header = ForwardingHeader::Forwarded;
        self
    }

    fn header_name(&self) -> HeaderName {
        match self.header {
            ForwardingHeader::XForwardedFor => HeaderName::from_static("x-forwarded-for"),
            ForwardingHeader::Forwarded => FORWARDED,
        }
    }
}

impl PeerSource for TrustedProxies {
    fn peer_addr(&self, request: &Parts) -> Option<IpAddr> {
        let peer = ConnectionPeer.peer_addr(request)?;
        if !self.proxies.contains(peer) {
            return Some(peer);
        }
        // All lines of the header, in order, form one list (RFC 9110 §5.3).
        let mut hops = Vec::new();
        for value in request.headers.get_all(self.header_name()) {
            let value = value.to_str().ok()?;
            match self.header {
                ForwardingHeader::XForwardedFor => {
                    hops.extend(value.split(',').map(|hop| parse_hop(hop.trim())));
                }
                ForwardingHeader::Forwarded => hops.extend(forwarded_for(value)),
            }
        }
        let mut leftmost = None;
        // Right to left: each trusted proxy vouches for the hop before it, nobody for more.
        for hop in hops.iter().rev() {
            let hop = (*hop)?;
            if !self.proxies.contains(hop) {
                return Some(hop);
            }
            leftmost = Some(hop);
        }
        leftmost
    }
}

/// An address as forwarding headers write it: `192.0.2.1`, `192.0.2.1:443`, `2001:db8::1`,
/// `[2001:db8::1]:443`. Anything else (names, `unknown`, zone ids) is not an address.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
}

/// The `for=` address of each element of an RFC 7239 `Forwarded` value, in order; `None` for
/// an element whose `for` is missing or not an address.
fn forwarded_for(value: &str) -> impl Iterator<Item = Option<IpAddr>> + '_ {
    value.split(',').map(|element| {
        element.split(';').find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            if !key.trim().eq_ignore_ascii_case("for") {
                return None;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            parse_hop(value)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts_with<T: Clone + Send + Sync + 'static>(extension: T) -> Parts {
        let mut request = http::Request::new(());
        request.extensions_mut().insert(extension);
        request.into_parts().0
    }

    #[test]
    fn nothing_recorded_means_unknown() {
        let (parts, ()) = http::Request::new(()).into_parts();
        assert_eq!(ConnectionPeer.peer_addr(&parts), None);
    }

    #[test]
    fn reads_peer_addr_extension() {
        let parts = parts_with(PeerAddr(IpAddr::from([198, 51, 100, 1])));
        assert_eq!(
            ConnectionPeer.peer_addr(&parts),
            Some(IpAddr::from([198, 51, 100, 1]))
        );
    }

    #[test]
    fn a_bare_socket_addr_extension_is_not_trusted_as_a_peer() {
        let addr: SocketAddr = "198.51.100.1:1".parse().unwrap();
        assert_eq!(ConnectionPeer.peer_addr(&parts_with(addr)), None);
    }

    #[cfg(feature = "axum")]
    #[test]
    fn reads_axum_connect_info() {
        let addr: SocketAddr = "[2001:db8::5]:443".parse().unwrap();
        let parts = parts_with(axum::extract::ConnectInfo(addr));
        assert_eq!(ConnectionPeer.peer_addr(&parts), Some(addr.ip()));
    }

    fn proxied(peer: &str, header: &str, value: &[&str]) -> Parts {
        let mut request = http::Request::new(());
        request
            .extensions_mut()
            .insert(PeerAddr(peer.parse().unwrap()));
        for v in value {
            request.headers_mut().append(
                HeaderName::from_bytes(header.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        request.into_parts().0
    }

    fn trusted() -> TrustedProxies {
        TrustedProxies::new("10.0.0.0/8, 2001:db8:ffff::/48".parse().unwrap())
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_direct_client_s_forwarding_headers_are_ignored() {
        let parts = proxied("203.0.113.9", "x-forwarded-for", &["52.194.91.27"]);
        assert_eq!(trusted().peer_addr(&parts), ip("203.0.113.9"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let parts = proxied(
            "10.0.0.2",
            "x-forwarded-for",
            &["6.6.6.6, 52.194.91.27, 10.1.1.1"],
        );
        assert_eq!(trusted().peer_addr(&parts), ip("52.194.91.27"));
        // Several header lines are one list, in order.
        let parts = proxied(
            "10.0.0.2",
            "x-forwarded-for",
            &["6.6.6.6", "52.194.91.27", "10.1.1.1"],
        );
        assert_eq!(trusted().peer_addr(&parts), ip("52.194.91.27"));
    }

    #[test]
    fn a_spoofed_left_most_entry_is_never_taken() {
        let parts = proxied(
            "10.0.0.2",
            "x-forwarded-for",
            &["52.194.91.27, 198.51.100.4"],
        );
        assert_eq!(trusted().peer_addr(&parts), ip("198.51.100.4"));
    }

    #[test]
    fn garbage_where_the_client_should_be_fails_closed() {
        for value in ["unknown", "52.194.91.27, nonsense", "fe80::1%eth0", ""] {
            let parts = proxied("10.0.0.2", "x-forwarded-for", &[value]);
            assert_eq!(trusted().peer_addr(&parts), None, "{value}");
        }
        // Garbage left of the client is the client's business, not ours.
        let parts = proxied("10.0.0.2", "x-forwarded-for", &["nonsense, 52.194.91.27"]);
        assert_eq!(trusted().peer_addr(&parts), ip("52.194.91.27"));
    }

    #[test]
    fn a_trusted_proxy_that_says_nothing_leaves_the_client_unknown() {
        let parts = proxied("10.0.0.2", "x-forwarded-for", &[]);
        assert_eq!(trusted().peer_addr(&parts), None);
    }

    #[test]
    fn only_trusted_hops_give_the_left_most() {
        let parts = proxied("10.0.0.2", "x-forwarded-for", &["10.9.9.9, 10.1.1.1"]);
        assert_eq!(trusted().peer_addr(&parts), ip("10.9.9.9"));
    }

    #[test]
    fn ports_and_brackets_are_understood() {
        let parts = proxied(
            "10.0.0.2",
            "x-forwarded-for",
            &["[2001:db8::7]:4711, 192.0.2.1:443"],
        );
        assert_eq!(trusted().peer_addr(&parts), ip("192.0.2.1"));
    }

    #[test]
    fn rfc7239_forwarded_for_parameters() {
        let proxies = trusted().rfc7239_forwarded();
        let parts = proxied(
            "10.0.0.2",
            "forwarded",
            &[
                r#"for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https, For=10.3.3.3;by=10.0.0.2"#,
            ],
        );
        assert_eq!(proxies.peer_addr(&parts), ip("2001:db8:cafe::17"));
        // X-Forwarded-For is not read when Forwarded is configured.
        let parts = proxied("10.0.0.2", "x-forwarded-for", &["52.194.91.27"]);
        assert_eq!(proxies.peer_addr(&parts), None);
        for value in ["for=unknown", "for=_hidden", "proto=https", r#"for="[::1""#] {
            let parts = proxied("10.0.0.2", "forwarded", &[value]);
            assert_eq!(proxies.peer_addr(&parts), None, "{value}");
        }
    }

    #[test]
    fn ipv4_mapped_proxies_are_trusted_as_ipv4() {
        let parts = proxied("::ffff:10.0.0.2", "x-forwarded-for", &["52.194.91.27"]);
        assert_eq!(trusted().peer_addr(&parts), ip("52.194.91.27"));
    }

    #[test]
    fn closures_are_sources() {
        let source = |_: &Parts| Some(IpAddr::from([1, 2, 3, 4]));
        let (parts, ()) = http::Request::new(()).into_parts();
        assert_eq!(source.peer_addr(&parts), Some(IpAddr::from([1, 2, 3, 4])));
    }
}
