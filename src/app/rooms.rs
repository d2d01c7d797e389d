//! The Connect tab's rooms heard on the network: the finder runs while the tab is shown, and
//! the list it keeps is copied each frame (see `network::discovery`).

use super::*;

impl NatterApp {
    /// Looks for rooms while the Connect tab is shown (and the discovery is on), and stops
    /// looking otherwise; refreshes [`NatterApp::rooms`] each frame.
    pub(super) fn sync_finder(&mut self, ctx: &egui::Context) {
        let wanted = self.discovery.is_some() && self.tab == Tab::Connect && !self.in_chat();
        if !wanted {
            if let Some(finder) = self.finder.take() {
                self.in_background("natter-stop-finder", move || finder.stop());
            }
            self.rooms.clear();
            self.rooms_problem = None;
            self.finder_started = None;
            return;
        }
        if self.finder.is_none()
            && self.rooms_problem.is_none()
            && let Some(reach) = &self.discovery
        {
            match Finder::start(reach.clone(), self.discovery_pace, self.wake.clone()) {
                Ok(finder) => {
                    self.finder = Some(finder);
                    self.finder_started = Some(std::time::Instant::now());
                }
                Err(e) => {
                    self.rooms_problem = Some(format!(
                        "Cannot look for rooms on the network ({e}). Type the host's address instead."
                    ));
                }
            }
        }
        if let Some(finder) = &mut self.finder {
            self.rooms = finder.rooms().to_vec();
            // Rooms fade, and "looking" turns into "none heard", without an event: repaint
            // when the next of those is due, and not before.
            let pace = finder.pace();
            let now = std::time::Instant::now();
            let next = self
                .rooms
                .iter()
                .flat_map(|r| {
                    [
                        r.last_heard + pace.dim_after,
                        r.last_heard + pace.fade_after,
                    ]
                })
                .chain(self.finder_started.map(|at| at + LOOKING_FOR))
                .filter(|at| *at > now)
                .min();
            if let Some(at) = next {
                ctx.request_repaint_after(at - now + Duration::from_millis(10));
            }
        }
    }

    /// Where the Connect tab's finder hears announcements, while it runs (tests feed it).
    pub fn finder_addr(&self) -> Option<SocketAddr> {
        self.finder.as_ref().and_then(|f| f.local_addr().ok())
    }
}
