//! What a person can ask of the window ([`UiAction`], returned by the `ui` modules) and how
//! the app carries each out. Owns the dispatch only; the work is in the other `app` modules.

use std::path::PathBuf;

use super::{FileAction, NatterApp, SaveScope};
use crate::chat_state::ConversationKey;
use crate::network::client::ClientCommand;
use crate::network::discovery::FoundRoom;
use crate::settings::ThemeChoice;

/// What a person asked for by clicking or typing; the UI returns these, the app carries them out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiAction {
    StartHosting,
    /// After "port in use": host on any free port instead.
    HostOnAnyPort,
    Connect,
    CancelConnect,
    /// Leave the chat (and stop hosting, for the host). With others in the room this only
    /// asks for confirmation ([`Session::confirm_leave`](super::Session::confirm_leave)); the
    /// chat stays readable, ended.
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
    /// After Natter stopped trying (the room ended, the host's code was declined): join the
    /// same room again, keeping the conversation.
    Reconnect,
    /// Save chat log: at once when there is only the room; with private conversations it
    /// first asks which ([`Saving::asking`](super::Saving::asking)).
    SaveLog,
    /// Save the conversation shown, or everything (the answer to the save choice).
    SaveLogOf(SaveScope),
    /// Close the save choice without saving.
    CancelSave,
    /// Put away the note saying how the last save went.
    DismissSaveNote,
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
    /// Show a conversation: the room, or the private one with that person (opened if new:
    /// clicking a name in the user list).
    ShowConversation(ConversationKey),
    /// A host's or co-host's command from the user list's menu (`/mute`… typed goes through
    /// `Send`).
    Moderate(crate::network::protocol::ModCommand),
    /// Which messages show a desktop notification (the setting).
    SetNotify(crate::notify::NotifyChoice),
    /// Save, decline, send or stop a file; where files go (see [`FileAction`]).
    File(FileAction),
    /// Keep conversations on this computer, or not (the setting, ⚙).
    SetKeepConversations(bool),
    /// Forget this room's history: its kept file goes, and its earlier lines leave the screen.
    ForgetRoomHistory,
}

impl NatterApp {
    /// Carries out what the UI asked for.
    pub fn apply(&mut self, action: UiAction) {
        match action {
            UiAction::StartHosting => self.start_hosting(None),
            UiAction::HostOnAnyPort => self.start_hosting(Some(0)),
            UiAction::Leave => {
                if self.others_in_room() > 0 {
                    self.session.set_confirm_leave(true);
                } else {
                    self.end_chat();
                }
            }
            UiAction::ConfirmLeave => self.end_chat(),
            UiAction::CancelLeave => self.session.set_confirm_leave(false),
            UiAction::CloseChat => {
                self.end_chat();
                self.session.close();
                self.saving.clear();
                self.view.clear();
                self.files.close_path_field();
            }
            UiAction::Connect => self.connect(),
            UiAction::CancelConnect => {
                self.drop_client();
                self.session.close();
            }
            UiAction::Send(text) => self.send(text),
            UiAction::Rename(wanted) => self.rename(&wanted),
            UiAction::RetryNow => self.session.send_command(ClientCommand::RetryNow),
            UiAction::Reconnect => self.reconnect(),
            UiAction::SaveLog => {
                if self
                    .session
                    .chat()
                    .is_some_and(|c| c.conversations.any_private())
                {
                    self.saving.ask(true);
                } else {
                    self.save_log_with_dialog(SaveScope::Everything);
                }
            }
            UiAction::SaveLogOf(scope) => {
                self.saving.ask(false);
                self.save_log_with_dialog(scope);
            }
            UiAction::CancelSave => self.saving.ask(false),
            UiAction::DismissSaveNote => self.saving.dismiss(),
            UiAction::OpenFolder(folder) => {
                if let Err(e) = open::that_detached(&folder) {
                    self.saving.say(format!(
                        "Could not open {}: {e}. The file is there; copy its path instead.",
                        folder.display()
                    ));
                }
            }
            UiAction::SetTheme(theme) => self.settings.theme = theme,
            UiAction::DismissNotice => self.notice = None,
            UiAction::JoinRoom(room) => {
                self.connect.join(*room);
                self.connect();
            }
            UiAction::DismissReachNote => self.hosting.dismiss_reach_note(),
            UiAction::ConnectAnyway => self.connect_anyway(),
            UiAction::DismissKeyWarning => self.connect.dismiss_warning(),
            UiAction::ShowConversation(with) => self.show_conversation(with),
            UiAction::Moderate(command) => {
                self.session.send_command(ClientCommand::Moderate(command))
            }
            UiAction::SetNotify(choice) => self.settings.notify = choice,
            UiAction::File(action) => self.apply_file(action),
            UiAction::SetKeepConversations(keep) => self.settings.keep_conversations = keep,
            UiAction::ForgetRoomHistory => {
                if let (Some(chat), Some(dir)) =
                    (self.session.chat_mut(), self.options.kept_dir.as_deref())
                {
                    self.kept.forget(chat, dir);
                }
            }
        }
    }
}
