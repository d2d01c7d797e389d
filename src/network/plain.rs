//! The plain-text dialect: what `nc`, `telnet` and tutorial socket scripts see and type.
//!
//! Owns the wording and layout of plain-text lines, and reading what a plain peer types
//! (cleaned, then the one command parser, `command_line`). Does not own sockets or the room:
//! the server calls these.

use super::command_line::{self, Typed};
use super::protocol::{ChatMessage, LeaveReason};
use super::text::clean_text;

/// Line ending sent to plain peers: telnet needs the CR, nc and Python ignore it.
pub const EOL: &str = "\r\n";

/// Reads one line from a plain peer with the one command parser (see `command_line`).
/// Invalid UTF-8 is replaced (U+FFFD), never fatal; escapes and control characters are
/// stripped, and the line trimmed, before anything else looks at the text.
pub fn parse_line(line: &[u8]) -> Typed {
    let text = clean_text(&String::from_utf8_lossy(line));
    command_line::parse(text.trim())
}

/// The welcome a plain peer reads first.
/// The greeting; `page`: the address of the room's page (PROTOCOL.md §14), where a browser
/// joins, told in the line that says how to leave (scripts read up to `/who`).
pub fn greeting(
    server: &str,
    welcome: &str,
    nick: &str,
    online: &[String],
    page: Option<&str>,
) -> String {
    let mut out = if server == "Natter" {
        format!("Welcome to Natter.{EOL}")
    } else {
        format!("Welcome to {server} (Natter).{EOL}")
    };
    if !welcome.is_empty() {
        out.push_str(welcome);
        out.push_str(EOL);
    }
    out.push_str(&format!(
        "You are {nick}. Type /nick NAME to pick a name. Type a line and press Enter to send it.{EOL}"
    ));
    let browser = page.map_or(String::new(), |url| {
        format!(" From a browser or phone: open {url}")
    });
    out.push_str(&format!(
        "Type exit, quit, BYE or /quit to leave; /who lists who is online.{browser}{EOL}"
    ));
    out.push_str(&who(online));
    out
}

pub fn help() -> String {
    format!(
        "Commands: /nick NAME (pick a name), /me TEXT (an action: * you TEXT), /msg NICK TEXT (a private message to one person), /who (who is online), exit or /quit (leave). Co-hosts also have /mute NICK [minutes], /unmute, /kick NICK [reason], /ban NICK|ADDRESS [minutes], /unban, /bans, /lecture on|off, /voice, /unvoice.{EOL}"
    )
}

pub fn who(online: &[String]) -> String {
    format!("* Online ({}): {}{EOL}", online.len(), online.join(", "))
}

/// `[HH:MM] nick: text`, in the server's local time. Lines of a multi-line message after the
/// first are indented so they cannot pass for a message of their own.
/// An action reads `[HH:MM] * alice waves`.
pub fn chat(message: &ChatMessage) -> String {
    let time = local_hh_mm(&message.time);
    let mut out = if message.action {
        format!("[{time}] * {} ", message.from)
    } else {
        format!("[{time}] {}: ", message.from)
    };
    push_text(&mut out, &message.text);
    out
}

/// Appends a message's text and the line end, its lines after the first indented under it.
fn push_text(out: &mut String, text: &str) {
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str(EOL);
            out.push_str("        ");
        }
        out.push_str(line);
    }
    out.push_str(EOL);
}

/// A private message as its plain-text recipient reads it: `[HH:MM] *dana* (private): text`.
pub fn private(message: &ChatMessage) -> String {
    labelled(message, &format!("*{}* (private)", message.from))
}

/// What a plain-text sender of a private message is shown: `[HH:MM] -> bob (private): text`.
pub fn private_sent(message: &ChatMessage) -> String {
    let to = message.to.as_deref().unwrap_or_default();
    labelled(message, &format!("-> {to} (private)"))
}

/// `[HH:MM] label: text`, continuation lines indented as in [`chat`]; an action keeps its
/// star: `[HH:MM] label: * dana waves`.
fn labelled(message: &ChatMessage, label: &str) -> String {
    let time = local_hh_mm(&message.time);
    let mut out = format!("[{time}] {label}: ");
    if message.action {
        out.push_str(&format!("* {} ", message.from));
    }
    push_text(&mut out, &message.text);
    out
}

/// `unencrypted`: the newcomer's link is not encrypted, on a host that offers encryption.
pub fn join(nick: &str, unencrypted: bool) -> String {
    if unencrypted {
        format!("* {nick} joined without encryption{EOL}")
    } else {
        format!("* {nick} joined{EOL}")
    }
}

/// A member's stay came back over a link that is not encrypted (`unencrypted`), or that is.
pub fn encryption(nick: &str, unencrypted: bool) -> String {
    if unencrypted {
        format!("* {nick} is now connected without encryption{EOL}")
    } else {
        format!("* {nick} is now connected with encryption{EOL}")
    }
}

pub fn leave(nick: &str, reason: LeaveReason, detail: &str) -> String {
    match reason {
        LeaveReason::Left => format!("* {nick} left{EOL}"),
        _ => format!("* {nick} left ({detail}){EOL}"),
    }
}

pub fn renamed(from: &str, to: &str) -> String {
    format!("* {from} is now {to}{EOL}")
}

/// A file offered to the room (or, `private`, to this peer): plain-text peers cannot take
/// files, so they are told what it is and how to get it.
pub fn file_offer(from: &str, name: &str, size: u64, private: bool) -> String {
    let you = if private { " you" } else { "" };
    let size = super::files::human_size(size);
    format!("* {from} offers{you} {name} ({size}): join with Natter to receive it{EOL}")
}

/// A room event in words (`* dana muted bob for 10 minutes`).
pub fn event(text: &str) -> String {
    format!("* {text}{EOL}")
}

pub fn notice(text: &str) -> String {
    format!("! {text}{EOL}")
}

fn local_hh_mm(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&chrono::Local).format("%H:%M").to_string())
        .unwrap_or_else(|_| "--:--".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_file_offer_tells_a_plain_peer_what_it_is_and_how_to_get_it() {
        assert_eq!(
            super::file_offer("dana", "photo.jpg", 2_100_000, false),
            "* dana offers photo.jpg (2.1 MB): join with Natter to receive it\r\n"
        );
    }

    use super::*;

    #[test]
    fn a_plain_line_is_cleaned_and_trimmed_before_the_command_parser_reads_it() {
        use crate::network::command_line::NeedsMore;
        assert_eq!(parse_line(b"hello there"), Typed::Say("hello there".into()));
        assert_eq!(parse_line(b"  BYE "), Typed::Farewell("BYE".into()));
        assert_eq!(parse_line(b"  /quit "), Typed::Quit);
        assert_eq!(parse_line(b"/nick  Dana "), Typed::Nick("Dana".into()));
        assert_eq!(parse_line(b" /ME  waves "), Typed::Action("waves".into()));
        assert_eq!(parse_line(b"/me"), Typed::Usage(NeedsMore::Me));
        assert_eq!(parse_line(b"/msg dana"), Typed::Usage(NeedsMore::Msg));
        assert_eq!(parse_line(b"\x1b[2J\x07"), Typed::Nothing);
        assert_eq!(
            parse_line(b"/nick \x1b[31mDana\x1b[0m"),
            Typed::Nick("Dana".into())
        );
        assert_eq!(
            parse_line(b"caf\xe9 ok"),
            Typed::Say("caf\u{fffd} ok".into())
        );
    }

    #[test]
    fn chat_lines_have_time_nick_and_indented_continuations() {
        let message = ChatMessage {
            id: 1,
            time: "2026-11-23T09:30:00.000Z".into(),
            from: "דנה".into(),
            text: "שלום\nsecond".into(),
            client_id: None,
            action: false,
            to: None,
        };
        let line = chat(&message);
        assert!(line.starts_with('['), "{line}");
        assert_eq!(&line[3..4], ":", "HH:MM in brackets: {line}");
        assert!(
            line.ends_with("] דנה: שלום\r\n        second\r\n"),
            "{line}"
        );
    }

    #[test]
    fn greeting_says_how_to_leave_and_pick_a_name() {
        let text = greeting(
            "Lab",
            "Be kind.",
            "guest-1",
            &["alice".into(), "guest-1".into()],
            Some("http://192.168.1.20:5050/"),
        );
        assert!(text.contains("From a browser or phone: open http://192.168.1.20:5050/\r\n"));
        assert!(text.contains("You are guest-1"));
        assert!(text.contains("/nick NAME"));
        assert!(text.contains("exit, quit, BYE or /quit"));
        assert!(text.contains("Online (2): alice, guest-1"));
    }
}
