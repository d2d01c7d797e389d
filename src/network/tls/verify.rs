//! How a Natter client checks a host's certificate: not against certificate authorities
//! (a LAN host has none) but by the fingerprint of its key, which the client compares with
//! the one it remembers (trust on first use, see `client::handshake`).
//!
//! Owns the rustls verifier that records the key's fingerprint and still checks that the host
//! holds that key (the handshake signature). Does not decide whether the key is trusted.

use std::sync::{Arc, Mutex};

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::fingerprint::Fingerprint;
use crate::network::lock;

/// Accepts any certificate whose key signs the handshake, and remembers its fingerprint.
#[derive(Debug)]
pub struct RecordingVerifier {
    algorithms: WebPkiSupportedAlgorithms,
    seen: Mutex<Option<Fingerprint>>,
}

impl RecordingVerifier {
    pub fn new() -> Arc<Self> {
        Arc::new(RecordingVerifier {
            algorithms: super::provider().signature_verification_algorithms,
            seen: Mutex::new(None),
        })
    }

    /// The fingerprint of the key the host presented, once the handshake got that far.
    pub fn seen(&self) -> Option<Fingerprint> {
        *lock(&self.seen)
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint = Fingerprint::of_certificate(end_entity).ok_or(
            rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding),
        )?;
        *lock(&self.seen) = Some(fingerprint);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // Natter speaks TLS 1.3 only (`super::client_config`).
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls13RequiredForQuic,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
