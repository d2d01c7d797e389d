//! The plain-text dialect on the server: what `nc`, `telnet` and tutorial scripts get.
//!
//! Owns joining a plain peer as `guest-N` with a greeting and recent messages, acting on the
//! lines it types, and counting an unfinished line as sent after a short silence. The wording
//! lives in `network::plain`; actions both dialects share live in `handler`.

use std::sync::Arc;

use super::connection::End;
use super::handler::Handler;
use crate::network::command_line::{NeedsMore, Typed};
use crate::network::lock;
use crate::network::plain;
use crate::network::protocol::LeaveReason;

/// How many recent messages a plain peer is shown on joining.
const RECENT_FOR_PLAIN: usize = 20;

impl Handler {
    /// Puts a plain peer in the room as `guest-N` and greets it.
    pub(super) fn join_plain(&mut self) -> Option<End> {
        let token = match self.state.new_session_token() {
            Ok(token) => token,
            Err(e) => return Some(self.no_session_token(&e)),
        };
        let state = Arc::clone(&self.state);
        let mut room = lock(&state.room);
        if room.members.len() >= self.config().max_clients {
            drop(room);
            return Some(self.room_full());
        }
        room.next_guest += 1;
        let nick = room.unique_nick(&format!("guest-{}", room.next_guest), None);
        state.remember_session(&token);
        self.session_token = token;
        self.enter_room(&mut room, &nick, true);
        let config = self.config();
        let mut greeting = plain::greeting(
            &config.name,
            &config.welcome_text,
            &nick,
            &room.nicks_marked(),
        );
        // A newcomer's session is new: nobody's private messages are among them.
        let recent: Vec<_> = room
            .history
            .iter()
            .rev()
            .filter(|stored| stored.visible_to(&self.session_token))
            .take(RECENT_FOR_PLAIN)
            .collect();
        if !recent.is_empty() {
            greeting.push_str(&plain::notice("Recent messages:"));
            for stored in recent.into_iter().rev() {
                greeting.push_str(&plain::chat(&stored.message));
            }
        }
        self.send_text(&greeting);
        drop(room);
        self.joined(nick);
        None
    }

    /// Handles the unfinished line, if any, as if its newline had come.
    pub(super) fn flush_partial_plain_line(&mut self) -> Option<End> {
        let line = self.splitter.take_partial()?;
        self.handle_plain_line(&line)
    }

    pub(super) fn handle_plain_line(&mut self, line: &[u8]) -> Option<End> {
        #[cfg(test)]
        if line == PANIC_LINE {
            panic!("a test asked for a panic");
        }
        match plain::parse_line(line) {
            Typed::Nothing => None,
            Typed::Say(text) => self.chat(&text, None, false),
            // A `/word` that is no command is said as typed, as people have always typed
            // `/shrug` into nc.
            Typed::Unknown { line, .. } => self.chat(&line, None, false),
            Typed::Action(text) => self.chat(&text, None, true),
            Typed::Nick(nick) => self.rename(&nick),
            Typed::Private { to, text } => self.private(&to, &text, None, false),
            Typed::Usage(needs) => {
                let how = match needs {
                    NeedsMore::Nick => "Type /nick NAME to pick a name, e.g. /nick Dana.",
                    NeedsMore::Me => "Type /me TEXT for an action, e.g. /me waves.",
                    NeedsMore::Msg => "Type /msg NICK TEXT to write to one person alone.",
                };
                self.send_text(&plain::notice(how));
                None
            }
            Typed::Who => {
                let nicks = lock(&self.state.room).nicks_marked();
                self.send_text(&plain::who(&nicks));
                None
            }
            Typed::Help => {
                self.send_text(&plain::help());
                None
            }
            Typed::Quit | Typed::Farewell(_) => {
                let nick = self.nick.clone().unwrap_or_default();
                self.send_text(&format!("Goodbye, {nick}.{}", plain::EOL));
                self.recipient.queue.close_after_flush();
                Some(End {
                    linger: true,
                    ..End::new(LeaveReason::Left, "said goodbye")
                })
            }
        }
    }
}

/// Tests only: a plain line whose handling panics, for the tests of what a panic costs
/// (`io_thread::contain`). No build but the library's own tests knows it.
#[cfg(test)]
pub(super) const PANIC_LINE: &[u8] = b"natter-test: panic while handling this line";
