//! Mentions and nickname completion: does a message name me, and what Tab makes of a word.
//!
//! Pure text rules, used by the message list (highlight), the app (notifications) and the
//! input box (Tab). A mention compares nicknames as the server does (`NickKey`); Tab
//! completes by a prefix, without regard to case.

use crate::network::text::NickKey;

/// Whether `text` mentions `nick`: `@nick`, or the nickname as a word of its own (not inside
/// a longer word: "dana" is mentioned in "hi dana!" but not in "danaher"). A word is the
/// nickname when the server would take it for that name (`NickKey`, the one nickname
/// equality): case and look-alike letters do not matter, so `DАNA` with a Cyrillic А names
/// dana as surely as the server refuses it as a second dana.
pub fn mentions(text: &str, nick: &str) -> bool {
    let nick = nick.trim();
    if nick.is_empty() {
        return false;
    }
    let key = NickKey::of(nick);
    let length = nick.chars().count();
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    // Every stretch of the nickname's length that starts and ends at a word's edge: cheap to
    // find, and few enough that comparing each by its key costs little.
    (0..chars.len()).any(|start| {
        let end = start + length;
        let starts_word =
            !chars[start].1.is_whitespace() && (start == 0 || !is_word(chars[start - 1].1));
        let ends_word = end <= chars.len() && chars.get(end).is_none_or(|&(_, c)| !is_word(c));
        if !starts_word || !ends_word {
            return false;
        }
        let to = chars.get(end).map_or(text.len(), |&(at, _)| at);
        NickKey::of(&text[chars[start].0..to]).looks_like(&key)
    })
}

/// Tab in the input box: completes the last word of `draft` (with or without a leading `@`)
/// to the next nickname in `users` that starts with it, other than `me`. A word that already
/// is a whole nickname moves on to the next one that starts like `typed_prefix`, so Tab again
/// goes round the candidates. At the start of the line a name gets ": " after it, elsewhere a
/// space. `None` when nothing matches (Tab then moves the focus as usual).
pub fn complete(draft: &str, typed_prefix: &str, users: &[String], me: &str) -> Option<String> {
    let start = draft
        .rfind(char::is_whitespace)
        .map(|i| i + draft[i..].chars().next().map_or(1, char::len_utf8))
        .unwrap_or(0);
    let word = &draft[start..];
    let at = if word.starts_with('@') { "@" } else { "" };
    let prefix = typed_prefix.trim_start_matches('@').to_lowercase();
    let word = word.trim_start_matches('@');
    if prefix.is_empty() || word.is_empty() {
        return None;
    }
    let candidates: Vec<&String> = users
        .iter()
        .filter(|u| *u != me && u.to_lowercase().starts_with(&prefix))
        .collect();
    let next = match candidates.iter().position(|u| u.as_str() == word) {
        Some(i) => candidates[(i + 1) % candidates.len()],
        None => candidates.first()?,
    };
    let before = &draft[..start];
    let after = if before.trim().is_empty() && at.is_empty() {
        ": "
    } else {
        " "
    };
    Some(format!("{before}{at}{next}{after}"))
}

/// The word Tab completes in `draft` (its last, without a completed name's ": " or " "): what
/// the person typed before the first Tab.
pub fn last_word(draft: &str) -> &str {
    let trimmed = draft.trim_end_matches([' ', ':']);
    let start = trimmed
        .rfind(char::is_whitespace)
        .map(|i| i + 1)
        .unwrap_or(0);
    trimmed.get(start..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nick_is_mentioned_with_an_at_or_as_a_word_of_its_own_whatever_its_case() {
        assert!(mentions("@dana look", "dana"));
        assert!(mentions("hi Dana!", "dana"));
        assert!(mentions("דנה, שלום", "דנה"));
        assert!(!mentions("danaher is here", "dana"));
        assert!(!mentions("grandana", "dana"));
        assert!(!mentions("nothing", ""));
    }

    #[test]
    fn a_nick_is_mentioned_in_every_form_the_server_takes_for_the_same_name() {
        // Cyrillic а, KELVIN SIGN, a capital I for l: the server refuses each as a second
        // member of that name, so each names that member.
        assert!(mentions("hi d\u{0430}na!", "dana"));
        assert!(mentions("@\u{212A}elvin look", "kelvin"));
        assert!(mentions("ask AIice", "alice"));
        assert!(!mentions("ask alicia", "alice"));
        assert!(!mentions("d\u{0430}naher", "dana"));
    }

    #[test]
    fn tab_completes_the_last_word_to_a_nick_and_goes_round_on_the_next_tab() {
        let users: Vec<String> = ["alice", "dana", "Daniel", "dave"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            complete("da", "da", &users, "alice").as_deref(),
            Some("dana: ")
        );
        assert_eq!(
            complete("dana: ", "da", &users, "alice").as_deref(),
            None,
            "the line ends in a space: there is no word to complete"
        );
        assert_eq!(
            complete("dana", "da", &users, "alice").as_deref(),
            Some("Daniel: "),
            "a whole name moves on to the next that starts alike"
        );
        assert_eq!(
            complete("hi @da", "@da", &users, "alice").as_deref(),
            Some("hi @dana ")
        );
        assert_eq!(complete("hi al", "al", &users, "alice"), None, "not me");
        assert_eq!(last_word("hi @dana "), "@dana");
        assert_eq!(last_word("dana: "), "dana");
    }
}
