//! The endpoints of one zone (or zonegroup) tried in order: the first that answers serves the call; only an
//! unreachable endpoint is skipped (a refusal is an answer), and the last unreachable error is kept.

use crate::{PeerClient, PeerError, StreamingReply};
use meridian_proto::{AdminRequest, Call};
use serde_json::Value;
use std::future::Future;
use std::time::Duration;

/// One client per endpoint, all signed with the same key.
#[derive(Debug, Clone)]
pub struct Failover {
    clients: Vec<PeerClient>,
}

impl Failover {
    pub fn new(endpoints: &[String], access_key: &str, secret_key: &str) -> Self {
        Self {
            clients: endpoints
                .iter()
                .map(|e| PeerClient::new(e, access_key, secret_key))
                .collect(),
        }
    }

    /// The same endpoints with another whole-request deadline.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        for c in &mut self.clients {
            c.timeout = timeout;
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// [`PeerClient::send`] on the first endpoint that answers.
    pub async fn send(&self, req: &AdminRequest) -> Result<Value, PeerError> {
        self.first_answer(|c| c.send(req)).await
    }

    /// [`PeerClient::call`] on the first endpoint that answers.
    pub async fn call<C: Call>(&self, call: &C) -> Result<C::Reply, PeerError> {
        self.first_answer(|c| c.call(call)).await
    }

    /// [`PeerClient::send_streaming`] on the first endpoint that answers.
    pub async fn send_streaming(&self, req: &AdminRequest) -> Result<StreamingReply, PeerError> {
        self.first_answer(|c| c.send_streaming(req)).await
    }

    /// Runs `attempt` on each endpoint in turn until one is reachable. With no endpoint at all the error
    /// is `BadEndpoint("no endpoint")`.
    async fn first_answer<'a, T, F, Fut>(&'a self, attempt: F) -> Result<T, PeerError>
    where
        F: Fn(&'a PeerClient) -> Fut,
        Fut: Future<Output = Result<T, PeerError>>,
    {
        let mut last = None;
        for client in &self.clients {
            match attempt(client).await {
                Err(e @ PeerError::Unreachable { .. }) => {
                    tracing::debug!(endpoint = %client.endpoint, error = %e, "peer endpoint unreachable, trying the next");
                    last = Some(e);
                }
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| PeerError::BadEndpoint("no endpoint".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[tokio::test]
    async fn the_last_unreachable_endpoint_is_reported() {
        let none = Failover::new(&[], "ak", "sk");
        let req = AdminRequest::new(Method::GET, "realm/period");
        assert!(matches!(none.send(&req).await, Err(PeerError::BadEndpoint(_))));
        // Nothing listens on port 1: both endpoints are unreachable, the second one's error is kept.
        let endpoints = ["http://127.0.0.1:1".to_string(), "http://127.0.0.2:1".to_string()];
        let peers = Failover::new(&endpoints, "ak", "sk").with_timeout(Duration::from_secs(5));
        match peers.send(&req).await {
            Err(PeerError::Unreachable { endpoint, .. }) => assert_eq!(endpoint, "http://127.0.0.2:1"),
            other => panic!("{other:?}"),
        }
    }
}
