//! Cleaning what people send before anyone else sees it, and the rules for nicknames.
//!
//! Owns: stripping control characters and terminal escape sequences, nickname validation,
//! reserved names and their look-alikes. Does not own uniqueness (the server's room does that).

pub use super::lookalike::{NickKey, nicks_look_alike};
use super::lookalike::{reserved_forms, shows_something};
use unicode_general_category::{GeneralCategory, get_general_category};

/// Longest nickname, in characters.
pub const MAX_NICK_CHARS: usize = 24;

/// Names nobody may take, because people would trust lines that seem to come from them.
const RESERVED: [&str; 5] = ["host", "server", "system", "natter", "admin"];

/// Removes what must never reach a terminal or a chat view: ANSI/VT escape sequences
/// (CSI, OSC, and two-byte ESC sequences), other C0 controls except newline and tab, DEL and
/// the C1 controls. Carriage returns go too, so a "\r\n" becomes "\n". Everything printable,
/// including right-to-left marks that Hebrew and Arabic text needs, is kept.
pub fn clean_text(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    clean_text_into(input, &mut out);
    out
}

/// [`clean_text`], appended to `out` (one allocation for a line built of several parts).
pub fn clean_text_into(input: &str, out: &mut String) {
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 CSI (U+009B) starts a sequence just like ESC [.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' => skip_osc(&mut chars),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

/// Longest piece of someone's text quoted inside another message (an error, a leave notice,
/// a log line), in characters; longer text is cut and ends with "…".
pub const MAX_QUOTED_CHARS: usize = 64;

/// Someone's text made safe to show on one line: cleaned as [`clean_text`] cleans messages,
/// line breaks and tabs turned into spaces, so it can neither reach a terminal as an escape
/// nor start a line of its own.
pub fn single_line(input: &str) -> String {
    clean_text(input)
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .collect()
}

/// Someone's text to quote inside a message of ours: [`single_line`], cut to `max_chars`
/// (usually [`MAX_QUOTED_CHARS`]). Every piece of peer text that ends up in an error, a leave
/// detail or a log line passes through here (or through the nickname rules) first.
pub fn quote(input: &str, max_chars: usize) -> String {
    let line = single_line(input);
    match line.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// [`single_line`] cut so that the result, its `…` included, is at most `max_chars`
/// characters: for a field whose documented maximum is a hard limit (the names in a discovery
/// announcement, which a finder may drop when longer).
pub fn fit(input: &str, max_chars: usize) -> String {
    let line = single_line(input);
    match line.char_indices().nth(max_chars) {
        Some(_) => {
            let keep = max_chars.saturating_sub(1);
            let cut = line
                .char_indices()
                .nth(keep)
                .map_or(line.len(), |(at, _)| at);
            format!("{}…", &line[..cut])
        }
        None => line,
    }
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => skip_osc(chars),
        // ESC followed by intermediates then one final byte (e.g. "ESC ( B").
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while let Some(&next) = chars.peek() {
                chars.next();
                if !('\u{20}'..='\u{2f}').contains(&next) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// CSI: parameter and intermediate bytes, then one final byte in 0x40..=0x7E.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) || !('\u{20}'..='\u{7e}').contains(&c) {
            break;
        }
    }
}

/// OSC and other string sequences end at BEL, at ESC \ or at ST (U+009C).
fn skip_osc(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

/// Why a nickname was refused; the text is shown to the person who chose it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NickError {
    #[error("A nickname cannot be empty.")]
    Empty,
    #[error("A nickname needs at least one visible character.")]
    Invisible,
    #[error("A nickname can be at most {MAX_NICK_CHARS} characters long.")]
    TooLong,
    #[error("A nickname cannot contain {}.", shown_char(*.0))]
    BadChar(char),
    #[error("A nickname cannot start with \"{0}\".")]
    BadStart(char),
    #[error("\"{0}\" is reserved (it looks like host, server or system): pick another nickname.")]
    Reserved(String),
}

/// A refused character as a person can find it: quoted when it shows, by its code point when it
/// is an invisible format character (quoting it would show `""`).
fn shown_char(c: char) -> String {
    if is_forbidden_in_nick(c) && !matches!(c, ':' | '"' | '\\') {
        format!("the invisible character U+{:04X}", u32::from(c))
    } else {
        format!("\"{c}\"")
    }
}

/// Checks a wanted nickname and returns it tidied: control characters and escapes removed,
/// surrounding spaces trimmed and inner runs of white space folded to one space.
pub fn normalize_nick(wanted: &str) -> Result<String, NickError> {
    let cleaned = clean_text(wanted);
    let nick = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if nick.is_empty() {
        return Err(NickError::Empty);
    }
    if !shows_something(&nick) {
        return Err(NickError::Invisible);
    }
    if nick.chars().count() > MAX_NICK_CHARS {
        return Err(NickError::TooLong);
    }
    if let Some(c) = nick.chars().find(|&c| is_forbidden_in_nick(c)) {
        return Err(NickError::BadChar(c));
    }
    if let Some(c) = nick
        .chars()
        .next()
        .filter(|c| matches!(c, '/' | '*' | '-' | '['))
    {
        return Err(NickError::BadStart(c));
    }
    if is_reserved(&nick) {
        return Err(NickError::Reserved(nick));
    }
    Ok(nick)
}

/// Characters that would let a nickname spoof a line or hide what it is: the separator of the
/// plain-text line format, and every format character (general category Cf: bidi marks,
/// overrides and isolates, zero-width spaces and joiners, the Arabic letter mark, the Mongolian
/// vowel separator, tags, shorthand format controls, the soft hyphen...). Unicode's own table
/// (the `unicode-general-category` crate), so none is left out.
fn is_forbidden_in_nick(c: char) -> bool {
    matches!(c, ':' | '"' | '\\') || get_general_category(c) == GeneralCategory::Format
}

/// Whether `nick` is, or looks like, a reserved name: compared by confusable skeleton, without
/// case, accents, strokes, separators or a trailing number, digits read as letters (see
/// [`reserved_forms`]).
pub fn is_reserved(nick: &str) -> bool {
    let forms = reserved_forms(nick);
    RESERVED
        .iter()
        .any(|r| reserved_forms(r).iter().any(|form| forms.contains(form)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_strips_escapes_and_controls_but_keeps_text() {
        assert_eq!(clean_text("hi\u{1b}[31mred\u{1b}[0m!"), "hired!");
        assert_eq!(clean_text("a\u{1b}]0;pwned\u{7}b"), "ab");
        assert_eq!(clean_text("a\u{1b}]8;;http://x\u{1b}\\b"), "ab");
        assert_eq!(clean_text("bell\u{7}\u{8}\u{0}\u{7f}\u{9b}2Jx"), "bellx");
        assert_eq!(clean_text("line1\r\nline2\tend"), "line1\nline2\tend");
        assert_eq!(
            clean_text("שלום \u{200f}עולם 你好 😀"),
            "שלום \u{200f}עולם 你好 😀"
        );
        assert_eq!(clean_text("trailing escape \u{1b}"), "trailing escape ");
    }

    #[test]
    fn quoted_peer_text_is_one_clean_line_cut_short() {
        let q = |text: &str| quote(text, MAX_QUOTED_CHARS);
        assert_eq!(q("\u{1b}]0;PWNED\u{7}\u{1b}[2Jteleport"), "teleport");
        assert_eq!(q("two\nlines\tand tab\r"), "two lines and tab");
        let long = q(&"字".repeat(1000));
        assert_eq!(long.chars().count(), MAX_QUOTED_CHARS + 1);
        assert!(long.ends_with('…'));
        assert_eq!(
            q(&"x".repeat(MAX_QUOTED_CHARS)),
            "x".repeat(MAX_QUOTED_CHARS)
        );
        assert_eq!(single_line("a\nb\u{7}"), "a b");
    }

    #[test]
    fn fitted_text_is_at_most_its_limit_with_the_ellipsis_included() {
        assert_eq!(fit("Lab 3", 64), "Lab 3");
        assert_eq!(fit(&"é".repeat(64), 64), "é".repeat(64));
        let cut = fit(&format!("\u{1b}[31m{}", "é".repeat(65)), 64);
        assert_eq!(cut.chars().count(), 64);
        assert_eq!(cut, format!("{}…", "é".repeat(63)));
        assert_eq!(fit("two\nlines", 32), "two lines");
    }

    #[test]
    fn nicknames_are_tidied_or_refused_with_a_reason() {
        assert_eq!(normalize_nick("  alice  ").unwrap(), "alice");
        assert_eq!(normalize_nick("王 \t 小明").unwrap(), "王 小明");
        assert_eq!(normalize_nick("דנה").unwrap(), "דנה");
        assert_eq!(normalize_nick("bo\u{1b}[1mb").unwrap(), "bob");
        assert_eq!(normalize_nick(" \u{7} "), Err(NickError::Empty));
        assert_eq!(normalize_nick("\u{3164}"), Err(NickError::Invisible));
        assert_eq!(
            normalize_nick("\u{fe0f} \u{e0041}"),
            Err(NickError::Invisible)
        );
        assert_eq!(normalize_nick(&"x".repeat(25)), Err(NickError::TooLong));
        assert_eq!(normalize_nick("a:b"), Err(NickError::BadChar(':')));
        assert_eq!(
            normalize_nick("ev\u{202e}il"),
            Err(NickError::BadChar('\u{202e}'))
        );
        assert_eq!(normalize_nick("/quit"), Err(NickError::BadStart('/')));
        assert!(normalize_nick(&"字".repeat(24)).is_ok());
    }

    #[test]
    fn reserved_names_and_look_alikes_are_refused() {
        for nick in [
            "host",
            "HOST",
            "Server",
            "system",
            "h0st",
            "5erver",
            "systern",
            "S-Y-S-T-E-M",
            "ѕуѕtем",
            "host2",
            "server_01",
            "Natter",
            "hοst",
            "\u{ff48}\u{ff4f}\u{ff53}\u{ff54}",
            "\u{1d5c1}\u{1d5c8}\u{1d5cc}\u{1d5cd}",
            "\u{127}ost",
            "h\u{f6}st",
            "Ｓｅｒｖｅｒ",
            "adm\u{131}n",
            "n\u{430}tter",
        ] {
            assert!(
                matches!(normalize_nick(nick), Err(NickError::Reserved(_))),
                "{nick} should be reserved"
            );
        }
        for nick in ["hostess", "observer", "sys", "alice", "ghost", "serverus"] {
            assert!(normalize_nick(nick).is_ok(), "{nick} should be allowed");
        }
    }
}
