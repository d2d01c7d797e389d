//! The real app in a kittest harness, with a channel that hears every network wake-up, so
//! tests can wait for network events on a channel instead of sleeping.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Receiver;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use natter::app::NatterApp;

use super::WAIT;

/// One window with a channel that hears every wake-up its network threads send.
pub struct Window {
    pub harness: Harness<'static, NatterApp>,
    wakes: Receiver<()>,
    /// The desktop notifications the window asked for.
    pub notifications: natter::notify::RecordingSink,
}

impl Window {
    pub fn new() -> Window {
        Self::sized(900.0, 640.0)
    }

    /// A window of the given size, light theme (stable screenshots).
    pub fn sized(width: f32, height: f32) -> Window {
        let (tx, wakes) = crossbeam_channel::unbounded();
        let notifications = natter::notify::RecordingSink::default();
        let recording = notifications.clone();
        let harness = Harness::builder()
            .with_size([width, height])
            .with_theme(egui::Theme::Light)
            .build_eframe(move |cc| {
                let ctx = cc.egui_ctx.clone();
                let mut app = NatterApp::with_wake(
                    cc,
                    Arc::new(move || {
                        ctx.request_repaint();
                        let _ = tx.send(());
                    }),
                );
                app.options_mut().host_bind = std::net::Ipv4Addr::LOCALHOST;
                // No discovery datagrams unless a test points them at loopback itself.
                app.options_mut().discovery = None;
                // No notifications on the desktop of whoever runs the tests: recorded instead.
                app.set_notify_sink(Box::new(recording.clone()));
                app
            });
        Window {
            harness,
            wakes,
            notifications,
        }
    }

    pub fn app(&self) -> &NatterApp {
        self.harness.state()
    }

    /// Steps the window until `done` holds, waiting on the wake-up channel between steps.
    pub fn until(
        &mut self,
        what: &str,
        mut done: impl FnMut(&Harness<'static, NatterApp>) -> bool,
    ) {
        let deadline = Instant::now() + WAIT;
        loop {
            self.harness.run_steps(2);
            if done(&self.harness) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!("timed out waiting until {what}");
            }
            let _ = self
                .wakes
                .recv_timeout(left.min(std::time::Duration::from_millis(200)));
        }
    }

    pub fn until_shown(&mut self, text: &str) {
        let text = text.to_string();
        self.until(&format!("{text:?} is shown"), |h| {
            h.query_by_label_contains(&text).is_some()
        });
    }

    pub fn type_into(&mut self, label: &str, text: &str) {
        self.harness.get_by_label(label).focus();
        self.harness.run_steps(1);
        self.harness
            .key_combination_modifiers(egui::Modifiers::COMMAND, &[egui::Key::A]);
        self.harness.get_by_label(label).type_text(text);
        self.harness.run_steps(2);
    }

    pub fn click(&mut self, label: &str) {
        self.harness
            .get_by_role_and_label(Role::Button, label)
            .click();
        self.harness.run_steps(2);
    }

    /// Clicks Stop hosting / Leave (`label`) and, when the window asks because others are in
    /// the room, confirms with the dialog's button of the same name.
    pub fn end_chat(&mut self, label: &str) {
        self.click(label);
        // A new dialog is measured on its first frame and can be clicked from the next one.
        self.harness.run_steps(2);
        if self
            .harness
            .query_by_role_and_label(Role::Button, label)
            .is_some()
        {
            self.click(label);
        }
        self.until("the chat has ended", |h| h.state().chat_ended());
    }

    pub fn open_tab(&mut self, label: &str) {
        self.harness.get_by_role_and_label(Role::Tab, label).click();
        self.harness.run_steps(2);
    }

    /// Types a chat message and presses Enter.
    pub fn say(&mut self, text: &str) {
        let input = self.harness.get_by_role(Role::MultilineTextInput);
        input.focus();
        input.type_text(text);
        self.harness.run_steps(1);
        self.harness.key_press(egui::Key::Enter);
        self.harness.run_steps(2);
    }

    /// Hosts on 127.0.0.1 and any free port; returns the address to connect to.
    pub fn host(nick: &str) -> (Window, String) {
        let mut window = Window::new();
        window.start_hosting(nick);
        let port = window.app().hosting().map(|h| h.port).unwrap_or_default();
        (window, format!("127.0.0.1:{port}"))
    }

    /// Opens a window that connects to `address` through the Connect tab.
    pub fn join(nick: &str, address: &str) -> Window {
        let mut window = Window::new();
        window.connect(nick, address);
        window
    }

    /// Connects this window to `address` through the Connect tab, and waits for the chat.
    pub fn connect(&mut self, nick: &str, address: &str) {
        self.open_tab("Connect");
        self.type_into("Your nickname", nick);
        self.type_into("Host address", address);
        self.click("Connect");
        self.until("the chat is open", |h| h.state().in_chat());
    }

    pub fn start_hosting(&mut self, nick: &str) {
        self.type_into("Your nickname", nick);
        self.type_into("Port", "0");
        self.click("Start hosting");
        self.until("the host is in its own room", |h| {
            h.query_by_label_contains("Online (1)").is_some()
        });
    }
}
