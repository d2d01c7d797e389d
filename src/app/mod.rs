//! The window's state and its reactions: what is hosted, what is connected, what is shown.
//!
//! Owns [`NatterApp`], the top of the window, which holds one piece of state per feature, each
//! in its own module with its fields private, its event handling and its actions:
//! the connect form with the host-key warning and trust decisions ([`connect`]), the rooms heard
//! on the network ([`rooms`]), hosting ([`hosting`]), the chat session with its conversations
//! ([`session`]), shared files ([`files`]), desktop notifications and the title's unread count
//! ([`notifications`]), and saving the chat log ([`saving`]). Every frame
//! [`eframe::App::logic`] drains the network (so the chat keeps up while the window is hidden)
//! and hands what happened to the feature it belongs to; [`eframe::App::ui`] hands each `ui`
//! module the pieces it draws and carries out the [`UiAction`]s it returns ([`actions`]).
//! Sockets live in `network`; nothing here blocks on them: stopping a server or a client
//! happens on a named background thread.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use egui::ViewportCommand;

use crate::chat_state::{ChatState, LinkState};
use crate::network::WakeUp;
use crate::network::client::ConnectOptions;
use crate::network::discovery::{FoundRoom, Pace, Reach};
use crate::network::text::normalize_nick;
use crate::settings::{STORAGE_KEY, Settings};
use crate::ui::message_list::ChatView;
use crate::ui::{self, fonts};

mod actions;
mod connect;
mod files;
mod hosting;
mod kept;
mod notifications;
mod rooms;
mod saving;
mod session;
mod startup;

pub use actions::UiAction;
pub use connect::{ConnectForm, KeyWarning};
pub use files::{FileAction, Files};
pub use hosting::{HostProblem, Hosting, HostingState};
pub use kept::{KEPT_BYTES, Kept, data_dir, kept_file};
pub use notifications::Notifications;
pub use rooms::{LOOKING_FOR, RoomFinder};
pub use saving::{SaveScope, Saving};
pub use session::Session;
pub use startup::{Startup, run_window};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Host,
    Connect,
}

/// Where the window reaches the network and the desktop: set when it starts (`run_window`), and
/// by tests, which point everything at loopback and temporary folders.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where a hosted server listens: every network by default; tests use 127.0.0.1.
    pub host_bind: Ipv4Addr,
    /// First and longest wait before a reconnect (`ConnectOptions`); tests lengthen it.
    pub reconnect_backoff: (Duration, Duration),
    /// Where rooms are announced and looked for. `None` (the default, and every test's unless
    /// it chooses otherwise) sends no datagram at all; `run_window` sets the real network.
    pub discovery: Option<Reach>,
    /// Announcement timings and how fast unheard rooms fade; tests shorten them.
    pub discovery_pace: Pace,
    /// Where the host identity is kept (`None`: a fresh one for this run of the window, as
    /// in tests; `run_window` sets the configuration folder's file).
    pub identity_file: Option<PathBuf>,
    /// Whether Save chat log, Send file… and Choose… try the desktop's dialogs first
    /// (`save::dialog_possible`; tests set it).
    pub save_dialog_possible: bool,
    /// Whether Open folder is offered after a save without a dialog: a file manager can be
    /// asked to show a folder. On Linux that takes a session bus; without one `xdg-open` shows
    /// nothing and leaves a D-Bus session running after Natter exits (tests set it).
    pub open_folder_possible: bool,
    /// Where a save goes when no dialog can be shown (`None`: `save::fallback_dir()`; tests set
    /// a temporary folder).
    pub save_fallback_dir: Option<PathBuf>,
    /// The folder of kept conversations, one file per host identity (`None`, as in tests
    /// unless they set one: nothing is kept; `run_window` sets the data folder's).
    pub kept_dir: Option<PathBuf>,
    /// The most one host's kept conversation holds on the disk, in bytes (oldest lines go).
    pub kept_cap: u64,
    /// Where a hosted room's history is kept when the Host tab asks for it (`None`: never).
    pub hosted_history_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        let defaults = ConnectOptions::new("", "");
        Options {
            host_bind: Ipv4Addr::UNSPECIFIED,
            reconnect_backoff: (defaults.backoff_first, defaults.backoff_max),
            discovery: None,
            discovery_pace: Pace::default(),
            identity_file: None,
            save_dialog_possible: crate::save::dialog_possible(),
            open_folder_possible: crate::save::dialog_possible(),
            save_fallback_dir: None,
            kept_dir: None,
            kept_cap: KEPT_BYTES,
            hosted_history_file: None,
        }
    }
}

pub struct NatterApp {
    settings: Settings,
    /// A sentence shown once at the top (e.g. settings could not be read).
    notice: Option<String>,
    tab: Tab,
    options: Options,
    connect: ConnectForm,
    rooms: RoomFinder,
    hosting: HostingState,
    session: Session,
    files: Files,
    notifications: Notifications,
    saving: Saving,
    kept: Kept,
    /// The message lists' scroll state per conversation: the `ui`'s own, kept here between
    /// frames.
    view: ChatView,
    focused: bool,
    /// `focused`, for the network's wake-up (see [`WAKE_DELAY_UNFOCUSED`]).
    looked_at: Arc<AtomicBool>,
    /// egui's clock at the last key, click or pointer move: the text cursor blinks only
    /// for a while after it (see `settle_cursor`).
    last_input_at: f64,
    wake: WakeUp,
    /// Threads that stop servers and clients or run dialogs; joined on exit.
    background: Vec<JoinHandle<()>>,
}

/// How soon the window draws after news from the network. Not zero: egui answers
/// `request_repaint()` with two frames (the second "to let things settle"), and on a software
/// renderer each frame of a busy chat is most of the cost; any delay asks for one frame, and
/// wakes within it share it. Measured with scripts/measure_window.sh: ten messages a second
/// drew 195 frames for 100 messages before (issue 29, "light").
const WAKE_DELAY: Duration = Duration::from_millis(1);
/// The same while another window has the focus: news within it shares one frame, so a window
/// nobody looks at draws no more than one looked at (each message also changes its title's
/// count, which costs a frame of its own). A quarter of a second late is not seen there.
const WAKE_DELAY_UNFOCUSED: Duration = Duration::from_millis(250);

impl NatterApp {
    /// Builds the app from eframe's creation context: fonts, stored settings, theme.
    pub fn new(cc: &eframe::CreationContext<'_>) -> Self {
        let ctx = cc.egui_ctx.clone();
        let looked_at = Arc::new(AtomicBool::new(true));
        let wake_looked_at = Arc::clone(&looked_at);
        let wake = move || match wake_looked_at.load(Ordering::Relaxed) {
            true => ctx.request_repaint_after(WAKE_DELAY),
            false => ctx.request_repaint_after(WAKE_DELAY_UNFOCUSED),
        };
        let mut app = Self::with_wake(cc, Arc::new(wake));
        app.looked_at = looked_at;
        app
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
        NatterApp {
            connect: ConnectForm::new(settings.recent_hosts.first().cloned()),
            hosting: HostingState::new(settings.port),
            settings,
            notice,
            tab: Tab::Host,
            options: Options::default(),
            rooms: RoomFinder::default(),
            session: Session::default(),
            files: Files::default(),
            notifications: Notifications::default(),
            saving: Saving::default(),
            kept: Kept::default(),
            view: ChatView::default(),
            focused: true,
            looked_at: Arc::new(AtomicBool::new(true)),
            last_input_at: 0.0,
            wake,
            background: Vec::new(),
        }
    }

    /// Whether the chat view is up (rather than the Host and Connect tabs).
    pub fn in_chat(&self) -> bool {
        self.session.in_chat(self.hosting.is_hosting())
    }

    pub fn connecting(&self) -> bool {
        self.session.chat().is_some() && !self.in_chat()
    }

    /// Drains the network and keeps the title and attention in step. Runs every frame, also
    /// while the window is hidden.
    pub fn drain_events(&mut self, ctx: &egui::Context) {
        self.hosting.drain();
        self.drain_client(ctx);
        let kept_dir = self.options.kept_dir.as_deref();
        self.kept.drain_loaded(self.session.chat_mut(), kept_dir);
        self.drain_notifications(ctx);
        self.drain_picked();
        if let Some(folder) = self.saving.drain() {
            self.settings.log_dir = Some(folder);
        }
        self.focused = ctx.input(|i| i.focused);
        self.looked_at.store(self.focused, Ordering::Relaxed);
        if let Some(rect) = ctx.input(|i| i.viewport().inner_rect) {
            self.settings.window_size = Some([rect.width(), rect.height()]);
        }
        if self.focused {
            self.notifications.all_seen();
            self.session.seen();
        }
        if self.notifications.title_changed() {
            ctx.send_viewport_cmd(ViewportCommand::Title(self.window_title()));
        }
        // The reconnect countdown is the only thing that changes without an event.
        if self.session.chat().and_then(|c| c.retry_in()).is_some() {
            ctx.request_repaint_after(Duration::from_millis(500));
        }
    }

    pub fn window_title(&self) -> String {
        let room = self
            .session
            .chat()
            .filter(|c| !c.room.is_empty())
            .map(|c| format!(" — {}", c.room))
            .unwrap_or_default();
        match self.notifications.unread() {
            0 => format!("Natter{room}"),
            n => format!("({n}) Natter{room}"),
        }
    }

    /// What the client said since the last frame, handed to the features it concerns.
    fn drain_client(&mut self, ctx: &egui::Context) {
        let Some(news) = self.session.drain(self.focused) else {
            return;
        };
        let place = (self.options.kept_dir.as_deref())
            .filter(|_| self.settings.keep_conversations)
            .map(|dir| (dir, self.options.kept_cap));
        if let Some(chat) = self.session.chat_mut() {
            self.kept.follow(&news.host_keys, chat, place, &self.wake);
        }
        if let Some(warning) = news.key_warning.clone() {
            self.connect.warn(warning);
        }
        let hosting = self.hosting.is_hosting();
        self.connect.follow(&news, hosting, &mut self.settings);
        if news.unseen > 0 {
            // Once, when the first unread message comes: the desktop keeps the window marked
            // until it is looked at, and each command costs the window another frame.
            if self.notifications.unread() == 0 {
                ctx.send_viewport_cmd(ViewportCommand::RequestUserAttention(
                    egui::UserAttentionType::Informational,
                ));
            }
            self.notifications.unseen(news.unseen);
        }
        self.notify_arrivals(&news.arrived);
        if news.ended_before_connecting {
            self.connect.set_focus_address(!hosting);
        }
        if let Some(error) = &news.first_failure
            && !self.connect.warning_up()
        {
            let text = self.diagnose(error);
            self.connect.failed(text, error.is_refusal_for_now());
        }
        if news.room_ended() {
            self.session.room_ended();
        }
        if news.ended {
            // The client's threads have finished: dropping the handle only joins them.
            self.session.client_ended();
            if !self.session.chat().is_some_and(|c| c.ever_connected) {
                self.session.close();
                self.stop_hosting();
            }
        }
    }

    /// How many other people leaving or stopping would cut off: those in the room while the
    /// link is up (or coming back).
    pub fn others_in_room(&self) -> usize {
        self.session.others_in_room()
    }

    /// Whether the chat was left or hosting stopped: readable and saveable, nothing is sent.
    pub fn chat_ended(&self) -> bool {
        self.session.ended()
    }

    /// Leaves (and stops hosting). A chat that was ever up stays, marked as ended, until the
    /// person closes it; one that never connected goes at once.
    fn end_chat(&mut self) {
        let was_hosting = self.hosting.is_hosting();
        let was_live = self.session.is_live();
        self.drop_client();
        self.stop_hosting();
        self.notifications.all_seen();
        self.session.end(was_hosting, was_live);
    }

    fn in_background(&mut self, name: &str, work: impl FnOnce() + Send + 'static) {
        self.background.retain(|t| !t.is_finished());
        // With no thread to spare the work is dropped, which also closes its sockets.
        if let Ok(handle) = thread::Builder::new().name(name.into()).spawn(work) {
            self.background.push(handle);
        }
    }

    pub fn link_state(&self) -> Option<&LinkState> {
        self.session.chat().map(|c| &c.link)
    }
}

/// Reading the window's state, and the few ways tests set it up.
impl NatterApp {
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn settings_mut(&mut self) -> &mut Settings {
        &mut self.settings
    }

    pub fn options_mut(&mut self) -> &mut Options {
        &mut self.options
    }

    pub fn tab(&self) -> Tab {
        self.tab
    }

    /// The server this window runs, if it hosts.
    pub fn hosting(&self) -> Option<&Hosting> {
        self.hosting.hosting()
    }

    /// (Tests: the screenshots show a fixed port.)
    pub fn hosting_mut(&mut self) -> Option<&mut Hosting> {
        self.hosting.hosting_mut()
    }

    pub fn chat(&self) -> Option<&ChatState> {
        self.session.chat()
    }

    pub fn chat_mut(&mut self) -> Option<&mut ChatState> {
        self.session.chat_mut()
    }

    /// Shows `chat` as if it had been joined, with no link behind it (tests and screenshots
    /// of made-up chats).
    pub fn set_chat(&mut self, chat: ChatState) {
        self.session.set_chat(chat);
    }

    /// The host-key warning shown instead of the chat, if any.
    pub fn key_warning(&self) -> Option<&KeyWarning> {
        self.connect.key_warning()
    }

    pub fn set_key_warning(&mut self, warning: KeyWarning) {
        self.connect.warn(warning);
    }

    /// Rooms heard on the network, as of this frame (Connect tab).
    pub fn rooms(&self) -> &[FoundRoom] {
        self.rooms.rooms()
    }

    pub fn address_text(&self) -> &str {
        self.connect.address_text()
    }

    /// Why the last attempt to connect failed, as the Connect tab says it.
    pub fn connect_error(&self) -> Option<&str> {
        self.connect.error()
    }

    /// The Connect screen offers Retry: the host turned us away for now.
    pub fn connect_retry(&self) -> bool {
        self.connect.retry()
    }

    /// Messages from others that came while the window was not focused (the title's count).
    pub fn unread(&self) -> usize {
        self.notifications.unread()
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

    /// Each screen gets the pieces of state it draws, not the whole app.
    fn draw(&mut self, ui: &mut egui::Ui, actions: &mut Vec<UiAction>) {
        if let Some(warning) = self.connect.key_warning_mut() {
            ui::key_warning::show(ui, warning, actions);
        } else if self.in_chat() {
            let screen = ui::chat::ChatScreen {
                can_send_files: self.session.can_send_files(),
                download_dir: self.download_dir(),
                session: &mut self.session,
                view: &mut self.view,
                hosting: self.hosting.hosting(),
                saving: &self.saving,
                files: &mut self.files,
                settings: &self.settings,
                kept_identity: self.kept.has_identity() && self.options.kept_dir.is_some(),
                notify_problem: self.notifications.problem(),
                open_folder: self.options.open_folder_possible,
            };
            ui::chat::show(ui, screen, actions);
        } else {
            let connecting = self.connecting();
            let tabs = ui::shell::Tabs {
                link: self.session.chat().map(|c| c.link.clone()),
                connecting,
                settings: &mut self.settings,
                notice: self.notice.as_deref(),
                tab: &mut self.tab,
                form: &mut self.connect,
                hosting: &mut self.hosting,
                rooms: &self.rooms,
                discovery: self.options.discovery.is_some(),
                pace: self.options.discovery_pace,
            };
            ui::shell::show(ui, tabs, actions);
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
        // Screen readers name the window by its accessible root, not by the title bar.
        let title = self.window_title();
        ui.ctx()
            .accesskit_node_builder(egui::accesskit_root_id(), |node| node.set_label(title));
        let mut actions = Vec::new();
        self.draw(ui, &mut actions);
        for action in actions {
            self.apply(action);
        }
        // One line per pass, for scripts/measure_window.sh (RUST_LOG=natter::frames=trace): how
        // many frames one message costs, and how many passes were measured again and never
        // shown (a discarded pass lays out but paints nothing). Nothing is formatted unless
        // asked for.
        let ctx = ui.ctx();
        match ctx.will_discard() {
            true => {
                log::trace!(target: "natter::frames", "pass {} discarded", ctx.cumulative_pass_nr())
            }
            false => log::trace!(target: "natter::frames", "frame {}", ctx.cumulative_pass_nr()),
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
        self.rooms.stop();
        for handle in self.background.drain(..) {
            let _ = handle.join();
        }
        // The last lines kept go to the disk before the window is gone.
        self.kept.stop();
    }
}
