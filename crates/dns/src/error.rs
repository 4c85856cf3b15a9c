//! Errors of the DNS surface.

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("invalid DNS configuration: {0}")]
    Config(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("DNS wire format: {0}")]
    Wire(String),
    #[error(transparent)]
    Gateway(#[from] meridian_gateway::GatewayError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
