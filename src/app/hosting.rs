//! Hosting: the server this window runs (with the host identity and its code), following its
//! events, the Host tab's port field and what went wrong, and stopping the server on a
//! background thread. The server itself is in `network::server`.

use std::net::IpAddr;

use super::*;
use crate::network::discovery::AnnounceConfig;
use crate::network::interfaces::{AddressKind, LocalAddress, local_ipv4_addresses};
use crate::network::server::{self, HostError, ServerConfig, ServerEvent, ServerHandle};
use crate::network::tls::{Fingerprint, Identity, Origin};

/// A server this window runs.
pub struct Hosting {
    server: ServerHandle,
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
    /// The secret this window's own link presents to be the room's host (never shown).
    host_token: Option<String>,
}

/// Why hosting failed, and whether "any free port" would help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostProblem {
    pub text: String,
    pub port_in_use: bool,
}

/// The Host tab and the server it started.
pub struct HostingState {
    hosting: Option<Hosting>,
    problem: Option<HostProblem>,
    port_text: String,
    /// The identity made for this run when there is no identity file.
    run_identity: Option<Arc<Identity>>,
}

impl HostingState {
    pub fn new(port: u16) -> Self {
        HostingState {
            hosting: None,
            problem: None,
            port_text: port.to_string(),
            run_identity: None,
        }
    }

    pub fn is_hosting(&self) -> bool {
        self.hosting.is_some()
    }

    pub fn hosting(&self) -> Option<&Hosting> {
        self.hosting.as_ref()
    }

    pub fn hosting_mut(&mut self) -> Option<&mut Hosting> {
        self.hosting.as_mut()
    }

    /// The host token for a link to `address`: only this window's own link to its own room.
    pub(super) fn host_token_for(&self, address: &str) -> Option<String> {
        let hosting = self.hosting.as_ref()?;
        (address == own_address(hosting.port))
            .then(|| hosting.host_token.clone())
            .flatten()
    }

    pub fn problem(&self) -> Option<&HostProblem> {
        self.problem.as_ref()
    }

    pub fn port_text_mut(&mut self) -> &mut String {
        &mut self.port_text
    }

    pub(super) fn set_port_text(&mut self, port: u16) {
        self.port_text = port.to_string();
    }

    /// The host read the "could not reach you" note.
    pub(super) fn dismiss_reach_note(&mut self) {
        if let Some(hosting) = &mut self.hosting {
            hosting.reach_note = None;
        }
    }

    /// The server's events: people coming and going, notes for the hosting card.
    pub(super) fn drain(&mut self) {
        let Some(hosting) = &mut self.hosting else {
            return;
        };
        let mut changed = false;
        for event in hosting.server.events().try_iter() {
            changed |= matches!(event, ServerEvent::Joined { .. } | ServerEvent::Left { .. });
            match event {
                ServerEvent::CouldNotReach { from, port } => {
                    hosting.reach_note = Some((from, port));
                }
                ServerEvent::NotAnnounced { reason } => hosting.not_announced = Some(reason),
                _ => {}
            }
        }
        if changed {
            hosting.people = hosting.server.members().len();
        }
    }

    /// The host's identity: from `identity_file` (made there the first time), or this run's.
    /// Errors are the sentence to show.
    fn identity(
        &mut self,
        identity_file: Option<&std::path::Path>,
    ) -> Result<(Arc<Identity>, Option<String>), String> {
        let Some(path) = identity_file else {
            if self.run_identity.is_none() {
                let identity = Identity::generate().map_err(|e| e.to_string())?;
                self.run_identity = Some(Arc::new(identity));
            }
            let identity = self.run_identity.clone().ok_or("No host identity.")?;
            return Ok((identity, None));
        };
        let (identity, origin) = Identity::load_or_create(path).map_err(|e| e.to_string())?;
        let note = (origin == Origin::Created).then(|| {
            format!(
                "This computer now has a host identity, kept in {}. Its code stays the same every time you host.",
                path.display()
            )
        });
        Ok((Arc::new(identity), note))
    }
}

impl NatterApp {
    pub(super) fn start_hosting(&mut self, port_override: Option<u16>) {
        self.hosting.problem = None;
        let Some(nick) = self.checked_nick() else {
            return;
        };
        let port = match port_override {
            Some(port) => port,
            None => match self.hosting.port_text.trim().parse::<u16>() {
                Ok(port) => port,
                Err(_) => {
                    self.hosting.problem = Some(HostProblem {
                        text: "The port must be a number from 0 to 65535 (5050 is usual; 0 picks any free port).".into(),
                        port_in_use: false,
                    });
                    return;
                }
            },
        };
        let identity_file = self.options.identity_file.clone();
        let (identity, identity_note) = match self.hosting.identity(identity_file.as_deref()) {
            Ok(found) => found,
            Err(text) => {
                self.hosting.problem = Some(HostProblem {
                    text,
                    port_in_use: false,
                });
                return;
            }
        };
        let bind_addr: std::net::SocketAddr = (self.options.host_bind, port).into();
        // Without a secure random source nobody is the host but by a console (there is none
        // here): the room then runs without moderation rather than not at all.
        let host_token = ServerConfig::new_host_token().ok();
        let started = server::bind(bind_addr).and_then(|listener| {
            let announce = if self.settings.announce_room {
                self.options
                    .discovery
                    .as_ref()
                    .and_then(|reach| reach.for_bind(self.options.host_bind))
                    .map(|reach| AnnounceConfig {
                        key: None,
                        reach,
                        host: nick.clone(),
                        pace: self.options.discovery_pace,
                    })
            } else {
                None
            };
            let config = ServerConfig {
                host_token: host_token.clone(),
                // Kept beside the host identity, in the data folder; tests keep none.
                bans_file: (identity_file.as_deref())
                    .and_then(std::path::Path::parent)
                    .map(|folder| folder.join(server::BANS_FILE)),
                name: format!("{nick}'s room"),
                announce,
                identity: Some(Arc::clone(&identity)),
                require_encryption: self.settings.require_encryption,
                history_file: (self.options.hosted_history_file.clone())
                    .filter(|_| self.settings.keep_hosted_history),
                ..ServerConfig::default()
            };
            server::start(listener, config, self.wake.clone()).map_err(|source| HostError::Io {
                addr: bind_addr,
                source,
            })
        });
        let server = match started {
            Ok(server) => server,
            Err(error) => {
                self.hosting.problem = Some(HostProblem {
                    port_in_use: matches!(error, HostError::AddrInUse { .. }),
                    text: error.to_string(),
                });
                return;
            }
        };
        let port = server.local_addr().port();
        if port_override.is_none() {
            self.settings.port = port;
        }
        self.hosting.port_text = port.to_string();
        // Listening on one address: that is the only one people can use.
        let addresses = if self.options.host_bind.is_unspecified() {
            local_ipv4_addresses()
        } else {
            vec![LocalAddress {
                ip: self.options.host_bind,
                interface: "the address Natter listens on".into(),
                kind: AddressKind::Lan,
                prefix: 32,
                broadcast: None,
            }]
        };
        self.hosting.hosting = Some(Hosting {
            server,
            addresses,
            port,
            people: 0,
            reach_note: None,
            not_announced: None,
            fingerprint: identity.fingerprint(),
            identity_note,
            host_token,
        });
        // The host chats in its own room like everyone else, over loopback, pinned to its
        // own key.
        let own = Some(identity.fingerprint());
        self.open_chat(own_address(port), nick, own, None, false);
        self.session.own_room();
    }

    /// Stops the server on a background thread (saying bye to everyone may take a moment).
    pub(super) fn stop_hosting(&mut self) {
        if let Some(hosting) = self.hosting.hosting.take() {
            // The person ended the room: the goodbye tells guests not to redial.
            self.in_background("natter-stop-server", move || hosting.server.end_room());
        }
    }
}

/// The address the hosting window's own link dials.
fn own_address(port: u16) -> String {
    format!("127.0.0.1:{port}")
}
