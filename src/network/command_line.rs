//! What a typed line means: the one slash-command parser of the window and of plain-text peers
//! (`nc`, `telnet`), with one command set.
//!
//! Owns the command words, their aliases and what each needs (`/nick NAME`, `/me TEXT`,
//! `/msg NICK TEXT`, `/who`, `/help`, `/quit`), and the plain way out (`exit`, `quit`, `bye` on a
//! line of their own). Pure text in, [`Typed`] out: each side decides what a command does there
//! and answers, in its own words, the ones that make no sense for it (the window has a Leave
//! button and no use for `/quit`; a plain peer relays an unknown `/word` as said, as it always
//! did). Does not clean text: the plain dialect cleans a peer's line before it comes here.
//!
//! Commands are ASCII words, compared without regard to ASCII case on the line itself, and the
//! argument is what follows the word in that same line. Nothing is cut at offsets of a
//! case-mapped copy: case mapping changes lengths (U+212A KELVIN SIGN lowercases from three
//! bytes to one), so such an offset can fall inside a character of the original, and a line
//! typed into `nc` once took down the thread serving it. A word with a non-ASCII letter that
//! only case-folds to a command (`/nic` + U+212A) is no command.

/// A command that was typed without what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedsMore {
    /// `/nick` (or `/name`) without a name.
    Nick,
    /// `/me` without an action.
    Me,
    /// `/msg` (or `/query`) without a nickname and a text.
    Msg,
}

/// One typed line, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    /// Only white space.
    Nothing,
    /// Send as a message (`//text` arrives here as `/text`).
    Say(String),
    /// A line that is only `exit`, `quit` or `bye` (any ASCII case): how people leave `nc`,
    /// which has no other way; in the window, a message like any other.
    Farewell(String),
    /// `/me waves`: an action, shown to everyone as `* alice waves`.
    Action(String),
    /// `/nick NAME` or `/name NAME`: ask for another name (not yet checked).
    Nick(String),
    /// `/msg NICK text` or `/query NICK text`: a private message to that person.
    Private { to: String, text: String },
    /// `/who` or `/users`: who is online (anything after the word is ignored).
    Who,
    /// `/help` or `/?`: the commands (anything after the word is ignored).
    Help,
    /// `/quit` or `/exit`: leave the room (anything after the word is ignored).
    Quit,
    /// A command without what it needs: the side says how to use it.
    Usage(NeedsMore),
    /// `/word` that is no command; `line` is the whole line as typed.
    Unknown { word: String, line: String },
}

/// Lines that are a plain peer's way out when they are all there is.
const FAREWELLS: [&str; 3] = ["exit", "quit", "bye"];

/// Reads one line (trimmed as the caller wants it: the window keeps leading spaces, a plain
/// peer's line is trimmed whole).
pub fn parse(line: &str) -> Typed {
    if line.trim().is_empty() {
        return Typed::Nothing;
    }
    let Some(rest) = line.strip_prefix('/') else {
        if FAREWELLS
            .iter()
            .any(|word| line.trim().eq_ignore_ascii_case(word))
        {
            return Typed::Farewell(line.to_string());
        }
        return Typed::Say(line.to_string());
    };
    if rest.starts_with('/') {
        return Typed::Say(rest.to_string());
    }
    let (word, argument) = match rest.split_once(char::is_whitespace) {
        Some((word, argument)) => (word, argument.trim()),
        None => (rest, ""),
    };
    let is = |names: &[&str]| names.iter().any(|name| word.eq_ignore_ascii_case(name));
    if is(&["nick", "name"]) {
        return match argument.is_empty() {
            true => Typed::Usage(NeedsMore::Nick),
            false => Typed::Nick(argument.to_string()),
        };
    }
    if is(&["me"]) {
        return match argument.is_empty() {
            true => Typed::Usage(NeedsMore::Me),
            false => Typed::Action(argument.to_string()),
        };
    }
    if is(&["msg", "query"]) {
        return match argument.split_once(char::is_whitespace) {
            Some((to, text)) if !text.trim().is_empty() => Typed::Private {
                to: to.to_string(),
                text: text.trim().to_string(),
            },
            _ => Typed::Usage(NeedsMore::Msg),
        };
    }
    if is(&["who", "users"]) {
        return Typed::Who;
    }
    if is(&["help", "?"]) {
        return Typed::Help;
    }
    if is(&["quit", "exit"]) {
        return Typed::Quit;
    }
    Typed::Unknown {
        word: word.to_string(),
        line: line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_alias_is_read_alike_in_any_ascii_case() {
        assert_eq!(parse("/nick  Dana "), Typed::Nick("Dana".into()));
        assert_eq!(parse("/NAME bob"), Typed::Nick("bob".into()));
        assert_eq!(
            parse("/me waves\nhello"),
            Typed::Action("waves\nhello".into())
        );
        assert_eq!(
            parse("/Query dana  see you\nat 5 "),
            Typed::Private {
                to: "dana".into(),
                text: "see you\nat 5".into()
            }
        );
        for who in ["/who", "/USERS", "/who is here"] {
            assert_eq!(parse(who), Typed::Who, "{who}");
        }
        for help in ["/help", "/?", "/HELP me"] {
            assert_eq!(parse(help), Typed::Help, "{help}");
        }
        for quit in ["/quit", "/EXIT", "/quit see you"] {
            assert_eq!(parse(quit), Typed::Quit, "{quit}");
        }
    }

    #[test]
    fn lines_that_are_no_command_are_said_farewells_and_unknown_words_are_told_apart() {
        assert_eq!(parse("hi /me"), Typed::Say("hi /me".into()));
        assert_eq!(parse("//text"), Typed::Say("/text".into()));
        assert_eq!(parse(" \t "), Typed::Nothing);
        for bye in ["exit", "Quit", "BYE"] {
            assert_eq!(parse(bye), Typed::Farewell(bye.into()), "{bye}");
        }
        assert_eq!(parse("exit now"), Typed::Say("exit now".into()));
        assert_eq!(
            parse("/dance now"),
            Typed::Unknown {
                word: "dance".into(),
                line: "/dance now".into()
            }
        );
    }

    #[test]
    fn a_command_without_what_it_needs_asks_for_it() {
        assert_eq!(parse("/nick"), Typed::Usage(NeedsMore::Nick));
        assert_eq!(parse("/name  "), Typed::Usage(NeedsMore::Nick));
        assert_eq!(parse("/me"), Typed::Usage(NeedsMore::Me));
        assert_eq!(parse("/msg"), Typed::Usage(NeedsMore::Msg));
        assert_eq!(parse("/msg dana"), Typed::Usage(NeedsMore::Msg));
        assert_eq!(parse("/msg dana   "), Typed::Usage(NeedsMore::Msg));
    }

    #[test]
    fn only_ascii_case_makes_a_command_and_case_changing_letters_pass_through_whole() {
        for line in [
            "/nic\u{212A} bob",
            "/NIC\u{212A} bob",
            "/\u{0130}\u{0130}\u{0130}\u{0130} x",
            "/m\u{FB03} dana hi",
            "/ni\u{00DF}\u{1E9E} bob",
            "/who\u{212A}",
        ] {
            assert!(
                matches!(parse(line), Typed::Unknown { line: l, .. } if l == line),
                "{line:?}"
            );
        }
        assert_eq!(
            parse("\u{0130}/nick bob"),
            Typed::Say("\u{0130}/nick bob".into())
        );
        assert_eq!(
            parse("/NiCk \u{0130}\u{FB03}"),
            Typed::Nick("\u{0130}\u{FB03}".into())
        );
        assert_eq!(
            parse("/msg \u{212A}elvin stra\u{00DF}e"),
            Typed::Private {
                to: "\u{212A}elvin".into(),
                text: "stra\u{00DF}e".into()
            }
        );
    }
}
