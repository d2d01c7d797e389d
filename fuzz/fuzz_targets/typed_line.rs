//! Text people type or receive in the window: commands, mentions and Tab completion.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let _ = natter::commands::parse(&text);
    let _ = natter::mentions::last_word(&text);
    for nick in text.split(' ') {
        let _ = natter::mentions::mentions(&text, nick);
        let _ = natter::mentions::complete(&text, nick, &[nick.to_string()], "me");
    }
});
