//! The desktop's own notification service, through notify-rust: freedesktop notifications
//! over D-Bus on Linux and the BSDs (zbus, no C library), toasts on Windows, Notification
//! Center on macOS.
//!
//! Owns the `natter-notify` thread (every call to the service, which may block, happens there;
//! the window only queues) and, on freedesktop desktops and Windows, one `natter-notify-wait` thread per
//! notification shown, waiting for it to be clicked. Reports clicks and "not available"
//! (with the reason) as [`NotifyEvent`]s through a channel and the wake-up.

use std::io;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};

use super::{Notification, NotifyEvent, NotifySink};
use crate::network::WakeUp;

/// Notifications waiting for the thread; more are dropped (they come at most a few a second).
const QUEUE: usize = 16;

/// The real notification service, behind the `natter-notify` thread.
pub struct DesktopSink {
    queue: Option<Sender<Notification>>,
    thread: Option<JoinHandle<()>>,
}

impl DesktopSink {
    /// Starts the thread. It first asks whether a notification service is there, and says
    /// why not ([`NotifyEvent::Unavailable`]) when it is not.
    pub fn start(events: Sender<NotifyEvent>, wake: WakeUp) -> io::Result<DesktopSink> {
        let (queue, waiting) = crossbeam_channel::bounded(QUEUE);
        let thread = thread::Builder::new()
            .name("natter-notify".into())
            .spawn(move || run(&waiting, &events, &wake))?;
        Ok(DesktopSink {
            queue: Some(queue),
            thread: Some(thread),
        })
    }
}

impl NotifySink for DesktopSink {
    fn show(&mut self, notification: Notification) {
        if let Some(queue) = &self.queue {
            let _ = queue.try_send(notification);
        }
    }
}

impl Drop for DesktopSink {
    /// Ends the `natter-notify` thread (its queue closes) and joins it. The waiting threads
    /// are not joined: see `wait_for_click`.
    fn drop(&mut self) {
        self.queue = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(waiting: &Receiver<Notification>, events: &Sender<NotifyEvent>, wake: &WakeUp) {
    let unavailable = |why: String| {
        let _ = events.send(NotifyEvent::Unavailable(why));
        wake();
    };
    // Said once per run of failures, not once per message: a failed probe counts.
    let mut failing = match probe() {
        Ok(()) => false,
        Err(why) => {
            unavailable(why);
            true
        }
    };
    for notification in waiting {
        match show(&notification, events, wake) {
            Ok(()) => failing = false,
            Err(why) if !failing => {
                failing = true;
                unavailable(why);
            }
            Err(_) => {}
        }
    }
}

/// Whether a freedesktop notification service answers on the session bus.
#[cfg(all(unix, not(target_os = "macos")))]
fn probe() -> Result<(), String> {
    notify_rust::get_server_information()
        .map(|_| ())
        .map_err(|e| no_service(&e.to_string()))
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn probe() -> Result<(), String> {
    Ok(())
}

/// Why notifications cannot be shown, for the settings menu: in words, without the bus's
/// socket path or error number (those go to the log).
#[cfg(all(unix, not(target_os = "macos")))]
fn no_service(detail: &str) -> String {
    log::info!("desktop notifications unavailable: {detail}");
    unavailable_words(detail)
}

/// The sentence for `detail` (what D-Bus said): a desktop with no session bus at all is told
/// apart from one whose bus has no notification service.
#[cfg(all(unix, not(target_os = "macos")))]
fn unavailable_words(detail: &str) -> String {
    let lower = detail.to_lowercase();
    let no_bus = [
        "no such file",
        "os error 2)",
        "connection refused",
        "os error 111)",
    ]
    .iter()
    .any(|sign| lower.contains(sign))
        || lower.contains("dbus_session_bus_address")
        || lower.contains("unable to autolaunch");
    if no_bus {
        "Desktop notifications are not available: no notification service answered on this \
         desktop, which has no session bus for one (a bare window manager or a remote \
         session). New messages still show in the window title."
            .to_string()
    } else {
        "Desktop notifications are not available: no notification service answered on this \
         desktop. New messages still show in the window title."
            .to_string()
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
fn show(
    notification: &Notification,
    events: &Sender<NotifyEvent>,
    wake: &WakeUp,
) -> Result<(), String> {
    let handle = notify_rust::Notification::new()
        .appname("Natter")
        .summary(&notification.title)
        // Many services read the body as markup: a message's `<b>` stays text.
        .body(&escape_markup(&notification.body))
        .action("default", "Open")
        .show()
        .map_err(|e| no_service(&e.to_string()))?;
    wait_for_click(handle, notification.conversation.clone(), events, wake);
    Ok(())
}

/// Waits, on a `natter-notify-wait` thread, for the notification to be clicked, then asks the
/// window to come forward onto its conversation. notify-rust has no way to stop this wait
/// from outside, so the thread is detached rather than joined: it ends when the notification
/// is clicked, dismissed or expires (the service then sends `ActionInvoked` or
/// `NotificationClosed`), or with the process; it holds only a channel sender and the
/// wake-up, so outliving the window does no harm.
#[cfg(all(unix, not(target_os = "macos")))]
fn wait_for_click(
    handle: notify_rust::NotificationHandle,
    conversation: crate::chat_state::ConversationKey,
    events: &Sender<NotifyEvent>,
    wake: &WakeUp,
) {
    let events = events.clone();
    let wake = wake.clone();
    let _detached = thread::Builder::new()
        .name("natter-notify-wait".into())
        .spawn(move || {
            handle.wait_for_action(|action| {
                if action != "__closed" {
                    let _ = events.send(NotifyEvent::Clicked(conversation));
                    wake();
                }
            });
        });
}

/// What Windows is given: a toast under Natter's AppUserModelID ([`crate::APP_ID`], the one
/// `main` adopted for the process and registered for toasts: `windows_identity`), not
/// PowerShell's, which notify-rust borrows when none is set.
#[cfg(windows)]
pub(crate) fn toast(notification: &Notification) -> notify_rust::Notification {
    notify_rust::Notification::new()
        .appname("Natter")
        .app_id(crate::APP_ID)
        .summary(&notification.title)
        .body(&notification.body)
        .finalize()
}

/// Windows: a click on the toast (while Natter runs, Windows tells the process that showed
/// it) brings the window forward onto its conversation, as on Linux. The
/// `natter-notify-wait` thread is detached for the reason given at `wait_for_click` there.
#[cfg(windows)]
fn show(
    notification: &Notification,
    events: &Sender<NotifyEvent>,
    wake: &WakeUp,
) -> Result<(), String> {
    use notify_rust::NotificationResponse;
    let handle = toast(notification)
        .show()
        .map_err(|e| format!("Desktop notifications are not available: {e}."))?;
    let conversation = notification.conversation.clone();
    let events = events.clone();
    let wake = wake.clone();
    let _detached = thread::Builder::new()
        .name("natter-notify-wait".into())
        .spawn(move || {
            let _ = handle.wait_for_response(|response: &NotificationResponse| {
                if matches!(
                    response,
                    NotificationResponse::Default | NotificationResponse::Action(_)
                ) {
                    let _ = events.send(NotifyEvent::Clicked(conversation));
                    wake();
                }
            });
        });
    Ok(())
}

/// macOS: shown by the system; clicking it brings the app forward on its own.
#[cfg(target_os = "macos")]
fn show(
    notification: &Notification,
    _events: &Sender<NotifyEvent>,
    _wake: &WakeUp,
) -> Result<(), String> {
    notify_rust::Notification::new()
        .appname("Natter")
        .summary(&notification.title)
        .body(&notification.body)
        .show()
        .map(|_| ())
        .map_err(|e| format!("Desktop notifications are not available: {e}."))
}

/// `&`, `<` and `>` as entities, for services that read the body as markup.
#[cfg(all(unix, not(target_os = "macos")))]
fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use super::*;

    /// Issue 29 §9: the settings menu showed the bus's socket path and the error number.
    #[test]
    fn no_session_bus_is_said_in_words_without_the_socket_path_or_error_number() {
        let detail = "I/O error: Failed to connect to /run/user/1000/bus: No such file or \
                      directory (os error 2)";
        let text = unavailable_words(detail);
        assert!(!text.contains('/'), "{text}");
        assert!(!text.contains("os error"), "{text}");
        assert!(text.contains("no session bus"), "{text}");
        let no_service = unavailable_words(
            "org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.Notifications \
             was not provided by any .service files",
        );
        assert!(!no_service.contains("org.freedesktop"), "{no_service}");
        assert!(
            no_service.starts_with(
                "Desktop notifications are not available: no notification service answered"
            ),
            "{no_service}"
        );
    }
}
