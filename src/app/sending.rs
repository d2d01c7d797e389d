//! A line typed in the chat: a message, an action or a command (`commands::parse`), sent to
//! the host or answered in the window; and asking for another nickname.

use super::*;

impl NatterApp {
    /// A line typed in the chat: a message, or a command (see [`commands`]). Commands the
    /// window answers itself send nothing.
    pub(super) fn send(&mut self, text: String) {
        let text = text.trim_end().to_string();
        if text.trim().is_empty() {
            return;
        }
        let (Some(chat), Some(client)) = (&mut self.chat, &self.client) else {
            return;
        };
        self.list.scroll_to_bottom = true;
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
                self.show_conversation(Some(to.clone()));
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
        };
        if let Some(to) = self.conversations.current.clone() {
            self.send_private(to, text, action);
            return;
        }
        let local_id = self.next_local_id;
        self.next_local_id += 1;
        chat.add_pending_line(local_id, &text, action);
        client.send(if action {
            ClientCommand::SendAction { local_id, text }
        } else {
            ClientCommand::Send { local_id, text }
        });
    }

    /// Asks the host for another nickname, if it follows the rules; the chat says what came of it.
    pub(super) fn rename(&mut self, wanted: &str) {
        let (Some(chat), Some(client)) = (&mut self.chat, &self.client) else {
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
        self.list.scroll_to_bottom = true;
    }
}
