//! Where the peer address checked against the allowlist comes from.

use std::net::{IpAddr, SocketAddr};

use http::request::Parts;

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
/// use tower_webhook::{ConnectionPeer, PeerAddr, PeerSource};
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
/// use tower_webhook::PeerAddr;
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

    #[test]
    fn closures_are_sources() {
        let source = |_: &Parts| Some(IpAddr::from([1, 2, 3, 4]));
        let (parts, ()) = http::Request::new(()).into_parts();
        assert_eq!(source.peer_addr(&parts), Some(IpAddr::from([1, 2, 3, 4])));
    }
}
