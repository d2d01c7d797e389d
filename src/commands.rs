//! What a line typed in the chat window means: a message, or one of the commands
//! (`/nick`, `/me`, `/msg`, `/who`, `/help`) read by the parser plain-text peers share
//! (`network::command_line`), with the window's own answers. Pure: `app` carries the result out.

use crate::network::command_line::{self, NeedsMore, Typed as Shared};
use crate::network::protocol::ModCommand;
use crate::network::text::nicks_look_alike;

/// One typed line, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    /// Send as a message (`//text` arrives here as `/text`).
    Say(String),
    /// `/me waves`: an action, shown to everyone as `* alice waves`.
    Action(String),
    /// `/nick NAME`: ask the host for another name (not yet checked).
    Nick(String),
    /// `/msg NICK text`: a private message to that person, in a conversation with them.
    Private { to: String, text: String },
    /// `/who`: list who is online, locally.
    Who,
    /// `/help`: list the commands, locally.
    Help,
    /// `/mute`, `/kick`, `/ban`…: sent to the host, which answers whether it may be done.
    Moderate(ModCommand),
    /// A command used wrongly, or unknown: this sentence is shown locally, nothing is sent.
    Local(String),
}

/// What `/help` shows.
pub const HELP: &str = "Commands: /nick NAME (change your name) · /me TEXT (an action: * you TEXT) · /msg NICK TEXT (a private message; or click a name in the list) · /who (who is online) · /help (this list). Start a message with // to send a line that begins with /. The host and co-hosts also have /mute NICK [minutes], /unmute, /kick NICK [reason], /ban NICK|ADDRESS [minutes], /unban, /bans, /lecture on|off, /voice, /unvoice, /op, /deop (or right-click a name).";

/// Reads a line typed in the window with the one command parser (`network::command_line`,
/// which plain-text peers' lines go through too), and answers here what only concerns the
/// window: how to use a command, an unknown word, and `/quit` (the window has Leave).
pub fn parse(line: &str) -> Typed {
    match command_line::parse(line) {
        // The window sends no blank line; what it was given it gets back, as ever.
        Shared::Nothing => Typed::Say(line.to_string()),
        Shared::Say(text) | Shared::Farewell(text) => Typed::Say(text),
        Shared::Action(text) => Typed::Action(text),
        Shared::Nick(name) => Typed::Nick(name),
        Shared::Private { to, text } => Typed::Private { to, text },
        Shared::Who => Typed::Who,
        Shared::Help => Typed::Help,
        Shared::Quit => Typed::Local(
            "To leave the room, press Leave at the top (or Stop hosting, if you host). Nothing was sent.".into(),
        ),
        Shared::Usage(NeedsMore::Nick) => {
            Typed::Local("Type /nick and the name you want, e.g. /nick Dana.".into())
        }
        Shared::Usage(NeedsMore::Me) => {
            Typed::Local("Type /me and what you do, e.g. /me waves.".into())
        }
        Shared::Usage(NeedsMore::Msg) => Typed::Local(
            "Type /msg, a name and your message, e.g. /msg Dana see you at 5. (Or click a name in the list.)".into(),
        ),
        Shared::Moderate(command) => Typed::Moderate(command),
        Shared::Usage(NeedsMore::Moderation { usage }) => Typed::Local(format!("Type {usage}.")),
        Shared::Unknown { word, .. } => Typed::Local(format!(
            "Unknown command /{word}; /help lists them. (Start with // to send a line that begins with /.)"
        )),
    }
}

/// Who a private message typed as `/msg TO ...` goes to: the name as the list spells it when
/// the server would take `to` for it (case, look-alike letters: `NickKey`, the one nickname
/// equality), else `to` as typed; `Err` with what to say when that is `me`.
pub fn recipient(to: &str, users: &[String], me: &str) -> Result<String, &'static str> {
    let to = users
        .iter()
        .find(|user| nicks_look_alike(user, to))
        .cloned()
        .unwrap_or_else(|| to.to_string());
    if nicks_look_alike(&to, me) {
        return Err("That is you: a private message goes to someone else. Nothing was sent.");
    }
    Ok(to)
}

/// `/who`'s answer.
pub fn who(users: &[String]) -> String {
    format!("Online ({}): {}", users.len(), users.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ascii_case_makes_a_command_and_case_changing_letters_pass_through_whole() {
        assert_eq!(
            parse("/nic\u{212A} bob"),
            Typed::Local(
                "Unknown command /nic\u{212A}; /help lists them. (Start with // to send a line that begins with /.)"
                    .into()
            )
        );
        assert_eq!(
            parse("/NiCk \u{0130}\u{FB03}"),
            Typed::Nick("\u{0130}\u{FB03}".into())
        );
        assert_eq!(
            parse("/ME \u{1E9E}\u{00DF}"),
            Typed::Action("\u{1E9E}\u{00DF}".into())
        );
        assert_eq!(
            parse("/msg \u{212A}elvin stra\u{00DF}e"),
            Typed::Private {
                to: "\u{212A}elvin".into(),
                text: "stra\u{00DF}e".into()
            }
        );
    }

    #[test]
    fn quit_and_farewells_typed_in_the_window_leave_nothing_and_send_the_farewell_as_said() {
        assert!(
            matches!(parse("/quit"), Typed::Local(s) if s.starts_with("To leave the room, press Leave"))
        );
        assert_eq!(parse("bye"), Typed::Say("bye".into()));
        assert_eq!(parse("/name bob"), Typed::Nick("bob".into()));
    }

    #[test]
    fn a_private_recipient_is_found_and_refused_as_the_server_compares_nicknames() {
        let users: Vec<String> = ["Dana", "\u{212A}elvin", "alice"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(recipient("dana", &users, "alice"), Ok("Dana".into()));
        // Cyrillic а in "dаna" and KELVIN SIGN: the server takes both for the member.
        assert_eq!(recipient("d\u{0430}na", &users, "alice"), Ok("Dana".into()));
        assert_eq!(
            recipient("kelvin", &users, "alice"),
            Ok("\u{212A}elvin".into())
        );
        assert_eq!(recipient("eve", &users, "alice"), Ok("eve".into()));
        assert!(recipient("AL\u{0406}CE", &users, "alice").is_err());
        assert!(recipient("Alice", &users, "alice").is_err());
    }

    #[test]
    fn typed_lines_become_messages_commands_or_local_answers() {
        assert_eq!(parse("hi /me"), Typed::Say("hi /me".into()));
        assert_eq!(parse("/nick  Dana "), Typed::Nick("Dana".into()));
        assert_eq!(parse("/NICK bob"), Typed::Nick("bob".into()));
        assert_eq!(
            parse("/me waves\nhello"),
            Typed::Action("waves\nhello".into())
        );
        assert_eq!(parse("/who"), Typed::Who);
        assert_eq!(
            parse("/msg Dana  see you\nat 5 "),
            Typed::Private {
                to: "Dana".into(),
                text: "see you\nat 5".into()
            }
        );
        assert!(matches!(parse("/msg Dana"), Typed::Local(s) if s.starts_with("Type /msg")));
        assert_eq!(parse("/help"), Typed::Help);
        assert_eq!(parse("//text"), Typed::Say("/text".into()));
        assert!(matches!(parse("/me"), Typed::Local(_)));
        assert!(matches!(parse("/nick"), Typed::Local(_)));
        assert!(
            matches!(parse("/dance now"), Typed::Local(s) if s.starts_with("Unknown command /dance; /help lists them"))
        );
    }
}
