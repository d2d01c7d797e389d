use super::*;

fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read the test folder")
        .map(|entry| {
            let entry = entry.expect("read a folder entry");
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    names
}

fn receive(dir: &Path, offered_name: &str, data: &[u8]) -> PathBuf {
    let mut incoming = IncomingFile::create(dir, offered_name, data.len() as u64, sha256(data))
        .expect("create the incoming file");
    incoming.write_chunk(0, data).expect("write the data");
    incoming.finish().expect("finish the download")
}

fn test_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("create a temporary folder")
}

#[test]
fn file_written_in_three_chunks_is_saved_byte_identical_and_no_part_file_remains() {
    let dir = test_dir();
    let data: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let mut incoming =
        IncomingFile::create(dir.path(), "report.pdf", data.len() as u64, sha256(&data))
            .expect("create");
    for offset in [0usize, 32_768, 65_536] {
        let end = (offset + 32_768).min(data.len());
        let chunk = incoming.write_chunk(offset as u64, &data[offset..end]);
        assert_eq!(chunk.expect("write chunk"), Chunk::Appended);
    }
    assert!(incoming.is_complete());
    let path = incoming.finish().expect("finish");
    assert_eq!(path, dir.path().join("report.pdf"));
    assert_eq!(fs::read(&path).expect("read saved file"), data);
    assert_eq!(names_in(dir.path()), ["report.pdf"]);
}

#[test]
fn file_longer_than_two_writeback_windows_is_saved_byte_identical() {
    let dir = test_dir();
    let len = 2 * super::super::writeback::WINDOW as usize + 3;
    let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
    let mut incoming =
        IncomingFile::create(dir.path(), "film.mkv", data.len() as u64, sha256(&data))
            .expect("create");
    for (at, piece) in data.chunks(262_144).enumerate() {
        let chunk = incoming.write_chunk((at * 262_144) as u64, piece);
        assert_eq!(chunk.expect("write chunk"), Chunk::Appended);
    }
    let path = incoming.finish().expect("finish");
    assert_eq!(fs::read(&path).expect("read saved file"), data);
    assert_eq!(names_in(dir.path()), ["film.mkv"]);
}

#[test]
fn temp_file_is_hidden_in_the_folder_while_the_download_runs() {
    let dir = test_dir();
    let incoming = IncomingFile::create(dir.path(), "a.txt", 3, sha256(b"abc")).expect("create");
    let temp_name = incoming.temp_path().file_name().expect("temp file name");
    let temp_name = temp_name.to_string_lossy();
    assert!(temp_name.starts_with(".a.txt."), "{temp_name}");
    assert!(temp_name.ends_with(".natter-part"), "{temp_name}");
    assert_eq!(incoming.temp_path().parent(), Some(dir.path()));
    assert_eq!(incoming.final_name(), "a.txt");
    assert_eq!(incoming.size(), 3);
}

#[cfg(unix)]
#[test]
fn temp_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = test_dir();
    let incoming = IncomingFile::create(dir.path(), "a.txt", 3, sha256(b"abc")).expect("create");
    let meta = fs::metadata(incoming.temp_path()).expect("temp metadata");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}

#[test]
fn chunk_at_the_wrong_offset_is_ignored_and_writes_nothing() {
    let dir = test_dir();
    let mut incoming =
        IncomingFile::create(dir.path(), "a.bin", 6, sha256(b"abcdef")).expect("create");
    assert_eq!(
        incoming.write_chunk(0, b"abc").expect("first"),
        Chunk::Appended
    );
    assert_eq!(
        incoming.write_chunk(0, b"abc").expect("repeat"),
        Chunk::Ignored
    );
    assert_eq!(incoming.write_chunk(4, b"ef").expect("gap"), Chunk::Ignored);
    assert_eq!(incoming.written(), 3);
    assert_eq!(fs::read(incoming.temp_path()).expect("read temp"), b"abc");
}

#[test]
fn chunk_past_the_offered_size_is_an_error_and_writes_nothing() {
    let dir = test_dir();
    let mut incoming =
        IncomingFile::create(dir.path(), "a.bin", 4, sha256(b"abcd")).expect("create");
    let error = incoming
        .write_chunk(0, b"abcde")
        .expect_err("more than offered");
    assert!(
        matches!(error, FileError::MoreThanOffered { size: 4, .. }),
        "{error}"
    );
    assert!(incoming.write_chunk(u64::MAX, b"x").is_err());
    assert_eq!(incoming.written(), 0);
    assert_eq!(fs::read(incoming.temp_path()).expect("read temp"), b"");
}

#[test]
fn hash_mismatch_is_an_error_and_leaves_the_folder_empty() {
    let dir = test_dir();
    let mut incoming =
        IncomingFile::create(dir.path(), "a.bin", 3, sha256(b"abc")).expect("create");
    incoming.write_chunk(0, b"abX").expect("write");
    let error = incoming.finish().expect_err("damaged file");
    assert!(matches!(error, FileError::HashMismatch { .. }));
    assert!(error.to_string().contains("arrived damaged"), "{error}");
    assert!(error.to_string().contains("a.bin"), "{error}");
    assert!(names_in(dir.path()).is_empty());
}

#[test]
fn finishing_an_incomplete_file_is_an_error_and_leaves_the_folder_empty() {
    let dir = test_dir();
    let mut incoming =
        IncomingFile::create(dir.path(), "a.bin", 3, sha256(b"abc")).expect("create");
    incoming.write_chunk(0, b"ab").expect("write");
    assert!(!incoming.is_complete());
    let error = incoming.finish().expect_err("incomplete");
    assert!(matches!(
        error,
        FileError::Incomplete {
            written: 2,
            size: 3,
            ..
        }
    ));
    assert!(names_in(dir.path()).is_empty());
}

#[test]
fn cancel_leaves_the_folder_empty() {
    let dir = test_dir();
    let mut incoming =
        IncomingFile::create(dir.path(), "a.bin", 3, sha256(b"abc")).expect("create");
    incoming.write_chunk(0, b"ab").expect("write");
    incoming.cancel();
    assert!(names_in(dir.path()).is_empty());
}

#[test]
fn drop_without_finish_or_cancel_leaves_the_folder_empty() {
    let dir = test_dir();
    let mut incoming =
        IncomingFile::create(dir.path(), "a.bin", 3, sha256(b"abc")).expect("create");
    incoming.write_chunk(0, b"ab").expect("write");
    drop(incoming);
    assert!(names_in(dir.path()).is_empty());
}

#[test]
fn empty_file_is_complete_at_once_and_saved_empty() {
    let dir = test_dir();
    let incoming = IncomingFile::create(dir.path(), "empty.txt", 0, sha256(b"")).expect("create");
    assert!(incoming.is_complete());
    let path = incoming.finish().expect("finish");
    assert_eq!(fs::read(path).expect("read saved file"), b"");
    assert_eq!(names_in(dir.path()), ["empty.txt"]);
}

#[test]
fn two_files_with_the_same_name_are_both_kept_with_their_own_contents() {
    let dir = test_dir();
    let first = receive(dir.path(), "photo.jpg", b"first");
    let second = receive(dir.path(), "photo.jpg", b"second");
    assert_eq!(first, dir.path().join("photo.jpg"));
    assert_eq!(second, dir.path().join("photo (1).jpg"));
    assert_eq!(fs::read(first).expect("read first"), b"first");
    assert_eq!(fs::read(second).expect("read second"), b"second");
    assert_eq!(names_in(dir.path()), ["photo (1).jpg", "photo.jpg"]);
}

#[test]
fn existing_file_with_that_name_is_untouched() {
    let dir = test_dir();
    fs::write(dir.path().join("notes.txt"), b"mine").expect("write existing file");
    let saved = receive(dir.path(), "notes.txt", b"theirs");
    assert_eq!(saved, dir.path().join("notes (1).txt"));
    let mine = fs::read(dir.path().join("notes.txt")).expect("read existing file");
    assert_eq!(mine, b"mine");
    assert_eq!(fs::read(saved).expect("read saved file"), b"theirs");
}

#[cfg(unix)]
#[test]
fn symlink_with_that_name_and_its_outside_target_are_untouched() {
    let dir = test_dir();
    let outside = test_dir();
    let target = outside.path().join("precious.txt");
    fs::write(&target, b"precious").expect("write outside file");
    let link = dir.path().join("photo.jpg");
    std::os::unix::fs::symlink(&target, &link).expect("make symlink");
    let saved = receive(dir.path(), "photo.jpg", b"download");
    assert_eq!(saved, dir.path().join("photo (1).jpg"));
    assert_eq!(fs::read_link(&link).expect("still a symlink"), target);
    assert_eq!(fs::read(&target).expect("read outside file"), b"precious");
    assert_eq!(fs::read(saved).expect("read saved file"), b"download");
}

#[cfg(unix)]
#[test]
fn dangling_symlink_with_that_name_counts_as_taken() {
    let dir = test_dir();
    let outside = test_dir();
    let target = outside.path().join("not-yet.txt");
    std::os::unix::fs::symlink(&target, dir.path().join("photo.jpg")).expect("symlink");
    let saved = receive(dir.path(), "photo.jpg", b"download");
    assert_eq!(saved, dir.path().join("photo (1).jpg"));
    assert!(!target.exists(), "the symlink was followed");
}

#[test]
fn path_in_the_offered_name_lands_inside_the_folder_under_its_last_component() {
    let dir = test_dir();
    let saved = receive(dir.path(), "../../.bashrc", b"alias ls=rm");
    assert_eq!(saved, dir.path().join("bashrc"));
    assert_eq!(names_in(dir.path()), ["bashrc"]);
}

#[test]
fn missing_folder_is_an_error_that_names_it() {
    let dir = test_dir();
    let missing = dir.path().join("gone");
    let error = IncomingFile::create(&missing, "a.txt", 1, [0; 32]).expect_err("missing folder");
    assert!(matches!(error, FileError::FolderMissing { .. }));
    let message = error.to_string();
    assert!(message.contains("does not exist"), "{message}");
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
}

#[test]
fn file_in_place_of_the_folder_is_an_error() {
    let dir = test_dir();
    let file = dir.path().join("plain");
    fs::write(&file, b"x").expect("write file");
    let error = IncomingFile::create(&file, "a.txt", 1, [0; 32]).err();
    assert!(matches!(error, Some(FileError::NotAFolder { .. })));
}

#[test]
fn move_if_free_refuses_a_dangling_symlink_and_moves_to_a_free_name() {
    let dir = test_dir();
    let from = dir.path().join("from");
    fs::write(&from, b"data").expect("write source");
    let taken = dir.path().join("taken");
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &taken).expect("symlink");
    #[cfg(not(unix))]
    fs::write(&taken, b"other").expect("write taken");
    let refused = move_if_free(&from, &taken).expect_err("taken name refused");
    assert_eq!(refused.kind(), ErrorKind::AlreadyExists);
    move_if_free(&from, &dir.path().join("free")).expect("move to a free name");
    assert_eq!(names_in(dir.path()), ["free", "taken"]);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn rename_no_replace_refuses_an_existing_file_and_moves_to_a_free_name() {
    let dir = test_dir();
    let from = dir.path().join("from");
    fs::write(&from, b"data").expect("write source");
    let taken = dir.path().join("taken");
    fs::write(&taken, b"other").expect("write taken");
    let refused = move_no_replace(&from, &taken).expect_err("taken name refused");
    assert_eq!(refused.kind(), ErrorKind::AlreadyExists);
    assert_eq!(fs::read(&taken).expect("read taken"), b"other");
    move_no_replace(&from, &dir.path().join("free")).expect("move to a free name");
    assert_eq!(names_in(dir.path()), ["free", "taken"]);
}
