//! A connection's TLS session on its I/O thread: starting it on a first handshake byte,
//! feeding it records and handing the plaintext to the connection's phase, and ending the
//! connection on records that are not TLS. Not the phases themselves (see `conn_io`), nor the
//! identity and configuration (see `network::tls`).

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Instant;

use super::{Conn, Phase};
use crate::network::server::state::ServerState;

/// What a host without an identity answers a TLS handshake with.
const NO_TLS_HERE: &[u8] = b"This host does not offer encryption: connect without it.\r\n";

impl Conn {
    /// The peer started a TLS handshake: it has `handshake_timeout` to finish it, then the
    /// sniff window starts again for the plaintext inside.
    pub(super) fn begin_tls(&mut self, state: &Arc<ServerState>, raw: &[u8]) {
        let session = state
            .tls
            .as_ref()
            .and_then(|config| rustls::ServerConnection::new(Arc::clone(config)).ok());
        let Some(session) = session else {
            // A host without an identity speaks no TLS. It says so in plain words, which a
            // TLS client reads as "not TLS", and closes: the handshake is no first message.
            let _ = (&self.stream).write(NO_TLS_HERE);
            log::debug!(
                "connection {} from {}: started TLS, but this host has no identity; closed",
                self.id,
                self.connection.peer
            );
            self.phase = Phase::Done;
            return;
        };
        self.tls = Some(Box::new(session));
        if let Phase::Sniffing { until, .. } = &mut self.phase {
            *until = Instant::now() + state.config.handshake_timeout;
        }
        self.decrypt(state, raw);
    }

    /// Feeds TLS records to the session and what they carry to the phase.
    pub(super) fn decrypt(&mut self, state: &Arc<ServerState>, mut raw: &[u8]) {
        while !raw.is_empty() && !self.is_done() {
            let Some(tls) = self.tls.as_mut() else { return };
            let was_handshaking = tls.is_handshaking();
            let processed = tls
                .read_tls(&mut raw)
                .map_err(|_| ())
                .and_then(|_| tls.process_new_packets().map_err(|_| ()));
            let Ok(io_state) = processed else {
                return self.tls_failed(state);
            };
            let mut plain = vec![0u8; io_state.plaintext_bytes_to_read()];
            if tls.reader().read_exact(&mut plain).is_err() {
                return self.tls_failed(state);
            }
            if was_handshaking && !tls.is_handshaking() {
                // The link is encrypted: now the dialect is sniffed from the plaintext.
                log::debug!(
                    "connection {} from {}: TLS handshake done",
                    self.id,
                    self.connection.peer
                );
                if let Phase::Sniffing { until, .. } = &mut self.phase {
                    *until = Instant::now() + state.config.sniff_window;
                }
            }
            let closed = io_state.peer_has_closed();
            if !plain.is_empty() {
                self.on_bytes(state, &plain);
            }
            if closed {
                return self.on_closed(state, "closed the connection");
            }
        }
    }

    /// Bad TLS records (garbage after a first 0x16, a broken handshake): the session's alert
    /// goes out if the socket takes it, and the connection ends.
    fn tls_failed(&mut self, state: &Arc<ServerState>) {
        if let Some(tls) = self.tls.as_mut() {
            let _ = tls.write_tls(&mut &self.stream);
        }
        log::debug!(
            "connection {} from {}: not valid TLS; closed",
            self.id,
            self.connection.peer
        );
        self.on_closed(state, "sent data that is not valid TLS");
        self.phase = Phase::Done;
    }
}
