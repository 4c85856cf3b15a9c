//! Connection hardening for the S3 listener: a cap on open connections (one over it gets a 503 S3 error and
//! is closed), and per-connection deadlines that hyper alone does not give: a request head must be complete
//! within `header_read_timeout` of its first byte, and a connection with no request in progress and no bytes
//! moving for `idle_timeout` is closed (an idle keep-alive, or a client that stopped reading its response).
//! Stalled request bodies are the request guard's (`meridian_s3::guard`) job.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
}

const NONE: u64 = u64::MAX;

/// What one connection is doing, shared by its I/O wrapper, its service calls and its watchdog.
pub struct ConnState {
    start: Instant,
    /// Milliseconds (since `start`) of the last byte read or written.
    last_io: AtomicU64,
    /// When the first byte of a request head arrived while no request was in progress (`NONE`: no head).
    head_started: AtomicU64,
    /// Service calls running (a request head was read and is being answered).
    handling: AtomicUsize,
    /// Requests not finished yet: from the service call until the response body is done or dropped.
    busy: AtomicUsize,
}

impl ConnState {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            last_io: AtomicU64::new(0),
            head_started: AtomicU64::new(NONE),
            handling: AtomicUsize::new(0),
            busy: AtomicUsize::new(0),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn on_read(&self) {
        let now = self.now_ms();
        self.last_io.store(now, Ordering::Relaxed);
        if self.handling.load(Ordering::Acquire) == 0 && self.busy.load(Ordering::Acquire) == 0 {
            let _ = self
                .head_started
                .compare_exchange(NONE, now, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    fn on_write(&self) {
        self.last_io.store(self.now_ms(), Ordering::Relaxed);
    }

    /// A request head was read: the service is called. The returned guards end the request: `Handling`
    /// when the service returns, `Busy` when the response body is finished or dropped.
    pub fn begin_request(self: &Arc<Self>) -> (Handling, Busy) {
        self.busy.fetch_add(1, Ordering::AcqRel);
        self.handling.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(NONE, Ordering::Release);
        (Handling(self.clone()), Busy(self.clone()))
    }

    /// Why the connection must be closed now, or how long until it may have to be.
    fn verdict(&self, limits: &ConnLimits) -> Result<Duration, &'static str> {
        if self.handling.load(Ordering::Acquire) > 0 {
            // A request is being answered: its body has its own inactivity timeout.
            return Ok(Duration::from_secs(1));
        }
        let now = self.now_ms();
        let idle_deadline = self
            .last_io
            .load(Ordering::Relaxed)
            .saturating_add(limits.idle_timeout.as_millis() as u64);
        let head = self.head_started.load(Ordering::Acquire);
        let (deadline, why) = if head != NONE && self.busy.load(Ordering::Acquire) == 0 {
            let header_deadline = head.saturating_add(limits.header_read_timeout.as_millis() as u64);
            if header_deadline <= idle_deadline {
                (
                    header_deadline,
                    "the request head did not arrive within header_read_timeout_secs",
                )
            } else {
                (idle_deadline, "no bytes moved for idle_timeout_secs")
            }
        } else {
            (idle_deadline, "no bytes moved for idle_timeout_secs")
        };
        if now >= deadline {
            Err(why)
        } else {
            Ok(Duration::from_millis(deadline - now).min(Duration::from_secs(1)))
        }
    }
}

/// Resolves (with the reason) when the connection has to be closed.
pub async fn watchdog(state: Arc<ConnState>, limits: ConnLimits) -> &'static str {
    loop {
        match state.verdict(&limits) {
            Err(why) => return why,
            Ok(wait) => tokio::time::sleep(wait.max(Duration::from_millis(10))).await,
        }
    }
}

pub struct Handling(Arc<ConnState>);

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.handling.fetch_sub(1, Ordering::AcqRel);
        self.0.on_write();
    }
}

pub struct Busy(Arc<ConnState>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
        self.0.on_write();
    }
}

/// A response body that keeps its connection marked busy until it is finished or dropped.
pub struct TrackedBody {
    inner: s3s::Body,
    _busy: Busy,
}

impl TrackedBody {
    pub fn wrap(resp: http::Response<s3s::Body>, busy: Busy) -> http::Response<s3s::Body> {
        resp.map(|inner| s3s::Body::http_body_unsync(TrackedBody { inner, _busy: busy }))
    }
}

impl http_body::Body for TrackedBody {
    type Data = bytes::Bytes;
    type Error = s3s::StdError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, s3s::StdError>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}

/// The socket, noting every byte read and written in the connection's state.
pub struct TrackedIo {
    inner: TcpStream,
    state: Arc<ConnState>,
}

impl TrackedIo {
    pub fn new(inner: TcpStream, state: Arc<ConnState>) -> Self {
        Self { inner, state }
    }
}

impl AsyncRead for TrackedIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.state.on_read();
        }
        poll
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.state.on_write();
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.state.on_write();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Answers a connection over the cap with `503 ServiceUnavailable` and closes it, reading (and dropping)
/// what the client sends for a moment so that it sees the answer rather than a reset.
pub async fn refuse(mut stream: TcpStream, max_connections: usize) {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>ServiceUnavailable</Code><Message>The server is at its limit of {max_connections} open connections (max_connections); retry later.</Message></Error>"
    );
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 16 * 1024];
        let mut drained = 0usize;
        while drained < 1 << 20 {
            match stream.read(&mut sink).await? {
                0 => break,
                n => drained += n,
            }
        }
        Ok::<(), io::Error>(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnLimits {
        ConnLimits {
            max_connections: 10,
            header_read_timeout: Duration::from_millis(200),
            idle_timeout: Duration::from_millis(500),
        }
    }

    #[test]
    fn deadlines() {
        let s = ConnState::new();
        assert!(s.verdict(&limits()).is_ok(), "fresh connection");
        // Idle: closed after idle_timeout.
        s.last_io.store(0, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(520));
        assert_eq!(
            s.verdict(&limits()).unwrap_err(),
            "no bytes moved for idle_timeout_secs"
        );

        // A head that started and does not finish: closed after header_read_timeout even while bytes dribble.
        let s = ConnState::new();
        s.on_read();
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(50));
            s.on_read();
        }
        assert!(s.verdict(&limits()).unwrap_err().contains("header_read_timeout"));

        // While a request is handled nothing is closed; once answered the head timer starts afresh.
        let s = ConnState::new();
        s.on_read();
        let (handling, busy) = s.begin_request();
        std::thread::sleep(Duration::from_millis(250));
        assert!(s.verdict(&limits()).is_ok());
        drop(handling);
        drop(busy);
        assert!(s.verdict(&limits()).is_ok(), "the answer was just written");
    }
}
