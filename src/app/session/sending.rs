//! A line typed in the chat: a message, an action or a command (`commands::parse`), sent to
//! the host or answered in the window; and asking for another nickname.

use crate::app::NatterApp;
use crate::chat_state::{ConversationKey, LinkState};
use crate::commands::{self, Typed};
use crate::network::client::ClientCommand;
use crate::network::text::normalize_nick;

impl NatterApp {
    /// A line typed in the chat: a message, or a command (see [`commands`]). Commands the
    /// window answers itself send nothing.
    pub(in crate::app) fn send(&mut self, text: String) {
        let text = text.trim_end().to_string();
        if text.trim().is_empty() {
            return;
        }
        if self.session.client.is_none() {
            self.keep_unsent(text);
            return;
        }
        self.scroll_to_end();
        let session = &mut self.session;
        let (Some(chat), Some(client)) = (&mut session.chat, &session.client) else {
            return;
        };
        let typed_line = text.clone();
        // A host that does not speak Natter has its own commands, if any: send what was typed.
        let typed = if chat.link == LinkState::Plain {
            Typed::Say(text)
        } else {
            commands::parse(&text)
        };
        let (text, action) = match typed {
            Typed::Say(text) => (text, false),
            Typed::Action(text) => (text, true),
            Typed::Private { to, text } => {
                // The name as the list spells it, compared as the server compares names.
                let to = match commands::recipient(&to, &chat.users, &chat.my_nick) {
                    Ok(to) => to,
                    Err(answer) => {
                        chat.system(answer);
                        return;
                    }
                };
                // Someone not online: no conversation opened or switched to (the next lines
                // would go there); the line goes back into the box to fix the name.
                if !chat.users.contains(&to) {
                    let draft = chat.conversations.draft_mut();
                    if draft.is_empty() {
                        *draft = typed_line;
                    }
                    chat.system_in_shown(format!(
                        "Not sent: nobody called {to} is online (/who lists who is). \
                         Your line is still in the box."
                    ));
                    return;
                }
                self.show_conversation(ConversationKey::private(&to));
                self.send_private(to, text, false);
                return;
            }
            Typed::Nick(wanted) => {
                self.rename(&wanted);
                return;
            }
            Typed::Who => {
                chat.system(commands::who(&chat.users));
                return;
            }
            Typed::Help => {
                chat.system(commands::HELP);
                return;
            }
            Typed::Local(answer) => {
                chat.system(answer);
                return;
            }
            // The host decides whether we may; its answer comes back as a line.
            Typed::Moderate(command) => {
                client.send(ClientCommand::Moderate(command));
                return;
            }
        };
        if let Some(to) = chat.conversations.shown().nick().map(str::to_string) {
            self.send_private(to, text, action);
            return;
        }
        session.next_local_id += 1;
        let local_id = session.next_local_id;
        chat.add_pending_line(local_id, &text, action);
        client.send(if action {
            ClientCommand::SendAction { local_id, text }
        } else {
            ClientCommand::Send { local_id, text }
        });
    }

    /// Typed with no link to send it on (the host's new code was declined, or Natter stopped
    /// trying): nothing typed is lost. The text goes back into the box and the chat says why.
    fn keep_unsent(&mut self, text: String) {
        let Some(chat) = &mut self.session.chat else {
            return;
        };
        if matches!(chat.link, LinkState::Ended) {
            return;
        }
        let draft = chat.conversations.draft_mut();
        if draft.is_empty() {
            *draft = text;
        }
        chat.system_in_shown(
            "Not sent: Natter is not connected to the host. Your text is still in the box; \
             connect again to send it.",
        );
        self.scroll_to_end();
    }

    /// Asks the host for another nickname, if it follows the rules; the chat says what came of it.
    pub(in crate::app) fn rename(&mut self, wanted: &str) {
        let (Some(chat), Some(client)) = (&mut self.session.chat, &self.session.client) else {
            return;
        };
        match normalize_nick(wanted) {
            Ok(nick) if nick == chat.my_nick => chat.system(format!("You are already {nick}.")),
            Ok(nick) => {
                chat.asked_for_nick(&nick);
                client.send(ClientCommand::Rename(nick));
            }
            Err(problem) => chat.system(format!("Your name was not changed: {problem}")),
        }
        self.scroll_to_end();
    }
}
