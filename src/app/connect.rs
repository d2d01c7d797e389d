//! The connect form and the window's side of joining a host: the address and nickname
//! checked, the host key it holds the host to (`crate::trust`: pinned for the room or address,
//! else announced), the keys and recent hosts remembered once connected, the host-key warning
//! and going on after it, and the connection doctor's words for a failure. The client is in
//! `network::client`; the chat it feeds is the session's (`session`).

use super::session::News;
use super::*;
use crate::network::client::{self, parse_address};
use crate::network::discovery::FoundRoom;
use crate::network::doctor;
use crate::network::interfaces::local_ipv4_addresses;
use crate::network::tls::Fingerprint;

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

/// The nickname and address fields, what came of the last attempt, and the key warning.
#[derive(Debug, Default)]
pub struct ConnectForm {
    address_text: String,
    error: Option<String>,
    /// `error` is the host turning us away for now (too many connections, busy): the
    /// Connect screen offers Retry next to it.
    retry: bool,
    /// Show the nickname rules' verdict under the nickname field even for an empty field: set
    /// once hosting or connecting was tried. (A non-empty nick is checked as it is typed.)
    nick_checked: bool,
    /// Give the nickname field the keyboard focus on the next frame (at launch).
    focus_nickname: bool,
    /// Give the host address field the keyboard focus on the next frame (after a failed connect).
    focus_address: bool,
    /// The list entry Join was pressed on, until `connect` takes it.
    joining: Option<FoundRoom>,
    /// A host showed another key than the trusted one: the warning screen.
    key_warning: Option<KeyWarning>,
}

impl ConnectForm {
    /// The form as the window opens: the last host's address filled in, the nickname focused.
    pub fn new(address: Option<String>) -> Self {
        ConnectForm {
            address_text: address.unwrap_or_default(),
            focus_nickname: true,
            ..Default::default()
        }
    }

    pub fn address_text(&self) -> &str {
        &self.address_text
    }

    pub fn address_text_mut(&mut self) -> &mut String {
        &mut self.address_text
    }

    /// Why the last attempt failed, in words.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn retry(&self) -> bool {
        self.retry
    }

    /// Whether the nickname field should take the focus now (once).
    pub fn take_focus_nickname(&mut self) -> bool {
        std::mem::take(&mut self.focus_nickname)
    }

    /// A tab was chosen: the next frame focuses its first field to type in, the host address
    /// (`address`) or else the nickname.
    pub fn tab_chosen(&mut self, address: bool) {
        self.focus_address = address;
        self.focus_nickname = !address;
    }

    /// Whether the address field should take the focus now (once).
    pub fn take_focus_address(&mut self) -> bool {
        std::mem::take(&mut self.focus_address)
    }

    /// What is wrong with the nickname as typed, to show under the field: checked as the
    /// person types, so it disappears as soon as it is fixed. An empty field is only
    /// reported once hosting or connecting was tried.
    pub fn nick_problem(&self, nickname: &str) -> Option<String> {
        if nickname.is_empty() && !self.nick_checked {
            return None;
        }
        normalize_nick(nickname).err().map(|e| e.to_string())
    }

    pub fn key_warning(&self) -> Option<&KeyWarning> {
        self.key_warning.as_ref()
    }

    pub(super) fn key_warning_mut(&mut self) -> Option<&mut KeyWarning> {
        self.key_warning.as_mut()
    }

    pub(super) fn warning_up(&self) -> bool {
        self.key_warning.is_some()
    }

    pub(super) fn warn(&mut self, warning: KeyWarning) {
        self.key_warning = Some(warning);
    }

    pub(super) fn dismiss_warning(&mut self) {
        self.key_warning = None;
    }

    pub(super) fn set_focus_address(&mut self, focus: bool) {
        self.focus_address = focus;
    }

    pub(super) fn failed(&mut self, text: String, retry: bool) {
        self.error = Some(text);
        self.retry = retry;
    }

    pub(super) fn clear_error(&mut self) {
        self.error = None;
        self.retry = false;
    }

    /// Join was pressed on a room of the list: its address goes into the field.
    pub(super) fn join(&mut self, room: FoundRoom) {
        self.address_text = room.addr.to_string();
        self.joining = Some(room);
    }

    /// The address typed (for `Startup::Connect`).
    pub(super) fn set_address(&mut self, address: String) {
        self.address_text = address;
    }

    /// A joined chat's first connection remembers the host; the key it proved is trusted from
    /// then on (trust on first use only: a pin is replaced by nothing but the warning's box).
    /// The host's own chat remembers neither.
    pub(super) fn follow(&self, news: &News, hosting: bool, settings: &mut Settings) {
        if hosting {
            return;
        }
        if news.first_connect {
            settings.remember_host(&self.address_text);
        }
        for key in &news.host_keys {
            settings.pin_address_if_new(&news.address, *key);
            if let Some(id) = &news.room_id {
                settings.pin_room_if_new(id, *key);
            }
        }
    }
}

impl NatterApp {
    pub(super) fn connect(&mut self) {
        self.connect.clear_error();
        let Some(nick) = self.checked_nick() else {
            return;
        };
        if let Err(error) = parse_address(&self.connect.address_text) {
            self.connect.error = Some(error.to_string());
            self.connect.focus_address = true;
            return;
        }
        let address = self.connect.address_text.trim().to_string();
        // Typed or joined from the list, one trust decision (crate::trust): the key trusted
        // for the room or the address wins; with none, a room joined from the list is held
        // to the key it announced, which proves nothing until the host proves it holds it.
        let joining = self.connect.joining.take();
        let (pinned, announced) = match &joining {
            Some(room) => (
                crate::trust::trusted_key_for(&self.settings, room, self.rooms.rooms()),
                room.key,
            ),
            None => (self.settings.pinned_address(&address), None),
        };
        self.open_chat(address, nick, pinned, announced, false);
        self.session.joined_from_list(joining.map(|room| room.id));
    }

    /// The person checked with the host: trust what it shows now, and connect. A chat that
    /// was up with this host is kept, marked where the new host begins.
    pub(super) fn connect_anyway(&mut self) {
        let Some(warning) = self.connect.key_warning.take().filter(|w| w.checked) else {
            return;
        };
        let (pinned, allow_unencrypted) = match warning.found {
            Some(found) => {
                self.settings.pin_address(&warning.address, found);
                if let Some(id) = &warning.room_id {
                    self.settings.pin_room(id, found);
                }
                (Some(found), false)
            }
            // The room announced a key but the host offers no encryption: nothing to pin.
            None if warning.announced => (None, true),
            None => (Some(warning.expected), true),
        };
        let keep = self.session.chat().is_some_and(|c| c.ever_connected)
            && !self.session.is_live()
            && self.session.address() == warning.address;
        if keep {
            let options = self.connect_options(
                warning.address,
                warning.nick,
                pinned,
                None,
                allow_unencrypted,
            );
            if let Some(chat) = self.session.chat_mut() {
                chat.system(match warning.found {
                    Some(found) => format!(
                        "From here on, a new host: you checked its new code {} with the person \
                         hosting and chose to trust it.",
                        found.code()
                    ),
                    None => "From here on, a new host that does not encrypt: you checked with \
                             the person hosting and chose to connect anyway."
                        .to_string(),
                });
            }
            if let Err(e) = self.session.reopen(options, self.wake.clone())
                && let Some(chat) = self.session.chat_mut()
            {
                chat.system(format!("Could not start connecting: {e}"));
            }
        } else {
            self.open_chat(
                warning.address,
                warning.nick,
                pinned,
                None,
                allow_unencrypted,
            );
        }
        self.session.joined_from_list(warning.room_id);
    }

    /// How the client is to connect: the window's backoff, the key it is held to.
    fn connect_options(
        &self,
        address: String,
        nick: String,
        pinned: Option<Fingerprint>,
        announced: Option<Fingerprint>,
        allow_unencrypted: bool,
    ) -> ConnectOptions {
        let (backoff_first, backoff_max) = self.options.reconnect_backoff;
        ConnectOptions {
            backoff_first,
            backoff_max,
            pinned,
            announced,
            allow_unencrypted,
            host_token: self.hosting.host_token_for(&address),
            ..ConnectOptions::new(address, nick)
        }
    }

    /// Reconnect: the same address and nickname, held to the key trusted for them (or for
    /// the room it was joined from), with the conversation kept.
    pub(super) fn reconnect(&mut self) {
        let Some(chat) = self.session.chat() else {
            return;
        };
        if self.session.is_live() || self.hosting.is_hosting() {
            return;
        }
        let address = self.session.address().to_string();
        let nick = chat.my_nick.clone();
        let pinned = self
            .session
            .room_id()
            .and_then(|id| self.settings.pinned_room(id))
            .or_else(|| self.settings.pinned_address(&address));
        let options = self.connect_options(address, nick, pinned, None, false);
        if let Err(e) = self.session.reopen(options, self.wake.clone())
            && let Some(chat) = self.session.chat_mut()
        {
            chat.system(format!("Could not start connecting: {e}"));
        }
    }

    pub(super) fn open_chat(
        &mut self,
        address: String,
        nick: String,
        pinned: Option<Fingerprint>,
        announced: Option<Fingerprint>,
        allow_unencrypted: bool,
    ) {
        self.drop_client();
        self.view.clear();
        self.kept.new_chat();
        let options = self.connect_options(address, nick, pinned, announced, allow_unencrypted);
        if let Err(e) = self.session.open(options, self.wake.clone()) {
            self.connect.error = Some(format!("Could not start connecting: {e}"));
        }
    }

    /// Disconnects on a background thread: saying bye and joining threads may take a moment.
    pub(super) fn drop_client(&mut self) {
        if let Some(client) = self.session.take_client() {
            self.in_background("natter-stop-client", move || client.disconnect());
        }
    }

    /// The nickname, tidied, if it follows the rules. If not, the nickname field shows why
    /// ([`ConnectForm::nick_problem`]), and keeps showing it only while it is still true.
    pub(super) fn checked_nick(&mut self) -> Option<String> {
        self.connect.nick_checked = true;
        normalize_nick(&self.settings.nickname).ok()
    }

    /// The connection doctor's words for a failed first connection. When the room was heard
    /// announcing at that very address and port, the host is told too (a rate-limited note).
    pub(super) fn diagnose(&mut self, error: &client::ClientError) -> String {
        use client::ClientError;
        let failed_at = match error {
            ClientError::Refused { addr }
            | ClientError::TimedOut { addr, .. }
            | ClientError::Unreachable { addr } => Some(*addr),
            _ => None,
        };
        let heard = failed_at.is_some_and(|addr| self.rooms.heard_at(addr));
        let diagnosis = doctor::diagnose(error, &local_ipv4_addresses(), heard);
        if diagnosis.tell_host()
            && let Some(addr) = failed_at
        {
            self.rooms.tell_unreachable(addr);
        }
        diagnosis.text
    }
}

/// The warning screen for a client that stopped because of the host's key.
pub(super) fn key_warning(
    error: &client::ClientError,
    address: &str,
    nick: &str,
) -> Option<KeyWarning> {
    let (expected, found, announced) = match error {
        client::ClientError::HostKeyChanged { expected, found } => (*expected, Some(*found), false),
        client::ClientError::NoLongerEncrypted { expected } => (*expected, None, false),
        client::ClientError::NotAnnouncedKey { announced, found } => (*announced, *found, true),
        _ => return None,
    };
    Some(KeyWarning {
        address: address.to_string(),
        nick: nick.to_string(),
        expected,
        announced,
        room_id: None,
        found,
        checked: false,
    })
}
