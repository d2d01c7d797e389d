//! The plain-text dialect on the server: what `nc`, `telnet` and tutorial scripts get.
//!
//! Owns joining a plain peer as `guest-N` with a greeting and recent messages, acting on the
//! lines it types, and counting an unfinished line as sent after a short silence. A peer
//! greeted after a silence is announced to the room only with its first line, so a socket
//! that never says anything (a browser's preconnect, a port check) leaves no trace. The wording
//! lives in `network::plain`; actions both dialects share live in `handler`.

use std::sync::Arc;

use super::connection::End;
use super::handler::Handler;
use crate::network::command_line::{NeedsMore, Typed};
use crate::network::lock;
use crate::network::plain;
use crate::network::protocol::{LeaveReason, ServerFrame, now_rfc3339};

/// How many recent messages a plain peer is shown on joining.
const RECENT_FOR_PLAIN: usize = 20;

impl Handler {
    /// Puts a plain peer in the room as `guest-N` and greets it. A `silent` one (greeted
    /// because it said nothing in the sniff window) reads the room from now on, but others are
    /// told it joined only when its first line comes ([`Handler::announce_self`]).
    pub(super) fn join_plain(&mut self, silent: bool) -> Option<End> {
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
        self.announced = !silent;
        self.enter_room(&mut room, &nick, !silent);
        let config = self.config();
        // The address this peer reached the host at serves the page too (not over a TLS
        // link's greeting: the page is http://).
        let page = (self.local)
            .filter(|_| !self.encrypted)
            .map(|local| crate::phone::page_url(local.ip(), local.port()));
        let mut greeting = plain::greeting(
            &config.name,
            &config.welcome_text,
            &nick,
            &room.nicks_marked(self.id),
            page.as_deref(),
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
        if silent {
            self.nick = Some(nick);
        } else {
            self.joined(nick);
        }
        None
    }

    /// The first line of a peer greeted after a silence: now the room hears it joined. The
    /// member leaves the list for a moment so it is not told of its own arrival, and counts
    /// the announcement as seen (as a newcomer does).
    fn announce_self(&mut self) {
        self.announced = true;
        let mut room = lock(&self.state.room);
        let Some(position) = room.members.iter().position(|m| m.id == self.id) else {
            return;
        };
        let mut member = room.members.remove(position);
        let frame = ServerFrame::Join {
            nick: member.nick.clone(),
            time: now_rfc3339(),
            unencrypted: member.unencrypted,
        };
        let due = room.announce(&frame, plain::join(&member.nick, member.unencrypted));
        member.announced = true;
        member.presence_seq = room.presence.seq();
        let nick = member.nick.clone();
        room.members.insert(position, member);
        drop(room);
        self.state.presence_due_by(due);
        self.joined(nick);
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
        if !self.announced {
            if super::web::is_request_line(line) {
                // A browser that opened this socket ahead of time and sent its request after
                // the greeting: it cannot read HTTP here any more. It goes without a trace,
                // and the browser asks again on a new connection.
                return Some(End::new(
                    LeaveReason::Left,
                    "a web request after the greeting",
                ));
            }
            self.announce_self();
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
                    NeedsMore::Moderation { usage } => usage,
                };
                self.send_text(&plain::notice(how));
                None
            }
            Typed::Moderate(command) => self.moderate(command),
            Typed::Who => {
                let nicks = lock(&self.state.room).nicks_marked(self.id);
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
