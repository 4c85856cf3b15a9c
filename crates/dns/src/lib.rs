//! The `dns` surface: the global namespace at DNS level. `BUCKET.<dns_domain>` answers
//! `CNAME BUCKET.<hostname of the bucket's zonegroup>`, the zonegroup hostnames answer their endpoints'
//! addresses; served by a built-in authoritative responder (UDP and TCP) and as a PowerDNS remote backend
//! (HTTP), both from an in-memory index that follows the gateway's metadata changes.

pub mod answer;
pub mod config;
pub mod dig;
pub mod error;
pub mod follow;
pub mod index;
pub mod name;
pub mod pdns;
pub mod ratelimit;
pub mod responder;
pub mod wire;

pub use answer::{QType, Resolver};
pub use config::DnsSettings;
pub use error::DnsError;
pub use index::Index;

use hickory_proto::op::Message;
use meridian_gateway::Gateway;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What `start` brought up.
pub struct Started {
    /// The responder's address (UDP and TCP), when `dns_listen` is set.
    pub responder: Option<SocketAddr>,
    /// The PowerDNS backend's address, when `dns_backend_listen` is set.
    pub backend: Option<SocketAddr>,
    pub index: Arc<Index>,
}

/// Loads the index, starts following the metadata, and serves on the listeners that are set.
pub async fn start(
    gw: Gateway,
    settings: DnsSettings,
    listen: Option<SocketAddr>,
    backend_listen: Option<SocketAddr>,
) -> Result<Started, DnsError> {
    let index = Arc::new(Index::new());
    follow::load(&gw, &index).await?;
    let shared = responder::Shared::new(settings, index.clone());
    let responder = match listen {
        Some(addr) => {
            let (udp, tcp) = responder::bind(addr).await?;
            let local = udp.local_addr()?;
            responder::serve(udp, tcp, shared.clone());
            Some(local)
        }
        None => None,
    };
    let backend = match backend_listen {
        Some(addr) => {
            let listener = pdns::bind(addr).await?;
            let local = listener.local_addr()?;
            pdns::serve(listener, shared.clone());
            Some(local)
        }
        None => None,
    };
    tokio::spawn(follow::follow(gw, index.clone()));
    Ok(Started {
        responder,
        backend,
        index,
    })
}

/// What this zone answers for `name`/`qtype`, computed from the data directory (no server needed).
pub async fn lookup_local(gw: &Gateway, settings: &DnsSettings, name: &str, qtype: QType) -> Result<Message, DnsError> {
    let index = Index::new();
    follow::load(gw, &index).await?;
    let resolver = Resolver {
        settings,
        index: &index,
    };
    let packet = wire::query_packet(0, name, qtype, None).map_err(DnsError::Wire)?;
    let resp =
        wire::handle(&packet, wire::Transport::Tcp, &resolver).ok_or_else(|| DnsError::Wire("no response".into()))?;
    Message::from_vec(&resp.bytes).map_err(|e| DnsError::Wire(e.to_string()))
}

/// Asks a DNS server (UDP, then TCP when the answer is truncated).
pub async fn query_server(server: SocketAddr, name: &str, qtype: QType) -> Result<Message, DnsError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const TIMEOUT: Duration = Duration::from_secs(5);
    let id = (std::process::id() as u16) ^ 0x5a5a;
    let packet = wire::query_packet(id, name, qtype, Some(wire::MAX_UDP as u16)).map_err(DnsError::Wire)?;
    let bind: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = tokio::net::UdpSocket::bind(bind).await?;
    socket.connect(server).await?;
    socket.send(&packet).await?;
    let mut buf = vec![0u8; 65_535];
    let timed_out = || {
        DnsError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer from {server}"),
        ))
    };
    let len = tokio::time::timeout(TIMEOUT, socket.recv(&mut buf))
        .await
        .map_err(|_| timed_out())??;
    let msg = Message::from_vec(&buf[..len]).map_err(|e| DnsError::Wire(e.to_string()))?;
    if !msg.truncation {
        return Ok(msg);
    }
    let mut stream = tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect(server))
        .await
        .map_err(|_| timed_out())??;
    let mut framed = (packet.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&packet);
    stream.write_all(&framed).await?;
    let mut len = [0u8; 2];
    tokio::time::timeout(TIMEOUT, stream.read_exact(&mut len))
        .await
        .map_err(|_| timed_out())??;
    let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
    tokio::time::timeout(TIMEOUT, stream.read_exact(&mut body))
        .await
        .map_err(|_| timed_out())??;
    Message::from_vec(&body).map_err(|e| DnsError::Wire(e.to_string()))
}
