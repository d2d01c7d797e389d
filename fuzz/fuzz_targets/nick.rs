//! A wanted nickname: tidying, look-alike keys and the reserved-name form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter::network::lookalike::{NickKey, reserved_form};
use natter::network::text::normalize_nick;

fuzz_target!(|bytes: &[u8]| {
    let wanted = String::from_utf8_lossy(bytes);
    let key = NickKey::of(&wanted);
    assert!(key.looks_like(&key));
    let _ = reserved_form(&wanted);
    if let Ok(nick) = normalize_nick(&wanted) {
        assert_eq!(normalize_nick(&nick).ok(), Some(nick));
    }
});
