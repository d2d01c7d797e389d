//! The Connect tab's rooms heard on the network: the finder runs while the tab is shown (and
//! while a chat waits for the room its host ended to be announced again), and
//! the list it keeps is copied each frame (see `network::discovery`).

use std::net::SocketAddr;
use std::time::Instant;

use super::*;
use crate::network::discovery::Finder;

/// How long the Connect tab says "looking for rooms" before "none heard yet".
pub const LOOKING_FOR: Duration = Duration::from_secs(2);

/// The finder while it runs, and what it heard.
#[derive(Default)]
pub struct RoomFinder {
    finder: Option<Finder>,
    /// Rooms heard on the network, as of this frame.
    rooms: Vec<FoundRoom>,
    /// Why the Connect tab cannot look for rooms, if it cannot.
    problem: Option<String>,
    /// When the finder started, to tell "still looking" from "nothing heard".
    started: Option<Instant>,
}

impl RoomFinder {
    pub fn rooms(&self) -> &[FoundRoom] {
        &self.rooms
    }

    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    pub fn started(&self) -> Option<Instant> {
        self.started
    }

    /// Whether a room was heard announcing at `addr` (fresh from the finder).
    pub(super) fn heard_at(&mut self, addr: SocketAddr) -> bool {
        match &mut self.finder {
            Some(finder) => {
                finder.rooms();
                finder.room_at(addr).is_some()
            }
            None => false,
        }
    }

    /// Tells the host at `addr` that we could not reach it (rate-limited by the finder).
    pub(super) fn tell_unreachable(&mut self, addr: SocketAddr) {
        if let Some(finder) = &mut self.finder {
            finder.tell_unreachable(addr);
        }
    }

    /// Stops the finder here (the window is closing).
    pub(super) fn stop(&mut self) {
        if let Some(finder) = self.finder.take() {
            finder.stop();
        }
    }
}

impl NatterApp {
    /// Looks for rooms while the Connect tab is shown (and the discovery is on), and stops
    /// looking otherwise; refreshes the rooms each frame.
    pub(super) fn sync_finder(&mut self, ctx: &egui::Context) {
        // Also while a chat waits for its ended room to come back (`pick_up_room`).
        let wanted = self.options.discovery.is_some()
            && ((self.tab == Tab::Connect && !self.in_chat())
                || self.session.waiting_for_room().is_some());
        if !wanted {
            if let Some(finder) = self.rooms.finder.take() {
                self.in_background("natter-stop-finder", move || finder.stop());
            }
            self.rooms.rooms.clear();
            self.rooms.problem = None;
            self.rooms.started = None;
            return;
        }
        let rooms = &mut self.rooms;
        if rooms.finder.is_none()
            && rooms.problem.is_none()
            && let Some(reach) = &self.options.discovery
        {
            match Finder::start(
                reach.clone(),
                self.options.discovery_pace,
                self.wake.clone(),
            ) {
                Ok(finder) => {
                    rooms.finder = Some(finder);
                    rooms.started = Some(Instant::now());
                }
                Err(e) => {
                    rooms.problem = Some(format!(
                        "Cannot look for rooms on the network ({e}). Type the host's address instead."
                    ));
                }
            }
        }
        if let Some(finder) = &mut rooms.finder {
            rooms.rooms = finder.rooms().to_vec();
            // Rooms fade, and "looking" turns into "none heard", without an event: repaint
            // when the next of those is due, and not before.
            let pace = finder.pace();
            let now = Instant::now();
            let next = rooms
                .rooms
                .iter()
                .flat_map(|r| {
                    [
                        r.last_heard + pace.dim_after,
                        r.last_heard + pace.fade_after,
                    ]
                })
                .chain(rooms.started.map(|at| at + LOOKING_FOR))
                .filter(|at| *at > now)
                .min();
            if let Some(at) = next {
                ctx.request_repaint_after(at - now + Duration::from_millis(10));
            }
        }
        self.pick_up_room();
    }

    /// A room the host ended, announced again at the chat's address since: join it again,
    /// as Reconnect would (held to the key trusted for it).
    fn pick_up_room(&mut self) {
        let Some(since) = self.session.waiting_for_room() else {
            return;
        };
        let Ok((host, port)) = crate::network::client::parse_address(self.session.address()) else {
            return;
        };
        let back = self.rooms.rooms.iter().any(|room| {
            room.last_heard > since
                && room.addr.port() == port
                && room.addr.ip().to_string() == host
        });
        if back {
            self.reconnect();
        }
    }

    /// Where the Connect tab's finder hears announcements, while it runs (tests feed it).
    pub fn finder_addr(&self) -> Option<SocketAddr> {
        self.rooms.finder.as_ref().and_then(|f| f.local_addr().ok())
    }
}
