//! A file the person offers to someone: its size and SHA-256, and its bytes chunk by chunk.
//!
//! Owns: refusing what is not a regular file, the one pass that hashes the file ("preparing"),
//! and reading chunks at any offset so a resumed transfer starts where the receiver has got
//! to. Does not own the offer on the wire, nor noticing that the file changed in place
//! without getting shorter (the receiver's hash check catches that).

use std::fs::{self, File};
use std::io::{self, ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use ring::digest;

use super::FileError;

/// Block size for the hashing pass: large enough that a big file hashes at disk speed, small
/// enough not to matter for memory.
const HASH_BLOCK_BYTES: usize = 256 * 1024;

/// An open file being offered, with the size and SHA-256 it had when it was prepared.
#[derive(Debug)]
pub struct OutgoingFile {
    path: PathBuf,
    file: File,
    size: u64,
    sha256: [u8; 32],
}

impl OutgoingFile {
    /// Opens `path` and reads it once to learn its size and SHA-256. The size is what was
    /// read, not what the metadata said, so the offer matches the bytes that were hashed.
    pub fn open(path: &Path) -> Result<OutgoingFile, FileError> {
        let path = path.to_path_buf();
        // Checked before opening: Linux opens a folder without complaint, and reading a
        // fifo or device could block or never end.
        let meta = fs::metadata(&path).map_err(|source| FileError::Open {
            path: path.clone(),
            source,
        })?;
        if !meta.is_file() {
            return Err(FileError::NotAFile { path });
        }
        let mut file = File::open(&path).map_err(|source| FileError::Open {
            path: path.clone(),
            source,
        })?;
        let (size, sha256) = hash_all(&mut file).map_err(|source| FileError::Read {
            path: path.clone(),
            source,
        })?;
        Ok(OutgoingFile {
            path,
            file,
            size,
            sha256,
        })
    }

    /// The name to offer: the last component of the path, with anything that is not UTF-8
    /// shown as U+FFFD (the receiver cleans it anyway).
    pub fn name(&self) -> String {
        match self.path.file_name() {
            Some(name) => name.to_string_lossy().into_owned(),
            None => "file".to_string(),
        }
    }

    /// Size in bytes when the file was prepared.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// SHA-256 of the contents when the file was prepared.
    pub fn sha256(&self) -> [u8; 32] {
        self.sha256
    }

    /// The file's path as the person chose it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the bytes from `offset` into `buf`, filling it unless the offered size ends
    /// first; returns how many bytes were read, 0 at or past the end. Never reads beyond the
    /// offered size, so a file that grew is still sent as offered.
    pub fn read_chunk(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, FileError> {
        let remaining = self.size.saturating_sub(offset);
        let wanted = usize::try_from(remaining).map_or(buf.len(), |left| left.min(buf.len()));
        if wanted == 0 {
            return Ok(0);
        }
        let buf = &mut buf[..wanted];
        let result = self
            .file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| read_full(&mut self.file, buf));
        match result {
            Ok(read) if read == wanted => Ok(read),
            Ok(_) => Err(FileError::Changed {
                path: self.path.clone(),
            }),
            Err(source) => Err(FileError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }
    /// Appends the bytes from `offset` to `out`: `len` of them, fewer only where the offered
    /// size ends; returns how many. They are read straight into `out`'s spare room (no
    /// buffer to fill first and copy from), so a chunk can follow its header in one buffer.
    pub fn append_chunk(
        &mut self,
        offset: u64,
        len: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, FileError> {
        let remaining = self.size.saturating_sub(offset);
        let wanted = usize::try_from(remaining).map_or(len, |left| left.min(len));
        if wanted == 0 {
            return Ok(0);
        }
        out.reserve_exact(wanted);
        let before = out.len();
        let result = (self.file.seek(SeekFrom::Start(offset)))
            .and_then(|_| (&mut self.file).take(wanted as u64).read_to_end(out));
        match result {
            Ok(read) if read == wanted => Ok(read),
            Ok(_) => {
                out.truncate(before);
                Err(FileError::Changed {
                    path: self.path.clone(),
                })
            }
            Err(source) => {
                out.truncate(before);
                Err(FileError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }
}

/// Reads `file` from where it stands to its end, returning how many bytes and their SHA-256.
fn hash_all(file: &mut File) -> io::Result<(u64, [u8; 32])> {
    let mut context = digest::Context::new(&digest::SHA256);
    let mut block = vec![0u8; HASH_BLOCK_BYTES];
    let mut size = 0u64;
    loop {
        let read = match file.read(&mut block) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        context.update(&block[..read]);
        size += read as u64;
    }
    let mut sha256 = [0u8; 32];
    sha256.copy_from_slice(context.finish().as_ref());
    Ok((size, sha256))
}

/// Reads until `buf` is full or the file ends; returns how many bytes were read. A short
/// read is normal for one `read` call and says nothing about the end of the file.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("create a temporary folder")
    }

    fn write_test_file(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, data).expect("write the test file");
        path
    }

    /// More than one hashing block, and not a multiple of it.
    fn sample_data() -> Vec<u8> {
        (0..600_000u32).map(|i| (i % 253) as u8).collect()
    }

    #[test]
    fn size_and_hash_equal_those_of_the_whole_file() {
        let dir = test_dir();
        let data = sample_data();
        let path = write_test_file(dir.path(), "big.bin", &data);
        let outgoing = OutgoingFile::open(&path).expect("open");
        let expected = digest::digest(&digest::SHA256, &data);
        assert_eq!(outgoing.sha256().as_slice(), expected.as_ref());
        assert_eq!(outgoing.size(), data.len() as u64);
        assert_eq!(outgoing.name(), "big.bin");
    }

    #[test]
    fn read_chunk_reads_the_bytes_at_each_offset_and_zero_at_the_end() {
        let dir = test_dir();
        let data = sample_data();
        let path = write_test_file(dir.path(), "big.bin", &data);
        let mut outgoing = OutgoingFile::open(&path).expect("open");
        let mut buf = vec![0u8; crate::network::protocol::CHUNK_BYTES];
        for offset in [0usize, 32_768, 100_001, data.len() - 10] {
            let read = outgoing.read_chunk(offset as u64, &mut buf).expect("read");
            let end = (offset + buf.len()).min(data.len());
            assert_eq!(read, end - offset, "at offset {offset}");
            assert_eq!(&buf[..read], &data[offset..end], "at offset {offset}");
        }
        assert_eq!(
            outgoing
                .read_chunk(data.len() as u64, &mut buf)
                .expect("end"),
            0
        );
        assert_eq!(
            outgoing.read_chunk(u64::MAX, &mut buf).expect("past end"),
            0
        );
    }

    #[test]
    fn append_chunk_puts_the_bytes_at_each_offset_after_what_the_buffer_holds() {
        let dir = test_dir();
        let data = sample_data();
        let path = write_test_file(dir.path(), "big.bin", &data);
        let mut outgoing = OutgoingFile::open(&path).expect("open");
        for offset in [0usize, 100_001, data.len() - 10] {
            let mut out = b"header\n".to_vec();
            let read = (outgoing.append_chunk(offset as u64, 65_536, &mut out)).expect("read");
            let end = (offset + 65_536).min(data.len());
            assert_eq!(read, end - offset, "at offset {offset}");
            assert_eq!(&out[..7], b"header\n");
            assert_eq!(&out[7..], &data[offset..end], "at offset {offset}");
        }
        let mut out = Vec::new();
        assert_eq!(
            outgoing
                .append_chunk(data.len() as u64, 10, &mut out)
                .expect("end"),
            0
        );
        fs::write(&path, b"ab").expect("shorten the file");
        let error = outgoing
            .append_chunk(0, 10, &mut out)
            .expect_err("file shrank");
        assert!(matches!(error, FileError::Changed { .. }), "{error}");
        assert!(out.is_empty(), "nothing of a short read is kept");
    }

    #[test]
    fn read_chunk_stops_at_the_offered_size_when_the_file_grew() {
        let dir = test_dir();
        let path = write_test_file(dir.path(), "log.txt", b"abc");
        let mut outgoing = OutgoingFile::open(&path).expect("open");
        fs::write(&path, b"abcdef").expect("grow the file");
        let mut buf = [0u8; 16];
        assert_eq!(outgoing.read_chunk(0, &mut buf).expect("read"), 3);
        assert_eq!(&buf[..3], b"abc");
    }

    #[test]
    fn read_chunk_says_the_file_changed_when_it_became_shorter() {
        let dir = test_dir();
        let path = write_test_file(dir.path(), "log.txt", b"abcdef");
        let mut outgoing = OutgoingFile::open(&path).expect("open");
        fs::write(&path, b"ab").expect("shorten the file");
        let mut buf = [0u8; 16];
        let error = outgoing.read_chunk(0, &mut buf).expect_err("file shrank");
        assert!(matches!(error, FileError::Changed { .. }), "{error}");
        assert!(
            error.to_string().contains("changed since it was offered"),
            "{error}"
        );
    }

    #[test]
    fn directory_is_refused_with_a_message_naming_it() {
        let dir = test_dir();
        let error = OutgoingFile::open(dir.path()).expect_err("a folder is refused");
        assert!(matches!(error, FileError::NotAFile { .. }));
        let message = error.to_string();
        assert!(message.contains("only files can be sent"), "{message}");
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );
    }

    #[test]
    fn missing_file_is_an_open_error_naming_it() {
        let dir = test_dir();
        let missing = dir.path().join("gone.txt");
        let error = OutgoingFile::open(&missing).expect_err("missing file");
        assert!(matches!(error, FileError::Open { .. }));
        assert!(error.to_string().contains("gone.txt"), "{error}");
    }
}
