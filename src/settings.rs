//! What Natter remembers between runs: a small struct saved as RON through eframe's storage.
//!
//! Owns the settings' shape and their (de)serialisation. Does not own when they are saved
//! (eframe calls `App::save`) or the window's own geometry (eframe persists that itself; the
//! size is kept here too so it survives a reset of eframe's window state).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::network::tls::Fingerprint;

/// The key under which settings live in eframe's storage.
pub const STORAGE_KEY: &str = "natter.settings";
/// Recent hosts kept for the Connect tab.
pub const MAX_RECENT_HOSTS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ThemeChoice {
    #[default]
    FollowSystem,
    Light,
    Dark,
}

impl ThemeChoice {
    pub const ALL: [ThemeChoice; 3] = [
        ThemeChoice::FollowSystem,
        ThemeChoice::Light,
        ThemeChoice::Dark,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ThemeChoice::FollowSystem => "Follow system",
            ThemeChoice::Light => "Light",
            ThemeChoice::Dark => "Dark",
        }
    }
}

/// Every field has a default, so a file from an older or newer Natter still loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub nickname: String,
    pub port: u16,
    /// Most recent first.
    pub recent_hosts: Vec<String>,
    pub window_size: Option<[f32; 2]>,
    pub theme: ThemeChoice,
    /// Announce a hosted room on the local network, so it appears in others' Connect tab.
    pub announce_room: bool,
    /// The host key trusted for each host, by address as `host:port` (trust on first use;
    /// files from before issue 25 may hold the address as typed, such as `192.168.1.20`): a
    /// host that later shows another key gets a warning, never a silent connection. Read and
    /// written through `trust` (`Settings::pinned_address`, `Settings::pin_address`).
    pub known_hosts: BTreeMap<String, Fingerprint>,
    /// The host key trusted for each room joined from the network list, by the room's `id`
    /// (newest first, at most `trust::MAX_KNOWN_ROOMS`): another host claiming that room, at
    /// any address, is held to this key.
    pub known_rooms: Vec<crate::trust::KnownRoom>,
    /// Hosting: only encrypted connections may join.
    pub require_encryption: bool,
    /// Which messages show a desktop notification while the window is not focused.
    pub notify: crate::notify::NotifyChoice,
    /// Where Save puts files; `None`: the system's Downloads folder
    /// (`network::files::default_download_dir`).
    pub download_dir: Option<std::path::PathBuf>,
    /// The folder the last chat log was saved in: the save dialog opens there next time
    /// (`None`: Documents).
    pub log_dir: Option<std::path::PathBuf>,
    /// Keep each host's conversations on this computer, shown again on coming back (`app::kept`).
    pub keep_conversations: bool,
    /// Hosting: keep the room's history (what late joiners get) across a stop and a start.
    pub keep_hosted_history: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            nickname: String::new(),
            port: crate::network::protocol::DEFAULT_PORT,
            recent_hosts: Vec::new(),
            window_size: None,
            theme: ThemeChoice::FollowSystem,
            announce_room: true,
            known_hosts: BTreeMap::new(),
            known_rooms: Vec::new(),
            require_encryption: false,
            notify: crate::notify::NotifyChoice::default(),
            download_dir: None,
            log_dir: None,
            keep_conversations: true,
            keep_hosted_history: false,
        }
    }
}

impl Settings {
    /// Reads settings; a missing entry gives defaults silently, an unreadable one gives
    /// defaults and a sentence to show the person once.
    pub fn load(stored: Option<&str>) -> (Settings, Option<String>) {
        let Some(text) = stored else {
            return (Settings::default(), None);
        };
        match ron::from_str::<Settings>(text) {
            Ok(settings) => (settings, None),
            Err(e) => (
                Settings::default(),
                Some(format!(
                    "Your saved settings could not be read ({e}), so the defaults are used. They will be saved again when you close Natter."
                )),
            ),
        }
    }

    pub fn to_ron(&self) -> String {
        // Plain data with string keys only: serialising cannot fail.
        ron::to_string(self).unwrap_or_default()
    }

    /// Puts `host` first in the recent list, without duplicates, keeping the list short.
    pub fn remember_host(&mut self, host: &str) {
        let host = host.trim();
        if host.is_empty() {
            return;
        }
        self.recent_hosts.retain(|h| h != host);
        self.recent_hosts.insert(0, host.to_string());
        self.recent_hosts.truncate(MAX_RECENT_HOSTS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_ron() {
        let mut settings = Settings {
            nickname: "דנה".into(),
            port: 6000,
            window_size: Some([800.0, 600.0]),
            theme: ThemeChoice::Dark,
            ..Settings::default()
        };
        settings.remember_host("192.168.1.20");
        let (loaded, warning) = Settings::load(Some(&settings.to_ron()));
        assert_eq!(loaded, settings);
        assert_eq!(warning, None);
    }

    #[test]
    fn old_files_with_missing_or_extra_fields_still_load() {
        let (loaded, warning) = Settings::load(Some("(nickname: \"bob\", shoe_size: 44)"));
        assert_eq!(warning, None);
        assert_eq!(loaded.nickname, "bob");
        assert_eq!(loaded.port, 5050);
        assert_eq!(loaded.download_dir, None);
    }

    #[test]
    fn conversations_are_kept_by_default_also_for_files_from_before_the_setting_and_hosted_history_is_not()
     {
        let (loaded, _) = Settings::load(Some("(nickname: \"bob\")"));
        assert!(loaded.keep_conversations);
        assert!(!loaded.keep_hosted_history);
        let (off, _) = Settings::load(Some("(keep_conversations: false)"));
        assert!(!off.keep_conversations);
    }

    #[test]
    fn a_corrupt_file_gives_defaults_and_one_warning() {
        let (loaded, warning) = Settings::load(Some("(nickname: \"bob\", port: \"nope\""));
        assert_eq!(loaded, Settings::default());
        assert!(warning.unwrap().contains("defaults are used"));
    }

    #[test]
    fn recent_hosts_are_unique_newest_first_and_bounded() {
        let mut settings = Settings::default();
        for i in 0..10 {
            settings.remember_host(&format!("10.0.0.{i}"));
        }
        settings.remember_host("10.0.0.5");
        assert_eq!(settings.recent_hosts.len(), MAX_RECENT_HOSTS);
        assert_eq!(settings.recent_hosts[0], "10.0.0.5");
        assert_eq!(
            settings
                .recent_hosts
                .iter()
                .filter(|h| *h == "10.0.0.5")
                .count(),
            1
        );
    }
}
