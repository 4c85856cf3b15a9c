//! Streaming object bytes in and out of the data store without buffering whole objects: a bounded channel
//! feeds a blocking thread that hashes (MD5, once) and writes; reads come back in fixed-size chunks.

use crate::error::{GatewayError, Result};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use meridian_model::Segment;
use meridian_store::{BlobReader, DataStore};
use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
pub type ByteStream = Pin<Box<dyn Stream<Item = std::result::Result<Bytes, BoxError>> + Send + Sync>>;

const READ_CHUNK: usize = 256 * 1024;
const CHANNEL_DEPTH: usize = 4;

pub(crate) struct WrittenBlob {
    pub data_id: String,
    pub size: u64,
    pub md5: [u8; 16],
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

    let mut received = 0u64;
    let mut failure = None;
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
        Some((size, md5)) => Ok(WrittenBlob { data_id, size, md5 }),
        None => Err(GatewayError::Internal("blob writer stopped early".into())),
    }
}

/// Streams `len` bytes starting at `offset` of the concatenation of `segments`. Every needed blob is
/// opened before this returns, so a concurrent overwrite (and its garbage collection) cannot tear the read.
pub(crate) async fn read_segments(
    data: Arc<dyn DataStore>,
    segments: Vec<Segment>,
    offset: u64,
    len: u64,
) -> Result<ByteStream> {
    let readers = tokio::task::spawn_blocking(move || -> Result<Vec<BlobReader>> {
        let mut readers = Vec::new();
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
            readers.push(data.open(&seg.data_id, skip, take)?);
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
