//! The built-in authoritative responder: UDP and TCP on one address, answers from the index, a token
//! bucket per source, bounded TCP connections, and no input that can stop it.

use crate::answer::Resolver;
use crate::config::DnsSettings;
use crate::error::DnsError;
use crate::index::Index;
use crate::ratelimit::RateLimiter;
use crate::wire::{self, Transport};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;

/// TCP connections served at once (all sources together).
const MAX_TCP: usize = 512;
/// How long a TCP connection may stay idle, or take to send one query.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// UDP workers reading the one socket.
const UDP_WORKERS: usize = 2;

/// What every listener shares.
#[derive(Clone)]
pub struct Shared {
    pub settings: Arc<DnsSettings>,
    pub index: Arc<Index>,
    pub limiter: Arc<RateLimiter>,
}

impl Shared {
    pub fn new(settings: DnsSettings, index: Arc<Index>) -> Self {
        let limiter = Arc::new(RateLimiter::new(settings.rate_limit_qps));
        Self {
            settings: Arc::new(settings),
            index,
            limiter,
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

async fn tcp_acceptor(listener: TcpListener, shared: Shared) {
    let slots = Arc::new(Semaphore::new(MAX_TCP));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "tcp accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            dropped("tcp_full");
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = tcp_connection(stream, peer, &shared).await {
                tracing::debug!(error = %e, %peer, "dns tcp connection ended");
            }
        });
    }
}

async fn tcp_connection(mut stream: TcpStream, peer: SocketAddr, shared: &Shared) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Ok(()),
        }
        let len = u16::from_be_bytes(len) as usize;
        buf.resize(len, 0);
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut buf)).await {
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
        tokio::time::timeout(TCP_IDLE, stream.write_all(&out))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client does not read"))??;
    }
}
