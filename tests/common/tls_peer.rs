//! A peer that speaks TLS like `ncat --ssl` or `openssl s_client`: it takes any key the host
//! proves it holds, and reports the key's fingerprint.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use natter::network::tls::{Fingerprint, RecordingVerifier, client_config};
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};

use super::WAIT;

/// An `ncat --ssl`-style peer: TLS, then lines of text (or JSON frames) inside.
pub struct TlsPeer {
    stream: StreamOwned<ClientConnection, TcpStream>,
    pub fingerprint: Fingerprint,
    received: Vec<u8>,
}

impl TlsPeer {
    pub fn connect(addr: SocketAddr) -> io::Result<TlsPeer> {
        let verifier = RecordingVerifier::new();
        let config = client_config(Arc::clone(&verifier)).map_err(io::Error::other)?;
        let name = ServerName::try_from("natter.test").map_err(io::Error::other)?;
        let session = ClientConnection::new(config, name).map_err(io::Error::other)?;
        let tcp = TcpStream::connect(addr)?;
        tcp.set_read_timeout(Some(WAIT))?;
        let mut stream = StreamOwned::new(session, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        let fingerprint = verifier
            .seen()
            .ok_or_else(|| io::Error::other("no certificate"))?;
        Ok(TlsPeer {
            stream,
            fingerprint,
            received: Vec::new(),
        })
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the host");
        self.stream.flush().expect("flush to the host");
    }

    /// Reads until `needle` was received; returns everything received so far.
    pub fn text_until(&mut self, needle: &str) -> String {
        let mut buf = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&self.received).into_owned();
            if text.contains(needle) {
                return text;
            }
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("closed before {needle:?}; got {text:?}"),
                Ok(n) => self.received.extend_from_slice(&buf[..n]),
                Err(e) => panic!("no {needle:?} ({e}); got {text:?}"),
            }
        }
    }

    /// Reads until the host closes; returns everything received.
    pub fn text_until_closed(&mut self) -> String {
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return String::from_utf8_lossy(&self.received).into_owned(),
                Ok(n) => self.received.extend_from_slice(&buf[..n]),
            }
        }
    }
}
