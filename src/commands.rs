//! What a line typed in the chat window means: a message, or one of the window's commands
//! (`/nick`, `/me`, `/who`, `/help`). Pure: `app` carries the result out.

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
    /// A command used wrongly, or unknown: this sentence is shown locally, nothing is sent.
    Local(String),
}

/// What `/help` shows.
pub const HELP: &str = "Commands: /nick NAME (change your name) · /me TEXT (an action: * you TEXT) · /msg NICK TEXT (a private message; or click a name in the list) · /who (who is online) · /help (this list). Start a message with // to send a line that begins with /.";

pub fn parse(line: &str) -> Typed {
    let Some(rest) = line.strip_prefix('/') else {
        return Typed::Say(line.to_string());
    };
    if rest.starts_with('/') {
        return Typed::Say(rest.to_string());
    }
    let (word, argument) = match rest.split_once(char::is_whitespace) {
        Some((word, argument)) => (word, argument.trim()),
        None => (rest, ""),
    };
    // Commands are ASCII: only ASCII case is ignored, so `/nic` + U+212A KELVIN SIGN (which
    // lowercases to `k`) is no `/nick`. Nothing is cut at a case-mapped copy's offsets.
    match word.to_ascii_lowercase().as_str() {
        "nick" | "name" if argument.is_empty() => {
            Typed::Local("Type /nick and the name you want, e.g. /nick Dana.".into())
        }
        "nick" | "name" => Typed::Nick(argument.to_string()),
        "me" if argument.is_empty() => {
            Typed::Local("Type /me and what you do, e.g. /me waves.".into())
        }
        "me" => Typed::Action(argument.to_string()),
        "msg" | "query" => match argument.split_once(char::is_whitespace) {
            Some((to, text)) if !text.trim().is_empty() => Typed::Private {
                to: to.to_string(),
                text: text.trim().to_string(),
            },
            _ => Typed::Local(
                "Type /msg, a name and your message, e.g. /msg Dana see you at 5. (Or click a name in the list.)".into(),
            ),
        },
        "who" | "users" => Typed::Who,
        "help" | "?" => Typed::Help,
        _ => Typed::Local(format!(
            "Unknown command /{word}; /help lists them. (Start with // to send a line that begins with /.)"
        )),
    }
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
