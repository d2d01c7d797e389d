//! A plain peer's line (`nc`): the command parser, with the text it keeps checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter::network::command_line::Typed;
use natter::network::plain::parse_line;
use natter::network::text::clean_text;

fuzz_target!(|line: &[u8]| {
    let typed = clean_text(&String::from_utf8_lossy(line));
    match parse_line(line) {
        Typed::Say(kept)
        | Typed::Action(kept)
        | Typed::Nick(kept)
        | Typed::Farewell(kept)
        | Typed::Unknown { line: kept, .. } => {
            assert!(typed.contains(&kept));
        }
        Typed::Private { to, text } => {
            assert!(typed.contains(&to) && typed.contains(&text));
        }
        _ => {}
    }
});
