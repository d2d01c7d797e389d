//! An offered file's name, as it would be saved.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter::network::files::{clean_file_name, with_number};

fuzz_target!(|bytes: &[u8]| {
    let offered = String::from_utf8_lossy(bytes);
    let name = clean_file_name(&offered);
    assert!(!name.is_empty() && name != "." && name != "..");
    assert!(!name.contains(['/', '\\']));
    let _ = with_number(&name, 2);
});
