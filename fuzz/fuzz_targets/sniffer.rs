//! A connection's first bytes: which dialect they speak.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter::network::protocol::detect_dialect;

fuzz_target!(|first: &[u8]| {
    let _ = detect_dialect(first);
});
