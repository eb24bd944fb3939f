//! Who is on the other end: the connection's address, or, behind a reverse
//! proxy named in [`crate::limits::Limits::trusted_proxies`], the address
//! that proxy forwarded in `X-Forwarded-For`. Forwarded headers from anyone
//! else are ignored, so a client cannot choose the address it is
//! throttled and logged under.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::AppState;

/// The client's address (`None` when the request came from no socket, as in
/// tests that call the router directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("-"),
        }
    }
}

/// The client address of a request whose connection came from `peer`.
pub fn client_addr(
    peer: Option<IpAddr>,
    headers: &axum::http::HeaderMap,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let mut addr = peer?;
    if !trusted.contains(&addr) {
        return Some(addr);
    }
    // Each proxy appends the address it was reached from: read from the
    // right, past our own proxies, to the first address they did not add.
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // Garbage from beyond our proxies: the last address we trust is
            // the proxy that passed it on.
            return Some(addr);
        };
        addr = ip;
        if !trusted.contains(&ip) {
            break;
        }
    }
    Some(addr)
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip());
        Ok(Self(client_addr(
            peer,
            &parts.headers,
            &state.limits.trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> axum::http::HeaderMap {
        let mut map = axum::http::HeaderMap::new();
        for value in xff {
            map.append("x-forwarded-for", value.parse().expect("header"));
        }
        map
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let client: IpAddr = "203.0.113.7".parse().expect("ip");
        let stranger: IpAddr = "198.51.100.2".parse().expect("ip");
        let trusted = [proxy];
        // No proxy configured: the header is the client's own word, ignored.
        assert_eq!(
            client_addr(Some(stranger), &headers(&["1.2.3.4"]), &[]),
            Some(stranger)
        );
        // From the proxy: the address it appended.
        assert_eq!(
            client_addr(Some(proxy), &headers(&["1.2.3.4, 203.0.113.7"]), &trusted),
            Some(client)
        );
        // Spread over two header lines the same.
        assert_eq!(
            client_addr(Some(proxy), &headers(&["1.2.3.4", "203.0.113.7"]), &trusted),
            Some(client)
        );
        // A client that is not the proxy cannot forward for someone else.
        assert_eq!(
            client_addr(Some(stranger), &headers(&["203.0.113.7"]), &trusted),
            Some(stranger)
        );
        // Garbage where the proxy's entry should be: the proxy itself.
        assert_eq!(
            client_addr(Some(proxy), &headers(&["not an address"]), &trusted),
            Some(proxy)
        );
        assert_eq!(client_addr(None, &headers(&[]), &trusted), None);
    }
}
