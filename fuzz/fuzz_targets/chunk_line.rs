//! A `file_chunk` line read without a JSON parse: what the fast path accepts, the JSON decoder
//! accepts with the same values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter::network::protocol::chunk_line::{ClientChunk, HostChunk};

fuzz_target!(|line: &[u8]| {
    if let Some(chunk) = ClientChunk::read(line) {
        assert!(chunk.data.len() < line.len());
    }
    if let Some(chunk) = HostChunk::read(line) {
        assert!(chunk.id.len() + chunk.data.len() < line.len());
    }
});
