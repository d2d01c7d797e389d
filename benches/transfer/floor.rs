//! What the transfer cannot do without on this machine: the crypto a gigabyte needs, timed
//! here with the same library the program uses (ring), and the best ratio to the raw relay
//! that leaves on this machine's cores.
//!
//! A gigabyte through Natter is the relay's work (the same bytes through the same kernel:
//! file to sender, sender to host, host to receiver, receiver to disk) plus four AES-256-GCM
//! passes (the sender seals, the host opens and seals again, the receiver opens: the suite
//! rustls picks first) and one SHA-256 pass (the receiver's check; the sender's hash is made
//! before the offer, outside the transfer's time). On `cores` cores that work takes at least
//! its CPU seconds over `cores`.

use std::time::Instant;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::digest;

/// Bytes each pass is timed over: large enough to be steady, a fraction of a second each.
const SAMPLE: usize = 256 << 20;
/// A TLS record's plaintext at most.
const RECORD: usize = 16 << 10;

/// CPU seconds per GiB of the crypto one transfer needs.
pub(crate) struct Crypto {
    pub(crate) sha256: f64,
    pub(crate) aes_gcm: f64,
}

impl Crypto {
    /// Times SHA-256 over [`SAMPLE`] bytes and AES-256-GCM sealing of the same bytes in
    /// records, on this thread.
    pub(crate) fn measure() -> Crypto {
        let data = vec![0x5au8; SAMPLE];
        let per_gib = |secs: f64| secs * (1u64 << 30) as f64 / SAMPLE as f64;
        let started = Instant::now();
        let hash = digest::digest(&digest::SHA256, &data);
        let sha256 = per_gib(started.elapsed().as_secs_f64());
        assert_eq!(hash.as_ref().len(), 32);
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap());
        let mut record = vec![0u8; RECORD];
        let started = Instant::now();
        for (n, piece) in data.chunks(RECORD).enumerate() {
            record[..piece.len()].copy_from_slice(piece);
            let mut nonce = [0u8; 12];
            nonce[4..].copy_from_slice(&(n as u64).to_be_bytes());
            let nonce = Nonce::assume_unique_for_key(nonce);
            let tag =
                key.seal_in_place_separate_tag(nonce, Aad::empty(), &mut record[..piece.len()]);
            assert_eq!(tag.unwrap().as_ref().len(), 16);
        }
        let aes_gcm = per_gib(started.elapsed().as_secs_f64());
        Crypto { sha256, aes_gcm }
    }

    /// CPU seconds per GiB Natter needs at least: the relay's, four AES-GCM passes, one
    /// SHA-256.
    pub(crate) fn floor(&self, relay_cpu_per_gib: f64) -> f64 {
        relay_cpu_per_gib + 4.0 * self.aes_gcm + self.sha256
    }
}

/// The best ratio to the relay that `floor` CPU seconds per GiB allow on `cores` cores, when
/// the relay took `relay_secs_per_gib`: Natter can be no faster than the relay, nor than its
/// work spread perfectly over every core.
pub(crate) fn best_ratio(floor: f64, cores: usize, relay_secs_per_gib: f64) -> f64 {
    let least_secs = (floor / cores.max(1) as f64).max(relay_secs_per_gib);
    relay_secs_per_gib / least_secs
}
