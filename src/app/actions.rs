//! What a person can ask of the window ([`UiAction`], returned by the `ui` modules) and how
//! the app carries each out. Owns the dispatch only; the work is in the other `app` modules.

use std::path::PathBuf;

use super::{FileAction, NatterApp, SaveScope};
use crate::network::client::ClientCommand;
use crate::network::discovery::FoundRoom;
use crate::settings::ThemeChoice;
use crate::ui;

/// What a person asked for by clicking or typing; the UI returns these, the app carries them out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiAction {
    StartHosting,
    /// After "port in use": host on any free port instead.
    HostOnAnyPort,
    Connect,
    CancelConnect,
    /// Leave the chat (and stop hosting, for the host). With others in the room this only
    /// asks for confirmation ([`NatterApp::confirm_leave`]); the chat stays readable, ended.
    Leave,
    /// Yes, leave (or stop hosting), from the confirmation.
    ConfirmLeave,
    /// No, stay, from the confirmation.
    CancelLeave,
    /// Close an ended chat and return to the tabs ("New chat").
    CloseChat,
    Send(String),
    /// Ask the host for this nickname (the rename box; `/nick NAME` does the same).
    Rename(String),
    /// While the link is down: stop waiting and reconnect now.
    RetryNow,
    /// Save chat log: at once when there is only the room; with private conversations it
    /// first asks which ([`NatterApp::save_choice`]).
    SaveLog,
    /// Save the conversation shown, or everything (the answer to the save choice).
    SaveLogOf(SaveScope),
    /// Close the save choice without saving.
    CancelSave,
    /// Show this folder in the desktop's file manager (after a save without a dialog).
    OpenFolder(PathBuf),
    SetTheme(ThemeChoice),
    DismissNotice,
    /// Join a room heard on the network (the list entry pressed): its address goes into the
    /// address field, then as Connect (the nickname comes from the field), held to the key
    /// trusted for that room or address, else to the key it announced.
    JoinRoom(Box<FoundRoom>),
    /// The host read the "could not reach you" note.
    DismissReachNote,
    /// From the host-key warning, after the person ticked that they checked: trust the
    /// host's new key (or its lack of encryption) and connect.
    ConnectAnyway,
    /// From the host-key warning: do not connect; back to the tabs.
    DismissKeyWarning,
    /// Show a conversation: `None` the room, `Some(nick)` the private one with that person
    /// (opened if new: clicking a name in the user list).
    ShowConversation(Option<String>),
    /// Which messages show a desktop notification (the setting).
    SetNotify(crate::notify::NotifyChoice),
    /// Save, decline, send or stop a file; where files go (see [`FileAction`]).
    File(FileAction),
}

impl NatterApp {
    /// Carries out what the UI asked for.
    pub fn apply(&mut self, action: UiAction) {
        match action {
            UiAction::StartHosting => self.start_hosting(None),
            UiAction::HostOnAnyPort => self.start_hosting(Some(0)),
            UiAction::Leave => {
                if self.others_in_room() > 0 {
                    self.confirm_leave = true;
                } else {
                    self.end_chat();
                }
            }
            UiAction::ConfirmLeave => self.end_chat(),
            UiAction::CancelLeave => self.confirm_leave = false,
            UiAction::CloseChat => {
                self.end_chat();
                self.chat = None;
                self.log_status = None;
                self.log_saved_without_dialog = None;
                self.save_choice = false;
                self.list = ui::chat::MessageListState::default();
                self.conversations.clear();
                self.send_path = None;
            }
            UiAction::Connect => self.connect(),
            UiAction::CancelConnect => {
                self.drop_client();
                self.chat = None;
            }
            UiAction::Send(text) => self.send(text),
            UiAction::Rename(wanted) => self.rename(&wanted),
            UiAction::RetryNow => {
                if let Some(client) = &self.client {
                    client.send(ClientCommand::RetryNow);
                }
            }
            UiAction::SaveLog => {
                if self
                    .chat
                    .as_ref()
                    .is_some_and(|c| !c.conversations.is_empty())
                {
                    self.save_choice = true;
                } else {
                    self.save_log_with_dialog(SaveScope::Everything);
                }
            }
            UiAction::SaveLogOf(scope) => {
                self.save_choice = false;
                self.save_log_with_dialog(scope);
            }
            UiAction::CancelSave => self.save_choice = false,
            UiAction::OpenFolder(folder) => {
                if let Err(e) = open::that_detached(&folder) {
                    self.log_status = Some(format!(
                        "Could not open {}: {e}. The file is there; copy its path instead.",
                        folder.display()
                    ));
                }
            }
            UiAction::SetTheme(theme) => self.settings.theme = theme,
            UiAction::DismissNotice => self.notice = None,
            UiAction::JoinRoom(room) => {
                self.address_text = room.addr.to_string();
                self.joining = Some(*room);
                self.connect();
            }
            UiAction::DismissReachNote => {
                if let Some(hosting) = &mut self.hosting {
                    hosting.reach_note = None;
                }
            }
            UiAction::ConnectAnyway => self.connect_anyway(),
            UiAction::DismissKeyWarning => self.key_warning = None,
            UiAction::ShowConversation(with) => self.show_conversation(with),
            UiAction::SetNotify(choice) => self.settings.notify = choice,
            UiAction::File(action) => self.apply_file(action),
        }
    }
}
