//! Shared files, the window's name for file transfers: every file offered in the chat, keyed
//! by file id: offers to us (save, decline, saving, saved) and our own offers with how each
//! receiver is doing. (Each layer has its own word: `network::files` is the disk,
//! `network::client::transfers` the wire.)
//!
//! Owns this state and the words the lines show (speed, time left); `chat_state::files` feeds
//! it the client's `File*` events. Each file has one chat line
//! ([`crate::chat_state::LineKind::File`]) that `ui::file_row` draws from here. Draws nothing
//! and touches no socket or file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::network::files::human_size;
use crate::network::protocol::FileOffer;

/// How far a transfer got, as last reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
    pub bytes_per_sec: u64,
}

impl Progress {
    /// 0.0 to 1.0 (an empty file is whole).
    pub fn fraction(&self) -> f32 {
        if self.total == 0 {
            1.0
        } else {
            (self.done as f64 / self.total as f64).clamp(0.0, 1.0) as f32
        }
    }

    /// "42% · 1.2 MB/s · about 5 s left" (speed and time left once they are known).
    pub fn text(&self) -> String {
        let percent = (self.fraction() * 100.0).floor() as u32;
        let mut text = format!("{percent}%");
        if self.bytes_per_sec > 0 {
            text.push_str(&format!(" · {}", speed_text(self.bytes_per_sec)));
            if let Some(left) = time_left(self.total.saturating_sub(self.done), self.bytes_per_sec)
            {
                text.push_str(&format!(" · {}", left_text(left)));
            }
        }
        text
    }

    /// [`Progress::text`], or "34% · waiting for the host" while it `waiting`: a speed and
    /// time left from before would be a guess at best.
    pub fn text_waiting(&self, waiting: Option<&str>) -> String {
        match waiting {
            Some(why) => {
                let percent = (self.fraction() * 100.0).floor() as u32;
                format!("{percent}% · {why}")
            }
            None => self.text(),
        }
    }
}

/// "1.2 MB/s".
pub fn speed_text(bytes_per_sec: u64) -> String {
    format!("{}/s", human_size(bytes_per_sec))
}

/// How long `left` bytes take at `bytes_per_sec`, rounded up to a second; `None` at speed 0.
pub fn time_left(left: u64, bytes_per_sec: u64) -> Option<Duration> {
    (bytes_per_sec > 0).then(|| Duration::from_secs(left.div_ceil(bytes_per_sec)))
}

/// "about 5 s left", "about 3 min left", "about 1 h 5 min left".
pub fn left_text(left: Duration) -> String {
    let secs = left.as_secs();
    let time = match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs.div_ceil(60)),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    };
    format!("about {time} left")
}

/// Someone's offer to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Nothing written yet: Save or Decline.
    Offered,
    /// Save was pressed: the file is coming.
    Saving(Progress),
    /// Whole and checked, here.
    Saved(PathBuf),
    Declined,
    /// Stopped before its end. `offer_open`: the offer is still there (Save again).
    Stopped {
        reason: String,
        offer_open: bool,
    },
}

/// Where our offer stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// Being read and hashed.
    Preparing,
    /// On offer: people can save it.
    Offered,
    /// Withdrawn or refused, for everyone.
    Stopped(String),
}

/// How one receiver of our file is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receiver {
    Receiving(Progress),
    HasIt,
    Declined,
    Stopped(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    Incoming {
        state: Incoming,
    },
    Outgoing {
        state: Outgoing,
        /// In the order they first took it.
        receivers: Vec<(String, Receiver)>,
    },
}

/// One file, ours or someone's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedFile {
    pub name: String,
    /// Not known while ours is being prepared.
    pub size: Option<u64>,
    /// The sender (ours: our nickname).
    pub from: String,
    /// A private offer's other person; `None`: the room.
    pub to: Option<String>,
    pub side: Side,
    /// A problem opening the saved file or its folder, shown on the line.
    pub note: Option<String>,
    /// Why a transfer under way does not move, shown instead of its speed: "waiting for the
    /// host" while the link is down; after a host restart, waiting for the sender to offer it
    /// again. Cleared when it moves (or stops).
    pub waiting: Option<String>,
}

impl SharedFile {
    /// The sentence that stands for the line in a saved log and the copy menu.
    pub fn summary(&self) -> String {
        let size = self
            .size
            .map(|s| format!(" ({})", human_size(s)))
            .unwrap_or_default();
        match &self.side {
            Side::Outgoing {
                state: Outgoing::Preparing,
                ..
            } => format!("Preparing {}…", self.name),
            Side::Outgoing { .. } => match &self.to {
                Some(to) => format!("You offer {}{size} to {to}", self.name),
                None => format!("You offer {}{size}", self.name),
            },
            Side::Incoming { .. } => format!("{} offers {}{size}", self.from, self.name),
        }
    }

    /// Whether data of it is on its way: ours to someone, or someone's to us.
    fn under_way(&self) -> bool {
        match &self.side {
            Side::Incoming { state } => matches!(state, Incoming::Saving(_)),
            Side::Outgoing { receivers, .. } => receivers
                .iter()
                .any(|(_, r)| matches!(r, Receiver::Receiving(_))),
        }
    }

    /// The conversation its line belongs to: the room, or the private one.
    pub fn conversation(&self, my_nick: &str) -> super::ConversationKey {
        match &self.to {
            None => super::ConversationKey::Room,
            Some(to) if self.from == my_nick => super::ConversationKey::private(to),
            Some(_) => super::ConversationKey::private(&self.from),
        }
    }
}

/// What one event did to the transfers, for the chat to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Nothing,
    /// A file not seen before: it needs a line.
    New(String),
    /// A known file's summary may have changed.
    Updated(String),
}

/// Every file of this chat, by id.
#[derive(Debug, Default)]
pub struct SharedFiles {
    files: HashMap<String, SharedFile>,
}

impl SharedFiles {
    pub fn get(&self, id: &str) -> Option<&SharedFile> {
        self.files.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut SharedFile> {
        self.files.get_mut(id)
    }

    /// We are preparing our file `id` (read and hashed) for the room or `to`.
    pub fn offering(&mut self, id: String, name: String, to: Option<String>, me: &str) -> Change {
        if self.files.contains_key(&id) {
            return Change::Nothing;
        }
        let transfer = SharedFile {
            name,
            size: None,
            from: me.to_string(),
            to,
            side: Side::Outgoing {
                state: Outgoing::Preparing,
                receivers: Vec::new(),
            },
            note: None,
            waiting: None,
        };
        self.files.insert(id.clone(), transfer);
        Change::New(id)
    }

    /// A file on offer: someone's, or ours now shown by the host.
    pub fn offered(&mut self, offer: FileOffer, ours: bool) -> Change {
        if let Some(known) = self.files.get_mut(&offer.id) {
            known.size = Some(offer.size);
            known.name = offer.name;
            match &mut known.side {
                Side::Outgoing { state, .. } if *state == Outgoing::Preparing => {
                    *state = Outgoing::Offered;
                }
                // Offered again (after a host restart): a stopped one may be saved again, and
                // one kept half-saved goes on (the network asks for the rest).
                Side::Incoming { state } => match state {
                    Incoming::Stopped { .. } => *state = Incoming::Offered,
                    Incoming::Saving(progress) => {
                        progress.bytes_per_sec = 0;
                        known.waiting = None;
                    }
                    _ => {}
                },
                Side::Outgoing { .. } => {}
            }
            return Change::Updated(offer.id);
        }
        let side = if ours {
            Side::Outgoing {
                state: Outgoing::Offered,
                receivers: Vec::new(),
            }
        } else {
            Side::Incoming {
                state: Incoming::Offered,
            }
        };
        let transfer = SharedFile {
            name: offer.name,
            size: Some(offer.size),
            from: offer.from,
            to: offer.to,
            side,
            note: None,
            waiting: None,
        };
        self.files.insert(offer.id.clone(), transfer);
        Change::New(offer.id)
    }

    /// The person pressed Save: shown as starting until progress comes.
    pub fn saving(&mut self, id: &str) {
        if let Some(SharedFile {
            side: Side::Incoming { state },
            size,
            ..
        }) = self.files.get_mut(id)
        {
            *state = Incoming::Saving(Progress {
                done: 0,
                total: size.unwrap_or(0),
                bytes_per_sec: 0,
            });
        }
    }

    /// The person pressed Decline.
    pub fn declined_by_us(&mut self, id: &str) {
        if let Some(Side::Incoming { state, .. }) = self.files.get_mut(id).map(|t| &mut t.side) {
            *state = Incoming::Declined;
        }
    }

    pub fn progress(&mut self, id: &str, peer: Option<String>, progress: Progress) {
        let Some(transfer) = self.files.get_mut(id) else {
            return;
        };
        transfer.waiting = None;
        match (&mut transfer.side, peer) {
            (Side::Incoming { state, .. }, None) => {
                if matches!(state, Incoming::Saving(_)) {
                    *state = Incoming::Saving(progress);
                }
            }
            (Side::Outgoing { receivers, .. }, Some(peer)) => {
                set_receiver(receivers, peer, Receiver::Receiving(progress));
            }
            _ => {}
        }
    }

    pub fn saved(&mut self, id: &str, path: PathBuf) {
        if let Some(Side::Incoming { state, .. }) = self.files.get_mut(id).map(|t| &mut t.side) {
            *state = Incoming::Saved(path);
        }
    }

    /// `peer` has our file, or declined it.
    pub fn receiver(&mut self, id: &str, peer: String, now: Receiver) {
        if let Some(Side::Outgoing { receivers, .. }) = self.files.get_mut(id).map(|t| &mut t.side)
        {
            set_receiver(receivers, peer, now);
        }
    }

    /// A transfer stopped before its end (see `ClientEvent::FileStopped`); `offer_open`: Save
    /// may be pressed again.
    pub fn stopped(
        &mut self,
        id: &str,
        peer: Option<String>,
        reason: String,
        offer_open: bool,
    ) -> Change {
        let Some(transfer) = self.files.get_mut(id) else {
            return Change::Nothing;
        };
        transfer.waiting = None;
        match (&mut transfer.side, peer) {
            (Side::Outgoing { receivers, .. }, Some(peer)) => {
                set_receiver(receivers, peer, Receiver::Stopped(reason));
            }
            (Side::Outgoing { state, .. }, None) => *state = Outgoing::Stopped(reason),
            (Side::Incoming { state }, _) => *state = Incoming::Stopped { reason, offer_open },
        }
        Change::Updated(id.to_string())
    }

    /// The link to the host is down: every transfer under way waits for it (it cannot move,
    /// and a speed from before would mislead).
    pub fn host_away(&mut self) {
        for transfer in self.files.values_mut() {
            if transfer.under_way() {
                transfer.waiting = Some("waiting for the host".into());
            }
        }
    }

    /// The link is back. `resumed`: the host knew our stay, so transfers go on from where
    /// they were. Otherwise the host restarted and forgot them: what we were saving is kept
    /// and waits for its sender to offer it again (the network does that by itself; see
    /// `network::client::transfers`), and our own deliveries are told stopped by the network.
    pub fn host_back(&mut self, resumed: bool) {
        for transfer in self.files.values_mut() {
            let saving = matches!(
                transfer.side,
                Side::Incoming {
                    state: Incoming::Saving(_)
                }
            );
            transfer.waiting = (saving && !resumed).then(|| {
                format!(
                    "the host restarted; waiting for {} to offer it again",
                    transfer.from
                )
            });
            if let Side::Incoming {
                state: Incoming::Saving(progress),
            } = &mut transfer.side
            {
                progress.bytes_per_sec = 0;
            }
            if let Side::Outgoing { receivers, .. } = &mut transfer.side {
                for (_, receiver) in receivers.iter_mut() {
                    if let Receiver::Receiving(progress) = receiver {
                        progress.bytes_per_sec = 0;
                    }
                }
            }
        }
    }

    /// Whether no file was offered in this chat.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

fn set_receiver(receivers: &mut Vec<(String, Receiver)>, peer: String, now: Receiver) {
    match receivers.iter_mut().find(|(nick, _)| *nick == peer) {
        Some((_, state)) => *state = now,
        None => receivers.push((peer, now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(id: &str, from: &str, to: Option<&str>) -> FileOffer {
        FileOffer {
            id: id.into(),
            from: from.into(),
            name: "photo.jpg".into(),
            size: 2_100_000,
            sha256: "0".repeat(64),
            time: String::new(),
            to: to.map(Into::into),
        }
    }

    #[test]
    fn time_left_is_rounded_up_and_worded_in_seconds_minutes_or_hours() {
        assert_eq!(time_left(1000, 0), None);
        assert_eq!(time_left(1001, 1000), Some(Duration::from_secs(2)));
        assert_eq!(left_text(Duration::from_secs(5)), "about 5 s left");
        assert_eq!(left_text(Duration::from_secs(61)), "about 2 min left");
        assert_eq!(left_text(Duration::from_secs(3900)), "about 1 h 5 min left");
    }

    #[test]
    fn progress_text_shows_percent_then_speed_and_time_left_once_a_speed_is_known() {
        let starting = Progress {
            done: 0,
            total: 2_000_000,
            bytes_per_sec: 0,
        };
        assert_eq!(starting.text(), "0%");
        let moving = Progress {
            done: 840_000,
            total: 2_000_000,
            bytes_per_sec: 1_200_000,
        };
        assert_eq!(moving.text(), "42% · 1.2 MB/s · about 1 s left");
        assert_eq!(speed_text(512), "512 bytes/s");
    }

    #[test]
    fn an_offer_is_summed_up_with_sender_name_and_size_and_ours_says_you() {
        let mut transfers = SharedFiles::default();
        transfers.offered(offer("a", "dana", None), false);
        assert_eq!(
            transfers.get("a").unwrap().summary(),
            "dana offers photo.jpg (2.1 MB)"
        );
        transfers.offering("b".into(), "photo.jpg".into(), None, "bob");
        assert_eq!(
            transfers.get("b").unwrap().summary(),
            "Preparing photo.jpg…"
        );
        let mut ours = offer("b", "bob", None);
        ours.size = 10;
        transfers.offered(ours, true);
        assert_eq!(
            transfers.get("b").unwrap().summary(),
            "You offer photo.jpg (10 bytes)"
        );
    }

    #[test]
    fn a_stop_that_keeps_the_offer_open_offers_save_again_and_one_that_does_not_does_not() {
        let mut transfers = SharedFiles::default();
        transfers.offered(offer("a", "dana", None), false);
        transfers.saving("a");
        transfers.stopped("a", None, "You stopped saving it.".into(), true);
        let open = |t: &SharedFiles| match &t.get("a").unwrap().side {
            Side::Incoming {
                state: Incoming::Stopped { offer_open, .. },
                ..
            } => *offer_open,
            other => panic!("{other:?}"),
        };
        assert!(open(&transfers));
        transfers.saving("a");
        transfers.stopped("a", None, "dana: stopped by the sender".into(), false);
        assert!(!open(&transfers));
    }

    #[test]
    fn a_private_offer_belongs_to_the_conversation_with_the_other_person() {
        let mut transfers = SharedFiles::default();
        transfers.offered(offer("a", "dana", Some("bob")), false);
        transfers.offered(offer("b", "bob", Some("dana")), true);
        transfers.offered(offer("c", "dana", None), false);
        let dana = super::super::ConversationKey::private("dana");
        assert_eq!(transfers.get("a").unwrap().conversation("bob"), dana);
        assert_eq!(transfers.get("b").unwrap().conversation("bob"), dana);
        let room = super::super::ConversationKey::Room;
        assert_eq!(transfers.get("c").unwrap().conversation("bob"), room);
    }
}
