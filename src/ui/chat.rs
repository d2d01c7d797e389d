//! The chat view: its panels (the top in `chat_top`, who is online in `user_list`, the message
//! list in `message_list`), the input box, and how a chat row is drawn.
//!
//! Draws the pieces of state it is given ([`ChatScreen`]) and returns [`UiAction`]s; it never
//! touches a socket.

use egui::text::LayoutJob;
use egui::{Color32, FontId, Key, TextFormat};

use std::path::PathBuf;

use crate::app::{Files, Hosting, Saving, Session, UiAction};
use crate::chat_state::{ChatLine, Delivery, LineKind};
use crate::settings::Settings;
use crate::ui::message_list::ChatView;
use crate::ui::send_file::FileTarget;
use crate::ui::{bidi, bidi_text, chat_top, message_list, user_list};

/// The message box grows to this many lines of text, then scrolls.
const INPUT_MAX_ROWS: f32 = 4.0;

/// The pieces of the app's state the chat screen draws and edits.
pub struct ChatScreen<'a> {
    pub session: &'a mut Session,
    pub view: &'a mut ChatView,
    /// The server this window runs, for the host's own chat.
    pub hosting: Option<&'a Hosting>,
    pub saving: &'a Saving,
    pub files: &'a mut Files,
    pub settings: &'a Settings,
    /// The chat's host has an identity its conversation is kept by (Forget is offered).
    pub kept_identity: bool,
    /// Why desktop notifications cannot be shown, for the settings menu.
    pub notify_problem: Option<&'a str>,
    pub download_dir: PathBuf,
    pub can_send_files: bool,
    /// Whether a file manager can be asked to show a folder (Open folder after a save).
    pub open_folder: bool,
}

pub fn show(ui: &mut egui::Ui, mut app: ChatScreen<'_>, actions: &mut Vec<UiAction>) {
    if ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, Key::S)) {
        actions.push(UiAction::SaveLog);
    }
    // The input box is drawn first so that it is the first Tab stop (egui moves focus in the
    // order widgets are added); the top bar's Stop hosting / Leave come after it.
    if app.session.ended() {
        egui::Panel::bottom("chat_input").show(ui, |ui| {
            ui.add_space(6.0);
            ui.weak("This chat has ended. Save chat log keeps it; New chat goes back to hosting and connecting.");
            ui.add_space(6.0);
        });
    } else {
        let target = FileTarget::new(app.session.chat(), app.can_send_files);
        egui::Panel::bottom("chat_input").show(ui, |ui| input_box(ui, &mut app, &target, actions));
        crate::ui::send_file::dropped_files(ui, &target, actions);
    }
    if app.session.confirm_leave() {
        chat_top::confirm_leave(ui, &app, actions);
    }
    egui::Panel::top("chat_top").show(ui, |ui| chat_top::top_bar(ui, &app, actions));
    egui::Panel::right("users")
        .default_size(170.0)
        .show(ui, |ui| user_list::user_list(ui, app.session, actions));
    egui::CentralPanel::default().show(ui, |ui| {
        if let Some(chat) = app.session.chat() {
            crate::ui::conversations::tabs(ui, chat, actions);
            let shown = chat.conversations.shown();
            let lines: Vec<&ChatLine> = chat.lines_of(shown).collect();
            let list = app
                .view
                .list(chat.conversations.shown_id(), shown.is_room());
            message_list::message_list(ui, &lines, chat, list, actions);
        }
    });
}

fn input_box(
    ui: &mut egui::Ui,
    app: &mut ChatScreen<'_>,
    target: &FileTarget,
    actions: &mut Vec<UiAction>,
) {
    crate::ui::send_file::path_field(ui, app.files.send_path_mut(), &target.recipient, actions);
    ui.add_space(6.0);
    let id = egui::Id::unique("message_input");
    let focused = ui.memory(|m| m.has_focus(id));
    // Enter sends; Shift+Enter falls through to the text box and adds a line.
    // (consume_key alone would also take Shift+Enter: it matches modifiers loosely.)
    let send_by_key = focused
        && ui.input_mut(|i| !i.modifiers.shift && i.consume_key(egui::Modifiers::NONE, Key::Enter));
    let mut send = send_by_key;
    if let (true, Some(chat)) = (focused, app.session.chat_mut()) {
        crate::ui::completion::complete_nick_on_tab(ui, chat, id);
    }
    let Some(chat) = app.session.chat_mut() else {
        return;
    };
    let (hint, name) = match chat.conversations.shown().nick() {
        Some(with) => (
            format!("Write to {with} privately. Enter sends, Shift+Enter adds a line."),
            format!("Private message to {with}"),
        ),
        None => (
            "Write a message. Enter sends, Shift+Enter adds a line.".to_string(),
            "Message to the room".to_string(),
        ),
    };
    let list = app.view.list(
        chat.conversations.shown_id(),
        chat.conversations.shown().is_room(),
    );
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
                    egui::TextEdit::multiline(chat.conversations.draft_mut())
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
        // A name of its own for screen readers: the hint is only a placeholder.
        ui.ctx()
            .accesskit_node_builder(response.id, |node| node.set_label(name));
        // While a name can be completed, the next Tab is ours: the box keeps the focus.
        if response.has_focus() && crate::ui::completion::nick_completion(ui, chat).is_some() {
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
            crate::ui::send_file::button(ui, target, size, actions);
        });
        // Ready to type as soon as the chat opens, and again after each send.
        if send || !list.input_focused_once {
            response.request_focus();
            list.input_focused_once = true;
        }
    });
    let draft = chat.conversations.draft_mut();
    if send && !draft.trim().is_empty() {
        actions.push(UiAction::Send(std::mem::take(draft)));
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
pub(super) fn draw_row(
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
        let mut prefix_job = parts.prefix;
        let unwrapped = ui.fonts_mut(|f| f.layout_job(prefix_job.clone())).size().x;
        // Long names in a narrow window: time and name on a line of their own, the text under
        // them at full width, never squeezed into a column a few letters wide.
        let below = bidi_text::body_below(width, unwrapped);
        if below {
            prefix_job.wrap.max_width = width;
        }
        let prefix = ui.fonts_mut(|f| f.layout_job(prefix_job));
        let indent = if below { 0.0 } else { prefix.size().x };
        let mut job = LayoutJob {
            wrap: egui::text::TextWrapping::wrap_at_width((width - indent).max(1.0)),
            ..Default::default()
        };
        job.append(&parts.body, 0.0, parts.body_format);
        if let Some((suffix, format)) = parts.suffix {
            job.append(&suffix, 0.0, format);
        }
        let row = |ui: &mut egui::Ui| {
            ui.spacing_mut().item_spacing = egui::vec2(0.0, 0.0);
            // Hover only: a clickable prefix would be an unnamed node of its own for screen
            // readers, which already hear the time and name in the body's name.
            let (rect, prefix_response) =
                ui.allocate_exact_size(prefix.size(), egui::Sense::hover());
            ui.painter()
                .galley(rect.left_top(), prefix, ui.visuals().text_color());
            let body = ui.add(egui::Label::new(job).selectable(true).wrap());
            body.widget_info(|| {
                egui::WidgetInfo::labeled(egui::accesskit::Role::Label, true, &accessible)
            });
            body.union(prefix_response)
        };
        if below {
            ui.vertical(row).inner
        } else {
            ui.horizontal_top(row).inner
        }
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
