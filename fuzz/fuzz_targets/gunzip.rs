//! The gzip reader on arbitrary bytes, fed in arbitrary chunks: no panic, and the result does
//! not depend on how the input was split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealtrail_integrity::gzip::{MemberInflater, gunzip_first_member};
use sealtrail_integrity::logfile::LogHasher;

const LIMIT: u64 = 64 << 20;

/// The inflated bytes and how the member ended; errors compare equal whatever their wording
/// (zlib-rs words the same corrupt stream differently depending on where the input was cut,
/// and only "invalid" reaches a verdict).
fn inflate(data: &[u8], chunk: usize) -> (Result<Vec<u8>, ()>, Option<(bool, bool)>) {
    let mut out = Vec::new();
    let mut inf = MemberInflater::new(LIMIT);
    for c in data.chunks(chunk.max(1)) {
        if inf.push(c, &mut |b| out.extend_from_slice(b)).is_err() {
            return (Err(()), None);
        }
    }
    let done = inf.finish();
    (Ok(out), Some((done.complete, done.trailing_data)))
}

fuzz_target!(|input: &[u8]| {
    let Some((&split, data)) = input.split_first() else { return };
    let whole = inflate(data, data.len());
    let chunked = inflate(data, usize::from(split) + 1);
    assert_eq!(whole, chunked, "the result depends on the chunking");
    // The one-shot reader (digests) agrees with the streaming one (log files).
    match (&whole, gunzip_first_member(data, LIMIT)) {
        ((Ok(out), Some((true, trailing))), Ok((one, one_trailing))) => {
            assert_eq!((out, *trailing), (&one, one_trailing), "one-shot and streaming differ");
        }
        ((Ok(_), Some((true, _))), Err(e)) => panic!("one-shot rejected a complete stream: {e}"),
        ((Ok(_), Some((false, _))), Ok(_)) => panic!("one-shot accepted a truncated stream"),
        ((Err(_), _), Ok(_)) => panic!("one-shot accepted what streaming rejected"),
        _ => {}
    }
    let _ = LogHasher::hash_all(data, LIMIT);
});
