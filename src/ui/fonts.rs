//! Fonts: egui's own, the system's, and compact bundled ones for Chinese, Japanese, Korean,
//! Hebrew, Arabic and symbols, so those scripts show even on a machine without such fonts.
//!
//! Owns which faces exist and in what order they are tried. The bundled faces are loaded
//! lazily, through an egui [`FontProvider`]: a face is parsed only when a character that no
//! earlier font has first appears, so a chat that never shows Chinese never pays for the CJK
//! face. eframe's system-font provider (in a real window) is asked before ours, so a system
//! font wins where there is one; in tests, which have no system provider, ours are used.

use std::sync::Arc;

use egui::epaint::text::{
    FallbackRequest, FontInsert, FontPriority, FontProvider, InsertFontFamily,
};
use egui::{FontData, FontFamily};

/// A bundled face and the characters it is there for.
struct Bundled {
    name: &'static str,
    bytes: &'static [u8],
    covers: fn(char) -> bool,
}

const BUNDLED: [Bundled; 4] = [
    Bundled {
        name: "natter-hebrew",
        bytes: include_bytes!("../../assets/fonts/NotoSansHebrew-Regular.ttf"),
        covers: |c| matches!(c, '\u{0590}'..='\u{05FF}' | '\u{FB1D}'..='\u{FB4F}'),
    },
    Bundled {
        name: "natter-arabic",
        bytes: include_bytes!("../../assets/fonts/NotoSansArabic-subset.ttf"),
        covers: |c| matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}'),
    },
    Bundled {
        name: "natter-cjk",
        bytes: include_bytes!("../../assets/fonts/NotoSansCJKsc-subset.otf"),
        covers: |c| matches!(c, '\u{1100}'..='\u{11FF}' | '\u{2E80}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}' | '\u{FF00}'..='\u{FFEF}'),
    },
    Bundled {
        name: "natter-symbols",
        bytes: include_bytes!("../../assets/fonts/DejaVuSans-symbols.ttf"),
        covers: |c| matches!(c, '\u{00A0}'..='\u{024F}' | '\u{0370}'..='\u{04FF}' | '\u{2000}'..='\u{2BFF}'),
    },
];

/// Total size of the bundled faces, for the notes and the README.
pub fn bundled_bytes() -> usize {
    BUNDLED.iter().map(|b| b.bytes.len()).sum()
}

/// Hands egui a bundled face the first time a character needs it.
struct BundledFonts;

impl FontProvider for BundledFonts {
    fn font_for(&self, request: &FallbackRequest<'_>) -> Option<FontInsert> {
        let first = request.cluster.chars().next()?;
        let bundled = BUNDLED.iter().find(|b| (b.covers)(first))?;
        Some(FontInsert {
            name: bundled.name.to_string(),
            data: FontData::from_static(bundled.bytes),
            families: [FontFamily::Proportional, FontFamily::Monospace]
                .into_iter()
                .map(|family| InsertFontFamily {
                    family,
                    priority: FontPriority::Lowest,
                })
                .collect(),
        })
    }
}

/// Installs Natter's fonts into `ctx`.
pub fn install(ctx: &egui::Context) {
    ctx.add_font_provider(Arc::new(BundledFonts));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_script_has_a_bundled_face() {
        for (c, name) in [
            ('ש', "natter-hebrew"),
            ('م', "natter-arabic"),
            ('你', "natter-cjk"),
            ('こ', "natter-cjk"),
            ('안', "natter-cjk"),
            ('●', "natter-symbols"),
        ] {
            let face = BUNDLED.iter().find(|b| (b.covers)(c)).map(|b| b.name);
            assert_eq!(face, Some(name), "{c}");
        }
        assert!(
            BUNDLED.iter().all(|b| !(b.covers)('a')),
            "Latin stays with egui's font"
        );
        assert!(bundled_bytes() < 7_000_000);
    }
}
