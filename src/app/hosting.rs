//! The window's side of hosting: starting the server (with the host identity and its code),
//! following its events, and stopping it on a background thread. The server itself is in
//! `network::server`.

use super::*;

impl NatterApp {
    pub(super) fn drain_server(&mut self) {
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

    pub(super) fn start_hosting(&mut self, port_override: Option<u16>) {
        self.host_problem = None;
        let Some(nick) = self.checked_nick() else {
            return;
        };
        let port = match port_override {
            Some(port) => port,
            None => match self.port_text.trim().parse::<u16>() {
                Ok(port) => port,
                Err(_) => {
                    self.host_problem = Some(HostProblem {
                        text: "The port must be a number from 0 to 65535 (5050 is usual; 0 picks any free port).".into(),
                        port_in_use: false,
                    });
                    return;
                }
            },
        };
        let (identity, identity_note) = match self.host_identity() {
            Ok(found) => found,
            Err(text) => {
                self.host_problem = Some(HostProblem {
                    text,
                    port_in_use: false,
                });
                return;
            }
        };
        let bind_addr: std::net::SocketAddr = (self.host_bind, port).into();
        let started = server::bind(bind_addr).and_then(|listener| {
            let announce = if self.settings.announce_room {
                self.discovery
                    .as_ref()
                    .and_then(|reach| reach.for_bind(self.host_bind))
                    .map(|reach| AnnounceConfig {
                        key: None,
                        reach,
                        host: nick.clone(),
                        pace: self.discovery_pace,
                    })
            } else {
                None
            };
            let config = ServerConfig {
                name: format!("{nick}'s room"),
                announce,
                identity: Some(Arc::clone(&identity)),
                require_encryption: self.settings.require_encryption,
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
                self.host_problem = Some(HostProblem {
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
        self.port_text = port.to_string();
        // Listening on one address: that is the only one people can use.
        let addresses = if self.host_bind.is_unspecified() {
            local_ipv4_addresses()
        } else {
            vec![LocalAddress {
                ip: self.host_bind,
                interface: "the address Natter listens on".into(),
                kind: AddressKind::Lan,
                prefix: 32,
                broadcast: None,
            }]
        };
        self.hosting = Some(Hosting {
            server,
            addresses,
            port,
            people: 0,
            reach_note: None,
            not_announced: None,
            fingerprint: identity.fingerprint(),
            identity_note,
        });
        // The host chats in its own room like everyone else, over loopback, pinned to its
        // own key.
        let own = Some(identity.fingerprint());
        self.open_chat(format!("127.0.0.1:{port}"), nick, own, None, false);
        if let Some(chat) = &mut self.chat {
            chat.own_room = true;
        }
    }

    /// The host's identity: from `identity_file` (made there the first time), or this run's.
    /// Errors are the sentence to show.
    pub(super) fn host_identity(&mut self) -> Result<(Arc<Identity>, Option<String>), String> {
        let Some(path) = &self.identity_file else {
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

    pub(super) fn stop_hosting(&mut self) {
        if let Some(hosting) = self.hosting.take() {
            self.in_background("natter-stop-server", move || hosting.server.stop());
        }
    }
}
