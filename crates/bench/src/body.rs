//! Request bodies without copies: `RepeatBody` sends `len` bytes taken from one shared random buffer (cloned by
//! refcount), repeating the buffer when the object is larger than it, so any object size costs at most the
//! buffer's memory.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// A body of exactly `len` bytes cut from `chunk`, repeated as often as needed.
#[derive(Debug, Clone)]
pub struct RepeatBody {
    chunk: Bytes,
    remaining: u64,
}

impl RepeatBody {
    /// `len` bytes from `chunk`, repeated. An empty `chunk` makes an empty body whatever `len` says.
    pub fn new(chunk: Bytes, len: u64) -> Self {
        let remaining = if chunk.is_empty() { 0 } else { len };
        RepeatBody { chunk, remaining }
    }

    /// Exactly the bytes of `bytes`, once.
    pub fn from_bytes(bytes: Bytes) -> Self {
        let len = bytes.len() as u64;
        RepeatBody::new(bytes, len)
    }

    pub fn empty() -> Self {
        RepeatBody::new(Bytes::new(), 0)
    }

    /// Bytes still to be sent.
    pub fn len(&self) -> u64 {
        self.remaining
    }

    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }
}

impl Body for RepeatBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = self.remaining.min(self.chunk.len() as u64);
        let data = self.chunk.slice(..n as usize);
        self.remaining -= n;
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn frames(body: RepeatBody) -> Vec<Bytes> {
        let mut body = body;
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                out.push(data);
            }
        }
        out
    }

    #[tokio::test]
    async fn repeats_the_chunk_to_the_exact_length() {
        let chunk = Bytes::from_static(b"0123456789");
        let body = RepeatBody::new(chunk.clone(), 25);
        assert_eq!(body.size_hint().exact(), Some(25));
        let got = frames(body).await;
        assert_eq!(got.len(), 3);
        assert_eq!(got.concat(), b"0123456789012345678901234".to_vec());
        // Frames share the chunk's memory instead of copying it.
        assert_eq!(got[0].as_ptr(), chunk.as_ptr());
    }

    #[tokio::test]
    async fn shorter_than_the_chunk_and_empty() {
        let got = frames(RepeatBody::new(Bytes::from_static(b"abcdef"), 4)).await;
        assert_eq!(got.concat(), b"abcd".to_vec());
        let empty = RepeatBody::empty();
        assert!(empty.is_end_stream());
        assert_eq!(empty.size_hint().exact(), Some(0));
        assert!(frames(empty).await.is_empty());
        // An empty chunk cannot produce bytes: the body is empty rather than endless.
        assert!(RepeatBody::new(Bytes::new(), 100).is_empty());
        let once = RepeatBody::from_bytes(Bytes::from_static(b"<xml/>"));
        assert_eq!(once.len(), 6);
        assert_eq!(frames(once).await.concat(), b"<xml/>".to_vec());
    }
}
