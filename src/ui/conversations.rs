//! The private conversations on the chat screen: the tabs that put them beside the room (each
//! with its unread count), the line that says a conversation is private, and Save chat log's
//! choice between the conversation shown and everything.

use egui::RichText;

use crate::app::{SaveScope, UiAction};
use crate::chat_state::{ChatState, ConversationKey, Conversations};

/// The room and each private conversation side by side, each with its unread count; shown
/// once there is a private conversation.
pub fn tabs(ui: &mut egui::Ui, chat: &ChatState, actions: &mut Vec<UiAction>) {
    let conversations: &Conversations = &chat.conversations;
    if !conversations.any_private() {
        return;
    }
    let mut tab = |ui: &mut egui::Ui, key: ConversationKey, label: &str| {
        let unread = conversations.unread(&key);
        let text = match unread {
            0 => label.to_string(),
            n => format!("{label} ({n})"),
        };
        let shown = *conversations.shown() == key;
        let text = if unread > 0 {
            RichText::new(text).strong()
        } else {
            RichText::new(text)
        };
        if ui.selectable_label(shown, text).clicked() && !shown {
            actions.push(UiAction::ShowConversation(key));
        }
    };
    ui.horizontal_wrapped(|ui| {
        tab(ui, ConversationKey::Room, "Room");
        for with in conversations.private() {
            let gone = !chat.users.iter().any(|u| u == with);
            let label = if gone {
                format!("{with} (away)")
            } else {
                with.to_string()
            };
            tab(ui, ConversationKey::private(with), &label);
        }
    });
    if let Some(with) = conversations.shown().nick() {
        ui.weak(format!(
            "Private conversation with {with}: only the two of you can read it."
        ));
    }
    ui.separator();
}

/// Save chat log with private conversations: the one shown, or everything.
pub fn save_choice(ui: &mut egui::Ui, shown: &ConversationKey, actions: &mut Vec<UiAction>) {
    let shown = shown.nick().unwrap_or("Room");
    ui.horizontal_wrapped(|ui| {
        ui.label("Save which chat log?");
        if ui.button(format!("This conversation ({shown})")).clicked() {
            actions.push(UiAction::SaveLogOf(SaveScope::Conversation));
        }
        if ui
            .button("Everything")
            .on_hover_text("The room and every private conversation, private lines marked")
            .clicked()
        {
            actions.push(UiAction::SaveLogOf(SaveScope::Everything));
        }
        if ui.button("Cancel").clicked() {
            actions.push(UiAction::CancelSave);
        }
    });
}
