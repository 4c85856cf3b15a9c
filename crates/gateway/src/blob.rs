//! Streaming object bytes in and out of the data store without buffering whole objects: a bounded channel
//! feeds a blocking thread that hashes (MD5, once) and writes; reads come back in fixed-size chunks.
//! Bodies up to `INLINE_MAX` are kept in memory and stored inline in the metadata transaction instead.

use crate::error::{GatewayError, Result};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use meridian_model::Segment;
use meridian_store::{BlobReader, DataStore, MetaStore, WriteTxn};
use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
pub type ByteStream = Pin<Box<dyn Stream<Item = std::result::Result<Bytes, BoxError>> + Send + Sync>>;

const READ_CHUNK: usize = 256 * 1024;
/// Chunks in flight per stream: enough to overlap network and disk, small enough that memory stays bounded
/// (an upload's chunks are what the HTTP layer read, up to a few hundred KiB each).
const CHANNEL_DEPTH: usize = 2;
/// Bodies up to this size are stored in the metadata store, saving a file and its fsyncs.
pub const INLINE_MAX: usize = 64 * 1024;

#[derive(Clone)]
pub(crate) struct WrittenBlob {
    pub data_id: String,
    pub size: u64,
    pub md5: [u8; 16],
    /// The bytes, when small enough to be stored inline (then no file exists).
    pub inline: Option<Bytes>,
}

impl WrittenBlob {
    pub fn segment(&self) -> Segment {
        Segment {
            data_id: self.data_id.clone(),
            size: self.size,
            inline: self.inline.is_some(),
        }
    }

    pub fn etag(&self) -> String {
        hex::encode(self.md5)
    }
}

/// Stores the inline bytes of fresh blobs in the transaction that makes them visible.
pub(crate) fn store_inline(txn: &mut dyn WriteTxn, fresh: &[WrittenBlob]) -> Result<()> {
    for blob in fresh {
        if let Some(bytes) = &blob.inline {
            txn.put(&crate::keys::inline(&blob.data_id), bytes)?;
        }
    }
    Ok(())
}

/// Reads the first chunks of `body` until it ends or passes `INLINE_MAX`.
async fn buffer_head(body: &mut ByteStream, max_size: u64) -> Result<(Vec<Bytes>, usize, bool)> {
    let mut head = Vec::new();
    let mut len = 0usize;
    while len <= INLINE_MAX {
        match body.next().await {
            None => return Ok((head, len, true)),
            Some(Ok(chunk)) => {
                len += chunk.len();
                if len as u64 > max_size {
                    return Err(GatewayError::EntityTooLarge);
                }
                head.push(chunk);
            }
            Some(Err(e)) => return Err(GatewayError::Body(e.to_string())),
        }
    }
    Ok((head, len, false))
}

enum Msg {
    Chunk(Bytes),
    Finish,
}

/// Writes `body` to a new durable blob. Fails (leaving nothing behind) if the body errors, exceeds
/// `max_size`, or does not match `expected_len`.
pub(crate) async fn write_blob(
    data: Arc<dyn DataStore>,
    mut body: ByteStream,
    expected_len: Option<u64>,
    max_size: u64,
) -> Result<WrittenBlob> {
    if expected_len.is_some_and(|n| n > max_size) {
        return Err(GatewayError::EntityTooLarge);
    }
    let data_id = crate::new_id();
    let (head, head_len, ended) = buffer_head(&mut body, max_size).await?;
    if ended {
        if expected_len.is_some_and(|n| n != head_len as u64) {
            return Err(GatewayError::IncompleteBody);
        }
        let mut bytes = Vec::with_capacity(head_len);
        let mut hasher = Md5::new();
        for chunk in &head {
            hasher.update(chunk);
            bytes.extend_from_slice(chunk);
        }
        return Ok(WrittenBlob {
            data_id,
            size: head_len as u64,
            md5: hasher.finalize().into(),
            inline: Some(Bytes::from(bytes)),
        });
    }
    let (tx, mut rx) = mpsc::channel::<Msg>(CHANNEL_DEPTH);
    let id = data_id.clone();
    let writer = tokio::task::spawn_blocking(move || -> Result<Option<(u64, [u8; 16])>> {
        let mut blob = data.create(&id)?;
        let mut hasher = Md5::new();
        let mut size = 0u64;
        while let Some(msg) = rx.blocking_recv() {
            match msg {
                Msg::Chunk(chunk) => {
                    hasher.update(&chunk);
                    blob.write(&chunk)?;
                    size += chunk.len() as u64;
                }
                Msg::Finish => {
                    blob.finish()?;
                    return Ok(Some((size, hasher.finalize().into())));
                }
            }
        }
        // The sender went away without Finish: the upload failed; dropping the writer discards it.
        Ok(None)
    });

    let mut received = head_len as u64;
    let mut failure = None;
    for chunk in head {
        if tx.send(Msg::Chunk(chunk)).await.is_err() {
            break;
        }
    }
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => {
                received += chunk.len() as u64;
                if received > max_size {
                    failure = Some(GatewayError::EntityTooLarge);
                    break;
                }
                if tx.send(Msg::Chunk(chunk)).await.is_err() {
                    break; // the writer failed; its error is reported below
                }
            }
            Err(e) => {
                failure = Some(GatewayError::Body(e.to_string()));
                break;
            }
        }
    }
    if failure.is_none() && expected_len.is_some_and(|n| n != received) {
        failure = Some(GatewayError::IncompleteBody);
    }
    if failure.is_none() {
        let _ = tx.send(Msg::Finish).await;
    }
    drop(tx);
    let outcome = writer.await??;
    if let Some(err) = failure {
        return Err(err);
    }
    match outcome {
        Some((size, md5)) => Ok(WrittenBlob {
            data_id,
            size,
            md5,
            inline: None,
        }),
        None => Err(GatewayError::Internal("blob writer stopped early".into())),
    }
}

/// Streams `len` bytes starting at `offset` of the concatenation of `segments`. Every needed blob is
/// opened before this returns, so a concurrent overwrite (and its garbage collection) cannot tear the read.
pub(crate) async fn read_segments(
    meta: Arc<dyn MetaStore>,
    data: Arc<dyn DataStore>,
    segments: Vec<Segment>,
    offset: u64,
    len: u64,
) -> Result<ByteStream> {
    let readers = tokio::task::spawn_blocking(move || -> Result<Vec<BlobReader>> {
        let snapshot = if segments.iter().any(|s| s.inline) {
            Some(meta.snapshot()?)
        } else {
            None
        };
        let mut readers: Vec<BlobReader> = Vec::new();
        let mut skip = offset;
        let mut remaining = len;
        for seg in segments {
            if remaining == 0 {
                break;
            }
            if skip >= seg.size {
                skip -= seg.size;
                continue;
            }
            let take = (seg.size - skip).min(remaining);
            match &snapshot {
                Some(snap) if seg.inline => {
                    let bytes = snap
                        .get(&crate::keys::inline(&seg.data_id))?
                        .ok_or_else(|| GatewayError::Internal(format!("inline blob {} is missing", seg.data_id)))?;
                    let start = usize::try_from(skip).unwrap_or(usize::MAX).min(bytes.len());
                    let end = usize::try_from(skip + take).unwrap_or(usize::MAX).min(bytes.len());
                    readers.push(Box::new(std::io::Cursor::new(bytes[start..end].to_vec())));
                }
                _ => readers.push(data.open(&seg.data_id, skip, take)?),
            }
            remaining -= take;
            skip = 0;
        }
        Ok(readers)
    })
    .await??;

    let (tx, mut rx) = mpsc::channel::<std::result::Result<Bytes, BoxError>>(CHANNEL_DEPTH);
    tokio::task::spawn_blocking(move || {
        for mut reader in readers {
            loop {
                let mut buf = vec![0u8; READ_CHUNK];
                match read_full(&mut reader, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        buf.truncate(n);
                        if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                            return; // client went away
                        }
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(Box::new(e)));
                        return;
                    }
                }
            }
        }
    });
    Ok(Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx))))
}

impl crate::shared::Core {
    pub(crate) async fn write_blob(
        &self,
        body: ByteStream,
        expected_len: Option<u64>,
        max_size: u64,
    ) -> Result<WrittenBlob> {
        write_blob(self.data.clone(), body, expected_len, max_size).await
    }

    pub(crate) async fn read_segments(&self, segments: Vec<Segment>, offset: u64, len: u64) -> Result<ByteStream> {
        read_segments(self.meta.clone(), self.data.clone(), segments, offset, len).await
    }

    /// Removes a blob that never became visible (inline blobs were never stored anywhere).
    pub(crate) async fn discard_blob(&self, blob: &WrittenBlob) {
        if blob.inline.is_some() {
            return;
        }
        let data = self.data.clone();
        let id = blob.data_id.clone();
        let _ = tokio::task::spawn_blocking(move || data.delete(&id)).await;
    }
}

fn read_full(reader: &mut BlobReader, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
