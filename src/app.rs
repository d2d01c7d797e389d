//! The window's state and its reactions: what is hosted, what is connected, what is shown.
//!
//! Owns [`NatterApp`]: it drains network events every frame in [`eframe::App::logic`] (so the
//! chat keeps up even while the window is hidden), turns the [`UiAction`]s that the
//! [`ui`] modules return into network calls, and persists [`Settings`]. Drawing lives in
//! [`ui`]; sockets live in `network`. Nothing here blocks on the network:
//! stopping a server or a client happens on a named background thread.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use egui::ViewportCommand;

use crate::chat_log;
use crate::chat_state::{ChatState, LinkState};
use crate::commands::{self, Typed};
use crate::network::WakeUp;
use crate::network::client::{self, ClientCommand, ClientHandle, ConnectOptions, parse_address};
use crate::network::discovery::{AnnounceConfig, Finder, FoundRoom, Pace, Reach};
use crate::network::doctor;
use crate::network::interfaces::{AddressKind, LocalAddress, local_ipv4_addresses};
use crate::network::server::{self, HostError, ServerConfig, ServerEvent, ServerHandle};
use crate::network::text::normalize_nick;
use crate::network::tls::{Fingerprint, Identity, Origin};
use crate::save;
use crate::settings::{STORAGE_KEY, Settings};
use crate::ui::{self, fonts};

mod actions;
mod connecting;
mod files;
mod hosting;
mod notifications;
mod private;
mod rooms;
mod save_log;
mod sending;
mod startup;

pub use actions::UiAction;
pub use files::FileAction;
pub use startup::{Startup, run_window};

/// How long the Connect tab says "looking for rooms" before "none heard yet".
pub const LOOKING_FOR: Duration = Duration::from_secs(2);

/// A host whose key is not the one trusted: shown instead of the chat until the person
/// decides. Nothing was sent to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyWarning {
    pub address: String,
    pub nick: String,
    /// The key trusted before, or (`announced`) the key the room announced on the list.
    pub expected: Fingerprint,
    /// `expected` was never trusted: it is what the room joined from the list announced, and
    /// the host proved another key (or none).
    pub announced: bool,
    /// The room joined from the list, by its `id`: Connect anyway trusts the new key for it
    /// too.
    pub room_id: Option<String>,
    /// The key the host showed now; `None`: it offered no encryption at all.
    pub found: Option<Fingerprint>,
    /// "I asked the person hosting": the only way to enable Connect anyway.
    pub checked: bool,
}

/// What Save chat log saves once there are private conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveScope {
    /// The conversation shown (the room, or one private conversation).
    Conversation,
    /// The room and every private conversation, in order, private lines marked.
    Everything,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Host,
    Connect,
}

/// How a save ended, from the save thread.
struct Saved {
    /// The sentence the window shows.
    message: String,
    /// The file, when it was saved without a dialog.
    without_dialog: Option<PathBuf>,
}

/// A server this window runs.
pub struct Hosting {
    pub server: ServerHandle,
    pub addresses: Vec<LocalAddress>,
    pub port: u16,
    pub people: usize,
    /// Someone heard the room announced but could not reach its port: (their address, port).
    pub reach_note: Option<(IpAddr, u16)>,
    /// Why the room is not announced on the network, when it could not be.
    pub not_announced: Option<String>,
    /// The host key's fingerprint: its code is shown for people to compare.
    pub fingerprint: Fingerprint,
    /// Said once about the identity (e.g. a new one was made, and where it is kept).
    pub identity_note: Option<String>,
}

/// Why hosting failed, and whether "any free port" would help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostProblem {
    pub text: String,
    pub port_in_use: bool,
}

pub struct NatterApp {
    pub settings: Settings,
    /// A sentence shown once at the top (e.g. settings could not be read).
    pub notice: Option<String>,
    pub tab: Tab,
    /// Where a hosted server listens: every network by default; tests use 127.0.0.1.
    pub host_bind: std::net::Ipv4Addr,
    /// First and longest wait before a reconnect (`ConnectOptions`); tests lengthen it.
    pub reconnect_backoff: (Duration, Duration),
    /// Where rooms are announced and looked for. `None` (the default, and every test's unless
    /// it chooses otherwise) sends no datagram at all; `run_window` sets the real network.
    pub discovery: Option<Reach>,
    /// Announcement timings and how fast unheard rooms fade; tests shorten them.
    pub discovery_pace: Pace,
    /// Rooms heard on the network, as of this frame (Connect tab).
    pub rooms: Vec<FoundRoom>,
    /// Why the Connect tab cannot look for rooms, if it cannot.
    pub rooms_problem: Option<String>,
    /// When the finder started, to tell "still looking" from "nothing heard".
    pub finder_started: Option<std::time::Instant>,
    pub port_text: String,
    pub address_text: String,
    pub hosting: Option<Hosting>,
    pub host_problem: Option<HostProblem>,
    pub chat: Option<ChatState>,
    pub connect_error: Option<String>,
    /// `connect_error` is the host turning us away for now (too many connections, busy): the
    /// Connect screen offers Retry next to it.
    pub connect_retry: bool,
    /// Show the nickname rules' verdict under the nickname field even for an empty field: set
    /// once hosting or connecting was tried. (A non-empty nick is checked as it is typed.)
    pub nick_checked: bool,
    /// Give the nickname field the keyboard focus on the next frame (at launch).
    pub focus_nickname: bool,
    /// Give the host address field the keyboard focus on the next frame (after a failed connect).
    pub focus_address: bool,
    /// Where the host identity is kept (`None`: a fresh one for this run of the window, as
    /// in tests; `run_window` sets the configuration folder's file).
    pub identity_file: Option<PathBuf>,
    /// The identity made for this run when `identity_file` is `None`.
    run_identity: Option<Arc<Identity>>,
    /// The address the chat was opened with (its pin: `Settings::pinned_address`).
    chat_address: String,
    /// The `id` of the room the chat was joined through, from the list (its pin:
    /// `Settings::pinned_room`).
    chat_room_id: Option<String>,
    /// The list entry Join was pressed on, until `connect` takes it.
    joining: Option<FoundRoom>,
    /// A host showed another key than the trusted one: the warning screen.
    pub key_warning: Option<KeyWarning>,
    /// Last result of saving the chat log.
    pub log_status: Option<String>,
    /// Where the last save went when no file dialog could be shown (Open folder, Copy path).
    pub log_saved_without_dialog: Option<PathBuf>,
    /// Whether Save chat log tries the desktop's file dialog first (`save::dialog_possible`;
    /// tests set it).
    pub save_dialog_possible: bool,
    /// Where a save goes when no dialog can be shown (`None`: `save::fallback_dir()`; tests set
    /// a temporary folder).
    pub save_fallback_dir: Option<PathBuf>,
    pub draft: String,
    /// Send file… could show no file dialog: the path typed instead (`None`: no field).
    pub send_path: Option<String>,
    /// A sentence beside the download folder setting (e.g. no folder dialog here).
    pub files_note: Option<String>,
    files_tx: Sender<files::Picked>,
    files_rx: Receiver<files::Picked>,
    /// Stop hosting / Leave was clicked with others in the room: the window asks first.
    pub confirm_leave: bool,
    /// Save chat log asks "this conversation or everything?" (private conversations exist).
    pub save_choice: bool,
    /// The rename box (opened by clicking your own name in the user list) and what it holds.
    pub rename_draft: Option<String>,
    pub list: ui::chat::MessageListState,
    /// The conversation shown, and the others' drafts, scroll positions and unread counts.
    pub conversations: crate::conversations::Conversations,
    pub unread: usize,
    client: Option<ClientHandle>,
    finder: Option<Finder>,
    next_local_id: u64,
    focused: bool,
    title_unread: usize,
    /// egui's clock at the last key, click or pointer move: the text cursor blinks only
    /// for a while after it (see `settle_cursor`).
    last_input_at: f64,
    wake: WakeUp,
    saved_tx: Sender<Saved>,
    saved_rx: Receiver<Saved>,
    /// Threads that stop servers and clients or run the save dialog; joined on exit.
    background: Vec<JoinHandle<()>>,
    /// When a message notifies, and how often (see `notify`).
    pub notifier: crate::notify::Notifier,
    /// Where notifications go: the desktop's service, started when first needed, unless a
    /// test put another sink here.
    notify_sink: Option<Box<dyn crate::notify::NotifySink>>,
    notify_tx: Sender<crate::notify::NotifyEvent>,
    notify_rx: Receiver<crate::notify::NotifyEvent>,
    /// Why desktop notifications cannot be shown, for the settings menu.
    pub notify_problem: Option<String>,
}

impl NatterApp {
    /// Builds the app from eframe's creation context: fonts, stored settings, theme.
    pub fn new(cc: &eframe::CreationContext<'_>) -> Self {
        let ctx = cc.egui_ctx.clone();
        Self::with_wake(cc, Arc::new(move || ctx.request_repaint()))
    }

    /// Like [`NatterApp::new`] with a wake-up of the caller's choosing; UI tests pass one that
    /// also pokes a channel, so they can wait for network events without sleeping.
    pub fn with_wake(cc: &eframe::CreationContext<'_>, wake: WakeUp) -> Self {
        fonts::install(&cc.egui_ctx);
        let stored = cc.storage.and_then(|s| s.get_string(STORAGE_KEY));
        let (settings, notice) = Settings::load(stored.as_deref());
        let app = Self::with_settings(settings, notice, wake);
        ui::shell::apply_theme(&cc.egui_ctx, app.settings.theme);
        if let Some([width, height]) = app.settings.window_size {
            cc.egui_ctx
                .send_viewport_cmd(ViewportCommand::InnerSize(egui::vec2(width, height)));
        }
        app
    }

    fn with_settings(mut settings: Settings, notice: Option<String>, wake: WakeUp) -> Self {
        if settings.nickname.is_empty() {
            settings.nickname = default_nickname();
        }
        let (saved_tx, saved_rx) = crossbeam_channel::unbounded();
        let (notify_tx, notify_rx) = crossbeam_channel::unbounded();
        let (files_tx, files_rx) = crossbeam_channel::unbounded();
        NatterApp {
            send_path: None,
            files_note: None,
            files_tx,
            files_rx,
            notifier: Default::default(),
            notify_sink: None,
            notify_tx,
            notify_rx,
            notify_problem: None,
            port_text: settings.port.to_string(),
            address_text: settings.recent_hosts.first().cloned().unwrap_or_default(),
            settings,
            notice,
            tab: Tab::Host,
            host_bind: std::net::Ipv4Addr::UNSPECIFIED,
            reconnect_backoff: {
                let defaults = ConnectOptions::new("", "");
                (defaults.backoff_first, defaults.backoff_max)
            },
            discovery: None,
            discovery_pace: Pace::default(),
            rooms: Vec::new(),
            rooms_problem: None,
            finder_started: None,
            hosting: None,
            host_problem: None,
            chat: None,
            connect_error: None,
            connect_retry: false,
            nick_checked: false,
            focus_nickname: true,
            focus_address: false,
            identity_file: None,
            run_identity: None,
            chat_address: String::new(),
            key_warning: None,
            chat_room_id: None,
            joining: None,
            log_status: None,
            log_saved_without_dialog: None,
            save_dialog_possible: crate::save::dialog_possible(),
            save_fallback_dir: None,
            draft: String::new(),
            confirm_leave: false,
            save_choice: false,
            rename_draft: None,
            list: ui::chat::MessageListState::default(),
            conversations: Default::default(),
            unread: 0,
            client: None,
            finder: None,
            next_local_id: 1,
            focused: true,
            title_unread: 0,
            last_input_at: 0.0,
            wake,
            saved_tx,
            saved_rx,
            background: Vec::new(),
        }
    }

    /// Whether the chat view is up (rather than the Host and Connect tabs).
    pub fn in_chat(&self) -> bool {
        self.chat
            .as_ref()
            .is_some_and(|chat| chat.ever_connected || self.hosting.is_some())
    }

    pub fn connecting(&self) -> bool {
        self.chat.is_some() && !self.in_chat()
    }

    /// Drains the network and keeps the title and attention in step. Runs every frame, also
    /// while the window is hidden.
    pub fn drain_events(&mut self, ctx: &egui::Context) {
        self.drain_server();
        self.drain_client(ctx);
        self.drain_notifications(ctx);
        self.drain_picked();
        if let Ok(saved) = self.saved_rx.try_recv() {
            self.log_status = Some(saved.message);
            self.log_saved_without_dialog = saved.without_dialog;
        }
        self.focused = ctx.input(|i| i.focused);
        if let Some(rect) = ctx.input(|i| i.viewport().inner_rect) {
            self.settings.window_size = Some([rect.width(), rect.height()]);
        }
        if self.focused {
            self.unread = 0;
            self.conversations.seen();
        }
        if self.title_unread != self.unread {
            self.title_unread = self.unread;
            ctx.send_viewport_cmd(ViewportCommand::Title(self.window_title()));
        }
        // The reconnect countdown is the only thing that changes without an event.
        if self.chat.as_ref().and_then(|c| c.retry_in()).is_some() {
            ctx.request_repaint_after(Duration::from_millis(500));
        }
    }

    pub fn window_title(&self) -> String {
        let room = self
            .chat
            .as_ref()
            .filter(|c| !c.room.is_empty())
            .map(|c| format!(" — {}", c.room))
            .unwrap_or_default();
        match self.unread {
            0 => format!("Natter{room}"),
            n => format!("({n}) Natter{room}"),
        }
    }

    fn drain_client(&mut self, ctx: &egui::Context) {
        let (Some(client), Some(chat)) = (&self.client, &mut self.chat) else {
            return;
        };
        let events: Vec<_> = client.events().try_iter().collect();
        let mut to_notify = Vec::new();
        let mut ended = false;
        let mut first_failure = None;
        for event in events {
            let failure = match &event {
                client::ClientEvent::Failed(error) => Some(error.clone()),
                _ => None,
            };
            if let Some(warning) = failure.as_ref().and_then(|e| {
                connecting::key_warning(e, &self.chat_address, &chat.my_nick).map(|w| KeyWarning {
                    room_id: self.chat_room_id.clone(),
                    ..w
                })
            }) {
                self.key_warning = Some(warning);
            }
            if let client::ClientEvent::Renamed { from, to, .. } = &event
                && *from != chat.my_nick
            {
                self.conversations.renamed(from, to);
            }
            let applied = chat.apply(event);
            if let Some(line) = applied.new_line.and_then(|i| chat.lines.get(i)) {
                self.conversations.arrived(line.with.clone(), self.focused);
                if let crate::chat_state::LineKind::Message {
                    from, text, action, ..
                } = &line.kind
                {
                    let message = crate::notify::Incoming {
                        from,
                        text,
                        action: *action,
                        conversation: line.with.clone(),
                        mentions_me: crate::mentions::mentions(text, &chat.my_nick),
                        room: &chat.room,
                    };
                    let choice = self.settings.notify;
                    let now = std::time::Instant::now();
                    if let Some(shown) = self.notifier.offer(choice, self.focused, &message, now) {
                        to_notify.push(shown);
                    }
                }
            }
            if applied.first_connect && self.hosting.is_none() {
                self.settings.remember_host(&self.address_text);
            }
            // Trust on first use only: a pin is replaced by nothing but the warning's box.
            if let Some(key) = applied.host_key
                && self.hosting.is_none()
            {
                self.settings.pin_address_if_new(&self.chat_address, key);
                if let Some(id) = &self.chat_room_id {
                    self.settings.pin_room_if_new(id, key);
                }
            }
            if applied.new_message && !self.focused {
                self.unread += 1;
                ctx.send_viewport_cmd(ViewportCommand::RequestUserAttention(
                    egui::UserAttentionType::Informational,
                ));
            }
            if applied.ended {
                ended = true;
                if !chat.ever_connected {
                    first_failure = failure;
                    self.focus_address = self.hosting.is_none();
                }
            }
        }
        for notification in to_notify {
            self.notify(notification);
        }
        if let Some(error) = first_failure
            && self.key_warning.is_none()
        {
            self.connect_error = Some(self.diagnose(&error));
            self.connect_retry = error.is_refusal_for_now();
        }
        if ended {
            // The client's threads have finished: dropping the handle only joins them.
            self.client = None;
            if !self.chat.as_ref().is_some_and(|c| c.ever_connected) {
                self.chat = None;
                self.stop_hosting();
            }
        }
    }

    /// The nickname, tidied, if it follows the rules. If not, the nickname field shows why
    /// ([`NatterApp::nick_problem`]), and keeps showing it only while it is still true.
    fn checked_nick(&mut self) -> Option<String> {
        self.nick_checked = true;
        normalize_nick(&self.settings.nickname).ok()
    }

    /// What is wrong with the nickname as typed, to show under the field: checked as the
    /// person types, so it disappears as soon as it is fixed. An empty field is only
    /// reported once hosting or connecting was tried.
    pub fn nick_problem(&self) -> Option<String> {
        if self.settings.nickname.is_empty() && !self.nick_checked {
            return None;
        }
        normalize_nick(&self.settings.nickname)
            .err()
            .map(|e| e.to_string())
    }

    /// How many other people leaving or stopping would cut off: those in the room while the
    /// link is up (or coming back).
    pub fn others_in_room(&self) -> usize {
        match &self.chat {
            Some(chat)
                if matches!(
                    chat.link,
                    LinkState::Online | LinkState::Reconnecting { .. }
                ) =>
            {
                chat.users.len().saturating_sub(1)
            }
            _ => 0,
        }
    }

    /// Whether the chat was left or hosting stopped: readable and saveable, nothing is sent.
    pub fn chat_ended(&self) -> bool {
        self.chat
            .as_ref()
            .is_some_and(|c| matches!(c.link, LinkState::Ended))
    }

    /// Leaves (and stops hosting). A chat that was ever up stays, marked as ended, until the
    /// person closes it; one that never connected goes at once.
    fn end_chat(&mut self) {
        self.confirm_leave = false;
        let was_hosting = self.hosting.is_some();
        let was_live = self.client.is_some();
        self.drop_client();
        self.stop_hosting();
        self.unread = 0;
        match &mut self.chat {
            Some(chat) if chat.ever_connected => {
                if !matches!(chat.link, LinkState::Ended) {
                    chat.end(if was_hosting {
                        "You stopped hosting. The chat stays here to read and save."
                    } else if was_live {
                        "You left the chat. It stays here to read and save."
                    } else {
                        "You closed the connection. The chat stays here to read and save."
                    });
                }
            }
            _ => self.chat = None,
        }
    }

    fn in_background(&mut self, name: &str, work: impl FnOnce() + Send + 'static) {
        self.background.retain(|t| !t.is_finished());
        // With no thread to spare the work is dropped, which also closes its sockets.
        if let Ok(handle) = thread::Builder::new().name(name.into()).spawn(work) {
            self.background.push(handle);
        }
    }

    pub fn link_state(&self) -> Option<&LinkState> {
        self.chat.as_ref().map(|c| &c.link)
    }
}

/// The login name, if it makes a valid nickname: one less thing to type on first start.
fn default_nickname() -> String {
    ["USER", "USERNAME"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .filter(|name| name != "root")
        .find_map(|name| normalize_nick(&name).ok())
        .unwrap_or_default()
}

/// How long the text cursor blinks after the last input before it stays lit.
pub const CURSOR_BLINK_SECS: f64 = 5.0;

impl NatterApp {
    /// The text cursor blinks for a few seconds after the last input, then stays lit, as many
    /// editors do: every blink repaints the whole window, ~10% of a core on a software
    /// renderer for a window nobody is touching.
    fn settle_cursor(&mut self, ctx: &egui::Context) {
        let (now, active) = ctx.input(|i| (i.time, !i.events.is_empty()));
        if active {
            self.last_input_at = now;
        }
        let blink = now - self.last_input_at < CURSOR_BLINK_SECS;
        if ctx.global_style().visuals.text_cursor.blink != blink {
            ctx.all_styles_mut(|style| style.visuals.text_cursor.blink = blink);
        }
    }
}

impl eframe::App for NatterApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain_events(ctx);
        self.sync_finder(ctx);
        self.settle_cursor(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let mut actions = Vec::new();
        if self.key_warning.is_some() {
            ui::key_warning::show(ui, self, &mut actions);
        } else if self.in_chat() {
            ui::chat::show(ui, self, &mut actions);
        } else {
            ui::shell::show(ui, self, &mut actions);
        }
        for action in actions {
            self.apply(action);
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        storage.set_string(STORAGE_KEY, self.settings.to_ron());
    }
}

impl Drop for NatterApp {
    fn drop(&mut self) {
        // eframe drops the app when the window closes, tests when they end: stop and join.
        self.drop_client();
        self.stop_hosting();
        if let Some(finder) = self.finder.take() {
            finder.stop();
        }
        for handle in self.background.drain(..) {
            let _ = handle.join();
        }
    }
}
