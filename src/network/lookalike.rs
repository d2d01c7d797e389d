//! Which nicknames look the same: Unicode's confusable skeletons, compatibility forms and
//! invisible characters.
//!
//! Owns the comparison keys of nicknames ([`NickKey`]), the reserved-name comparison, the
//! Default_Ignorable_Code_Point table and the few characters fonts draw blank. Does not own
//! what a nickname may contain (see `text`) nor who is online (the server's room).
//!
//! The data is Unicode's own: NFKC (compatibility forms such as fullwidth `ｈｏｓｔ` or
//! mathematical `𝗁𝗈𝗌𝗍` become `host`), the UTS #39 confusable skeleton from the
//! `unicode-security` crate (Cyrillic `а` and Greek `α` become `a`, capital `I` becomes `l`),
//! and the Default_Ignorable_Code_Point property (characters that show nothing). Unicode has no
//! property for "drawn as a blank": the few graphic characters that are (U+2800 BRAILLE
//! PATTERN BLANK and kin, see [`BLANKS`]) are listed here and count as a space.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Default_Ignorable_Code_Point, from DerivedCoreProperties.txt of the Unicode Character
/// Database (Unicode 16.0; the ranges have not changed since 6.x). A test checks it against the
/// table that `unicode-security` uses inside its skeletons.
const DEFAULT_IGNORABLE: [(char, char); 17] = [
    ('\u{ad}', '\u{ad}'),       // soft hyphen
    ('\u{34f}', '\u{34f}'),     // combining grapheme joiner
    ('\u{61c}', '\u{61c}'),     // Arabic letter mark
    ('\u{115f}', '\u{1160}'),   // Hangul fillers
    ('\u{17b4}', '\u{17b5}'),   // Khmer inherent vowels
    ('\u{180b}', '\u{180f}'),   // Mongolian variation selectors and vowel separator
    ('\u{200b}', '\u{200f}'),   // zero width space, joiners, LRM, RLM
    ('\u{202a}', '\u{202e}'),   // bidi embeddings and overrides
    ('\u{2060}', '\u{206f}'),   // word joiner, invisible operators, bidi isolates
    ('\u{3164}', '\u{3164}'),   // Hangul filler
    ('\u{fe00}', '\u{fe0f}'),   // variation selectors
    ('\u{feff}', '\u{feff}'),   // zero width no-break space (BOM)
    ('\u{ffa0}', '\u{ffa0}'),   // halfwidth Hangul filler
    ('\u{fff0}', '\u{fff8}'),   // unassigned specials
    ('\u{1bca0}', '\u{1bca3}'), // shorthand format controls
    ('\u{1d173}', '\u{1d17a}'), // musical symbol format controls
    ('\u{e0000}', '\u{e0fff}'), // tags, variation selectors supplement, reserved
];

/// Whether `c` has the Default_Ignorable_Code_Point property: it shows nothing unless a font
/// has a special use for it.
pub fn is_default_ignorable(c: char) -> bool {
    DEFAULT_IGNORABLE
        .binary_search_by(|&(first, last)| {
            if last < c {
                std::cmp::Ordering::Less
            } else if first > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Graphic characters (neither white space nor default-ignorable) that fonts draw as nothing:
/// they pass for a space, or for nothing at the end of a name (`alice` + U+2800 is `alice`).
/// The Hangul fillers (U+115F, U+1160, U+3164, U+FFA0) are default-ignorable already.
const BLANKS: [char; 3] = [
    '\u{2800}',  // braille pattern blank
    '\u{1d159}', // musical symbol null notehead
    '\u{16fe4}', // Khitan small script filler
];

/// Whether `c` is one of the graphic characters fonts draw blank ([`BLANKS`]).
pub fn is_blank(c: char) -> bool {
    BLANKS.contains(&c)
}

/// What shows of a nickname: NFKC, without default-ignorable characters, blanks read as spaces,
/// white space folded to single spaces and trimmed. Empty when nothing would show.
pub fn visible_part(nick: &str) -> String {
    let visible: String = nick
        .nfkc()
        .filter(|&c| !is_default_ignorable(c))
        .map(|c| if is_blank(c) { ' ' } else { c })
        .collect();
    visible.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether anything of `nick` shows: a character of its visible part that is not a space and
/// not a combining mark (a mark alone, like a lone U+0332 COMBINING LOW LINE, sits on nothing).
pub fn shows_something(nick: &str) -> bool {
    visible_part(nick)
        .chars()
        .any(|c| !c.is_whitespace() && !is_combining_mark(c))
}

/// Drops a combining dot above (U+0307) that sits on an `i` or `j`: the letter has a dot
/// already, so `i` + U+0307 looks like `i`. The skeleton reads a dotless `ı` as `i`, so this is
/// also what makes `ı` + U+0307 the `i` it passes for.
fn drop_doubled_dots(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dotted = false;
    for c in s.chars() {
        if c == '\u{307}' && dotted {
            continue;
        }
        dotted = matches!(c, 'i' | 'j');
        out.push(c);
    }
    out
}

fn skeleton(s: &str) -> String {
    unicode_security::skeleton(s).collect()
}

/// What a nickname is compared by. Two keys are of look-alike nicknames when either of their
/// parts is equal: `folded` makes case not matter (`Alice`, `ALICE`, `alice`), `looks` makes
/// letters that look alike in their own case not matter (`aIice` with a capital I, `alice`).
/// One string could not do both without also merging `i` and `l`, which look different.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NickKey {
    folded: String,
    looks: String,
}

impl NickKey {
    pub fn of(nick: &str) -> NickKey {
        let visible = visible_part(nick);
        NickKey {
            folded: drop_doubled_dots(&skeleton(&visible.to_lowercase())),
            looks: drop_doubled_dots(&skeleton(&skeleton(&visible).to_lowercase())),
        }
    }

    /// Whether the two nicknames would pass for each other in a user list.
    pub fn looks_like(&self, other: &NickKey) -> bool {
        self.folded == other.folded || self.looks == other.looks
    }
}

/// Whether nicknames `a` and `b` would pass for each other (see [`NickKey`]).
pub fn nicks_look_alike(a: &str, b: &str) -> bool {
    NickKey::of(a).looks_like(&NickKey::of(b))
}

/// A reserved name's comparison forms, stricter than [`NickKey`]: after the skeleton, accents
/// and strokes go (`höst`, `ħost`: the skeleton spells a stroke as a combining overlay),
/// separators and a trailing number go (`host-2`), and digits or signs used as letters are read
/// as those letters (`h0st`, `5erver`, `$ystem`), as are Cyrillic and Greek letters that pass
/// for Latin ones in some fonts (`ѕуѕtем`). Two forms: the skeleton of the name as typed
/// (capital Greek `Η` passes for `H`, though its small `η` reads as `n`), and of the name in
/// small letters (small Cyrillic `н` passes for `h`, though its capital `Н` reads as `H`).
/// A name is reserved when either form is a reserved name's.
pub fn reserved_forms(nick: &str) -> [String; 2] {
    let mut bare: String = visible_part(nick)
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' ' | '\''))
        .collect();
    // "server2" or "host-01" would pass for the real thing in a busy room.
    while bare.ends_with(|c: char| c.is_ascii_digit()) {
        bare.pop();
    }
    [reserved_fold(&bare), reserved_fold(&bare.to_lowercase())]
}

/// One reserved-name form of `bare` (see [`reserved_forms`]).
fn reserved_fold(bare: &str) -> String {
    let folded: String = skeleton(&skeleton(bare).to_lowercase())
        .chars()
        .filter(|&c| !is_combining_mark(c))
        .map(|c| match c {
            '0' => 'o',
            '1' | 'l' | '|' | '!' => 'i',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            // Letters UTS #39 keeps apart that still pass for Latin ones in a nickname.
            'т' | 'τ' => 't',
            'м' | 'μ' | 'ʍ' => 'm',
            'н' | 'η' => 'h',
            'у' | 'γ' => 'y',
            'ν' => 'v',
            'ε' | 'ё' => 'e',
            'ι' | 'ӏ' => 'i',
            'ө' => 'o',
            c => c,
        })
        .collect::<String>()
        .nfc()
        .collect();
    // "rn" reads as "m" and "vv" as "w" in many fonts.
    folded.replace("rn", "m").replace("vv", "w")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs that must count as the same name: the cases, then look-alike letters of
    /// other scripts, compatibility forms, invisible characters and other normalisation forms.
    const LOOK_ALIKE_PAIRS: [(&str, &str); 46] = [
        ("alice", "\u{430}lice"),                                   // Cyrillic a
        ("alice", "alic\u{435}"),                                   // Cyrillic ie
        ("alice", "\u{3b1}lice"),                                   // Greek alpha
        ("alice", "aIice"),                                         // capital I
        ("alice", "al\u{131}ce"),                                   // dotless i
        ("alice", "alice\u{3164}"),                                 // Hangul filler
        ("alice", "alice\u{fe0f}"),                                 // variation selector
        ("alice", "alice\u{e0041}"),                                // tag character
        ("alice", "al\u{34f}ice"),                                  // combining grapheme joiner
        ("alice", "\u{61c}alice"),                                  // Arabic letter mark
        ("alice", "ALICE"),                                         // case
        ("alice", "Alice"),                                         // case
        ("alice", "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}"),      // fullwidth
        ("alice", "\u{1d41a}\u{1d425}\u{1d422}\u{1d41c}\u{1d41e}"), // mathematical bold
        ("alice", "a1ice"),                                         // digit one
        ("alice", "al\u{ad}ice"),                                   // soft hyphen
        ("alice", "al\u{200b}ice"),                                 // zero width space
        ("Alice", "AIice"),                   // capital I in a capitalised name
        ("bob", "b\u{3bf}b"),                 // Greek omicron
        ("bob", "b0b"),                       // digit zero
        ("paypal", "\u{440}aypal"),           // Cyrillic er
        ("paypal", "p\u{430}yp\u{430}l"),     // Cyrillic a twice
        ("scott", "\u{455}\u{441}\u{43e}tt"), // Cyrillic dze, es, o
        ("apple", "\u{430}\u{440}\u{440}l\u{435}"), // all Cyrillic but l
        ("john", "\u{458}ohn"),               // Cyrillic je
        ("mike", "rnike"),                    // rn for m
        ("will", "wiIl"),                     // capital I
        ("nina", "n\u{456}na"),               // Ukrainian i
        ("olga", "\u{43e}lga"),               // Cyrillic o
        ("eve", "\u{435}v\u{435}"),           // Cyrillic ie
        ("alex", "\u{430}le\u{445}"),         // Cyrillic a and ha
        ("guest-1", "guest-l"),               // l for 1
        ("tom", "ToM"),                       // case
        ("a b", "a\u{3000}b"),                // ideographic space
        ("a b", "a   b"),                     // runs of spaces
        ("王小明", "王小明\u{fe0f}"),         // variation selector after Han
        ("王小明", "王\u{200d}小明"),         // zero width joiner
        ("דנה", "דנה\u{200f}"),               // right-to-left mark
        ("José", "Jose\u{301}"),              // decomposed accent
        ("Zoë", "Zoe\u{308}"),                // decomposed diaeresis
        ("محمد", "محمد\u{61c}"),              // Arabic letter mark
        ("محمد", "\u{fee3}\u{fea4}\u{fee4}\u{feaa}"), // Arabic presentation forms
        ("サクラ", "\u{ff7b}\u{ff78}\u{ff97}"), // halfwidth katakana
        (
            "김민준",
            "\u{1100}\u{1175}\u{11b7}\u{1106}\u{1175}\u{11ab}\u{110c}\u{116e}\u{11ab}",
        ), // jamo
        ("Ольга", "O\u{43b}\u{44c}\u{433}a"), // Latin O and a in Cyrillic
        ("Νίκος", "N\u{3af}\u{3ba}\u{3bf}\u{3c2}"), // Latin N in Greek
    ];

    /// Real names in many scripts: every one allowed, and no two taken for each other.
    const REAL_NAMES: [&str; 36] = [
        "王小明",
        "李娜",
        "张伟",
        "דנה",
        "יוסי",
        "José",
        "Jose",
        "Zoë",
        "Zoe",
        "محمد",
        "فاطمة",
        "علي",
        "さくら",
        "田中",
        "サクラ",
        "김민준",
        "지우",
        "Ольга",
        "Иван",
        "Νίκος",
        "Ελένη",
        "Łukasz",
        "Søren",
        "François",
        "Björn",
        "अनिल",
        "ประยุทธ์",
        "Nguyễn",
        "Ayşe",
        "İlker",
        "alice",
        "alicia",
        "bob",
        "Eli",
        "Ell",
        "mike",
    ];

    #[test]
    fn each_look_alike_pair_counts_as_one_name() {
        for (a, b) in LOOK_ALIKE_PAIRS {
            assert!(
                nicks_look_alike(a, b),
                "{a:?} and {b:?} {:?} {:?}",
                NickKey::of(a),
                NickKey::of(b)
            );
            assert!(nicks_look_alike(b, a), "{b:?} and {a:?}");
        }
    }

    #[test]
    fn real_names_in_many_scripts_are_allowed_and_never_taken_for_each_other() {
        for (i, a) in REAL_NAMES.iter().enumerate() {
            assert_eq!(
                crate::network::text::normalize_nick(a).as_deref(),
                Ok(*a),
                "{a:?} should be allowed as typed"
            );
            for b in &REAL_NAMES[i + 1..] {
                assert!(
                    !nicks_look_alike(a, b),
                    "{a:?} and {b:?} {:?} {:?}",
                    NickKey::of(a),
                    NickKey::of(b)
                );
            }
        }
    }

    #[test]
    fn the_default_ignorable_table_matches_the_one_inside_unicode_security() {
        // unicode-security drops exactly the default-ignorable code points from a skeleton, so
        // a one-character string has an empty skeleton exactly when it is in our table.
        let mismatches: Vec<char> = (0..=0x10ffff_u32)
            .filter_map(char::from_u32)
            .filter(|&c| is_default_ignorable(c) != skeleton(&c.to_string()).is_empty())
            .collect();
        assert!(mismatches.is_empty(), "{mismatches:?}");
    }

    #[test]
    fn a_nick_of_only_invisible_characters_has_no_visible_part() {
        for nick in [
            "\u{3164}",
            "\u{115f}\u{1160}",
            "\u{fe0f}",
            "\u{e0041}\u{e0042}",
            "\u{34f} \u{ad}",
        ] {
            assert_eq!(visible_part(nick), "", "{nick:?}");
        }
        assert_eq!(visible_part(" \u{3164}bob\u{3000}"), "bob");
    }
}
