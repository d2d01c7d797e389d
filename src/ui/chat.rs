//! The chat view: its panels (the top in `chat_top`, who is online in `user_list`), the message
//! list and the input box.
//!
//! Draws from the app's state and returns [`UiAction`]s; it never touches a socket. The message
//! list lays out only the rows in view (heights of rows never seen are estimated), so a long
//! history costs no more per frame than a short one.

use egui::text::LayoutJob;
use egui::{Align, Color32, FontId, Key, TextFormat};

use crate::app::{NatterApp, UiAction};
use crate::chat_state::{ChatLine, ChatState, Delivery, LineKind};
use crate::ui::{bidi, bidi_text, chat_top, user_list};

/// Remembered between frames: measured row heights and whether to jump to the end.
#[derive(Debug, Default)]
pub struct MessageListState {
    /// Height of each row, measured when it was last laid out or estimated before that.
    heights: Vec<f32>,
    measured: Vec<bool>,
    /// Width the heights were measured at; a new width invalidates them.
    width: f32,
    /// Set by sending or by "Jump to new messages": scroll to the end on the next frame.
    pub scroll_to_bottom: bool,
    /// Lines that had arrived when the person last was at the bottom.
    seen: usize,
    /// The message box got the keyboard focus when this chat opened.
    input_focused_once: bool,
}

const ROW_GAP: f32 = 4.0;
/// The message box grows to this many lines of text, then scrolls.
const INPUT_MAX_ROWS: f32 = 4.0;

pub fn show(ui: &mut egui::Ui, app: &mut NatterApp, actions: &mut Vec<UiAction>) {
    if ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, Key::S)) {
        actions.push(UiAction::SaveLog);
    }
    // The input box is drawn first so that it is the first Tab stop (egui moves focus in the
    // order widgets are added); the top bar's Stop hosting / Leave come after it.
    if app.chat_ended() {
        egui::Panel::bottom("chat_input").show(ui, |ui| {
            ui.add_space(6.0);
            ui.weak("This chat has ended. Save chat log keeps it; New chat goes back to hosting and connecting.");
            ui.add_space(6.0);
        });
    } else {
        egui::Panel::bottom("chat_input").show(ui, |ui| input_box(ui, app, actions));
        crate::ui::send_file::dropped_files(ui, app, actions);
    }
    if app.confirm_leave {
        chat_top::confirm_leave(ui, app, actions);
    }
    egui::Panel::top("chat_top").show(ui, |ui| chat_top::top_bar(ui, app, actions));
    egui::Panel::right("users")
        .default_size(170.0)
        .show(ui, |ui| user_list::user_list(ui, app, actions));
    egui::CentralPanel::default().show(ui, |ui| {
        if let Some(chat) = &app.chat {
            crate::ui::conversations::tabs(ui, chat, &app.conversations, actions);
            let with = app.conversations.current.as_deref();
            let lines: Vec<&ChatLine> = chat.lines_of(with).collect();
            message_list(ui, &lines, chat, &mut app.list, actions);
        }
    });
}

fn input_box(ui: &mut egui::Ui, app: &mut NatterApp, actions: &mut Vec<UiAction>) {
    crate::ui::send_file::path_field(ui, app, actions);
    ui.add_space(6.0);
    let id = egui::Id::unique("message_input");
    let focused = ui.memory(|m| m.has_focus(id));
    // Enter sends; Shift+Enter falls through to the text box and adds a line.
    // (consume_key alone would also take Shift+Enter: it matches modifiers loosely.)
    let send_by_key = focused
        && ui.input_mut(|i| !i.modifiers.shift && i.consume_key(egui::Modifiers::NONE, Key::Enter));
    let mut send = send_by_key;
    if focused {
        crate::ui::completion::complete_nick_on_tab(ui, app, id);
    }
    let hint = match &app.conversations.current {
        Some(with) => format!("Write to {with} privately. Enter sends, Shift+Enter adds a line."),
        None => "Write a message. Enter sends, Shift+Enter adds a line.".to_string(),
    };
    ui.horizontal_top(|ui| {
        let button_width = 90.0;
        let row_height = ui.text_style_height(&egui::TextStyle::Body);
        // TextEdit's default inner margin is 2 px above and below the text.
        let margin = 4.0;
        // The box grows with what is typed up to INPUT_MAX_ROWS lines, then scrolls; the Send
        // button keeps the size of the two-line box.
        let input_width = ui.available_width() - button_width - 8.0;
        let response = egui::ScrollArea::vertical()
            .id_salt("message_input_scroll")
            .max_height(INPUT_MAX_ROWS * row_height + margin)
            .min_scrolled_height(0.0)
            .show(ui, |ui| {
                ui.add(
                    egui::TextEdit::multiline(&mut app.draft)
                        .id(id)
                        .hint_text(hint)
                        .desired_rows(2)
                        .desired_width(input_width)
                        .return_key(egui::KeyboardShortcut::new(
                            egui::Modifiers::SHIFT,
                            Key::Enter,
                        )),
                )
            })
            .inner;
        // While a name can be completed, the next Tab is ours: the box keeps the focus.
        if response.has_focus() && crate::ui::completion::nick_completion(ui, app).is_some() {
            let keep_tab = egui::EventFilter {
                tab: true,
                horizontal_arrows: true,
                vertical_arrows: true,
                escape: false,
            };
            ui.memory_mut(|m| m.set_focus_lock_filter(id, keep_tab));
        }
        // Send, and Send file… under it: together as tall as the two-line box.
        ui.vertical(|ui| {
            ui.spacing_mut().item_spacing.y = 2.0;
            let size = egui::vec2(button_width, row_height + margin - 1.0);
            if ui.add_sized(size, egui::Button::new("Send")).clicked() {
                send = true;
            }
            crate::ui::send_file::button(ui, app, size, actions);
        });
        // Ready to type as soon as the chat opens, and again after each send.
        if send || !app.list.input_focused_once {
            response.request_focus();
            app.list.input_focused_once = true;
        }
    });
    if send && !app.draft.trim().is_empty() {
        actions.push(UiAction::Send(std::mem::take(&mut app.draft)));
    }
    ui.add_space(6.0);
}

/// A stable, readable colour per nickname: the same person is the same colour for everyone.
pub fn nick_color(nick: &str, dark_mode: bool) -> Color32 {
    // FNV-1a: tiny, stable across runs and platforms (unlike std's randomly seeded hasher).
    let hash = nick.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    palette_color((hash % 360) as u16, dark_mode)
}

/// Every colour a nickname can get: one per degree of hue. Light backgrounds need darker
/// names (yellow is the lightest hue at a given value): at value 0.45 (gamma) every hue reaches
/// 4.5:1 (WCAG AA) against the light panel, which the tests check.
pub fn palette_color(hue_degrees: u16, dark_mode: bool) -> Color32 {
    let hue = f32::from(hue_degrees % 360) / 360.0;
    if dark_mode {
        egui::ecolor::Hsva::new(hue, 0.55, 0.95, 1.0).into()
    } else {
        // Value in gamma space (as shown), so it bounds how light the name looks.
        egui::ecolor::HsvaGamma {
            h: hue,
            s: 0.8,
            v: 0.45,
            a: 1.0,
        }
        .into()
    }
}

fn message_list(
    ui: &mut egui::Ui,
    lines: &[&ChatLine],
    chat: &ChatState,
    list: &mut MessageListState,
    actions: &mut Vec<UiAction>,
) {
    let my_nick = chat.my_nick.as_str();
    let width = ui.available_width();
    let row_height = ui.text_style_height(&egui::TextStyle::Body);
    if (list.width - width).abs() > 0.5 {
        list.width = width;
        list.measured.iter_mut().for_each(|m| *m = false);
    }
    // New rows get an estimate: wrapped lines guessed from their length.
    let chars_per_line = (width / (row_height * 0.5)).max(10.0);
    for line in &lines[list.heights.len().min(lines.len())..] {
        list.heights
            .push(estimate_height(line, chars_per_line, row_height));
        list.measured.push(false);
    }
    list.heights.truncate(lines.len());
    list.measured.truncate(lines.len());
    let total: f32 = list.heights.iter().sum();

    let jump = std::mem::take(&mut list.scroll_to_bottom);
    let area = egui::ScrollArea::vertical()
        .auto_shrink(false)
        .stick_to_bottom(true);
    let dark = ui.visuals().dark_mode;
    let output = area.show_viewport(ui, |ui, viewport| {
        ui.set_height(total);
        let top = ui.min_rect().top();
        if jump {
            let end = egui::Rect::from_min_size(
                egui::pos2(ui.min_rect().left(), top + total - 1.0),
                egui::vec2(1.0, 1.0),
            );
            ui.scroll_to_rect(end, Some(Align::BOTTOM));
        }
        let mut y = 0.0;
        for (index, line) in lines.iter().enumerate() {
            let height = list.heights[index];
            if y + height < viewport.min.y {
                y += height;
                continue;
            }
            if y > viewport.max.y {
                break;
            }
            let rect = egui::Rect::from_min_size(
                egui::pos2(ui.min_rect().left(), top + y),
                egui::vec2(width, height),
            );
            let response = ui
                .scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
                    match &line.kind {
                        LineKind::File { id, .. } => {
                            let transfer = chat.transfers.get(id);
                            crate::ui::transfers::file_row(ui, line, id, transfer, my_nick, actions)
                        }
                        _ => draw_row(ui, line, my_nick, dark, width),
                    }
                })
                .inner;
            let measured = response.rect.height() + ROW_GAP;
            if (measured - height).abs() > 0.5 {
                list.heights[index] = measured;
                ui.ctx().request_discard("message row height was estimated");
            }
            list.measured[index] = true;
            y += height;
        }
    });
    let at_bottom =
        output.state.clamped_offset().y + output.inner_rect.height() >= output.content_size.y - 4.0;
    if at_bottom {
        list.seen = lines.len();
    } else if lines.len() > list.seen {
        let button_pos = output.inner_rect.center_bottom() - egui::vec2(80.0, 40.0);
        egui::Area::new(egui::Id::unique("jump_to_new"))
            .fixed_pos(button_pos)
            .show(ui.ctx(), |ui| {
                if ui.button("Jump to new messages").clicked() {
                    list.scroll_to_bottom = true;
                }
            });
    }
}

fn estimate_height(line: &ChatLine, chars_per_line: f32, row_height: f32) -> f32 {
    let text = match &line.kind {
        LineKind::Message { text, from, .. } => text.chars().count() + from.chars().count() + 8,
        LineKind::System(text) | LineKind::Plain(text) => text.chars().count() + 8,
        LineKind::File { summary, .. } => summary.chars().count() + 8,
    };
    let newlines = match &line.kind {
        LineKind::Message { text, .. } => text.matches('\n').count(),
        // The buttons or progress bar under the headline.
        LineKind::File { .. } => 2,
        _ => 0,
    };
    let lines = (text as f32 / chars_per_line).ceil().max(1.0) + newlines as f32;
    lines * row_height + ROW_GAP
}

/// When a line was written, and when it was delivered if that was in a later minute (a line
/// typed while the link was down): "10:01 (sent 10:03)".
pub fn time_label(line: &ChatLine) -> String {
    let written = line.time.format("%H:%M").to_string();
    match line.delivered_late {
        Some(delivered) => format!("{written} (sent {})", delivered.format("%H:%M")),
        None => written,
    }
}

/// A chat row cut into what is always left-to-right (time, nickname) and the body text.
struct RowParts {
    prefix: LayoutJob,
    body: String,
    body_format: TextFormat,
    /// Delivery state after the body: "(sending…)" or why it was not sent.
    suffix: Option<(String, TextFormat)>,
    /// Someone else's message that names us (see `mentions`): highlighted.
    mention: bool,
}

fn row_parts(ui: &egui::Ui, line: &ChatLine, my_nick: &str, dark: bool) -> RowParts {
    let body_font = FontId::proportional(14.0);
    let weak = ui.visuals().weak_text_color();
    let normal = ui.visuals().text_color();
    let format = |color: Color32| TextFormat {
        font_id: body_font.clone(),
        color,
        ..Default::default()
    };
    let mut prefix = LayoutJob::default();
    prefix.append(&format!("{}  ", time_label(line)), 0.0, format(weak));
    match &line.kind {
        LineKind::Message {
            from,
            text,
            delivery,
            action,
            ..
        } => {
            let mut nick = format(nick_color(from, dark));
            if from == my_nick {
                nick.underline = egui::Stroke::new(1.0, nick.color);
            }
            // An action reads "* alice waves".
            if *action {
                prefix.append("* ", 0.0, format(nick.color));
            }
            bidi_text::append_visual(&mut prefix, from, &nick);
            prefix.append(if *action { " " } else { ": " }, 0.0, format(weak));
            let suffix = match delivery {
                Delivery::Delivered => None,
                Delivery::Pending => Some(("  (sending…)".to_string(), format(weak))),
                Delivery::NotSent(reason) => Some((
                    format!("  (not sent: {reason})"),
                    format(ui.visuals().error_fg_color),
                )),
            };
            let mention = from != my_nick && crate::mentions::mentions(text, my_nick);
            let mut body_format =
                format(ui.visuals().strong_text_color().lerp_to_gamma(normal, 0.3));
            if mention {
                body_format.background = mention_background(dark);
            }
            RowParts {
                prefix,
                body: text.clone(),
                body_format,
                suffix,
                mention,
            }
        }
        LineKind::System(text) | LineKind::File { summary: text, .. } => {
            let mut italic = format(weak);
            italic.italics = true;
            RowParts {
                prefix,
                body: text.clone(),
                body_format: italic,
                suffix: None,
                mention: false,
            }
        }
        LineKind::Plain(text) => {
            prefix.append("host: ", 0.0, format(weak));
            RowParts {
                prefix,
                body: text.clone(),
                body_format: format(normal),
                suffix: None,
                mention: false,
            }
        }
    }
}

/// The background of a message that mentions us: a soft amber, readable in both themes.
fn mention_background(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(0x5a, 0x47, 0x10)
    } else {
        Color32::from_rgb(0xff, 0xec, 0xb3)
    }
}

/// What screen readers (and tests) are told of a highlighted row.
fn mention_note(mention: bool) -> &'static str {
    if mention { " (mentions you)" } else { "" }
}

/// Draws one chat row. Left-to-right rows are one selectable label; rows with right-to-left
/// text get their body reordered (and right-aligned if it starts right to left). Every row
/// has a context menu that copies in logical order.
fn draw_row(
    ui: &mut egui::Ui,
    line: &ChatLine,
    my_nick: &str,
    dark: bool,
    width: f32,
) -> egui::Response {
    let parts = row_parts(ui, line, my_nick, dark);
    let needs_bidi = bidi::has_rtl(&parts.body);
    let response = if needs_bidi {
        let mut prefix = parts.prefix;
        if let Some((suffix, format)) = &parts.suffix {
            prefix.append(suffix.trim_start(), 0.0, format.clone());
            prefix.append(" ", 0.0, format.clone());
        }
        let accessible = format!(
            "{}{}{}",
            prefix.text,
            parts.body,
            mention_note(parts.mention)
        );
        // The app's own sentences are English: left to right even when they quote a name.
        let force_ltr = matches!(line.kind, LineKind::System(_));
        bidi_text::show(
            ui,
            Some(prefix),
            &parts.body,
            &parts.body_format,
            width,
            force_ltr,
            &accessible,
        )
    } else {
        // Time and nickname on the left; the body beside them, so that typed line breaks and
        // wrapped lines continue under the text, not under the time.
        let accessible = format!(
            "{}{}{}{}",
            parts.prefix.text,
            parts.body,
            parts.suffix.as_ref().map_or("", |(s, _)| s.as_str()),
            mention_note(parts.mention)
        );
        let prefix = ui.fonts_mut(|f| f.layout_job(parts.prefix));
        let indent = prefix.size().x;
        let mut job = LayoutJob {
            wrap: egui::text::TextWrapping::wrap_at_width((width - indent).max(40.0)),
            ..Default::default()
        };
        job.append(&parts.body, 0.0, parts.body_format);
        if let Some((suffix, format)) = parts.suffix {
            job.append(&suffix, 0.0, format);
        }
        ui.horizontal_top(|ui| {
            ui.spacing_mut().item_spacing.x = 0.0;
            let (rect, prefix_response) =
                ui.allocate_exact_size(prefix.size(), egui::Sense::click());
            ui.painter()
                .galley(rect.left_top(), prefix, ui.visuals().text_color());
            let body = ui.add(egui::Label::new(job).selectable(true).wrap());
            body.widget_info(|| {
                egui::WidgetInfo::labeled(egui::accesskit::Role::Label, true, &accessible)
            });
            body.union(prefix_response)
        })
        .inner
    };
    response.context_menu(|ui| {
        let body = match &line.kind {
            LineKind::Message { text, .. }
            | LineKind::System(text)
            | LineKind::Plain(text)
            | LineKind::File { summary: text, .. } => text,
        };
        if ui.button("Copy message").clicked() {
            ui.ctx().copy_text(body.clone());
            ui.close();
        }
        if ui.button("Copy line with time and name").clicked() {
            ui.ctx()
                .copy_text(crate::chat_log::format_log(std::slice::from_ref(line)));
            ui.close();
        }
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nick_colours_are_stable_and_differ_between_people() {
        assert_eq!(nick_color("alice", true), nick_color("alice", true));
        assert_ne!(nick_color("alice", true), nick_color("bob", true));
        assert_ne!(nick_color("alice", true), nick_color("alice", false));
    }

    #[test]
    fn a_line_delivered_in_a_later_minute_shows_written_and_sent_times() {
        use chrono::TimeZone;
        let written = chrono::Local
            .with_ymd_and_hms(2026, 11, 23, 10, 1, 30)
            .unwrap();
        let mut line = ChatLine::new(written, LineKind::System("x".into()));
        assert_eq!(time_label(&line), "10:01");
        line.delivered_late = Some(written + chrono::Duration::minutes(2));
        assert_eq!(time_label(&line), "10:01 (sent 10:03)");
    }

    /// WCAG 2 relative luminance of an opaque colour.
    fn luminance(color: Color32) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.040_45 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(color.r()) + 0.7152 * channel(color.g()) + 0.0722 * channel(color.b())
    }

    /// WCAG contrast ratio of `fg` drawn over `bg` (a translucent `fg` is blended first:
    /// egui's colours are premultiplied).
    fn contrast(fg: Color32, bg: Color32) -> f64 {
        let keep = 1.0 - f32::from(fg.a()) / 255.0;
        let blend = |f: u8, b: u8| (f32::from(f) + f32::from(b) * keep).round().min(255.0) as u8;
        let shown = Color32::from_rgb(
            blend(fg.r(), bg.r()),
            blend(fg.g(), bg.g()),
            blend(fg.b(), bg.b()),
        );
        let (a, b) = (luminance(shown), luminance(bg));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    #[test]
    fn every_nick_colour_and_the_timestamp_colour_reach_4_5_to_1_on_the_panel_in_both_themes() {
        for theme in [egui::Theme::Light, egui::Theme::Dark] {
            let visuals = crate::ui::shell::visuals(theme);
            let background = visuals.panel_fill;
            for hue in 0..360 {
                let color = palette_color(hue, visuals.dark_mode);
                let ratio = contrast(color, background);
                assert!(
                    ratio >= 4.5,
                    "{theme:?}: hue {hue} {color:?} on {background:?} is {ratio:.2}:1"
                );
            }
            let weak = visuals.weak_text_color();
            let ratio = contrast(weak, background);
            assert!(
                ratio >= 4.5,
                "{theme:?}: timestamps {weak:?} on {background:?} are {ratio:.2}:1"
            );
        }
        // The names people get come from the palette.
        for nick in ["alice", "bob", "דנה", "王小明"] {
            let hue = (0..360).find(|&h| palette_color(h, false) == nick_color(nick, false));
            assert!(hue.is_some(), "{nick}");
        }
    }
}
