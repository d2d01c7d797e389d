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
    /// A moderation command without what it needs; `usage` says how to type it.
    Moderation { usage: &'static str },
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
    /// `/mute`, `/kick`, `/ban`… (see [`ModCommand`]): the host's and co-hosts' tools.
    Moderate(ModCommand),
    /// `/word` that is no command; `line` is the whole line as typed.
    Unknown { word: String, line: String },
}

use super::protocol::{MAX_MINUTES, ModCommand};

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
    if let Some(typed) = moderation(&word.to_ascii_lowercase(), argument) {
        return typed;
    }
    Typed::Unknown {
        word: word.to_string(),
        line: line.to_string(),
    }
}

/// How each moderation command is typed.
pub const MODERATION_USAGE: [(&str, &str); 9] = [
    (
        "mute",
        "/mute NICK [minutes] (their messages reach nobody), /unmute NICK",
    ),
    (
        "kick",
        "/kick NICK [reason] (they are disconnected; they may come back)",
    ),
    (
        "ban",
        "/ban NICK|ADDRESS [minutes] (their address is refused), /unban NICK|ADDRESS",
    ),
    ("bans", "/bans (the bans in force)"),
    (
        "lecture",
        "/lecture on|off (only the host, co-hosts and the voiced may write)",
    ),
    (
        "voice",
        "/voice NICK, /unvoice NICK (may write during a lecture)",
    ),
    (
        "op",
        "/op NICK, /deop NICK (a co-host, with the same tools)",
    ),
    ("unmute", "/unmute NICK"),
    ("unban", "/unban NICK|ADDRESS"),
];

/// How `word` (a moderation command's) is typed.
fn usage_of(word: &str) -> &'static str {
    let family = match word {
        "unvoice" => "voice",
        "deop" => "op",
        other => other,
    };
    (MODERATION_USAGE.iter())
        .find(|(w, _)| *w == family)
        .map_or("", |(_, usage)| usage)
}

/// A moderation command (`word` in small ASCII letters), if `word` is one.
fn moderation(word: &str, argument: &str) -> Option<Typed> {
    let usage = || {
        Typed::Usage(NeedsMore::Moderation {
            usage: usage_of(word),
        })
    };
    let nick = || unquoted(argument);
    let needs_nick = |make: fn(String) -> ModCommand| match nick() {
        Some(nick) => Typed::Moderate(make(nick)),
        None => usage(),
    };
    let typed = match word {
        "mute" | "ban" => {
            let (target, minutes) = match split_minutes(argument) {
                Ok(split) => split,
                Err(()) => return Some(usage()),
            };
            let Some(target) = unquoted(target) else {
                return Some(usage());
            };
            Typed::Moderate(match word {
                "mute" => ModCommand::Mute {
                    nick: target,
                    minutes,
                },
                _ => ModCommand::Ban { target, minutes },
            })
        }
        "unmute" => needs_nick(|nick| ModCommand::Unmute { nick }),
        "unban" => needs_nick(|target| ModCommand::Unban { target }),
        "voice" => needs_nick(|nick| ModCommand::Voice { nick }),
        "unvoice" => needs_nick(|nick| ModCommand::Unvoice { nick }),
        "op" => needs_nick(|nick| ModCommand::Op { nick }),
        "deop" => needs_nick(|nick| ModCommand::Deop { nick }),
        "kick" => match first_name(argument) {
            Some((nick, reason)) => Typed::Moderate(ModCommand::Kick {
                nick,
                reason: reason.trim().to_string(),
            }),
            None => usage(),
        },
        "bans" => Typed::Moderate(ModCommand::Bans {}),
        "lecture" => match argument.to_ascii_lowercase().as_str() {
            "on" => Typed::Moderate(ModCommand::Lecture { on: true }),
            "off" => Typed::Moderate(ModCommand::Lecture { on: false }),
            _ => usage(),
        },
        _ => return None,
    };
    Some(typed)
}

/// `NICK 10` → (`NICK`, 10): a last word of digits is minutes (1 to [`MAX_MINUTES`]); a
/// nickname may hold spaces. `Err`: minutes of 0 or too many.
fn split_minutes(argument: &str) -> Result<(&str, Option<u32>), ()> {
    let Some((head, last)) = argument.rsplit_once(char::is_whitespace) else {
        return Ok((argument, None));
    };
    if !last.bytes().all(|b| b.is_ascii_digit()) || head.trim().is_empty() {
        return Ok((argument, None));
    }
    match last.parse::<u32>() {
        Ok(minutes) if (1..=MAX_MINUTES).contains(&minutes) => Ok((head.trim(), Some(minutes))),
        _ => Err(()),
    }
}

/// A nickname as typed: the whole argument, or what is between double quotes (a nickname
/// never holds one). `None` when there is none.
fn unquoted(argument: &str) -> Option<String> {
    let argument = argument.trim();
    let inner = argument
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or(argument)
        .trim();
    (!inner.is_empty()).then(|| inner.to_string())
}

/// The first name of `argument` (a word, or a quoted name with spaces) and what follows.
fn first_name(argument: &str) -> Option<(String, &str)> {
    let argument = argument.trim();
    if let Some(rest) = argument.strip_prefix('"') {
        let (name, after) = rest.split_once('"')?;
        let name = name.trim();
        return (!name.is_empty()).then(|| (name.to_string(), after));
    }
    let (name, after) = argument
        .split_once(char::is_whitespace)
        .unwrap_or((argument, ""));
    (!name.is_empty()).then(|| (name.to_string(), after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moderation_commands_are_read_with_minutes_reasons_and_quoted_names() {
        let mute = |nick: &str, minutes| {
            Typed::Moderate(ModCommand::Mute {
                nick: nick.into(),
                minutes,
            })
        };
        assert_eq!(parse("/mute bob 10"), mute("bob", Some(10)));
        assert_eq!(parse("/MUTE Mary Ann"), mute("Mary Ann", None));
        assert_eq!(parse("/mute \"Mary Ann\" 5"), mute("Mary Ann", Some(5)));
        assert_eq!(parse("/mute 42"), mute("42", None));
        assert_eq!(
            parse("/kick \"Mary Ann\" spamming links"),
            Typed::Moderate(ModCommand::Kick {
                nick: "Mary Ann".into(),
                reason: "spamming links".into()
            })
        );
        assert_eq!(
            parse("/ban 192.168.1.7 60"),
            Typed::Moderate(ModCommand::Ban {
                target: "192.168.1.7".into(),
                minutes: Some(60)
            })
        );
        assert_eq!(parse("/bans"), Typed::Moderate(ModCommand::Bans {}));
        assert_eq!(
            parse("/lecture ON"),
            Typed::Moderate(ModCommand::Lecture { on: true })
        );
        assert_eq!(
            parse("/deop dana"),
            Typed::Moderate(ModCommand::Deop {
                nick: "dana".into()
            })
        );
        for wrong in [
            "/mute",
            "/mute bob 0",
            "/ban bob 99999999999",
            "/lecture maybe",
            "/op",
            "/kick \"\"",
        ] {
            assert!(
                matches!(parse(wrong), Typed::Usage(NeedsMore::Moderation { usage }) if !usage.is_empty()),
                "{wrong}: {:?}",
                parse(wrong)
            );
        }
    }

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
