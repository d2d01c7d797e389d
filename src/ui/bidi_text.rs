//! Drawing text that may hold right-to-left scripts: reordered with `bidi`, right-aligned when
//! the paragraph starts right to left, and wrapped line by line before reordering (UAX #9
//! reorders each line after line breaking).
//!
//! Owns the widget only; the algorithm is in `bidi`. What screen readers and tests read, and
//! what "Copy" copies, is the logical text.

use std::sync::Arc;

use egui::text::LayoutJob;
use egui::{Galley, Response, Sense, TextFormat, Ui};

use crate::ui::bidi::{Paragraph, Piece};

/// Appends pieces as sections of their own, so the shaper treats each one separately.
pub fn append_pieces(job: &mut LayoutJob, pieces: &[Piece], format: &TextFormat) {
    for piece in pieces {
        job.append(&piece.text, 0.0, format.clone());
    }
}

/// Appends a short one-line text (a nickname) in visual order.
pub fn append_visual(job: &mut LayoutJob, text: &str, format: &TextFormat) {
    if crate::ui::bidi::has_rtl(text) {
        let paragraph = Paragraph::new(text);
        append_pieces(job, &paragraph.line_pieces(0..text.len()), format);
    } else {
        job.append(text, 0.0, format.clone());
    }
}

/// The rows of one paragraph at `width`, as byte ranges, measured with egui's fonts.
fn row_ranges(ui: &Ui, text: &str, format: &TextFormat, width: f32) -> Vec<std::ops::Range<usize>> {
    // egui's own wrapping cannot be used here: for right-to-left runs its rows report more
    // glyphs than characters, so their character ranges are wrong. Measuring words is exact.
    crate::ui::bidi::wrap(text, width, |piece| {
        ui.fonts_mut(|f| {
            f.layout_no_wrap(piece.to_string(), format.font_id.clone(), format.color)
                .size()
                .x
        })
    })
}

/// Lays out `text` (which may hold several paragraphs) at `width`, reordered for display.
/// Returns each visual row's galley and whether it is right-aligned.
/// `force_ltr` makes every paragraph left to right (for the app's own sentences).
pub fn layout(
    ui: &Ui,
    text: &str,
    format: &TextFormat,
    width: f32,
    force_ltr: bool,
) -> Vec<(Arc<Galley>, bool)> {
    let mut rows = Vec::new();
    for paragraph_text in text.split('\n') {
        let paragraph = if force_ltr {
            Paragraph::left_to_right(paragraph_text)
        } else {
            Paragraph::new(paragraph_text)
        };
        let rtl = paragraph.is_rtl();
        for range in row_ranges(ui, paragraph_text, format, width) {
            let mut job = LayoutJob::default();
            append_pieces(&mut job, &paragraph.line_pieces(range), format);
            if job.text.is_empty() {
                job.append(" ", 0.0, format.clone());
            }
            rows.push((ui.fonts_mut(|f| f.layout_job(job)), rtl));
        }
    }
    rows
}

/// The narrowest the text of a message beside its time and name may be: below it (long names
/// in a narrow window) the text goes on the line under them, at full width.
pub const MIN_BODY_BESIDE: f32 = 150.0;

/// Whether a body beside a prefix `indent` wide would be too narrow to read in `width`.
pub fn body_below(width: f32, indent: f32) -> bool {
    width - indent < MIN_BODY_BESIDE.min(width * 0.6)
}

/// A block `width` wide: an optional left-to-right `prefix` (time and nickname), then `text`
/// with right-to-left paragraphs right-aligned and every line in visual order. Not selectable
/// (a selection would copy visual order); the caller offers Copy. `accessible` is what screen
/// readers (and tests) read: the logical text.
pub fn show(
    ui: &mut Ui,
    prefix: Option<LayoutJob>,
    text: &str,
    format: &TextFormat,
    width: f32,
    force_ltr: bool,
    accessible: &str,
) -> Response {
    let mut prefix = prefix.map(|job| ui.fonts_mut(|f| f.layout_job(job)));
    let mut indent = prefix.as_ref().map_or(0.0, |g| g.size().x);
    // Long names in a narrow window: the text goes under them, never in a sliver beside.
    let below = body_below(width, indent);
    if below && let Some(galley) = &prefix {
        let mut job = (*galley.job).clone();
        job.wrap.max_width = width;
        prefix = Some(ui.fonts_mut(|f| f.layout_job(job)));
        indent = 0.0;
    }
    let prefix_height = prefix.as_ref().map_or(0.0, |g| g.size().y);
    let body_width = (width - indent).max(1.0);
    let rows = layout(ui, text, format, body_width, force_ltr);
    let body_height: f32 = rows.iter().map(|(g, _)| g.size().y).sum();
    let height = if below {
        prefix_height + body_height
    } else {
        body_height.max(prefix_height)
    };
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, height), Sense::click());
    if let Some(prefix) = prefix {
        ui.painter().galley(rect.left_top(), prefix, format.color);
    }
    let mut y = if below {
        rect.top() + prefix_height
    } else {
        rect.top()
    };
    for (galley, rtl) in rows {
        let x = if rtl {
            rect.right() - galley.size().x
        } else {
            rect.left() + indent
        };
        let row_height = galley.size().y;
        ui.painter().galley(egui::pos2(x, y), galley, format.color);
        y += row_height;
    }
    response
        .widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::Label, true, accessible));
    response
}
