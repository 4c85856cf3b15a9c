//! Follows the framing of an `aws-chunked` request body (`<hex size>[;ext]\r\n<data>\r\n` ... `0[;ext]\r\n`
//! [trailers]) to tell whether it ended with its final zero-length chunk. s3s decodes and verifies the chunks
//! but treats a body that stops after a data chunk as complete; this tracker lets the HTTP layer refuse it.

/// The longest chunk header line accepted (s3s's own limit is 1 KiB).
const MAX_HEADER_LINE: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Reading a chunk header line (bytes so far).
    Header(Vec<u8>),
    /// Inside a chunk's data: bytes left.
    Data(u64),
    /// The CR LF after a chunk's data: bytes of it left.
    DataEnd(u8),
    /// The zero-length chunk was seen; the rest (trailers) is s3s's business.
    Done,
    /// The framing is broken; s3s reports it (FormatError), so the tracker stays quiet.
    Malformed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkFrames {
    state: State,
}

impl Default for ChunkFrames {
    fn default() -> Self {
        Self::new()
    }
}

/// The size field of a chunk header line (before `;` or the line end), if it is valid hex.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let size = line.split(|b| *b == b';').next().unwrap_or_default();
    if size.is_empty() || size.len() > 16 || !size.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(size).ok()?, 16).ok()
}

impl ChunkFrames {
    pub fn new() -> Self {
        Self {
            state: State::Header(Vec::new()),
        }
    }

    /// Feeds the next bytes of the raw body.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Done | State::Malformed => return,
                State::Header(line) => match bytes.iter().position(|b| *b == b'\n') {
                    Some(end) => {
                        line.extend_from_slice(&bytes[..end]);
                        bytes = &bytes[end + 1..];
                        self.state = match chunk_size(line) {
                            Some(0) => State::Done,
                            Some(n) => State::Data(n),
                            None => State::Malformed,
                        };
                    }
                    None => {
                        line.extend_from_slice(bytes);
                        if line.len() > MAX_HEADER_LINE {
                            self.state = State::Malformed;
                        }
                        return;
                    }
                },
                State::Data(left) => {
                    let take = usize::try_from(*left).unwrap_or(usize::MAX).min(bytes.len());
                    *left -= take as u64;
                    bytes = &bytes[take..];
                    if *left == 0 {
                        self.state = State::DataEnd(2);
                    }
                }
                State::DataEnd(left) => {
                    let expected: &[u8] = if *left == 2 { b"\r\n" } else { b"\n" };
                    if bytes[0] != expected[0] {
                        self.state = State::Malformed;
                        return;
                    }
                    bytes = &bytes[1..];
                    *left -= 1;
                    if *left == 0 {
                        self.state = State::Header(Vec::new());
                    }
                }
            }
        }
    }

    /// At the end of the body: true if it was truncated, i.e. well framed so far but without the final
    /// zero-length chunk.
    pub fn missing_final_chunk(&self) -> bool {
        !matches!(self.state, State::Done | State::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn framed(chunks: &[&[u8]], final_chunk: bool) -> Vec<u8> {
        let sig = "0".repeat(64);
        let mut out = Vec::new();
        for c in chunks {
            out.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", c.len()).as_bytes());
            out.extend_from_slice(c);
            out.extend_from_slice(b"\r\n");
        }
        if final_chunk {
            out.extend_from_slice(format!("0;chunk-signature={sig}\r\n\r\n").as_bytes());
        }
        out
    }

    #[test]
    fn complete_and_truncated_bodies() {
        let mut t = ChunkFrames::new();
        t.feed(&framed(&[b"hello", b"world"], true));
        assert!(!t.missing_final_chunk());

        let mut t = ChunkFrames::new();
        t.feed(&framed(&[b"hello", b"world"], false));
        assert!(t.missing_final_chunk());

        let mut t = ChunkFrames::new();
        t.feed(b"");
        assert!(t.missing_final_chunk(), "an empty body has no final chunk either");

        let mut t = ChunkFrames::new();
        t.feed(b"zz;chunk-signature=x\r\n");
        assert!(!t.missing_final_chunk(), "malformed framing is left to s3s");

        // Unsigned streaming with a trailer: `0\r\n` then trailers.
        let mut t = ChunkFrames::new();
        t.feed(b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
        assert!(!t.missing_final_chunk());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
        ))]

        /// However the bytes are split across reads, the verdict is the same as for one read.
        #[test]
        fn verdict_does_not_depend_on_splits(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 0..6),
            final_chunk in any::<bool>(),
            cuts in proptest::collection::vec(1usize..64, 0..40),
        ) {
            let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
            let body = framed(&refs, final_chunk);
            let mut whole = ChunkFrames::new();
            whole.feed(&body);
            prop_assert_eq!(whole.missing_final_chunk(), !final_chunk);
            let mut split = ChunkFrames::new();
            let mut rest = body.as_slice();
            for cut in cuts {
                let n = cut.min(rest.len());
                split.feed(&rest[..n]);
                rest = &rest[n..];
            }
            split.feed(rest);
            prop_assert_eq!(split.missing_final_chunk(), !final_chunk);
        }

        /// Arbitrary bytes never panic, and any proper prefix of a complete body is reported as truncated
        /// (once past the first header line).
        #[test]
        fn arbitrary_bytes_and_prefixes(
            noise in proptest::collection::vec(any::<u8>(), 0..2000),
            data in proptest::collection::vec(any::<u8>(), 1..500),
            cut in 0usize..600,
        ) {
            let mut t = ChunkFrames::new();
            t.feed(&noise);
            let _ = t.missing_final_chunk();
            let body = framed(&[&data], true);
            let head_len = body.iter().position(|b| *b == b'\n').unwrap_or(0) + 1;
            let end_of_data = head_len + data.len() + 2;
            let cut = cut.min(end_of_data);
            let mut t = ChunkFrames::new();
            t.feed(&body[..cut]);
            prop_assert!(t.missing_final_chunk());
        }
    }
}
