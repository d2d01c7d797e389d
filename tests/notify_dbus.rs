//! Desktop notifications against a real notification service on a private D-Bus session bus:
//! a `dbus-daemon --session` of the test's own, and a small org.freedesktop.Notifications
//! service written here (zbus) that records every `Notify` and emits `ActionInvoked` when
//! told to. Checks what `DesktopSink` sends, that a click comes back as the conversation to
//! open, and that a bus without a service is explained, not a crash.
//!
//! Skipped, with the reason printed, where `dbus-daemon` is missing; under `CI=true` (CI
//! installs it: scripts/setup.sh) a missing `dbus-daemon` fails the test.
#![cfg(all(target_os = "linux", feature = "window"))]
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use futures_lite::StreamExt;
use natter::chat_state::ConversationKey;
use natter::notify::{DesktopSink, Notification, NotifyEvent, NotifySink};

use common::{Killed, WAIT, natter_threads};

/// What the fake service heard in one `Notify` call.
#[derive(Debug, Clone)]
struct Heard {
    app_name: String,
    summary: String,
    body: String,
    actions: Vec<String>,
}

struct FakeNotifications {
    heard: Sender<Heard>,
    last_id: Arc<AtomicU32>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl FakeNotifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let id = self.last_id.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.heard.send(Heard {
            app_name,
            summary,
            body,
            actions,
        });
        id
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into(), "actions".into(), "body-markup".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "natter-test".into(),
            "natter".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    fn close_notification(&self, _id: u32) {}

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &zbus::object_server::SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;
}

/// The test's hand on the service: `Click` makes it emit `ActionInvoked` for the last
/// notification, as a person clicking it would.
struct TestControl {
    last_id: Arc<AtomicU32>,
}

#[zbus::interface(name = "lab.natter.TestControl")]
impl TestControl {
    async fn click(
        &self,
        #[zbus(signal_emitter)] emitter: zbus::object_server::SignalEmitter<'_>,
    ) -> zbus::fdo::Result<()> {
        let id = self.last_id.load(Ordering::SeqCst);
        FakeNotifications::action_invoked(&emitter, id, "default")
            .await
            .map_err(|e| zbus::fdo::Error::Failed(e.to_string()))
    }
}

const PATH: &str = "/org/freedesktop/Notifications";
const NAME: &str = "org.freedesktop.Notifications";

/// Starts a private session bus; `None` (skip) where dbus-daemon is missing, except in CI.
fn private_bus() -> Option<(Killed, String)> {
    let child = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("dbus-daemon is needed in CI (scripts/setup.sh installs it): {e}")
        }
        Err(e) => {
            println!("skipped: dbus-daemon could not be started ({e}); install the dbus package");
            return None;
        }
    };
    let stdout = child.stdout.take().unwrap();
    // Killed (and waited for) on every way out of the test, failures included.
    let guard = Killed(child);
    let mut address = String::new();
    BufReader::new(stdout).read_line(&mut address).unwrap();
    let address = address.trim().to_string();
    assert!(address.starts_with("unix:"), "{address:?}");
    Some((guard, address))
}

/// Runs the fake service on its own thread until the bus goes away.
fn start_service(address: &str) -> Receiver<Heard> {
    let (heard_tx, heard) = crossbeam_channel::unbounded();
    let (ready_tx, ready) = crossbeam_channel::bounded(1);
    let address = address.to_string();
    std::thread::Builder::new()
        .name("test-notify-service".into())
        .spawn(move || {
            zbus::block_on(async move {
                let last_id = Arc::new(AtomicU32::new(0));
                let service = FakeNotifications {
                    heard: heard_tx,
                    last_id: Arc::clone(&last_id),
                };
                let connection = zbus::conn::Builder::address(address.as_str())
                    .unwrap()
                    .name(NAME)
                    .unwrap()
                    .serve_at(PATH, service)
                    .unwrap()
                    .serve_at(PATH, TestControl { last_id })
                    .unwrap()
                    .build()
                    .await
                    .unwrap();
                ready_tx.send(()).unwrap();
                // Serves until the bus closes (the daemon is killed at the end of the test).
                let mut messages = zbus::MessageStream::from(&connection);
                while let Some(Ok(_)) = messages.next().await {}
            });
        })
        .unwrap();
    ready.recv_timeout(WAIT).expect("the service is on the bus");
    heard
}

/// Asks the service to emit `ActionInvoked`, as a click would.
fn click(address: &str) {
    zbus::block_on(async {
        let connection = zbus::conn::Builder::address(address)
            .unwrap()
            .build()
            .await
            .unwrap();
        connection
            .call_method(
                Some(NAME),
                PATH,
                Some("lab.natter.TestControl"),
                "Click",
                &(),
            )
            .await
            .unwrap();
    });
}

fn sink(events: &Sender<NotifyEvent>) -> DesktopSink {
    DesktopSink::start(events.clone(), Arc::new(|| {})).unwrap()
}

/// One test, not several: the session bus is found through the process's environment.
#[test]
fn notifications_reach_a_real_service_a_click_comes_back_and_a_missing_service_is_explained() {
    let _alone = crate::alone();
    let Some((_daemon, address)) = private_bus() else {
        return;
    };
    // SAFETY: the only test in this binary, and no thread of ours reads the environment
    // while it is set (the sinks start after).
    unsafe { std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &address) };

    // A bus with no notification service: said, with the reason, and nothing crashes.
    let (events_tx, events) = crossbeam_channel::unbounded();
    let mut without = sink(&events_tx);
    match events.recv_timeout(WAIT).expect("the sink says why not") {
        NotifyEvent::Unavailable(why) => assert!(
            why.starts_with("Desktop notifications are not available: no notification service"),
            "{why}"
        ),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    without.show(Notification {
        title: "nobody hears this".into(),
        body: "".into(),
        conversation: ConversationKey::Room,
    });
    drop(without);
    assert!(
        !natter_threads().iter().any(|t| t == "natter-notify"),
        "the sink's thread is joined when it is dropped: {:?}",
        natter_threads()
    );

    // With the service: it hears the notification, body markup escaped, with an Open action.
    let heard = start_service(&address);
    let mut desktop = sink(&events_tx);
    desktop.show(Notification {
        title: "dana (private)".into(),
        body: "<b>lunch</b> & more".into(),
        conversation: ConversationKey::private("dana"),
    });
    let got = heard.recv_timeout(WAIT).expect("the service heard Notify");
    assert_eq!(got.app_name, "Natter");
    assert_eq!(got.summary, "dana (private)");
    assert_eq!(got.body, "&lt;b&gt;lunch&lt;/b&gt; &amp; more");
    assert_eq!(got.actions, vec!["default".to_string(), "Open".to_string()]);

    // The person clicks it: the window is asked to show dana's conversation. The waiting
    // thread may not be listening yet when the first click is emitted: click until heard.
    let deadline = Instant::now() + WAIT;
    let clicked = loop {
        click(&address);
        match events.recv_timeout(Duration::from_millis(200)) {
            Ok(event) => break event,
            Err(_) if Instant::now() < deadline => continue,
            Err(_) => panic!("no click came back"),
        }
    };
    assert_eq!(
        clicked,
        NotifyEvent::Clicked(ConversationKey::private("dana"))
    );
    drop(desktop);
}
