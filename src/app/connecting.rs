//! The window's side of joining a host: the address and nickname checked, the host key it
//! holds the host to (`crate::trust`: pinned for the room or address, else announced), the
//! connection doctor's words for a failure, and going on after the host-key warning. The
//! client is in `network::client`.

use super::*;

impl NatterApp {
    pub(super) fn connect(&mut self) {
        self.connect_error = None;
        self.connect_retry = false;
        let Some(nick) = self.checked_nick() else {
            return;
        };
        if let Err(error) = parse_address(&self.address_text) {
            self.connect_error = Some(error.to_string());
            self.focus_address = true;
            return;
        }
        let address = self.address_text.trim().to_string();
        // Typed or joined from the list, one trust decision (crate::trust): the key trusted
        // for the room or the address wins; with none, a room joined from the list is held
        // to the key it announced, which proves nothing until the host proves it holds it.
        let joining = self.joining.take();
        let (pinned, announced) = match &joining {
            Some(room) => (
                crate::trust::trusted_key_for(&self.settings, room, &self.rooms),
                room.key,
            ),
            None => (self.settings.pinned_address(&address), None),
        };
        self.open_chat(address, nick, pinned, announced, false);
        self.chat_room_id = joining.map(|room| room.id);
    }

    /// The person checked with the host: trust what it shows now, and connect.
    pub(super) fn connect_anyway(&mut self) {
        let Some(warning) = self.key_warning.take().filter(|w| w.checked) else {
            return;
        };
        match warning.found {
            Some(found) => {
                self.settings.pin_address(&warning.address, found);
                if let Some(id) = &warning.room_id {
                    self.settings.pin_room(id, found);
                }
                self.open_chat(warning.address, warning.nick, Some(found), None, false);
            }
            // The room announced a key but the host offers no encryption: nothing to pin.
            None if warning.announced => {
                self.open_chat(warning.address, warning.nick, None, None, true);
            }
            None => {
                let expected = Some(warning.expected);
                self.open_chat(warning.address, warning.nick, expected, None, true);
            }
        }
        self.chat_room_id = warning.room_id;
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
        self.list = ui::chat::MessageListState::default();
        self.conversations.clear();
        self.chat = Some(ChatState::new(&nick));
        self.chat_address = address.clone();
        self.chat_room_id = None;
        let (backoff_first, backoff_max) = self.reconnect_backoff;
        let options = ConnectOptions {
            backoff_first,
            backoff_max,
            pinned,
            announced,
            allow_unencrypted,
            ..ConnectOptions::new(address, nick)
        };
        match client::connect(options, self.wake.clone()) {
            Ok(handle) => self.client = Some(handle),
            Err(e) => {
                self.chat = None;
                self.connect_error = Some(format!("Could not start connecting: {e}"));
            }
        }
    }

    /// Disconnects on a background thread: saying bye and joining threads may take a moment.
    pub(super) fn drop_client(&mut self) {
        if let Some(client) = self.client.take() {
            self.in_background("natter-stop-client", move || client.disconnect());
        }
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
        let heard = match (&mut self.finder, failed_at) {
            (Some(finder), Some(addr)) => {
                finder.rooms();
                finder.room_at(addr).is_some()
            }
            _ => false,
        };
        let diagnosis = doctor::diagnose(error, &local_ipv4_addresses(), heard);
        if diagnosis.tell_host()
            && let (Some(finder), Some(addr)) = (&mut self.finder, failed_at)
        {
            finder.tell_unreachable(addr);
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
