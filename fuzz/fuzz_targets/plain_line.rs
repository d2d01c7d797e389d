//! A plain peer's line (`nc`): the command parser, with the text it keeps checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter::network::plain::{PlainCommand, parse_line};
use natter::network::text::clean_text;

fuzz_target!(|line: &[u8]| {
    let typed = clean_text(&String::from_utf8_lossy(line));
    match parse_line(line) {
        PlainCommand::Say(kept) | PlainCommand::Action(kept) | PlainCommand::Nick(kept) => {
            assert!(typed.contains(&kept));
        }
        PlainCommand::Private { to, text } => {
            assert!(typed.contains(&to) && typed.contains(&text));
        }
        _ => {}
    }
});
