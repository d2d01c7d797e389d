//! The connection's side of running the room: a member's `moderate` frame or typed `/mute`…,
//! the hosting window's `host_token`, a banned address refused before its welcome, a silenced
//! member told why; and `natter serve`'s console lines carried out as the host's.
//!
//! Owns only the handing over: who may do what, and doing it, is `moderation`'s; the words
//! are `moderation_words`'.

use std::sync::Arc;

use super::connection::End;
use super::handler::Handler;
use super::moderation::{Actor, run};
use super::moderation_words as words;
use super::state::ServerState;
use crate::network::lock;
use crate::network::protocol::{Dialect, ErrorCode, ModCommand, ServerFrame};

/// One line typed at `natter serve`'s console, carried out with the host's rights: what to
/// print back.
pub(super) fn console_answer(state: &Arc<ServerState>, line: &str) -> String {
    use crate::network::command_line::{self, NeedsMore, Typed};
    let line = crate::network::text::clean_text(line);
    match command_line::parse(line.trim()) {
        Typed::Nothing => String::new(),
        Typed::Moderate(command) => match run(state, Actor::Console, command) {
            Ok(Some(answer)) => answer,
            // The calm line comes as a `ServerEvent::Moderation`, printed like every event.
            Ok(None) => String::new(),
            Err(why) => why,
        },
        Typed::Who => {
            let nicks = lock(&state.room).nicks();
            format!("Online ({}): {}", nicks.len(), nicks.join(", "))
        }
        Typed::Usage(NeedsMore::Moderation { usage }) => format!("Type {usage}."),
        _ => words::console_help(),
    }
}

impl Handler {
    /// A peer from a banned address is refused in its own dialect, before its welcome, with
    /// the time left.
    pub(super) fn refuse_banned(&self) -> Option<End> {
        let peer = self.recipient.connection.peer;
        let message = super::moderation::refusal_for(&self.state, peer.ip())?;
        if self.dialect == Dialect::Json {
            self.send_welcome();
        }
        Some(self.refuse(ErrorCode::Banned, &message))
    }

    /// A message from a member that may not write now (muted, or voiceless in a lecture): a
    /// Natter client learns it was not sent (its `client_id`), a plain peer is told once.
    pub(super) fn tell_silenced(
        &self,
        silenced: &super::moderation::Silenced,
        client_id: Option<String>,
    ) {
        if self.dialect == Dialect::Json || silenced.tell {
            self.tell(ErrorCode::Muted, &silenced.message, client_id);
        }
    }

    /// A moderation command from this member (a `moderate` frame, or a plain peer's `/mute`…):
    /// carried out if it may give it, else it is told why. Costs a token of its rate budget.
    pub(super) fn moderate(&mut self, command: ModCommand) -> Option<End> {
        if let Err(strikes) = self.bucket.take() {
            return self.rate_limited(strikes, None, "That command was not carried out.");
        }
        match run(&self.state, Actor::Member(self.id), command) {
            Ok(Some(answer)) => self.send_notice(&answer),
            Ok(None) => {}
            Err(why) => self.tell(ErrorCode::NotAllowed, &why, None),
        }
        None
    }

    /// A line for this peer alone: a `notice` frame, or a plain `! …` line.
    pub(super) fn send_notice(&self, text: &str) {
        match self.dialect {
            Dialect::Json => self.send_frame(&ServerFrame::Notice {
                text: text.to_string(),
            }),
            Dialect::Plain => self.send_text(&crate::network::plain::notice(text)),
        }
    }

    /// The hosting window's link proves it is the host's with the server's secret. A wrong
    /// token is refused (not fatally) and costs a token of the rate budget, like a message.
    pub(super) fn host_token(&mut self, token: &str) -> Option<End> {
        if let Err(strikes) = self.bucket.take() {
            return self.rate_limited(strikes, None, "That token was not looked at.");
        }
        let right = (self.config().host_token.as_deref())
            .is_some_and(|secret| same_secret(secret.as_bytes(), token.as_bytes()));
        if !right {
            let message = "That is not this room's host token: only the hosting window's own link is the host.";
            self.send_error(ErrorCode::NotAllowed, message, None);
            return None;
        }
        let mut room = lock(&self.state.room);
        room.moderation.make_host(&self.session_token);
        room.send_roles(None);
        None
    }
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
