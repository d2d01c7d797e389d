//! A Natter peer's line: every frame either way, and a decoded frame encodes back to a line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter::network::protocol::{ClientFrame, ServerFrame, decode, encode};

fuzz_target!(|line: &[u8]| {
    if let Ok(frame) = decode::<ClientFrame>(line) {
        let again = encode(&frame);
        assert_eq!(
            decode::<ClientFrame>(&again[..again.len() - 1]).ok(),
            Some(frame)
        );
    }
    if let Ok(frame) = decode::<ServerFrame>(line) {
        let _ = encode(&frame);
    }
});
