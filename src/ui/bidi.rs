//! Right-to-left text for egui: the Unicode Bidirectional Algorithm (UAX #9) applied before
//! egui lays a line out.
//!
//! Owns turning one logical line into pieces in visual order. egui does not reorder (egui
//! issue #1016), but its shaper does reverse each run of Hebrew or Arabic letters it shapes
//! (HarfBuzz guesses right-to-left from the script), and it shapes each layout section on its
//! own. So the pieces are: left-to-right runs as they are; and, for right-to-left runs, their
//! parts in reverse order, where a part is either a run of right-to-left letters (left in
//! logical order, for the shaper to reverse and to join Arabic letters) or one other character
//! (mirrored if it is a bracket). Each piece becomes its own section. The text stored, sent and
//! copied stays in logical order; only what is drawn is reordered.

use std::ops::Range;

use unicode_bidi::{BidiInfo, Level};

/// One piece of a line, in visual (left-to-right) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    /// A run of right-to-left letters, in logical order: the shaper draws it reversed.
    pub rtl_letters: bool,
}

/// Whether any character of `text` is written right to left (a fast check to skip the work).
pub fn has_rtl(text: &str) -> bool {
    text.chars().any(is_rtl_char)
}

fn is_rtl_char(c: char) -> bool {
    matches!(c,
        '\u{0590}'..='\u{08FF}' | '\u{FB1D}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}'
        | '\u{200F}' | '\u{202B}' | '\u{202E}' | '\u{2067}'
        | '\u{10800}'..='\u{10FFF}' | '\u{1E800}'..='\u{1EFFF}')
}

/// Letters of right-to-left scripts (and the marks that join them), which the shaper reverses.
fn is_rtl_letter(c: char) -> bool {
    matches!(c, '\u{0591}'..='\u{05FF}' | '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{08FF}'
        | '\u{FB1D}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
        && !matches!(c, '\u{0660}'..='\u{0669}' | '\u{06F0}'..='\u{06F9}' | '\u{060C}' | '\u{061B}' | '\u{061F}' | '\u{066A}'..='\u{066D}')
        || c == '\u{200D}'
}

/// Whether the paragraph's first strong character is right to left (rules P2, P3).
pub fn is_rtl_paragraph(text: &str) -> bool {
    matches!(
        unicode_bidi::get_base_direction(text),
        unicode_bidi::Direction::Rtl
    )
}

/// Mirrored form of a bracket drawn in a right-to-left run (rule L4).
fn mirror(c: char) -> char {
    match c {
        '(' => ')',
        ')' => '(',
        '[' => ']',
        ']' => '[',
        '{' => '}',
        '}' => '{',
        '<' => '>',
        '>' => '<',
        '«' => '»',
        '»' => '«',
        '‹' => '›',
        '›' => '‹',
        c => c,
    }
}

/// The paragraph analysed once, for reordering any of its lines.
pub struct Paragraph<'a> {
    info: BidiInfo<'a>,
}

impl<'a> Paragraph<'a> {
    /// `text` is one paragraph (no newline); its direction comes from its first strong
    /// character.
    pub fn new(text: &'a str) -> Self {
        Paragraph {
            info: BidiInfo::new(text, None),
        }
    }

    /// A paragraph that is left to right whatever it starts with: the app's own English
    /// sentences that quote a Hebrew nickname ("דנה joined").
    pub fn left_to_right(text: &'a str) -> Self {
        Paragraph {
            info: BidiInfo::new(text, Some(Level::ltr())),
        }
    }

    pub fn is_rtl(&self) -> bool {
        self.info
            .paragraphs
            .first()
            .is_some_and(|p| p.level.is_rtl())
    }

    /// The pieces of the line `line` (a byte range of the paragraph), in visual order.
    pub fn line_pieces(&self, line: Range<usize>) -> Vec<Piece> {
        let text = self.info.text;
        let Some(para) = self.info.paragraphs.first() else {
            return Vec::new();
        };
        if line.is_empty() {
            return Vec::new();
        }
        let (levels, runs) = self.info.visual_runs(para, line);
        let mut pieces = Vec::new();
        for run in runs {
            let level: Level = levels[run.start];
            let run_text = &text[run];
            if level.is_ltr() {
                pieces.push(Piece {
                    text: run_text.to_string(),
                    rtl_letters: false,
                });
                continue;
            }
            // Parts in logical order, then emitted last to first.
            let mut parts: Vec<Piece> = Vec::new();
            for c in run_text.chars() {
                match parts.last_mut() {
                    Some(last) if last.rtl_letters && is_rtl_letter(c) => last.text.push(c),
                    _ => parts.push(Piece {
                        text: if is_rtl_letter(c) {
                            c.to_string()
                        } else {
                            mirror(c).to_string()
                        },
                        rtl_letters: is_rtl_letter(c),
                    }),
                }
            }
            pieces.extend(parts.into_iter().rev());
        }
        pieces
    }
}

/// Where a line may break: after white space, and around CJK ideographs and kana (which
/// break between any two characters). Returns the byte ranges of unbreakable segments.
fn segments(text: &str) -> Vec<Range<usize>> {
    let is_cjk = |c: char| matches!(c, '\u{2E80}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}' | '\u{FF00}'..='\u{FFEF}');
    let mut segments = Vec::new();
    let mut start = 0;
    let mut previous: Option<char> = None;
    for (i, c) in text.char_indices() {
        if let Some(p) = previous {
            let boundary = (p.is_whitespace() && !c.is_whitespace()) || is_cjk(c) || is_cjk(p);
            if boundary && i > start {
                segments.push(start..i);
                start = i;
            }
        }
        previous = Some(c);
    }
    if start < text.len() {
        segments.push(start..text.len());
    }
    segments
}

/// Breaks one paragraph into lines no wider than `width`, greedily, measuring with `measure`.
/// Done on logical text before reordering, as UAX #9 requires. A segment wider than a whole
/// line is cut between characters.
pub fn wrap(text: &str, width: f32, measure: impl Fn(&str) -> f32) -> Vec<Range<usize>> {
    let mut lines = Vec::new();
    let mut line_start = 0;
    let mut line_width = 0.0;
    for segment in segments(text) {
        let segment_width = measure(text[segment.clone()].trim_end());
        if line_width + segment_width <= width || line_start == segment.start {
            if segment_width > width && line_start == segment.start {
                // One long word: cut it where it overflows.
                let mut cut_start = segment.start;
                for (i, c) in text[segment.clone()].char_indices() {
                    let at = segment.start + i;
                    if at > cut_start && measure(&text[cut_start..at + c.len_utf8()]) > width {
                        lines.push(line_start..at);
                        line_start = at;
                        cut_start = at;
                    }
                }
                line_width = measure(&text[line_start..segment.end]);
                continue;
            }
            line_width += measure(&text[segment.clone()]);
        } else {
            lines.push(line_start..segment.start);
            line_start = segment.start;
            line_width = measure(&text[segment.clone()]);
        }
    }
    lines.push(line_start..text.len());
    lines
}

/// The line as it appears on screen, left to right, character by character: what the pieces
/// look like once the shaper has reversed the right-to-left letters. For tests and logs.
pub fn visual_string(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| {
            if p.rtl_letters {
                p.text.chars().rev().collect()
            } else {
                p.text.clone()
            }
        })
        .collect()
}

/// A whole single-line paragraph in visual order (no wrapping).
pub fn visual_line(text: &str) -> String {
    visual_string(&Paragraph::new(text).line_pieces(0..text.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pure_right_to_left_is_reversed() {
        assert_eq!(visual_line("שלום עולם"), "םלוע םולש");
        assert_eq!(visual_line("مرحبا بالعالم"), "ملاعلاب ابحرم");
        assert!(is_rtl_paragraph("שלום עולם"));
    }

    #[test]
    fn numbers_inside_right_to_left_keep_their_order() {
        assert_eq!(visual_line("עולם 123"), "123 םלוע");
        assert_eq!(visual_line("מחיר 12.50 ש\"ח"), "ח\"ש 12.50 ריחמ");
    }

    #[test]
    fn neutral_punctuation_at_the_edges_follows_the_paragraph() {
        // RTL paragraph: the final "!" ends up on the left.
        assert_eq!(visual_line("שלום!"), "!םולש");
        // LTR paragraph ending in Hebrew then "!": the "!" stays at the right end.
        assert_eq!(visual_line("hello שלום!"), "hello םולש!");
        // Leading punctuation of an RTL paragraph goes to the right end.
        assert_eq!(visual_line("\"שלום\""), "\"םולש\"");
    }

    #[test]
    fn left_to_right_inside_right_to_left() {
        // "123" follows Latin, so it is left-to-right with it (rule W7): one run "world 123".
        assert_eq!(visual_line("שלום world 123 עולם!"), "!םלוע world 123 םולש");
        assert_eq!(visual_line("hello 你好 שלום"), "hello 你好 םולש");
        assert!(!is_rtl_paragraph("hello 你好 שלום"));
    }

    #[test]
    fn a_forced_left_to_right_paragraph_keeps_english_first() {
        let text = "דנה joined";
        let pieces = Paragraph::left_to_right(text).line_pieces(0..text.len());
        assert_eq!(visual_string(&pieces), "הנד joined");
        assert_eq!(visual_line(text), "joined הנד");
    }

    #[test]
    fn brackets_are_mirrored_in_right_to_left_runs() {
        assert_eq!(visual_line("שלום (עולם)"), "(םלוע) םולש");
    }

    #[test]
    fn wrapped_lines_keep_the_first_words_on_the_first_line() {
        let text = "אחת שתיים שלוש ארבע";
        let paragraph = Paragraph::new(text);
        let first_end = text.find("שלוש").unwrap();
        let first = visual_string(&paragraph.line_pieces(0..first_end));
        let second = visual_string(&paragraph.line_pieces(first_end..text.len()));
        // Each line reads right to left on its own: the first line holds the first two words.
        assert_eq!(first.trim(), "םייתש תחא");
        assert_eq!(second, "עברא שולש");
    }

    #[test]
    fn lines_break_between_words_and_ideographs_within_the_width() {
        // One unit per character makes widths easy to reason about.
        let measure = |s: &str| s.chars().count() as f32;
        let text = "אחת שתיים שלוש ארבע";
        let lines: Vec<&str> = wrap(text, 10.0, measure)
            .into_iter()
            .map(|r| &text[r])
            .collect();
        assert_eq!(lines, vec!["אחת שתיים ", "שלוש ארבע"]);
        let lines: Vec<&str> = wrap("你好世界", 2.0, measure)
            .into_iter()
            .map(|r| &"你好世界"[r])
            .collect();
        assert_eq!(lines, vec!["你好", "世界"]);
        let lines: Vec<&str> = wrap("abcdefgh", 3.0, measure)
            .into_iter()
            .map(|r| &"abcdefgh"[r])
            .collect();
        assert_eq!(lines, vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 5.0, measure), vec![0..0]);
    }

    #[test]
    fn right_to_left_letters_stay_logical_inside_a_piece_for_the_shaper() {
        let pieces = Paragraph::new("שלום world").line_pieces(0.."שלום world".len());
        assert_eq!(
            pieces,
            vec![
                Piece {
                    text: "world".into(),
                    rtl_letters: false
                },
                Piece {
                    text: " ".into(),
                    rtl_letters: false
                },
                Piece {
                    text: "שלום".into(),
                    rtl_letters: true
                },
            ]
        );
        assert!(has_rtl("a ש"));
        assert!(!has_rtl("hello 你好 😀"));
    }
}
