//! Attention: desktop notifications (which sink they go to, starting the desktop's when a
//! chat opens with notifications on, what a click or a problem does to the window) and the
//! title's count of messages that came while the window was not focused. When to notify is
//! decided in `notify::Notifier`; this only carries it out.

use crossbeam_channel::{Receiver, Sender};
use egui::ViewportCommand;

use super::NatterApp;
use super::session::Arrived;
use crate::network::WakeUp;
use crate::notify::{
    DesktopSink, Incoming, Notification, Notifier, NotifyChoice, NotifyEvent, NotifySink,
};

/// Notifications and the unread count in the title.
pub struct Notifications {
    /// When a message notifies, and how often (see `notify`).
    notifier: Notifier,
    /// Where notifications go: the desktop's service, started when first needed, unless a
    /// test put another sink here.
    sink: Option<Box<dyn NotifySink>>,
    tx: Sender<NotifyEvent>,
    rx: Receiver<NotifyEvent>,
    /// Why desktop notifications cannot be shown, for the settings menu.
    problem: Option<String>,
    /// Messages from others that came while the window was not focused.
    unread: usize,
    /// The count the title shows now.
    title_unread: usize,
}

impl Default for Notifications {
    fn default() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Notifications {
            notifier: Notifier::default(),
            sink: None,
            tx,
            rx,
            problem: None,
            unread: 0,
            title_unread: 0,
        }
    }
}

impl Notifications {
    /// Why desktop notifications cannot be shown here, if they cannot.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    pub fn unread(&self) -> usize {
        self.unread
    }

    /// `count` more messages came while the window was not focused.
    pub(super) fn unseen(&mut self, count: usize) {
        self.unread += count;
    }

    /// The window is focused (or the chat was left): nothing is unread.
    pub(super) fn all_seen(&mut self) {
        self.unread = 0;
    }

    /// Whether the title must show another count (once per change).
    pub(super) fn title_changed(&mut self) -> bool {
        let changed = self.title_unread != self.unread;
        self.title_unread = self.unread;
        changed
    }

    /// Starts the desktop's sink, which first finds out whether notifications can be shown
    /// here (the ⚙ menu says why not). False if its thread could not start.
    fn start_desktop_sink(&mut self, wake: &WakeUp) -> bool {
        match DesktopSink::start(self.tx.clone(), wake.clone()) {
            Ok(sink) => {
                self.sink = Some(Box::new(sink));
                true
            }
            Err(e) => {
                self.problem = Some(format!(
                    "Desktop notifications are not available: could not start their thread ({e})."
                ));
                false
            }
        }
    }

    /// Shows a desktop notification, starting the desktop's sink if it is not running yet.
    fn notify(&mut self, notification: Notification, wake: &WakeUp) {
        if self.sink.is_none() && !self.start_desktop_sink(wake) {
            return;
        }
        if let Some(sink) = &mut self.sink {
            sink.show(notification);
        }
    }
}

impl NatterApp {
    /// Notifications go to `sink` instead of the desktop's service (tests; a sink that
    /// records what it is given).
    pub fn set_notify_sink(&mut self, sink: Box<dyn NotifySink>) {
        self.notifications.sink = Some(sink);
    }

    /// Where the notification side reports clicks and problems (tests stand in for it).
    pub fn notify_events(&self) -> Sender<NotifyEvent> {
        self.notifications.tx.clone()
    }

    /// Messages from others that arrived: each notifies if the setting and the pace allow.
    pub(super) fn notify_arrivals(&mut self, arrived: &[Arrived]) {
        let choice = self.settings.notify;
        let mut to_notify = Vec::new();
        for message in arrived {
            let incoming = Incoming {
                from: &message.from,
                text: &message.text,
                action: message.action,
                conversation: message.conversation.clone(),
                mentions_me: message.mentions_me,
                room: &message.room,
            };
            let now = std::time::Instant::now();
            let notifications = &mut self.notifications;
            if let Some(shown) = notifications
                .notifier
                .offer(choice, self.focused, &incoming, now)
            {
                to_notify.push(shown);
            }
        }
        for notification in to_notify {
            self.notifications.notify(notification, &self.wake);
        }
    }

    /// Clicks on notifications (the window comes forward onto that conversation), problems,
    /// and the collapsed count of a burst once its second is over.
    pub(super) fn drain_notifications(&mut self, ctx: &egui::Context) {
        // Started with the chat (notifications on), so the menu can say at once if they
        // cannot be shown here, before a message is missed.
        if self.notifications.sink.is_none()
            && self.notifications.problem.is_none()
            && self.settings.notify != NotifyChoice::Off
            && self.in_chat()
        {
            self.notifications.start_desktop_sink(&self.wake);
        }
        while let Ok(event) = self.notifications.rx.try_recv() {
            match event {
                NotifyEvent::Clicked(conversation) => {
                    if self.session.chat().is_some() {
                        self.show_conversation(conversation);
                    }
                    ctx.send_viewport_cmd(ViewportCommand::Minimized(false));
                    ctx.send_viewport_cmd(ViewportCommand::Focus);
                }
                NotifyEvent::Unavailable(why) => self.notifications.problem = Some(why),
            }
        }
        let focused = ctx.input(|i| i.focused);
        let now = std::time::Instant::now();
        if let Some(summary) = self.notifications.notifier.tick(focused, now) {
            self.notifications.notify(summary, &self.wake);
        }
        if self.notifications.notifier.holding() {
            ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
    }
}
