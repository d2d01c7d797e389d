//! A host's fingerprint: the SHA-256 of its public key (the certificate's DER
//! SubjectPublicKeyInfo), and the short code people read to each other to compare it.
//!
//! Owns hashing, the code's format and the text form kept in settings. Does not own where
//! keys come from (see `identity`) or what a client does with a fingerprint (see `verify`).

use std::fmt;

use ring::digest::{SHA256, digest};
use rustls_pki_types::CertificateDer;

/// Digit groups in the code, and digits per group: 25 decimal digits, about 83 bits.
const CODE_GROUPS: usize = 5;
const GROUP_DIGITS: usize = 5;
/// How the text form starts, so another hash can be told apart later.
const TEXT_PREFIX: &str = "sha256:";

/// The SHA-256 of a host's public key. Equal keys give equal fingerprints whatever the
/// certificate around them, so a renewed certificate keeps its fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Hashes a DER SubjectPublicKeyInfo (`SEQUENCE { algorithm, subjectPublicKey }`).
    pub fn of_public_key(spki_der: &[u8]) -> Self {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(digest(&SHA256, spki_der).as_ref());
        Fingerprint(bytes)
    }

    /// The fingerprint of the public key inside a DER certificate; `None` if it is not one.
    pub fn of_certificate(cert: &CertificateDer<'_>) -> Option<Self> {
        let parsed = webpki::EndEntityCert::try_from(cert).ok()?;
        Some(Self::of_public_key(
            parsed.subject_public_key_info().as_ref(),
        ))
    }

    /// The code people compare: five groups of five digits, e.g. `04193 77120 58811 30962
    /// 21475`. The first 16 bytes of the hash, read as a big-endian number, modulo 10^25,
    /// written with leading zeros (PROTOCOL.md §12).
    pub fn code(&self) -> String {
        let mut first = [0u8; 16];
        first.copy_from_slice(&self.0[..16]);
        let number = u128::from_be_bytes(first) % 10u128.pow((CODE_GROUPS * GROUP_DIGITS) as u32);
        let digits = format!("{number:0width$}", width = CODE_GROUPS * GROUP_DIGITS);
        let groups: Vec<&str> = (0..CODE_GROUPS)
            .map(|g| &digits[g * GROUP_DIGITS..(g + 1) * GROUP_DIGITS])
            .collect();
        groups.join(" ")
    }

    /// The full hash as kept in settings: `sha256:` and 64 lowercase hex digits.
    pub fn to_text(&self) -> String {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        format!("{TEXT_PREFIX}{hex}")
    }

    /// Reads [`Fingerprint::to_text`]'s form back; `None` if it is not one.
    pub fn from_text(text: &str) -> Option<Self> {
        let hex = text.trim().strip_prefix(TEXT_PREFIX)?;
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Fingerprint(bytes))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.code())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_text())
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Fingerprint::from_text(&text)
            .ok_or_else(|| serde::de::Error::custom("not a sha256: fingerprint"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_five_groups_of_five_digits_from_the_first_16_bytes_of_the_hash() {
        // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 ...
        let fingerprint = Fingerprint::of_public_key(b"abc");
        let first = u128::from_str_radix("ba7816bf8f01cfea414140de5dae2223", 16).unwrap();
        let expected = format!("{:025}", first % 10u128.pow(25));
        let code = fingerprint.code();
        assert_eq!(code.replace(' ', ""), expected);
        let groups: Vec<&str> = code.split(' ').collect();
        assert_eq!(groups.len(), 5);
        assert!(
            groups
                .iter()
                .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit()))
        );
    }

    #[test]
    fn the_text_form_reads_back_and_rejects_anything_else() {
        let fingerprint = Fingerprint::of_public_key(b"some key");
        let text = fingerprint.to_text();
        assert!(text.starts_with("sha256:") && text.len() == 7 + 64);
        assert_eq!(Fingerprint::from_text(&text), Some(fingerprint));
        assert_eq!(Fingerprint::from_text("sha256:zz"), None);
        assert_eq!(
            Fingerprint::from_text(&text.replace("sha256:", "md5:")),
            None
        );
        assert_eq!(Fingerprint::from_text(&format!("{text}00")), None);
    }
}
