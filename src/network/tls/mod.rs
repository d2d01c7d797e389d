//! Encrypted links (TLS 1.3, rustls with the `ring` provider): the host's identity, its
//! fingerprint and code, the rustls configurations of both ends, and the alerts that turn a TLS
//! peer away at the door (`refusal`).
//!
//! Owns what a TLS session is set up with. Does not own sockets or sessions: the server's
//! I/O thread drives each server session (`server::conn_io`), the client's link drives its own
//! (`client::host_stream`). Wire rules: PROTOCOL.md §12.

mod fingerprint;
mod identity;
mod refusal;
mod verify;

use std::sync::Arc;

pub use fingerprint::Fingerprint;
pub use identity::{IDENTITY_FILE, Identity, IdentityError, Origin};
pub use refusal::{ALERT_BUSY, ALERT_TOO_MANY_FROM_YOU, DoorRefusal};
pub use verify::RecordingVerifier;

use rustls::crypto::CryptoProvider;

/// The first byte of every TLS handshake record: how the server tells a TLS peer apart.
pub const TLS_HANDSHAKE_BYTE: u8 = 0x16;

fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The server side: TLS 1.3 only, no client certificates, no session tickets (Natter resumes
/// at its own level, with `hello`'s `resume`).
pub(crate) fn server_config(
    identity: &Identity,
) -> Result<Arc<rustls::ServerConfig>, IdentityError> {
    let crypto = |e: rustls::Error| IdentityError::Crypto(e.to_string());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(crypto)?
        .with_no_client_auth()
        .with_single_cert(vec![identity.certificate()], identity.key().into())
        .map_err(crypto)?;
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// The client side: TLS 1.3 only, the host's certificate checked by `verifier` (any key the
/// host proves it holds is taken; the caller compares [`RecordingVerifier::seen`] with the key
/// it trusts). Public for tools and tests that speak TLS to a host like `ncat --ssl`.
pub fn client_config(
    verifier: Arc<RecordingVerifier>,
) -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
