//! Files and folders only their owner may read: host keys, bans, kept history, downloads,
//! chat logs. One place says how (mode 0600 / 0700 on Unix; on Windows a file in the
//! account's own folders is already private to it), so no caller can forget the mode on one
//! platform or leave a `mut` unused on another. What to write, and where, is the caller's.

use std::fs::{DirBuilder, OpenOptions};

/// Open options whose files are created readable and writable by their owner only. The
/// caller adds how to open (`write`, `create_new`, `append`…).
pub fn file_options() -> OpenOptions {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// A folder builder (with its parents) whose new folders only their owner may enter.
pub fn folder_builder() -> DirBuilder {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn new_files_are_0600_and_new_folders_0700_whatever_the_umask_allows_others() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("a/b");
        folder_builder().create(&folder).unwrap();
        let file = folder.join("f");
        file_options()
            .write(true)
            .create_new(true)
            .open(&file)
            .unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&folder), 0o700);
        assert_eq!(mode(&file), 0o600);
    }
}
