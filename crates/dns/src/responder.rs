//! The built-in authoritative responder: UDP and TCP on one address, answers from the index, a token
//! bucket per source, TCP connections bounded in total and per source with an idle deadline, and no input
//! that can stop it.

use crate::answer::Resolver;
use crate::config::DnsSettings;
use crate::error::DnsError;
use crate::index::Index;
use crate::ratelimit::{source_key, RateLimiter};
use crate::wire::{self, Transport};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// UDP workers reading the one socket.
const UDP_WORKERS: usize = 2;

/// How many TCP connections are served at once, and for how long one may idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpLimits {
    /// All sources together.
    pub total: usize,
    /// From one source (an IPv4 address, an IPv6 /64, as the rate limit counts them), so one source
    /// cannot take every connection slot.
    pub per_source: usize,
    /// How long a connection may wait for its next query, take to send one, or to read its answer.
    pub idle: Duration,
}

impl Default for TcpLimits {
    fn default() -> Self {
        Self {
            total: 512,
            per_source: 32,
            idle: Duration::from_secs(10),
        }
    }
}

/// What every listener shares.
#[derive(Clone)]
pub struct Shared {
    pub settings: Arc<DnsSettings>,
    pub index: Arc<Index>,
    pub limiter: Arc<RateLimiter>,
    pub tcp: TcpLimits,
}

impl Shared {
    pub fn new(settings: DnsSettings, index: Arc<Index>) -> Self {
        let limiter = Arc::new(RateLimiter::new(settings.rate_limit_qps));
        Self {
            settings: Arc::new(settings),
            index,
            limiter,
            tcp: TcpLimits::default(),
        }
    }

    fn respond(&self, packet: &[u8], transport: Transport) -> Option<Vec<u8>> {
        let resolver = Resolver {
            settings: &self.settings,
            index: &self.index,
        };
        // The packet code does not panic (see the property tests); if it ever did, that query alone is lost.
        let resp = std::panic::catch_unwind(AssertUnwindSafe(|| wire::handle(packet, transport, &resolver)))
            .unwrap_or_else(|_| {
                tracing::error!("the DNS packet handler panicked; the query is dropped");
                None
            })?;
        let via = match transport {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        };
        metrics::counter!("meridian_dns_queries_total", "type" => resp.qtype, "rcode" => resp.rcode.label(), "via" => via)
            .increment(1);
        if resp.truncated {
            metrics::counter!("meridian_dns_truncated_total").increment(1);
        }
        Some(resp.bytes)
    }
}

fn dropped(reason: &'static str) {
    metrics::counter!("meridian_dns_dropped_total", "reason" => reason).increment(1);
}

/// Binds UDP and TCP on `addr`; with port 0, on one free port for both.
pub async fn bind(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), DnsError> {
    let bind_err = |source| DnsError::Bind { addr, source };
    if addr.port() != 0 {
        let udp = UdpSocket::bind(addr).await.map_err(bind_err)?;
        let tcp = TcpListener::bind(addr).await.map_err(bind_err)?;
        return Ok((udp, tcp));
    }
    let mut last = None;
    for _ in 0..20 {
        let udp = UdpSocket::bind(addr).await.map_err(bind_err)?;
        let port_addr = udp.local_addr()?;
        match TcpListener::bind(port_addr).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(bind_err(last.unwrap_or_else(|| std::io::Error::other("no free port"))))
}

/// Serves queries on the sockets until the runtime stops.
pub fn serve(udp: UdpSocket, tcp: TcpListener, shared: Shared) {
    let udp = Arc::new(udp);
    for _ in 0..UDP_WORKERS {
        tokio::spawn(udp_worker(udp.clone(), shared.clone()));
    }
    tokio::spawn(tcp_acceptor(tcp, shared));
}

async fn udp_worker(socket: Arc<UdpSocket>, shared: Shared) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                // ICMP errors of earlier sends surface here on some systems: not fatal.
                tracing::debug!(error = %e, "udp receive failed");
                continue;
            }
        };
        if !shared.limiter.allow(peer.ip()) {
            dropped("rate_limit");
            continue;
        }
        if let Some(resp) = shared.respond(&buf[..len], Transport::Udp) {
            if let Err(e) = socket.send_to(&resp, peer).await {
                tracing::debug!(error = %e, %peer, "udp send failed");
            }
        } else {
            dropped("not_a_query");
        }
    }
}

/// The TCP connections being served: how many in all and per source.
struct TcpSlots {
    limits: TcpLimits,
    held: Mutex<(usize, HashMap<u128, usize>)>,
}

/// One connection's place; given back when dropped.
struct TcpSlot {
    slots: Arc<TcpSlots>,
    source: u128,
}

impl TcpSlots {
    /// A slot for a connection from `ip`, or why there is none.
    fn take(self: &Arc<Self>, ip: IpAddr) -> Result<TcpSlot, &'static str> {
        let source = source_key(ip);
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per_source) = &mut *held;
        let mine = per_source.get(&source).copied().unwrap_or(0);
        if mine >= self.limits.per_source {
            return Err("tcp_per_source");
        }
        if *total >= self.limits.total {
            return Err("tcp_full");
        }
        *total += 1;
        per_source.insert(source, mine + 1);
        Ok(TcpSlot {
            slots: self.clone(),
            source,
        })
    }
}

impl Drop for TcpSlot {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per_source) = &mut *held;
        *total = total.saturating_sub(1);
        if let Some(n) = per_source.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                per_source.remove(&self.source);
            }
        }
    }
}

async fn tcp_acceptor(listener: TcpListener, shared: Shared) {
    let slots = Arc::new(TcpSlots {
        limits: shared.tcp,
        held: Mutex::new((0, HashMap::new())),
    });
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "tcp accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Over a limit, the connection is closed at once (the client falls back or retries).
        let slot = match slots.take(peer.ip()) {
            Ok(slot) => slot,
            Err(reason) => {
                dropped(reason);
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = tcp_connection(stream, peer, &shared).await {
                tracing::debug!(error = %e, %peer, "dns tcp connection ended");
            }
        });
    }
}

async fn tcp_connection(mut stream: TcpStream, peer: SocketAddr, shared: &Shared) -> std::io::Result<()> {
    let idle = shared.tcp.idle;
    let mut buf = Vec::new();
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(idle, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Ok(()),
        }
        let len = u16::from_be_bytes(len) as usize;
        buf.resize(len, 0);
        match tokio::time::timeout(idle, stream.read_exact(&mut buf)).await {
            Ok(r) => r?,
            Err(_) => return Ok(()),
        };
        if !shared.limiter.allow(peer.ip()) {
            dropped("rate_limit");
            return Ok(());
        }
        let Some(resp) = shared.respond(&buf, Transport::Tcp) else {
            dropped("not_a_query");
            return Ok(());
        };
        let mut out = Vec::with_capacity(resp.len() + 2);
        out.extend_from_slice(&(resp.len() as u16).to_be_bytes());
        out.extend_from_slice(&resp);
        tokio::time::timeout(idle, stream.write_all(&out))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client does not read"))??;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::QType;
    use tokio::net::TcpSocket;

    fn shared(limits: TcpLimits) -> Shared {
        let settings = DnsSettings::new("s3.example.com", 60, &[], None, vec![], vec![], 0).unwrap();
        let mut shared = Shared::new(settings, Arc::new(Index::new()));
        shared.tcp = limits;
        shared
    }

    async fn connect_from(source: [u8; 4], server: SocketAddr) -> TcpStream {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind((source, 0).into()).unwrap();
        socket.connect(server).await.unwrap()
    }

    /// Asks for the apex SOA over `stream`: the answer's id, or None when the server closed the connection.
    async fn ask(stream: &mut TcpStream, id: u16) -> Option<u16> {
        let q = wire::query_packet(id, "s3.example.com", QType::Soa, None).unwrap();
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&q);
        stream.write_all(&framed).await.ok()?;
        let mut len = [0u8; 2];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut len))
            .await
            .ok()?
            .ok()?;
        let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut body).await.ok()?;
        Some(u16::from_be_bytes([body[0], body[1]]))
    }

    /// Whether the server closes `stream` within `wait` (end of stream or a reset).
    async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(wait, stream.read(&mut byte)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    #[tokio::test]
    async fn one_source_cannot_take_every_tcp_slot_and_idle_connections_close() {
        let (udp, tcp) = bind(([127, 0, 0, 1], 0).into()).await.unwrap();
        let server = tcp.local_addr().unwrap();
        let idle = Duration::from_secs(3);
        serve(
            udp,
            tcp,
            shared(TcpLimits {
                total: 8,
                per_source: 3,
                idle,
            }),
        );
        // 127.0.0.2 opens more connections than the whole table holds, and keeps them open.
        let opened = std::time::Instant::now();
        let mut flood = Vec::new();
        for _ in 0..10 {
            flood.push(connect_from([127, 0, 0, 2], server).await);
        }
        let mut kept = Vec::new();
        for mut s in flood {
            if !closed_within(&mut s, Duration::from_millis(200)).await {
                kept.push(s);
            }
        }
        assert_eq!(kept.len(), 3, "the server keeps per_source connections of one source");
        // Another source is served all the same, and so are the flooder's connections that were kept.
        let mut other = connect_from([127, 0, 0, 1], server).await;
        assert_eq!(ask(&mut other, 7).await, Some(7), "another source's TCP query");
        assert_eq!(ask(&mut kept[0], 8).await, Some(8));
        // The total bounds every source together: 127.0.0.3 gets 3, 127.0.0.4 the last one, 127.0.0.5 none.
        let mut more = Vec::new();
        for (source, n) in [([127, 0, 0, 3], 3), ([127, 0, 0, 4], 2)] {
            for _ in 0..n {
                more.push(connect_from(source, server).await);
            }
        }
        let mut late = connect_from([127, 0, 0, 5], server).await;
        assert_eq!(ask(&mut late, 9).await, None, "over the total, a connection is closed");
        let open_more = {
            let mut n = 0;
            for s in &mut more {
                if !closed_within(s, Duration::from_millis(100)).await {
                    n += 1;
                }
            }
            n
        };
        assert_eq!(open_more, 4, "3 + 1 + 3 kept + 1 other = 8 in total");
        // A connection that sends nothing is closed once it has been idle for `idle`.
        drop(other);
        for s in &mut kept[1..] {
            assert!(closed_within(s, idle * 3).await, "an idle connection stays open");
        }
        assert!(opened.elapsed() >= idle, "closed before the idle deadline");
    }
}
