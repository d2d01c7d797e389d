//! A peer that speaks TLS like `ncat --ssl` or `openssl s_client`: it checks nothing about the
//! certificate but the handshake signature, and reports the key's fingerprint.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};

use natter::network::tls::Fingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConnection, DigitallySignedStruct, StreamOwned};

use super::WAIT;

#[derive(Debug)]
struct AnyKey {
    seen: Mutex<Option<Fingerprint>>,
}

impl ServerCertVerifier for AnyKey {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap() = Fingerprint::of_certificate(end_entity);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.3 only".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// An `ncat --ssl`-style peer: TLS, then lines of text (or JSON frames) inside.
pub struct TlsPeer {
    stream: StreamOwned<ClientConnection, TcpStream>,
    pub fingerprint: Fingerprint,
    received: Vec<u8>,
}

impl TlsPeer {
    pub fn connect(addr: SocketAddr) -> io::Result<TlsPeer> {
        let verifier = Arc::new(AnyKey {
            seen: Mutex::new(None),
        });
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(io::Error::other)?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
        let name = ServerName::try_from("natter.test").map_err(io::Error::other)?;
        let session = ClientConnection::new(Arc::new(config), name).map_err(io::Error::other)?;
        let tcp = TcpStream::connect(addr)?;
        tcp.set_read_timeout(Some(WAIT))?;
        let mut stream = StreamOwned::new(session, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        let fingerprint = verifier
            .seen
            .lock()
            .unwrap()
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
