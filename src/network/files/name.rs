//! The name a received file is saved under, made from the name a peer offered.
//!
//! Owns: turning a hostile offered name into one plain file name that is safe on Linux,
//! macOS and Windows, and numbering a name when it is taken. Does not own checking whether a
//! name is taken (the incoming file does that atomically while putting the file in place).

use unicode_normalization::UnicodeNormalization;

/// Longest cleaned name in bytes of UTF-8: well under the 255 that common filesystems allow,
/// leaving room for a " (9999)" number and for the hidden temporary name around it.
const MAX_NAME_BYTES: usize = 200;

/// Longest extension (after the last dot) that is kept when a name is cut or numbered;
/// anything longer is more likely part of the name than a file type.
const MAX_EXTENSION_BYTES: usize = 16;

/// What a name becomes when nothing is left of it.
const FALLBACK_NAME: &str = "file";

/// Characters Windows forbids in names; replaced rather than dropped so the name stays
/// recognisable ("a:b" becomes "a_b").
const WINDOWS_FORBIDDEN: [char; 7] = ['<', '>', ':', '"', '|', '?', '*'];

/// Unicode general category Cf (format controls), as of Unicode 15: bidi overrides and
/// isolates that make "gnp.exe" look like "exe.png", zero-width characters that make two
/// names look alike, the BOM, tags. Listed here rather than pulled from a crate because the
/// set is small and changes rarely.
const FORMAT_CONTROLS: [(u32, u32); 21] = [
    (0xAD, 0xAD),
    (0x600, 0x605),
    (0x61C, 0x61C),
    (0x6DD, 0x6DD),
    (0x70F, 0x70F),
    (0x890, 0x891),
    (0x8E2, 0x8E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Device names Windows opens instead of a file, whatever the extension.
const WINDOWS_DEVICES: [&str; 6] = ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"];

/// The name a received file is saved under: only the last path component, without control
/// and format characters, NFC-normalised, without characters or names Windows refuses, not
/// hidden, at most 200 bytes with its extension kept. Never empty and never `.` or `..`.
pub fn clean_file_name(offered: &str) -> String {
    let last = offered.rsplit(['/', '\\']).next().unwrap_or_default();
    let visible: String = last.chars().filter(|&c| !is_invisible(c)).collect();
    let normalised: String = visible
        .nfc()
        .map(|c| {
            if WINDOWS_FORBIDDEN.contains(&c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = trim_edges(&normalised);
    if trimmed.is_empty() {
        return FALLBACK_NAME.to_string();
    }
    // Cutting can expose spaces or dots at the end, and a "_" prefix can push the name one
    // byte over, so trim and cut again after each step.
    let cut = trim_edges(&fit(trimmed, MAX_NAME_BYTES)).to_string();
    if !is_windows_device(&cut) {
        return cut;
    }
    trim_edges(&fit(&format!("_{cut}"), MAX_NAME_BYTES)).to_string()
}

/// `name` with a number that tells it apart from a file already there: `photo (1).jpg`,
/// `README (1)`. The number goes before the last extension only, so `archive.tar.gz`
/// becomes `archive.tar (2).gz`: simple and predictable, and the file still opens with the
/// program its last extension names. An "extension" longer than 16 bytes is treated as part
/// of the name, as when cutting. Cleaned names never start with a dot, so a hidden-file
/// name needs no special case.
pub fn with_number(name: &str, n: u32) -> String {
    match split_extension(name) {
        Some((stem, extension)) => format!("{stem} ({n}).{extension}"),
        None => format!("{name} ({n})"),
    }
}

/// Characters that must not reach a file name: C0, DEL and C1 controls (terminal escapes,
/// NUL, line breaks), format controls (see [`FORMAT_CONTROLS`]) and the Unicode line and
/// paragraph separators, which would split a name across lines wherever it is shown.
fn is_invisible(c: char) -> bool {
    let code = u32::from(c);
    c.is_control()
        || c == '\u{2028}'
        || c == '\u{2029}'
        || FORMAT_CONTROLS
            .iter()
            .any(|&(first, last)| (first..=last).contains(&code))
}

/// Leading dots and spaces go so a name is never hidden, `.` or `..`; trailing ones go
/// because Windows drops them silently and the file would not be found under its name.
fn trim_edges(name: &str) -> &str {
    name.trim_matches(['.', ' '])
}

/// Is this a name Windows treats as a device? The device name counts with any extension
/// and with spaces before the dot (`CON .txt`), in any case, and COM/LPT with 1–9 or the
/// superscripts ¹²³ that Windows also maps.
fn is_windows_device(name: &str) -> bool {
    let base = name
        .split('.')
        .next()
        .unwrap_or_default()
        .trim_end_matches(' ');
    let upper = base.to_uppercase();
    if WINDOWS_DEVICES.contains(&upper.as_str()) {
        return true;
    }
    let port = upper
        .strip_prefix("COM")
        .or_else(|| upper.strip_prefix("LPT"));
    let mut digits = port.unwrap_or_default().chars();
    match (digits.next(), digits.next()) {
        (Some(digit), None) => ('1'..='9').contains(&digit) || "¹²³".contains(digit),
        _ => false,
    }
}

/// Cuts `name` to at most `max` bytes on a character boundary, keeping a short extension so
/// the file still opens with the right program.
fn fit(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    match split_extension(name) {
        Some((stem, extension)) => {
            let budget = max.saturating_sub(extension.len() + 1);
            format!("{}.{extension}", cut_to(stem, budget))
        }
        None => cut_to(name, max).to_string(),
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn cut_to(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Splits `name` at its last dot into stem and extension, if there is a stem and the
/// extension is non-empty and at most [`MAX_EXTENSION_BYTES`].
fn split_extension(name: &str) -> Option<(&str, &str)> {
    let dot = name.rfind('.')?;
    let (stem, extension) = (&name[..dot], &name[dot + 1..]);
    let usable = !stem.is_empty() && !extension.is_empty();
    (usable && extension.len() <= MAX_EXTENSION_BYTES).then_some((stem, extension))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_to_a_hidden_file_becomes_its_plain_last_component() {
        assert_eq!(clean_file_name("../../.bashrc"), "bashrc");
    }

    #[test]
    fn windows_path_with_backslashes_keeps_only_the_last_component() {
        assert_eq!(clean_file_name("..\\..\\windows\\x.dll"), "x.dll");
        assert_eq!(
            clean_file_name("C:\\Users\\me/docs\\report.pdf"),
            "report.pdf"
        );
    }

    #[test]
    fn device_name_with_extension_gets_an_underscore_prefix() {
        assert_eq!(clean_file_name("CON.txt"), "_CON.txt");
    }

    #[test]
    fn device_names_are_recognised_in_any_case_and_with_spaces_before_the_dot() {
        assert_eq!(clean_file_name("nul"), "_nul");
        assert_eq!(clean_file_name("Aux .tar.gz"), "_Aux .tar.gz");
        assert_eq!(clean_file_name("com7.log"), "_com7.log");
        assert_eq!(clean_file_name("LPT²"), "_LPT²");
        assert_eq!(clean_file_name("conout$.x"), "_conout$.x");
    }

    #[test]
    fn names_that_only_start_like_devices_are_left_alone() {
        assert_eq!(clean_file_name("CONTRACT.pdf"), "CONTRACT.pdf");
        assert_eq!(clean_file_name("COM10.txt"), "COM10.txt");
        assert_eq!(clean_file_name("com0"), "com0");
        assert_eq!(clean_file_name("auxiliary"), "auxiliary");
    }

    #[test]
    fn right_to_left_override_is_removed() {
        assert_eq!(clean_file_name("a\u{202E}gnp.exe"), "agnp.exe");
    }

    #[test]
    fn zero_width_isolate_and_bom_characters_are_removed() {
        let offered = "\u{FEFF}re\u{200B}port\u{2066}\u{2069}\u{061C}.pdf\u{E0041}";
        assert_eq!(clean_file_name(offered), "report.pdf");
    }

    #[test]
    fn c0_del_and_c1_controls_and_line_separators_are_removed() {
        let offered = "a\u{0}b\u{1b}[31mc\u{7f}d\u{85}e\u{9b}f\ng\u{2028}h.txt";
        assert_eq!(clean_file_name(offered), "ab[31mcdefgh.txt");
    }

    #[test]
    fn characters_windows_forbids_become_underscores() {
        assert_eq!(
            clean_file_name("a<b>c:d\"e|f?g*h.txt"),
            "a_b_c_d_e_f_g_h.txt"
        );
    }

    #[test]
    fn decomposed_accents_are_composed_to_nfc() {
        assert_eq!(clean_file_name("cafe\u{301}.txt"), "caf\u{e9}.txt");
    }

    #[test]
    fn leading_and_trailing_dots_and_spaces_are_stripped() {
        assert_eq!(clean_file_name(" ..hidden.txt. . "), "hidden.txt");
    }

    #[test]
    fn cjk_hebrew_and_arabic_names_are_kept_intact() {
        for name in [
            "報告書.pdf",
            "写真 2024.jpg",
            "מסמך.txt",
            "ملف مهم.docx",
            "사진.png",
        ] {
            assert_eq!(clean_file_name(name), name);
        }
    }

    #[test]
    fn long_name_is_cut_to_200_bytes_and_keeps_its_extension() {
        let offered = format!("{}.jpg", "x".repeat(496));
        let cleaned = clean_file_name(&offered);
        assert!(cleaned.len() <= MAX_NAME_BYTES, "{} bytes", cleaned.len());
        assert!(cleaned.ends_with(".jpg"), "{cleaned}");
        assert_eq!(cleaned.len(), MAX_NAME_BYTES);
    }

    #[test]
    fn long_multibyte_name_is_cut_on_a_character_boundary() {
        let offered = format!("{}.jpg", "写".repeat(166));
        let cleaned = clean_file_name(&offered);
        assert!(cleaned.len() <= MAX_NAME_BYTES, "{} bytes", cleaned.len());
        assert!(cleaned.ends_with(".jpg"), "{cleaned}");
        assert!(cleaned.trim_end_matches(".jpg").chars().all(|c| c == '写'));
    }

    #[test]
    fn long_name_with_a_long_extension_is_cut_as_a_whole() {
        let offered = format!("a.{}", "y".repeat(400));
        let cleaned = clean_file_name(&offered);
        assert_eq!(cleaned, format!("a.{}", "y".repeat(198)));
    }

    #[test]
    fn long_device_name_stays_within_200_bytes_with_its_prefix() {
        let offered = format!("CON.{}", "y".repeat(400));
        let cleaned = clean_file_name(&offered);
        assert!(cleaned.starts_with("_CON."), "{cleaned}");
        assert_eq!(cleaned.len(), MAX_NAME_BYTES);
    }

    #[test]
    fn cut_that_exposes_spaces_before_the_dot_of_a_device_name_is_prefixed() {
        let offered = format!("CON{}x.jpg", " ".repeat(300));
        let cleaned = clean_file_name(&offered);
        assert!(cleaned.starts_with("_CON "), "{cleaned:?}");
        assert!(cleaned.len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn empty_name_becomes_file() {
        assert_eq!(clean_file_name(""), "file");
    }

    #[test]
    fn dots_only_name_becomes_file() {
        assert_eq!(clean_file_name("..."), "file");
        assert_eq!(clean_file_name("a/.."), "file");
        assert_eq!(clean_file_name("dir/"), "file");
        assert_eq!(clean_file_name("\u{202E}\u{200B}"), "file");
    }

    #[test]
    fn with_number_goes_before_the_extension() {
        assert_eq!(with_number("photo.jpg", 1), "photo (1).jpg");
    }

    #[test]
    fn with_number_goes_before_the_last_extension_only() {
        assert_eq!(with_number("archive.tar.gz", 2), "archive.tar (2).gz");
    }

    #[test]
    fn with_number_goes_at_the_end_without_an_extension() {
        assert_eq!(with_number("README", 1), "README (1)");
        let long_tail = format!("notes.{}", "z".repeat(17));
        assert_eq!(with_number(&long_tail, 3), format!("{long_tail} (3)"));
    }
}
