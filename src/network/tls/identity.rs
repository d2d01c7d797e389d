//! The host's identity: a key pair kept in a file readable by its owner only, and the
//! self-signed certificate made from it each time the host starts.
//!
//! Owns creating, reading and writing the identity file and its error wording. The file holds
//! only the private key (PKCS#8 PEM): the certificate is made anew from it at every start, so
//! renewing it can never change the fingerprint. Does not own TLS sessions (see `super`).

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rcgen::{CertificateParams, KeyPair};
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};

use super::fingerprint::Fingerprint;

/// File name of the identity in the app's configuration folder.
pub const IDENTITY_FILE: &str = "host-identity.pem";

/// A host's key and the certificate made from it.
pub struct Identity {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    fingerprint: Fingerprint,
}

/// Whether [`Identity::load_or_create`] found the file or made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Loaded,
    Created,
}

/// Why there is no identity; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "The host identity file {path} is not a key Natter can read ({why}). Nothing was \
         changed. To make a new identity, move that file somewhere else and start again: \
         people who connected before will be warned that this host's code changed. Or pass \
         --identity with the right file."
    )]
    Corrupt { path: PathBuf, why: String },
    #[error("Could not read the host identity file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("Could not create the host identity file {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "This user has no configuration folder to keep the host identity in: pass --identity FILE."
    )]
    NoFolder,
    #[error("Could not make a host key: {0}")]
    Crypto(String),
}

impl Identity {
    /// A new random identity, kept nowhere (tests, and hosts that cannot keep one).
    pub fn generate() -> Result<Identity, IdentityError> {
        let key = KeyPair::generate().map_err(|e| IdentityError::Crypto(e.to_string()))?;
        Identity::from_key(&key)
    }

    fn from_key(key: &KeyPair) -> Result<Identity, IdentityError> {
        let mut params = CertificateParams::new(vec!["natter".to_string()])
            .map_err(|e| IdentityError::Crypto(e.to_string()))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Natter host");
        let cert = params
            .self_signed(key)
            .map_err(|e| IdentityError::Crypto(e.to_string()))?;
        let fingerprint = Fingerprint::of_certificate(cert.der())
            .ok_or_else(|| IdentityError::Crypto("the certificate made cannot be read".into()))?;
        Ok(Identity {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
            fingerprint,
        })
    }

    /// The identity in `path`, or a new one written there if no file exists. An existing
    /// file is never replaced, whatever it holds.
    pub fn load_or_create(path: &Path) -> Result<(Identity, Origin), IdentityError> {
        match Identity::load_or_create_once(path) {
            // Another process made it just now (two hosts started at once): read theirs.
            Err(IdentityError::Write { source, .. })
                if source.kind() == io::ErrorKind::AlreadyExists =>
            {
                Identity::load_or_create_once(path)
            }
            other => other,
        }
    }

    fn load_or_create_once(path: &Path) -> Result<(Identity, Origin), IdentityError> {
        match fs::read_to_string(path) {
            Ok(text) => {
                let key = KeyPair::from_pem(&text).map_err(|e| IdentityError::Corrupt {
                    path: path.to_path_buf(),
                    why: e.to_string(),
                })?;
                Ok((Identity::from_key(&key)?, Origin::Loaded))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let key = KeyPair::generate().map_err(|e| IdentityError::Crypto(e.to_string()))?;
                write_new(path, key.serialize_pem().as_bytes()).map_err(|source| {
                    IdentityError::Write {
                        path: path.to_path_buf(),
                        source,
                    }
                })?;
                Ok((Identity::from_key(&key)?, Origin::Created))
            }
            Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(IdentityError::Corrupt {
                path: path.to_path_buf(),
                why: "it is not text".into(),
            }),
            Err(source) => Err(IdentityError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Where the window and `natter serve` keep the identity: the app's configuration folder.
    pub fn default_path() -> Result<PathBuf, IdentityError> {
        directories::ProjectDirs::from("", "", "Natter")
            .map(|dirs| dirs.config_dir().join(IDENTITY_FILE))
            .ok_or(IdentityError::NoFolder)
    }

    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    pub(crate) fn certificate(&self) -> CertificateDer<'static> {
        self.cert.clone()
    }

    pub(crate) fn key(&self) -> PrivatePkcs8KeyDer<'static> {
        self.key.clone_key()
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({})", self.fingerprint.code())
    }
}

/// Writes a new file readable and writable by its owner only (folders too); fails with
/// `AlreadyExists` if the file exists. The file appears whole or not at all: it is written
/// under a temporary name and linked into place (a link never replaces a file).
fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::network::owner_only::folder_builder().create(folder)?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.new", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let _ = fs::remove_file(&temporary);
    write_exclusive(&temporary, contents)?;
    let linked = fs::hard_link(&temporary, path);
    let _ = fs::remove_file(&temporary);
    match linked {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
            // A file system without links: write in place, still never over a file.
            write_exclusive(path, contents)
        }
        other => other,
    }
}

/// Creates `path` (owner-only) and writes it; removes it again if writing fails.
fn write_exclusive(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = crate::network::owner_only::file_options()
        .write(true)
        .create_new(true)
        .open(path)?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if written.is_err() {
        drop(file);
        let _ = fs::remove_file(path);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_identity_file_is_created_once_and_read_back_with_the_same_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(IDENTITY_FILE);
        let (made, origin) = Identity::load_or_create(&path).unwrap();
        assert_eq!(origin, Origin::Created);
        let (read, origin) = Identity::load_or_create(&path).unwrap();
        assert_eq!(origin, Origin::Loaded);
        assert_eq!(made.fingerprint(), read.fingerprint());
        assert_ne!(
            made.certificate(),
            Identity::generate().unwrap().certificate()
        );
    }

    #[test]
    fn the_fingerprint_is_the_one_read_from_the_certificate() {
        let identity = Identity::generate().unwrap();
        assert_eq!(
            Fingerprint::of_certificate(&identity.certificate()),
            Some(identity.fingerprint())
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_identity_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(IDENTITY_FILE);
        Identity::load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }

    #[test]
    fn a_corrupt_identity_file_is_refused_with_what_to_do_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(IDENTITY_FILE);
        fs::write(&path, "not a key\n").unwrap();
        let error = Identity::load_or_create(&path).unwrap_err();
        assert!(matches!(error, IdentityError::Corrupt { .. }), "{error:?}");
        let words = error.to_string();
        assert!(words.contains("Nothing was changed"), "{words}");
        assert!(words.contains("move that file"), "{words}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "not a key\n");
    }
}
