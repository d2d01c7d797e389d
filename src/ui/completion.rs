//! Tab in the message box: completing the nickname being typed, and Tab again for the next
//! one that starts alike. The text rules are in `mentions`; this keeps what the last Tab did
//! (egui memory) and puts the cursor after the name.

use egui::Key;

use crate::chat_state::ChatState;

fn completion_memory() -> egui::Id {
    egui::Id::unique("nick_completion")
}

/// What Tab would make of the draft now: (what was typed before the first Tab, the draft
/// with the name completed), or `None` when there is no name to complete.
pub fn nick_completion(ui: &egui::Ui, chat: &ChatState) -> Option<(String, String)> {
    let draft = chat.conversations.draft();
    // (What was typed before the first Tab, what the last Tab made of the draft.)
    let last: Option<(String, String)> = ui.data(|d| d.get_temp(completion_memory()));
    let (typed, base) = match last {
        Some((typed, made)) if made == draft => {
            let base = draft.trim_end_matches([' ', ':']).to_string();
            (typed, base)
        }
        _ => (
            crate::mentions::last_word(draft).to_string(),
            draft.to_string(),
        ),
    };
    if base.ends_with(char::is_whitespace) || typed.trim_start_matches('@').is_empty() {
        return None;
    }
    let completed = crate::mentions::complete(&base, &typed, &chat.users, &chat.my_nick)?;
    Some((typed, completed))
}

/// Tab in the message box completes the nickname being typed (Tab again: the next one that
/// starts alike). With nothing to complete, Tab moves the focus as usual.
pub fn complete_nick_on_tab(ui: &mut egui::Ui, chat: &mut ChatState, id: egui::Id) {
    let Some((typed, completed)) = nick_completion(ui, chat) else {
        return;
    };
    if !ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, Key::Tab)) {
        return;
    }
    *chat.conversations.draft_mut() = completed.clone();
    ui.data_mut(|d| d.insert_temp(completion_memory(), (typed, completed)));
    if let Some(mut state) = egui::TextEdit::load_state(ui.ctx(), id) {
        let end = egui::text::CCursor::new(chat.conversations.draft().chars().count());
        state
            .cursor
            .set_char_range(Some(egui::text::CCursorRange::one(end)));
        state.store(ui.ctx(), id);
    }
}
