//! Gzip: one member written, one member read, with the exact tolerance of the AWS CLI.
//!
//! The AWS CLI inflates log files with `zlib.decompressobj(MAX_WBITS | 16)` and digests with
//! `zlib.decompress(..., MAX_WBITS | 16)`. [`MemberInflater`] reproduces that behaviour (and
//! records what it tolerated, for `--strict`):
//! - a bad header, corrupt deflate data or a wrong CRC-32/ISIZE trailer is an error;
//! - a stream that stops early is *not* an error: what was inflated so far is the output;
//! - bytes after the end of the first member are never inflated; they are reported as
//!   trailing data.

use std::io::Write;

use flate2::{Compression, Crc, Decompress, FlushDecompress, Status};

/// Gzips `data` as a single member (mtime 0, no file name), the form CloudTrail writes.
#[must_use]
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::GzBuilder::new()
        .write(Vec::with_capacity(data.len() / 4 + 64), Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Why a gzip stream was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GzipError {
    /// Not a gzip header (zlib: `incorrect header check`, `unknown compression method`, ...).
    #[error("invalid gzip header: {0}")]
    Header(&'static str),
    /// Corrupt deflate data.
    #[error("invalid deflate data: {0}")]
    Data(String),
    /// The CRC-32 in the trailer does not match the data (zlib: `incorrect data check`).
    #[error("incorrect data check")]
    Crc,
    /// The ISIZE in the trailer does not match the data (zlib: `incorrect length check`).
    #[error("incorrect length check")]
    Length,
    /// More output than the caller allows: a gzip bomb, or a file larger than the limit.
    #[error("decompressed size exceeds the limit of {0} bytes")]
    TooLarge(u64),
}

/// How a member ended, once all input has been pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// The deflate stream ended and the 8-byte trailer was present and correct.
    pub complete: bool,
    /// Bytes followed the end of the member.
    pub trailing_data: bool,
    /// Bytes inflated.
    pub output_len: u64,
}

#[derive(Debug)]
enum State {
    Header,
    Body,
    Trailer,
    Done,
}

/// A push-style inflater for the first gzip member of a stream.
#[derive(Debug)]
pub struct MemberInflater {
    state: State,
    header: Vec<u8>,
    inflate: Decompress,
    crc: Crc,
    trailer: Vec<u8>,
    trailing: bool,
    out_total: u64,
    limit: u64,
    buf: Box<[u8]>,
}

const MAX_HEADER: usize = 1 << 20;

impl MemberInflater {
    /// An inflater that fails with [`GzipError::TooLarge`] past `limit` output bytes.
    #[must_use]
    pub fn new(limit: u64) -> Self {
        Self {
            state: State::Header,
            header: Vec::new(),
            inflate: Decompress::new(false),
            crc: Crc::new(),
            trailer: Vec::with_capacity(8),
            trailing: false,
            out_total: 0,
            limit,
            buf: vec![0u8; 64 * 1024].into_boxed_slice(),
        }
    }

    /// Makes the inflater ready for a new stream, keeping its buffers (cheaper than a new one
    /// when many small files are read).
    pub fn reset(&mut self, limit: u64) {
        self.state = State::Header;
        self.header.clear();
        self.inflate.reset(false);
        self.crc.reset();
        self.trailer.clear();
        self.trailing = false;
        self.out_total = 0;
        self.limit = limit;
    }

    /// How the member has ended so far, without consuming the inflater.
    #[must_use]
    pub fn completion(&self) -> Completion {
        Completion {
            complete: matches!(self.state, State::Done),
            trailing_data: self.trailing,
            output_len: self.out_total,
        }
    }

    /// Pushes compressed bytes; inflated bytes are passed to `sink` in order.
    ///
    /// # Errors
    /// [`GzipError`] when the stream is invalid or exceeds the limit. After an error the
    /// inflater must not be used again.
    pub fn push(&mut self, mut input: &[u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), GzipError> {
        while !input.is_empty() {
            match self.state {
                State::Header => {
                    let before = self.header.len();
                    self.header.extend_from_slice(input);
                    match parse_header(&self.header)? {
                        Some(len) => {
                            // Give back what belongs to the body.
                            let used = len.saturating_sub(before);
                            input = input.get(used..).unwrap_or(&[]);
                            self.header.clear();
                            self.state = State::Body;
                        }
                        None => {
                            if self.header.len() > MAX_HEADER {
                                return Err(GzipError::Header("header too long"));
                            }
                            input = &[];
                        }
                    }
                }
                State::Body => {
                    let in_before = self.inflate.total_in();
                    let out_before = self.inflate.total_out();
                    let status = self
                        .inflate
                        .decompress(input, &mut self.buf, FlushDecompress::None)
                        .map_err(|e| GzipError::Data(e.to_string()))?;
                    let consumed =
                        usize::try_from(self.inflate.total_in() - in_before).unwrap_or(usize::MAX);
                    let produced = usize::try_from(self.inflate.total_out() - out_before)
                        .unwrap_or(usize::MAX);
                    self.emit(produced, sink)?;
                    input = input.get(consumed..).unwrap_or(&[]);
                    match status {
                        Status::StreamEnd => self.state = State::Trailer,
                        Status::Ok | Status::BufError => {
                            if consumed == 0 && produced == 0 {
                                // Input left but no progress: never silently drop bytes.
                                return Err(GzipError::Data("inflate made no progress".to_owned()));
                            }
                        }
                    }
                }
                State::Trailer => {
                    let want = 8 - self.trailer.len();
                    let take = want.min(input.len());
                    self.trailer
                        .extend_from_slice(input.get(..take).unwrap_or(&[]));
                    input = input.get(take..).unwrap_or(&[]);
                    if self.trailer.len() == 8 {
                        let word = |i: usize| {
                            self.trailer
                                .get(i..i + 4)
                                .and_then(|s| <[u8; 4]>::try_from(s).ok())
                                .map_or(0, u32::from_le_bytes)
                        };
                        if word(0) != self.crc.sum() {
                            return Err(GzipError::Crc);
                        }
                        if word(4) != (self.out_total & 0xffff_ffff) as u32 {
                            return Err(GzipError::Length);
                        }
                        self.state = State::Done;
                    }
                }
                State::Done => {
                    self.trailing = true;
                    input = &[];
                }
            }
        }
        // Drain output the inflater holds back for lack of buffer space.
        if matches!(self.state, State::Body) {
            self.drain(sink)?;
        }
        Ok(())
    }

    fn drain(&mut self, sink: &mut dyn FnMut(&[u8])) -> Result<(), GzipError> {
        loop {
            let out_before = self.inflate.total_out();
            let status = self
                .inflate
                .decompress(&[], &mut self.buf, FlushDecompress::None)
                .map_err(|e| GzipError::Data(e.to_string()))?;
            let produced =
                usize::try_from(self.inflate.total_out() - out_before).unwrap_or(usize::MAX);
            if produced == 0 {
                return Ok(());
            }
            self.emit(produced, sink)?;
            if status == Status::StreamEnd {
                self.state = State::Trailer;
                return Ok(());
            }
        }
    }

    /// Counts, checksums and hands on the first `produced` bytes of the output buffer.
    fn emit(&mut self, produced: usize, sink: &mut dyn FnMut(&[u8])) -> Result<(), GzipError> {
        let out = self.buf.get(..produced).unwrap_or(&[]);
        self.out_total = self.out_total.saturating_add(produced as u64);
        if self.out_total > self.limit {
            return Err(GzipError::TooLarge(self.limit));
        }
        self.crc.update(out);
        sink(out);
        Ok(())
    }

    /// Ends the input and says how the member ended.
    #[must_use]
    pub fn finish(self) -> Completion {
        self.completion()
    }
}

/// Parses a gzip member header. `Ok(Some(len))` when complete, `Ok(None)` when more bytes are
/// needed.
fn parse_header(h: &[u8]) -> Result<Option<usize>, GzipError> {
    let at = |i: usize| h.get(i).copied();
    match (at(0), at(1)) {
        (Some(0x1f), Some(0x8b)) => {}
        (Some(0x1f), None) | (None, _) => return Ok(None),
        _ => return Err(GzipError::Header("incorrect header check")),
    }
    let Some(method) = at(2) else { return Ok(None) };
    if method != 8 {
        return Err(GzipError::Header("unknown compression method"));
    }
    let Some(flags) = at(3) else { return Ok(None) };
    if flags & 0xe0 != 0 {
        return Err(GzipError::Header("unknown header flags set"));
    }
    let mut pos = 10;
    if h.len() < pos {
        return Ok(None);
    }
    if flags & 0x04 != 0 {
        let (Some(lo), Some(hi)) = (at(pos), at(pos + 1)) else {
            return Ok(None);
        };
        pos += 2 + usize::from(u16::from_le_bytes([lo, hi]));
        if h.len() < pos {
            return Ok(None);
        }
    }
    for flag in [0x08, 0x10] {
        if flags & flag != 0 {
            match h
                .get(pos..)
                .and_then(|rest| rest.iter().position(|&b| b == 0))
            {
                Some(z) => pos += z + 1,
                None => return Ok(None),
            }
        }
    }
    if flags & 0x02 != 0 {
        let (Some(lo), Some(hi)) = (at(pos), at(pos + 1)) else {
            return Ok(None);
        };
        let mut crc = Crc::new();
        crc.update(h.get(..pos).unwrap_or(&[]));
        if u16::from_le_bytes([lo, hi]) != (crc.sum() & 0xffff) as u16 {
            return Err(GzipError::Header("header crc mismatch"));
        }
        pos += 2;
    }
    Ok(Some(pos))
}

/// Inflates the first member of a complete gzip object held in memory, as
/// `zlib.decompress(data, MAX_WBITS | 16)` does for digests: a truncated stream is an error,
/// bytes after the member are ignored (and reported in the second value).
///
/// # Errors
/// [`GzipError`] when the stream is invalid, truncated (reported as [`GzipError::Data`]) or
/// larger than `limit`.
pub fn gunzip_first_member(data: &[u8], limit: u64) -> Result<(Vec<u8>, bool), GzipError> {
    let header_len = match parse_header(data)? {
        Some(n) => n,
        None => return Err(GzipError::Data("incomplete or truncated stream".to_owned())),
    };
    let body = data.get(header_len..).unwrap_or(&[]);
    // Inflate straight into the output's spare capacity: no intermediate buffer to zero.
    let mut inflate = Decompress::new(false);
    let mut out: Vec<u8> = Vec::with_capacity(body.len().saturating_mul(4).clamp(256, 1 << 24));
    let stream_end = loop {
        let consumed = usize::try_from(inflate.total_in()).unwrap_or(usize::MAX);
        let input = body.get(consumed..).unwrap_or(&[]);
        let before = out.len();
        let status = inflate
            .decompress_vec(input, &mut out, FlushDecompress::Finish)
            .map_err(|e| GzipError::Data(e.to_string()))?;
        if out.len() as u64 > limit {
            return Err(GzipError::TooLarge(limit));
        }
        match status {
            Status::StreamEnd => break true,
            _ if out.len() == out.capacity() => out.reserve(out.capacity().max(4096)),
            _ if out.len() == before => break false,
            _ => {}
        }
    };
    if !stream_end {
        return Err(GzipError::Data("incomplete or truncated stream".to_owned()));
    }
    let consumed = usize::try_from(inflate.total_in()).unwrap_or(usize::MAX);
    let rest = body.get(consumed..).unwrap_or(&[]);
    let Some(trailer) = rest.get(..8) else {
        return Err(GzipError::Data("incomplete or truncated stream".to_owned()));
    };
    let word = |i: usize| {
        trailer
            .get(i..i + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map_or(0, u32::from_le_bytes)
    };
    let mut crc = Crc::new();
    crc.update(&out);
    if word(0) != crc.sum() {
        return Err(GzipError::Crc);
    }
    if word(4) != (out.len() as u64 & 0xffff_ffff) as u32 {
        return Err(GzipError::Length);
    }
    Ok((out, rest.len() > 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate_in_chunks(
        data: &[u8],
        chunk: usize,
    ) -> (Result<Vec<u8>, GzipError>, Option<Completion>) {
        let mut out = Vec::new();
        let mut inf = MemberInflater::new(u64::MAX);
        for c in data.chunks(chunk.max(1)) {
            if let Err(e) = inf.push(c, &mut |b| out.extend_from_slice(b)) {
                return (Err(e), None);
            }
        }
        (Ok(out), Some(inf.finish()))
    }

    #[test]
    fn round_trip_any_chunking() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let gz = gzip(&data);
        for chunk in [1, 7, 2048, 65536, gz.len()] {
            let (out, done) = inflate_in_chunks(&gz, chunk);
            assert_eq!(out.unwrap(), data, "chunk {chunk}");
            let done = done.unwrap();
            assert!(done.complete && !done.trailing_data);
        }
    }

    #[test]
    fn gzip_is_deterministic_single_member() {
        assert_eq!(gzip(b"abc"), gzip(b"abc"));
        let (out, trailing) = gunzip_first_member(&gzip(b"abc"), 100).unwrap();
        assert_eq!(out, b"abc");
        assert!(!trailing);
    }

    #[test]
    fn tolerates_like_zlib() {
        let data = b"{\"Records\":[]}".repeat(100);
        let gz = gzip(&data);
        // Trailer cut off: all data, not complete, no error (the AWS CLI hashes it).
        let (out, done) = inflate_in_chunks(gz.get(..gz.len() - 4).unwrap(), 2048);
        assert_eq!(out.unwrap(), data);
        assert!(!done.unwrap().complete);
        // Second member: trailing data, first member's output only.
        let mut two = gz.clone();
        two.extend_from_slice(&gz);
        let (out, done) = inflate_in_chunks(&two, 5);
        assert_eq!(out.unwrap(), data);
        assert!(done.unwrap().trailing_data);
        // Bad CRC.
        let mut bad = gz.clone();
        let n = bad.len();
        bad[n - 6] ^= 1;
        assert_eq!(inflate_in_chunks(&bad, 2048).0, Err(GzipError::Crc));
        // Not gzip.
        assert_eq!(
            inflate_in_chunks(b"not gzip at all", 2048).0,
            Err(GzipError::Header("incorrect header check"))
        );
        // Empty input: no output, not complete, no error.
        let (out, done) = inflate_in_chunks(b"", 2048);
        assert!(out.unwrap().is_empty());
        assert!(!done.unwrap().complete);
        // One-shot: truncated is an error, trailing ignored.
        assert!(gunzip_first_member(gz.get(..gz.len() - 4).unwrap(), u64::MAX).is_err());
        assert_eq!(gunzip_first_member(&two, u64::MAX).unwrap(), (data, true));
    }

    #[test]
    fn header_with_optional_fields() {
        let mut enc = flate2::GzBuilder::new()
            .filename("x.json")
            .comment("c")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), Compression::fast());
        enc.write_all(b"hello").unwrap();
        let gz = enc.finish().unwrap();
        for chunk in [1, 3, 100] {
            assert_eq!(inflate_in_chunks(&gz, chunk).0.unwrap(), b"hello");
        }
    }

    #[test]
    fn one_shot_agrees_with_streaming() {
        let data: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 97).to_le_bytes())
            .collect();
        let gz = gzip(&data);
        assert_eq!(
            gunzip_first_member(&gz, u64::MAX).unwrap(),
            (data.clone(), false)
        );
        assert_eq!(
            gunzip_first_member(&gz, 1000),
            Err(GzipError::TooLarge(1000))
        );
        for cut in [0, 5, 10, gz.len() / 2, gz.len() - 8, gz.len() - 1] {
            assert!(
                gunzip_first_member(gz.get(..cut).unwrap(), u64::MAX).is_err(),
                "cut {cut}"
            );
        }
        let mut bad = gz.clone();
        let n = bad.len();
        bad[n - 2] ^= 1;
        assert_eq!(gunzip_first_member(&bad, u64::MAX), Err(GzipError::Length));
    }

    #[test]
    fn bomb_is_stopped() {
        let gz = gzip(&vec![0u8; 10 << 20]);
        let mut inf = MemberInflater::new(1 << 20);
        assert_eq!(
            inf.push(&gz, &mut |_| {}),
            Err(GzipError::TooLarge(1 << 20))
        );
    }
}

#[cfg(test)]
mod fuzz_regressions {
    use super::*;
    use base64::Engine;

    fn run(data: &[u8], chunk: usize) -> (Result<Vec<u8>, GzipError>, Option<Completion>) {
        let mut out = Vec::new();
        let mut inf = MemberInflater::new(64 << 20);
        for c in data.chunks(chunk) {
            if let Err(e) = inf.push(c, &mut |b| out.extend_from_slice(b)) {
                return (Err(e), None);
            }
        }
        (Ok(out), Some(inf.finish()))
    }

    #[test]
    fn chunking_does_not_change_the_result() {
        let input = base64::engine::general_purpose::STANDARD
            .decode("AB+LCAAAAAAgAB87AB+LAQAAAAAtAIgtYCkAAAgMAAAEAAAAAAAAAAAA////////////////////////////")
            .unwrap();
        let data = &input[1..];
        // Found by the `gunzip` fuzz target: both reject the stream (zlib-rs words the error
        // differently depending on where the input was cut, which does not reach a verdict).
        let (whole, one) = (run(data, data.len()), run(data, 1));
        assert!(whole.0.is_err() && one.0.is_err(), "{whole:?} {one:?}");
    }
}
