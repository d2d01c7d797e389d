//! Desktop notifications: when to show one, how many, and what a click opens.
//!
//! Owns the rules (the [`Notifier`]: the setting, the window's focus, private messages and
//! mentions, at most [`MAX_PER_SECOND`] a second with the rest collapsed into one "N new
//! messages"), what a notification says ([`Notification`]) and the [`NotifySink`] it goes to.
//! The app decides nothing else and draws nothing here; the desktop's own notification
//! service is reached by `desktop` ([`DesktopSink`]), tests use a [`RecordingSink`].

#[cfg(feature = "window")]
mod desktop;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::chat_state::ConversationKey;
use crate::network::lock;
#[cfg(feature = "window")]
pub use desktop::DesktopSink;
// The Windows identity's test checks the toast's app id.
#[cfg(all(windows, test, feature = "window"))]
pub(crate) use desktop::toast;

/// Notifications shown in any one second; more in that second are collapsed into one.
pub const MAX_PER_SECOND: u32 = 3;
/// Longest body shown, in characters (a notification is a glimpse, the window has the rest).
const MAX_BODY_CHARS: usize = 200;
const WINDOW: Duration = Duration::from_secs(1);

/// Which messages notify while the window is not focused (the setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum NotifyChoice {
    Off,
    /// Private messages and messages that mention you.
    #[default]
    PrivateAndMentions,
    EveryMessage,
}

impl NotifyChoice {
    pub const ALL: [NotifyChoice; 3] = [
        NotifyChoice::Off,
        NotifyChoice::PrivateAndMentions,
        NotifyChoice::EveryMessage,
    ];

    pub fn label(self) -> &'static str {
        match self {
            NotifyChoice::Off => "Off",
            NotifyChoice::PrivateAndMentions => "Private messages and mentions",
            NotifyChoice::EveryMessage => "Every message",
        }
    }
}

/// One desktop notification, and the conversation a click on it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub title: String,
    pub body: String,
    pub conversation: ConversationKey,
}

/// What the notification side tells the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyEvent {
    /// A notification was clicked: bring the window forward onto this conversation.
    Clicked(ConversationKey),
    /// Notifications cannot be shown, and why (no notification service on this desktop...).
    Unavailable(String),
}

/// Where notifications go. `show` returns at once; it never blocks the window.
pub trait NotifySink: Send {
    fn show(&mut self, notification: Notification);
}

/// A sink that keeps what it was given, for tests (and anything that wants to look).
#[derive(Debug, Clone, Default)]
pub struct RecordingSink {
    pub shown: Arc<Mutex<Vec<Notification>>>,
}

impl RecordingSink {
    pub fn taken(&self) -> Vec<Notification> {
        std::mem::take(&mut *lock(&self.shown))
    }
}

impl NotifySink for RecordingSink {
    fn show(&mut self, notification: Notification) {
        lock(&self.shown).push(notification);
    }
}

/// A message from someone else, as the notifier sees it.
#[derive(Debug, Clone)]
pub struct Incoming<'a> {
    pub from: &'a str,
    pub text: &'a str,
    pub action: bool,
    /// The room, or the private conversation it came in.
    pub conversation: ConversationKey,
    pub mentions_me: bool,
    /// The room's name, for a room message's title.
    pub room: &'a str,
}

/// When to notify and how often. Pure: the caller passes the time.
#[derive(Debug, Default)]
pub struct Notifier {
    window_start: Option<Instant>,
    shown_in_window: u32,
    /// Messages not shown in the current second: told as one when it is over.
    held: u32,
    held_conversation: ConversationKey,
}

impl Notifier {
    /// A message arrived: the notification to show now, if any.
    pub fn offer(
        &mut self,
        choice: NotifyChoice,
        focused: bool,
        message: &Incoming<'_>,
        now: Instant,
    ) -> Option<Notification> {
        let wanted = match choice {
            NotifyChoice::Off => false,
            NotifyChoice::PrivateAndMentions => {
                !message.conversation.is_room() || message.mentions_me
            }
            NotifyChoice::EveryMessage => true,
        };
        if focused || !wanted {
            return None;
        }
        if self
            .window_start
            .is_none_or(|start| now.duration_since(start) >= WINDOW)
        {
            self.window_start = Some(now);
            self.shown_in_window = 0;
        }
        if self.shown_in_window >= MAX_PER_SECOND {
            self.held += 1;
            self.held_conversation = message.conversation.clone();
            return None;
        }
        self.shown_in_window += 1;
        Some(notification_for(message))
    }

    /// Whether messages wait to be told as one (the window should look again soon).
    pub fn holding(&self) -> bool {
        self.held > 0
    }

    /// Called every frame: once the second with held messages is over, one notification
    /// tells how many came. A focused window has seen them: nothing is told.
    pub fn tick(&mut self, focused: bool, now: Instant) -> Option<Notification> {
        if focused {
            self.held = 0;
            return None;
        }
        let start = self.window_start?;
        if self.held == 0 || now.duration_since(start) < WINDOW {
            return None;
        }
        let count = std::mem::take(&mut self.held);
        self.window_start = Some(now);
        self.shown_in_window = 1;
        Some(Notification {
            title: format!("{count} new messages"),
            body: "In Natter, while you were away from the window.".into(),
            conversation: std::mem::take(&mut self.held_conversation),
        })
    }
}

fn notification_for(message: &Incoming<'_>) -> Notification {
    let title = match (&message.conversation, message.mentions_me) {
        (ConversationKey::Private(_), _) => format!("{} (private)", message.from),
        (ConversationKey::Room, true) if !message.room.is_empty() => {
            format!("{} mentioned you in {}", message.from, message.room)
        }
        (ConversationKey::Room, true) => format!("{} mentioned you", message.from),
        (ConversationKey::Room, false) if !message.room.is_empty() => {
            format!("{} in {}", message.from, message.room)
        }
        (ConversationKey::Room, false) => message.from.to_string(),
    };
    let text = if message.action {
        format!("* {} {}", message.from, message.text)
    } else {
        message.text.to_string()
    };
    Notification {
        title,
        body: crate::network::text::quote(&text, MAX_BODY_CHARS),
        conversation: message.conversation.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private(text: &str) -> Incoming<'_> {
        Incoming {
            from: "dana",
            text,
            action: false,
            conversation: ConversationKey::private("dana"),
            mentions_me: false,
            room: "Lab 3",
        }
    }

    fn room(text: &str, mentions_me: bool) -> Incoming<'_> {
        Incoming {
            conversation: ConversationKey::Room,
            mentions_me,
            ..private(text)
        }
    }

    #[test]
    fn the_setting_and_focus_decide_which_messages_notify() {
        let now = Instant::now();
        let choice = NotifyChoice::PrivateAndMentions;
        let mut notifier = Notifier::default();
        assert_eq!(notifier.offer(choice, true, &private("hi"), now), None);
        let shown = notifier.offer(choice, false, &private("hi"), now).unwrap();
        assert_eq!(
            shown,
            Notification {
                title: "dana (private)".into(),
                body: "hi".into(),
                conversation: ConversationKey::private("dana"),
            }
        );
        assert_eq!(notifier.offer(choice, false, &room("x", false), now), None);
        let mention = notifier.offer(choice, false, &room("@me", true), now);
        assert_eq!(mention.unwrap().title, "dana mentioned you in Lab 3");
        let later = now + WINDOW;
        let every = notifier.offer(NotifyChoice::EveryMessage, false, &room("x", false), later);
        assert_eq!(every.unwrap().title, "dana in Lab 3");
        let off = notifier.offer(NotifyChoice::Off, false, &private("x"), later);
        assert_eq!(off, None);
    }

    #[test]
    fn a_burst_shows_three_a_second_then_one_notification_counting_the_rest() {
        let start = Instant::now();
        let choice = NotifyChoice::EveryMessage;
        let mut notifier = Notifier::default();
        let shown = (0..15)
            .filter_map(|_| notifier.offer(choice, false, &private("m"), start))
            .count();
        assert_eq!(shown, MAX_PER_SECOND as usize);
        assert_eq!(notifier.tick(false, start + WINDOW / 2), None, "not yet");
        let summary = notifier.tick(false, start + WINDOW).unwrap();
        assert_eq!(summary.title, "12 new messages");
        assert_eq!(summary.conversation, ConversationKey::private("dana"));
        assert_eq!(notifier.tick(false, start + 3 * WINDOW), None, "told once");
    }

    #[test]
    fn held_messages_are_forgotten_once_the_window_is_focused() {
        let start = Instant::now();
        let mut notifier = Notifier::default();
        for _ in 0..5 {
            notifier.offer(NotifyChoice::EveryMessage, false, &private("m"), start);
        }
        assert_eq!(notifier.tick(true, start + WINDOW), None);
        assert_eq!(notifier.tick(false, start + 2 * WINDOW), None);
    }
}
