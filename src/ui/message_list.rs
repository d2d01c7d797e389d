//! The message list of the conversation shown: lays out only the rows in view (heights of
//! rows never seen are estimated), so a long history costs no more per frame than a short one;
//! and [`ChatView`], the list's state per conversation, which the app keeps for the `ui` between
//! frames.

use std::collections::HashMap;

use egui::Align;

use crate::app::UiAction;
use crate::chat_state::{ChatLine, ChatState, ConversationId, LineKind};

/// The view state of each conversation's message list, by the conversation's identity (which a
/// rename does not change, so the scroll position follows the person).
#[derive(Debug, Default)]
pub struct ChatView {
    lists: HashMap<ConversationId, MessageListState>,
}

impl ChatView {
    /// The list state of conversation `id`: a private conversation opens at its end; the room
    /// where it is.
    pub fn list(&mut self, id: ConversationId, room: bool) -> &mut MessageListState {
        self.lists.entry(id).or_insert_with(|| MessageListState {
            scroll_to_bottom: !room,
            ..Default::default()
        })
    }

    /// Sending (or asking for something) shows the end of the conversation on the next frame.
    pub fn scroll_to_end(&mut self, id: ConversationId, room: bool) {
        self.list(id, room).scroll_to_bottom = true;
    }

    /// A new chat: nothing kept.
    pub fn clear(&mut self) {
        self.lists.clear();
    }
}

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
    pub(super) input_focused_once: bool,
}

const ROW_GAP: f32 = 4.0;

pub(super) fn message_list(
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
        // A log that screen readers announce politely as lines arrive.
        ui.ctx().accesskit_node_builder(ui.unique_id(), |node| {
            node.set_role(egui::accesskit::Role::Log);
            node.set_label("Messages");
            node.set_live(egui::accesskit::Live::Polite);
        });
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
                            let transfer = chat.files.get(id);
                            crate::ui::file_row::file_row(ui, line, id, transfer, my_nick, actions)
                        }
                        _ => super::chat::draw_row(ui, line, my_nick, dark, width),
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
