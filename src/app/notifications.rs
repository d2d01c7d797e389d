//! The window's side of desktop notifications: which sink they go to, starting the desktop's
//! when a chat opens with notifications on, and what a click or a problem does to the window. When to
//! notify is decided in `notify::Notifier`; this only carries it out.

use crossbeam_channel::Sender;
use egui::ViewportCommand;

use super::NatterApp;
use crate::notify::{DesktopSink, Notification, NotifyChoice, NotifyEvent, NotifySink};

impl NatterApp {
    /// Notifications go to `sink` instead of the desktop's service (tests; a sink that
    /// records what it is given).
    pub fn set_notify_sink(&mut self, sink: Box<dyn NotifySink>) {
        self.notify_sink = Some(sink);
    }

    /// Where the notification side reports clicks and problems (tests stand in for it).
    pub fn notify_events(&self) -> Sender<NotifyEvent> {
        self.notify_tx.clone()
    }

    /// Starts the desktop's sink, which first finds out whether notifications can be shown
    /// here (the ⚙ menu says why not). False if its thread could not start.
    fn start_desktop_sink(&mut self) -> bool {
        match DesktopSink::start(self.notify_tx.clone(), self.wake.clone()) {
            Ok(sink) => {
                self.notify_sink = Some(Box::new(sink));
                true
            }
            Err(e) => {
                self.notify_problem = Some(format!(
                    "Desktop notifications are not available: could not start their thread ({e})."
                ));
                false
            }
        }
    }

    /// Shows a desktop notification, starting the desktop's sink if it is not running yet.
    pub(super) fn notify(&mut self, notification: Notification) {
        if self.notify_sink.is_none() && !self.start_desktop_sink() {
            return;
        }
        if let Some(sink) = &mut self.notify_sink {
            sink.show(notification);
        }
    }

    /// Clicks on notifications (the window comes forward onto that conversation), problems,
    /// and the collapsed count of a burst once its second is over.
    pub(super) fn drain_notifications(&mut self, ctx: &egui::Context) {
        // Started with the chat (notifications on), so the menu can say at once if they
        // cannot be shown here, before a message is missed.
        if self.notify_sink.is_none()
            && self.notify_problem.is_none()
            && self.settings.notify != NotifyChoice::Off
            && self.in_chat()
        {
            self.start_desktop_sink();
        }
        while let Ok(event) = self.notify_rx.try_recv() {
            match event {
                NotifyEvent::Clicked(conversation) => {
                    if self.chat.is_some() {
                        self.show_conversation(conversation);
                    }
                    ctx.send_viewport_cmd(ViewportCommand::Minimized(false));
                    ctx.send_viewport_cmd(ViewportCommand::Focus);
                }
                NotifyEvent::Unavailable(why) => self.notify_problem = Some(why),
            }
        }
        let focused = ctx.input(|i| i.focused);
        if let Some(summary) = self.notifier.tick(focused, std::time::Instant::now()) {
            self.notify(summary);
        }
        if self.notifier.holding() {
            ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
    }
}
