//! Fetching media by URL for HMA's `url=` parameter, safely.
//!
//! Off unless the operator names the hosts that may be fetched from
//! (`tantalum serve --fetch-allow HOST_PATTERN`). A fetch is an outbound
//! request made on a client's behalf, so every step is checked:
//!
//! * the URL: `https` only (plain `http` with `--fetch-allow-http`), no
//!   credentials in it, a host on the allowlist, and port 80 or 443 unless
//!   the matching pattern names another port;
//! * the address: the host is resolved once and refused when any of its
//!   addresses is not public unicast ([`is_public`]: loopback, private,
//!   CGNAT, link-local, ULA, multicast, documentation, reserved, and the
//!   IPv6 forms that embed such an IPv4 address). The connection goes to a
//!   vetted address only, so a DNS answer cannot change between the check
//!   and the connect; TLS verifies the certificate for the name, sent as SNI,
//!   and `Host` carries the name too;
//! * redirects: followed here (the HTTP client never follows them), at most
//!   [`MAX_REDIRECTS`], each target checked as the first URL was;
//! * the body: refused with 413 when its Content-Length or the bytes read
//!   pass the cap (the upload limit); never more than the cap is buffered;
//! * time: one deadline for the whole fetch, redirects included.
//!
//! No proxy settings from the environment are used.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

/// Redirects followed before a fetch fails.
pub const MAX_REDIRECTS: usize = 5;

/// Who may be fetched from, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// The hosts that may be fetched from; empty turns fetching off (`url=` gets 403).
    pub allow: Vec<HostPattern>,
    /// Also allow plain `http` URLs (only `https` otherwise).
    pub allow_http: bool,
    /// One deadline for the whole fetch: resolving, connecting, TLS, redirects and the body.
    pub timeout: Duration,
    /// For tests only: let loopback and other non-public addresses through,
    /// so a test can serve media from a local server. Never set in service.
    pub allow_private: bool,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            allow: Vec::new(),
            allow_http: false,
            timeout: Duration::from_secs(10),
            allow_private: false,
        }
    }
}

impl FetchPolicy {
    /// Whether `url=` is served at all.
    pub fn enabled(&self) -> bool {
        !self.allow.is_empty()
    }

    /// Refuses a URL the policy does not allow (scheme, host, port).
    fn permit(&self, t: &Target) -> Result<(), FetchError> {
        if !t.https && !self.allow_http {
            return Err(FetchError::forbidden(format!(
                "plain http is refused for host '{}': only https URLs are fetched",
                t.host
            )));
        }
        let mut host_allowed = false;
        for p in self.allow.iter().filter(|p| p.matches_host(&t.host)) {
            host_allowed = true;
            let port_ok = match p.port {
                Some(port) => port == t.port,
                None => t.port == 80 || t.port == 443,
            };
            if port_ok {
                return Ok(());
            }
        }
        if host_allowed {
            Err(FetchError::forbidden(format!(
                "port {} of host '{}' is not allowed: only 80 and 443 unless an allowed host pattern names the port",
                t.port, t.host
            )))
        } else {
            Err(FetchError::forbidden(format!(
                "fetching from host '{}' is not allowed on this server",
                t.host
            )))
        }
    }
}

/// An allowed host: `example.com` (that host only), `*.example.com` (any
/// name under example.com, not example.com itself), or an IP address; each
/// optionally with `:PORT` to allow that port instead of 80 and 443
/// (`[2001:db8::1]:8443` for IPv6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// Lowercase name without a trailing dot, or an IP address as Rust prints it.
    host: String,
    /// `*.` was given: names under `host` match.
    wildcard: bool,
    /// The one port this pattern allows; `None`: 80 and 443.
    port: Option<u16>,
}

impl HostPattern {
    fn matches_host(&self, host: &str) -> bool {
        if self.wildcard {
            host.len() > self.host.len() + 1
                && host.ends_with(&self.host)
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.'
        } else {
            host == self.host
        }
    }
}

impl std::str::FromStr for HostPattern {
    type Err = String;

    fn from_str(text: &str) -> Result<HostPattern, String> {
        let bad = |why: &str| format!("bad host pattern '{text}': {why}");
        let (host, port) = split_host_port(text.trim()).map_err(|e| bad(&e))?;
        let (wildcard, host) = match host.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, host.as_str()),
        };
        let host = normalize_host(host).map_err(|e| bad(&e))?;
        if wildcard && host.parse::<IpAddr>().is_ok() {
            return Err(bad("a wildcard cannot stand before an IP address"));
        }
        Ok(HostPattern { host, wildcard, port })
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let star = if self.wildcard { "*." } else { "" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => write!(f, "{star}{host}:{p}"),
            None => write!(f, "{star}{host}"),
        }
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address.
fn split_host_port(text: &str) -> Result<(String, Option<u16>), String> {
    let parse_port = |p: &str| match p.parse::<u16>() {
        Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
        _ => Err(format!("bad port '{p}'")),
    };
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed '['")?;
        let port = match after {
            "" => None,
            _ => parse_port(after.strip_prefix(':').ok_or("junk after ']'")?)?,
        };
        return Ok((host.to_string(), port));
    }
    match text.matches(':').count() {
        0 => Ok((text.to_string(), None)),
        1 => {
            let (host, port) = text.split_once(':').unwrap_or((text, ""));
            Ok((host.to_string(), parse_port(port)?))
        }
        _ => Ok((text.to_string(), None)),
    }
}

/// A host as it is compared: an IP address as Rust prints it, or a DNS
/// name lowercased without its trailing dot. Anything else is refused.
fn normalize_host(host: &str) -> Result<String, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if name.is_empty() || name.len() > 253 {
        return Err("empty or over-long host".into());
    }
    for label in name.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(format!("'{host}' is not a host name"));
        }
    }
    Ok(name)
}

// ------------------------------------------------------------ addresses

/// Whether an address is public unicast: the only kind fetched from.
///
/// IPv4 refused: 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12,
/// 192.0.0/24, 192.0.2/24, 192.88.99/24, 192.168/16, 198.18/15,
/// 198.51.100/24, 203.0.113/24, 224/4 (multicast) and 240/4 (reserved and
/// broadcast). IPv6: only global unicast 2000::/3 passes, less
/// 2001::/23 (Teredo, benchmarking and other protocol assignments),
/// 2001:db8::/32 and 3fff::/20 (documentation); so ::, ::1, fc00::/7,
/// fe80::/10, fec0::/10, ff00::/8, 100::/64 and the rest are refused.
/// Forms that carry an IPv4 address are judged by it: mapped
/// (::ffff:0:0/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16); the
/// deprecated IPv4-compatible ::/96 and local-use NAT64 64:ff9b:1::/48
/// are refused outright.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: u32, net: [u8; 4], bits: u32) -> bool {
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    ip & mask == u32::from_be_bytes(net) & mask
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const REFUSED: [([u8; 4], u32); 15] = [
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // CGNAT (shared address space)
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast (deprecated)
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
        ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, and broadcast 255.255.255.255
    ];
    let n = u32::from(ip);
    !REFUSED.iter().any(|&(net, bits)| in_v4(n, net, bits))
}

fn in_v6(ip: u128, net: u128, bits: u32) -> bool {
    let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
    ip & mask == net & mask
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let n = u128::from(ip);
    let low_v4 = Ipv4Addr::from(n as u32);
    if in_v6(n, 0xffff_0000_0000, 96) {
        return is_public_v4(low_v4); // IPv4-mapped ::ffff:a.b.c.d
    }
    if in_v6(n, 0x0064_ff9b << 96, 96) {
        return is_public_v4(low_v4); // NAT64 well-known prefix
    }
    if in_v6(n, 0x2002 << 112, 16) {
        return is_public_v4(Ipv4Addr::from((n >> 80) as u32)); // 6to4
    }
    const REFUSED: [(u128, u32); 3] = [
        (0x2001 << 112, 23),                   // IETF protocol assignments: Teredo, benchmarking, ORCHID…
        ((0x2001 << 112) | (0xdb8 << 96), 32), // documentation
        (0x3fff << 112, 20),                   // documentation (RFC 9637)
    ];
    // Everything outside global unicast 2000::/3 is loopback, unspecified,
    // IPv4-compatible, local-use NAT64, discard, ULA, link- or site-local,
    // multicast or unassigned.
    in_v6(n, 0x2000 << 112, 3) && !REFUSED.iter().any(|&(net, bits)| in_v6(n, net, bits))
}

// ------------------------------------------------------------- fetching

/// Why a fetch was refused or failed: the status to answer and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    /// 400 for a bad URL or a failed fetch, 403 for what the policy refuses, 413 for a body over the cap.
    pub status: StatusCode,
    /// What happened, for the client.
    pub message: String,
}

impl FetchError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> FetchError {
        FetchError {
            status,
            message: message.into(),
        }
    }
    fn invalid(why: impl std::fmt::Display) -> FetchError {
        FetchError::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid or unsafe URL provided: {why}"),
        )
    }
    fn forbidden(message: String) -> FetchError {
        FetchError::new(StatusCode::FORBIDDEN, message)
    }
    fn failed(why: impl std::fmt::Display) -> FetchError {
        FetchError::new(StatusCode::BAD_REQUEST, format!("Failed to fetch URL: {why}"))
    }
    fn too_large(cap: usize) -> FetchError {
        FetchError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Content too large: the limit is {cap} bytes"),
        )
    }
}

/// A URL taken apart and checked for form.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    https: bool,
    /// Normalized: lowercase name or IP address, no brackets.
    host: String,
    ip: Option<IpAddr>,
    port: u16,
    /// `host[:port]` for the Host header and relative redirects.
    authority: String,
    path_and_query: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, FetchError> {
        let url = url.trim();
        // The fragment is never sent.
        let url = url.split_once('#').map_or(url, |(before, _)| before);
        if url.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(FetchError::invalid("spaces, control or non-ASCII characters"));
        }
        let uri: Uri = url.parse().map_err(FetchError::invalid)?;
        let https = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("https") => true,
            Some("http") => false,
            Some(other) => return Err(FetchError::invalid(format!("scheme '{other}' (http or https only)"))),
            None => return Err(FetchError::invalid("not an absolute http or https URL")),
        };
        let authority = uri.authority().ok_or_else(|| FetchError::invalid("no host"))?;
        if authority.as_str().contains('@') {
            return Err(FetchError::invalid("credentials in URLs are refused"));
        }
        let raw_host = authority.host();
        // http's parser lets a port of letters through (and reads it as none).
        let explicit_port = match authority.as_str().strip_prefix(raw_host) {
            Some("") => None,
            Some(rest) => match rest
                .strip_prefix(':')
                .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
                .map(str::parse::<u16>)
            {
                Some(Ok(0)) => return Err(FetchError::invalid("port 0")),
                Some(Ok(p)) => Some(p),
                _ => return Err(FetchError::invalid(format!("bad port in '{}'", authority.as_str()))),
            },
            None => return Err(FetchError::invalid("unreadable host")),
        };
        let bare = raw_host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(raw_host);
        if raw_host.starts_with('[') && bare.parse::<Ipv6Addr>().is_err() {
            return Err(FetchError::invalid(format!("'{raw_host}' is not an IPv6 address")));
        }
        let host = normalize_host(bare).map_err(FetchError::invalid)?;
        let ip = host.parse::<IpAddr>().ok();
        let port = match explicit_port {
            Some(p) => p,
            None if https => 443,
            None => 80,
        };
        let authority = match (ip, explicit_port) {
            (Some(IpAddr::V6(_)), Some(p)) => format!("[{host}]:{p}"),
            (Some(IpAddr::V6(_)), None) => format!("[{host}]"),
            (_, Some(p)) => format!("{host}:{p}"),
            (_, None) => host.clone(),
        };
        let path_and_query = uri.path_and_query().map_or("/".to_string(), |p| p.as_str().to_string());
        let path_and_query = if path_and_query.starts_with('/') {
            path_and_query
        } else {
            format!("/{path_and_query}")
        };
        Ok(Target {
            https,
            host,
            ip,
            port,
            authority,
            path_and_query,
        })
    }

    fn scheme(&self) -> &'static str {
        if self.https {
            "https"
        } else {
            "http"
        }
    }

    /// A `Location` header's URL, made absolute against this one.
    fn join(&self, location: &str) -> String {
        let location = location.trim();
        let has_scheme = location.split_once(':').is_some_and(|(scheme, _)| {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        });
        if has_scheme {
            location.to_string()
        } else if location.starts_with("//") {
            format!("{}:{location}", self.scheme())
        } else if location.starts_with('/') {
            format!("{}://{}{location}", self.scheme(), self.authority)
        } else {
            let path = self.path_and_query.split('?').next().unwrap_or("/");
            let base = if location.starts_with('?') || location.is_empty() {
                path
            } else {
                &path[..=path.rfind('/').unwrap_or(0)]
            };
            format!("{}://{}{base}{location}", self.scheme(), self.authority)
        }
    }
}

/// What the origin sent: its headers, checked by the caller before the body is read, and the body.
pub struct Fetched<T> {
    /// What the caller's check of the headers returned.
    pub checked: T,
    /// The body, at most the cap.
    pub body: Bytes,
    /// The URL the body came from, after redirects.
    pub url: String,
}

/// Fetches `url` under `policy`: at most `cap` bytes, within the policy's
/// deadline. `check` sees the final response's headers before its body is
/// read (to refuse a content type without downloading it).
pub async fn fetch<T>(
    policy: &FetchPolicy,
    url: &str,
    cap: usize,
    check: impl FnOnce(&HeaderMap) -> Result<T, FetchError>,
) -> Result<Fetched<T>, FetchError> {
    if !policy.enabled() {
        return Err(FetchError::forbidden(
            "fetching media by url is disabled on this server".into(),
        ));
    }
    match tokio::time::timeout(policy.timeout, fetch_within(policy, url, cap, check)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::failed(format!(
            "timed out after {} s",
            policy.timeout.as_secs_f64()
        ))),
    }
}

async fn fetch_within<T>(
    policy: &FetchPolicy,
    url: &str,
    cap: usize,
    check: impl FnOnce(&HeaderMap) -> Result<T, FetchError>,
) -> Result<Fetched<T>, FetchError> {
    let mut url = url.to_string();
    let mut redirects = 0;
    loop {
        let target = Target::parse(&url)?;
        policy.permit(&target)?;
        let addrs = resolve(&target, policy.allow_private).await?;
        let (response, conn) = get(&target, &addrs).await?;
        let status = response.status();
        if status.is_redirection() && status != StatusCode::NOT_MODIFIED && status != StatusCode::MULTIPLE_CHOICES {
            let location = response
                .headers()
                .get(header::LOCATION)
                .ok_or_else(|| FetchError::failed(format!("redirect ({status}) without a Location")))?
                .to_str()
                .map_err(|_| FetchError::failed("a redirect's Location is not readable"))?;
            let next = target.join(location);
            drop(response);
            drop(conn);
            if redirects == MAX_REDIRECTS {
                return Err(FetchError::failed(format!(
                    "too many redirects (more than {MAX_REDIRECTS})"
                )));
            }
            redirects += 1;
            url = next;
            continue;
        }
        if !status.is_success() {
            return Err(FetchError::failed(format!("the server answered {status}")));
        }
        let headers = response.headers();
        if let Some(encoding) = headers.get(header::CONTENT_ENCODING) {
            if !encoding.as_bytes().eq_ignore_ascii_case(b"identity") {
                return Err(FetchError::failed(format!(
                    "the body came with Content-Encoding {:?}, which is not decoded",
                    String::from_utf8_lossy(encoding.as_bytes())
                )));
            }
        }
        let length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if length.is_some_and(|n| n > cap as u64) {
            return Err(FetchError::too_large(cap));
        }
        let checked = check(headers)?;
        let body = read_capped(response.into_body(), cap, length).await?;
        drop(conn);
        return Ok(Fetched { checked, body, url });
    }
}

/// The host's addresses, each one public unless the policy is for tests.
async fn resolve(t: &Target, allow_private: bool) -> Result<Vec<SocketAddr>, FetchError> {
    let addrs: Vec<SocketAddr> = match t.ip {
        Some(ip) => vec![SocketAddr::new(ip, t.port)],
        None => tokio::net::lookup_host((t.host.as_str(), t.port))
            .await
            .map_err(|e| FetchError::failed(format!("could not resolve '{}': {e}", t.host)))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(FetchError::failed(format!("'{}' has no address", t.host)));
    }
    if !allow_private {
        if let Some(a) = addrs.iter().find(|a| !is_public(a.ip())) {
            return Err(FetchError::forbidden(format!(
                "host '{}' resolves to {}, which is not a public address; fetching from it is refused",
                t.host,
                a.ip()
            )));
        }
    }
    Ok(addrs)
}

/// The connection's task, ended when the fetch is done with it (or gives up).
struct Connection(tokio::task::JoinHandle<()>);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One GET to one of the vetted addresses (the first that connects).
async fn get(t: &Target, addrs: &[SocketAddr]) -> Result<(Response<Incoming>, Connection), FetchError> {
    let mut last = None;
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect(a).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(format!("could not connect to {a}: {e}")),
        }
    }
    let Some(stream) = stream else {
        return Err(FetchError::failed(last.unwrap_or_else(|| "no address".into())));
    };
    let _ = stream.set_nodelay(true);
    if t.https {
        let name = rustls::pki_types::ServerName::try_from(t.host.clone())
            .map_err(|e| FetchError::invalid(format!("'{}': {e}", t.host)))?;
        let tls = tokio_rustls::TlsConnector::from(tls_config()?)
            .connect(name, stream)
            .await
            .map_err(|e| FetchError::failed(format!("TLS with '{}' failed: {e}", t.host)))?;
        exchange(tls, t).await
    } else {
        exchange(stream, t).await
    }
}

async fn exchange<S>(io: S, t: &Target) -> Result<(Response<Incoming>, Connection), FetchError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(io))
        .await
        .map_err(|e| FetchError::failed(e.to_string()))?;
    let conn = Connection(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let request = Request::get(t.path_and_query.as_str())
        .header(header::HOST, t.authority.as_str())
        .header(header::USER_AGENT, concat!("tantalum/", env!("CARGO_PKG_VERSION")))
        .header(header::ACCEPT, "image/*, video/*;q=0.9, */*;q=0.1")
        .header(header::ACCEPT_ENCODING, "identity")
        .header(header::CONNECTION, "close")
        .body(Empty::new())
        .map_err(FetchError::invalid)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| FetchError::failed(e.to_string()))?;
    Ok((response, conn))
}

async fn read_capped(mut body: Incoming, cap: usize, length: Option<u64>) -> Result<Bytes, FetchError> {
    let mut buf = Vec::with_capacity(length.map_or(0, |n| n.min(cap as u64) as usize));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| FetchError::failed(format!("reading the body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > cap {
                return Err(FetchError::too_large(cap));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

/// rustls with ring and Mozilla's roots (webpki-roots), HTTP/1.1 by ALPN.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, FetchError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let mut config =
                rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                    .with_safe_default_protocol_versions()
                    .map_err(|e| e.to_string())?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(Arc::new(config))
        })
        .clone()
        .map_err(|e| FetchError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("TLS set-up failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }
    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().unwrap())
    }

    #[test]
    fn refuses_every_non_public_ipv4_range() {
        let refused = [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.0.170",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.0.1",
            "192.168.255.255",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ];
        for ip in refused {
            assert!(!is_public(v4(ip)), "{ip} should be refused");
        }
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
        ];
        for ip in public {
            assert!(is_public(v4(ip)), "{ip} should pass");
        }
    }

    #[test]
    fn refuses_every_non_public_ipv6_form() {
        let refused = [
            "::",
            "::1",
            "::127.0.0.1",      // IPv4-compatible (deprecated), even of a public address:
            "::8.8.8.8",        // refused outright
            "::ffff:127.0.0.1", // IPv4-mapped
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::ffff:255.255.255.255",
            "64:ff9b::127.0.0.1", // NAT64
            "64:ff9b::192.168.1.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::8.8.8.8", // local-use NAT64
            "2002:7f00:1::",      // 6to4 of 127.0.0.1
            "2002:0a00:0001::1",  // 6to4 of 10.0.0.1
            "2002:c0a8:0101:1::1",
            "2002:a9fe:a9fe::",
            "100::1", // discard-only
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1", // site-local
            "feff::1",
            "ff02::1",
            "ff0e::1",
            "2001::1", // Teredo
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:2::1",  // benchmarking
            "2001:10::1", // ORCHID
            "2001:db8::1",
            "2001:db8:ffff::1",
            "3fff::1",
            "3fff:fff::1",
            "4000::1", // outside 2000::/3
            "1::1",
        ];
        for ip in refused {
            assert!(!is_public(v6(ip)), "{ip} should be refused");
        }
        let public = [
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::1",
            "2001:200::1",
            "3ffe::1",
            "3fff:1000::1",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
        ];
        for ip in public {
            assert!(is_public(v6(ip)), "{ip} should pass");
        }
    }

    proptest! {
        #[test]
        fn the_classifier_never_panics(a in any::<u32>(), b in any::<u128>()) {
            let v4 = Ipv4Addr::from(a);
            let _ = is_public(IpAddr::V4(v4));
            let _ = is_public(IpAddr::V6(Ipv6Addr::from(b)));
            // An IPv4 address and its mapped and NAT64 forms are judged alike.
            let mapped = IpAddr::V6(v4.to_ipv6_mapped());
            prop_assert_eq!(is_public(IpAddr::V4(v4)), is_public(mapped));
            let nat64 = IpAddr::V6(Ipv6Addr::from((0x0064_ff9b_u128 << 96) | u128::from(a)));
            prop_assert_eq!(is_public(IpAddr::V4(v4)), is_public(nat64));
        }

        #[test]
        fn url_parsing_never_panics(s in "\\PC{0,60}") {
            let _ = Target::parse(&s);
            let _ = s.parse::<HostPattern>();
            if let Ok(t) = Target::parse("https://example.com/a/b?c") {
                let _ = Target::parse(&t.join(&s));
            }
        }
    }

    fn pattern(s: &str) -> HostPattern {
        s.parse().unwrap()
    }

    fn policy(patterns: &[&str]) -> FetchPolicy {
        FetchPolicy {
            allow: patterns.iter().map(|p| pattern(p)).collect(),
            ..Default::default()
        }
    }

    fn permit(p: &FetchPolicy, url: &str) -> Result<(), FetchError> {
        p.permit(&Target::parse(url)?)
    }

    #[test]
    fn host_patterns_parse_and_print() {
        for text in [
            "example.com",
            "*.example.com",
            "example.com:8443",
            "1.2.3.4",
            "[2001:db8::1]:8443",
        ] {
            assert_eq!(pattern(text).to_string(), text);
        }
        assert_eq!(pattern("Example.COM.").to_string(), "example.com");
        assert_eq!(pattern("2001:DB8::1").to_string(), "[2001:db8::1]");
        for bad in [
            "",
            "*.",
            "exa mple.com",
            "example.com:0",
            "example.com:x",
            "example.com:+1",
            "*.1.2.3.4",
            "[::1",
            "-a.com",
            "a..b",
        ] {
            assert!(bad.parse::<HostPattern>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn the_allowlist_matches_hosts_and_ports() {
        let p = policy(&["example.com", "*.cdn.example.net", "media.example.org:8443"]);
        assert!(permit(&p, "https://example.com/a.jpg").is_ok());
        assert!(permit(&p, "https://EXAMPLE.com./a.jpg").is_ok());
        assert!(permit(&p, "https://example.com:443/a.jpg").is_ok());
        assert!(permit(&p, "https://example.com:80/a.jpg").is_ok());
        assert!(permit(&p, "https://a.cdn.example.net/x").is_ok());
        assert!(permit(&p, "https://a.b.cdn.example.net/x").is_ok());
        assert!(permit(&p, "https://media.example.org:8443/x").is_ok());
        let refused = [
            "https://www.example.com/",
            "https://example.com.evil.com/",
            "https://evil.com/example.com",
            "https://evilexample.com/",
            "https://cdn.example.net/",
            "https://xcdn.example.net/",
            "https://media.example.org/x",
            "https://example.com:8443/",
        ];
        for url in refused {
            let e = permit(&p, url).unwrap_err();
            assert_eq!(e.status, StatusCode::FORBIDDEN, "{url}: {e:?}");
        }
        let e = permit(&p, "https://evil.com/").unwrap_err();
        assert!(e.message.contains("'evil.com'"), "{}", e.message);
        let e = permit(&p, "https://example.com:8080/").unwrap_err();
        assert!(e.message.contains("port 8080"), "{}", e.message);
        // Plain http only when allowed.
        let e = permit(&p, "http://example.com/").unwrap_err();
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        let p = FetchPolicy {
            allow_http: true,
            ..policy(&["example.com"])
        };
        assert!(permit(&p, "http://example.com/").is_ok());
        // Nothing allowed: off.
        assert!(!FetchPolicy::default().enabled());
    }

    #[test]
    fn urls_are_checked_for_form() {
        let bad = [
            "ftp://example.com/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:text/plain,hi",
            "ws://example.com/",
            "example.com",
            "//example.com",
            "http://",
            "http:///example.com",
            "http://example.com:",
            "http://example.com:abc",
            "http://example.com:99999/",
            "http://example.com:+80/",
            "http://[::1]:x/",
            "http://example.com:0/",
            "https://user:pass@example.com/",
            "https://user@example.com/",
            "https://example.com/a b",
            "https://exämple.com/",
            "https://[::1/",
            "https://ex%61mple.com/",
        ];
        for url in bad {
            let e = Target::parse(url).expect_err(url);
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{url}");
        }
        let t = Target::parse("https://Example.com:8080/path?q=1#frag").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path_and_query.as_str()),
            ("example.com", 8080, "/path?q=1")
        );
        assert_eq!(t.authority, "example.com:8080");
        let t = Target::parse("http://[::FFFF:127.0.0.1]/").unwrap();
        assert_eq!(t.ip, Some(v6("::ffff:127.0.0.1")));
        assert_eq!((t.port, t.authority.as_str()), (80, "[::ffff:127.0.0.1]"));
        assert_eq!(Target::parse("https://example.com").unwrap().path_and_query, "/");
    }

    #[test]
    fn redirect_locations_resolve_against_the_url() {
        let t = Target::parse("https://example.com:8443/a/b.jpg?x=1").unwrap();
        assert_eq!(t.join("https://other.com/c"), "https://other.com/c");
        assert_eq!(t.join("HTTP://other.com/c"), "HTTP://other.com/c");
        assert_eq!(t.join("//other.com/c"), "https://other.com/c");
        assert_eq!(t.join("/c"), "https://example.com:8443/c");
        assert_eq!(t.join("c.jpg"), "https://example.com:8443/a/c.jpg");
        assert_eq!(t.join("?y=2"), "https://example.com:8443/a/b.jpg?y=2");
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused() {
        let t = Target::parse("http://localhost:9/").unwrap();
        let e = resolve(&t, false).await.unwrap_err();
        assert_eq!(e.status, StatusCode::FORBIDDEN, "{e:?}");
        assert!(e.message.contains("not a public address"), "{}", e.message);
        let t = Target::parse("http://[::1]:9/").unwrap();
        assert_eq!(resolve(&t, false).await.unwrap_err().status, StatusCode::FORBIDDEN);
        assert!(resolve(&t, true).await.is_ok());
    }
}
