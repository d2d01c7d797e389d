//! Draws a QR code (from `phone::qr`) as egui shapes: dark squares on a light square with the
//! quiet zone, whatever the theme, so a phone's camera reads it in dark mode too.

use crate::phone;

/// Modules of light border around the code, as the QR standard asks.
const QUIET_ZONE: usize = 4;

/// Draws `text` as a QR code `side` points wide, labelled for screen readers with the text.
pub fn show(ui: &mut egui::Ui, text: &str, side: f32) {
    let Some(code) = phone::qr(text) else {
        return;
    };
    let (rect, response) = ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Image, true, format!("QR code of {text}"))
    });
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, egui::Color32::WHITE);
    let modules = code.width + 2 * QUIET_ZONE;
    let cell = side / modules as f32;
    for (index, dark) in code.dark.iter().enumerate() {
        if !dark {
            continue;
        }
        let (x, y) = (
            index % code.width + QUIET_ZONE,
            index / code.width + QUIET_ZONE,
        );
        let min = rect.min + egui::vec2(x as f32 * cell, y as f32 * cell);
        // A hair wider than a cell, so no seams show between neighbours.
        let square = egui::Rect::from_min_size(min, egui::vec2(cell + 0.5, cell + 0.5));
        painter.rect_filled(square, 0.0, egui::Color32::BLACK);
    }
}
