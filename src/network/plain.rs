//! The plain-text dialect: what `nc`, `telnet` and tutorial socket scripts see and type.
//!
//! Owns the wording and layout of plain-text lines and the parsing of what a plain peer types
//! (`/nick`, `/who`, `exit`...). Does not own sockets or the room: the server calls these.

use super::protocol::{ChatMessage, LeaveReason};
use super::text::clean_text;

/// Line ending sent to plain peers: telnet needs the CR, nc and Python ignore it.
pub const EOL: &str = "\r\n";

/// What one line typed by a plain peer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlainCommand {
    /// Nothing to do (an empty line, or only white space and control bytes).
    Nothing,
    Say(String),
    /// `/me waves`: an action, relayed as `* alice waves`.
    Action(String),
    Nick(String),
    /// `/msg NICK text`: a private message for one person.
    Private {
        to: String,
        text: String,
    },
    /// `/msg` without a nickname and a text.
    PrivateUsage,
    Who,
    Help,
    Quit,
}

/// Reads one line from a plain peer. Invalid UTF-8 is replaced (U+FFFD), never fatal; escapes
/// and control characters are stripped before anything else looks at the text.
///
/// Commands are ASCII words, compared without regard to ASCII case on the line itself; the
/// argument is what follows the word in that same line. Nothing is cut at offsets taken from a
/// case-mapped copy: case mapping changes lengths (U+212A KELVIN SIGN lowercases from three
/// bytes to one), so such an offset can fall inside a character of the original, and a line
/// typed into `nc` panicked the thread serving it. A word with a non-ASCII letter that only
/// case-folds to a command (`/nic` + U+212A) is no command: it is said as typed.
pub fn parse_line(line: &[u8]) -> PlainCommand {
    let text = clean_text(&String::from_utf8_lossy(line));
    let text = text.trim();
    if text.is_empty() {
        return PlainCommand::Nothing;
    }
    let (word, argument) = match text.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (text, ""),
    };
    let is = |command: &str| word.eq_ignore_ascii_case(command);
    if argument.is_empty() {
        if ["exit", "quit", "bye", "/quit", "/exit"]
            .into_iter()
            .any(is)
        {
            return PlainCommand::Quit;
        }
        if is("/who") || is("/users") {
            return PlainCommand::Who;
        }
        if is("/help") || is("/?") {
            return PlainCommand::Help;
        }
    }
    if is("/nick") {
        return PlainCommand::Nick(argument.to_string());
    }
    if is("/msg") {
        let (to, said) = match argument.split_once(char::is_whitespace) {
            Some((to, said)) => (to, said.trim()),
            None => (argument, ""),
        };
        if to.is_empty() || said.is_empty() {
            return PlainCommand::PrivateUsage;
        }
        return PlainCommand::Private {
            to: to.to_string(),
            text: said.to_string(),
        };
    }
    if is("/me") && !argument.is_empty() {
        return PlainCommand::Action(argument.to_string());
    }
    PlainCommand::Say(text.to_string())
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
        "Commands: /nick NAME (pick a name), /me TEXT (an action: * you TEXT), /msg NICK TEXT (a private message to one person), /who (who is online), exit or /quit (leave).{EOL}"
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
    fn typed_lines_become_commands() {
        assert_eq!(
            parse_line(b"hello there"),
            PlainCommand::Say("hello there".into())
        );
        assert_eq!(parse_line(b"  BYE "), PlainCommand::Quit);
        for quit in ["exit", "quit", "Bye", "/quit"] {
            assert_eq!(parse_line(quit.as_bytes()), PlainCommand::Quit);
        }
        assert_eq!(
            parse_line(b"/nick  Dana "),
            PlainCommand::Nick("Dana".into())
        );
        assert_eq!(parse_line(b"/who"), PlainCommand::Who);
        assert_eq!(
            parse_line(b"/ME  waves "),
            PlainCommand::Action("waves".into())
        );
        assert_eq!(parse_line(b"/me"), PlainCommand::Say("/me".into()));
        assert_eq!(
            parse_line(b"/MSG dana  see you at 5 "),
            PlainCommand::Private {
                to: "dana".into(),
                text: "see you at 5".into()
            }
        );
        assert_eq!(parse_line(b"/msg dana"), PlainCommand::PrivateUsage);
        assert_eq!(parse_line(b"/msg"), PlainCommand::PrivateUsage);
        assert_eq!(parse_line(b"\x1b[2J\x07"), PlainCommand::Nothing);
        assert_eq!(
            parse_line(b"caf\xe9 ok"),
            PlainCommand::Say("caf\u{fffd} ok".into())
        );
        assert_eq!(
            parse_line("exit now".as_bytes()),
            PlainCommand::Say("exit now".into())
        );
    }

    #[test]
    fn letters_whose_case_mapping_changes_length_are_said_as_typed_not_cut_mid_character() {
        // U+212A KELVIN SIGN lowercases to ASCII k (3 bytes to 1): the line that took down an
        // I/O thread. U+0130 lowercases longer; ﬃ, ß and ẞ change length in upper case.
        for line in [
            "/nic\u{212A} bob",
            "/NIC\u{212A} bob",
            "\u{0130}/nick bob",
            "/\u{0130}\u{0130}\u{0130}\u{0130} x",
            "/m\u{FB03} dana hi",
            "/ni\u{00DF}\u{1E9E} bob",
            "\u{212A}\u{212A}\u{212A}\u{212A}\u{212A}\u{212A} k",
            "/who\u{212A}",
        ] {
            assert_eq!(
                parse_line(line.as_bytes()),
                PlainCommand::Say(line.into()),
                "{line:?}"
            );
        }
        assert_eq!(
            parse_line("/NICK \u{212A}elvin".as_bytes()),
            PlainCommand::Nick("\u{212A}elvin".into())
        );
        assert_eq!(
            parse_line("/Me  \u{0130}stanbul ".as_bytes()),
            PlainCommand::Action("\u{0130}stanbul".into())
        );
        assert_eq!(
            parse_line("/msg \u{1E9E}\u{FB03}  stra\u{00DF}e".as_bytes()),
            PlainCommand::Private {
                to: "\u{1E9E}\u{FB03}".into(),
                text: "stra\u{00DF}e".into()
            }
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
