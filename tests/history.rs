//! Issue 31 §5: a host keeps its room's history across a restart when asked
//! (`ServerConfig::history_file`, `natter serve --history-file`), bounded, owner-only, and a
//! corrupt file costs only its bad lines. Real sockets on 127.0.0.1 with port 0, and the real
//! binary.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};

use common::{RawPeer, start_server, test_config};
use natter::network::protocol::ChatMessage;
use natter::network::server::{ServerConfig, ServerHandle};

fn config_keeping(file: &Path) -> ServerConfig {
    ServerConfig {
        history_file: Some(file.to_path_buf()),
        ..test_config()
    }
}

/// The history a newcomer is given: the chat messages after `accepted`.
fn history_of_newcomer(server: &ServerHandle, nick: &str) -> Vec<ChatMessage> {
    let (_peer, frames) = RawPeer::join(server.local_addr(), nick);
    frames.into_iter().filter_map(common::chat_of).collect()
}

/// `nick` joins, says each of `texts` and sees each one echoed; then leaves.
fn say_all(server: &ServerHandle, nick: &str, texts: &[&str]) -> Vec<ChatMessage> {
    let (mut peer, _) = RawPeer::join(server.local_addr(), nick);
    let mut echoed = Vec::new();
    for (n, text) in texts.iter().enumerate() {
        peer.say(text, &format!("c{n}"));
        echoed.push(peer.frame_where(common::chat_of));
    }
    echoed
}

fn texts(messages: &[ChatMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.text.as_str()).collect()
}

fn history_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("room").join("history.jsonl");
    (dir, file)
}

#[test]
fn a_host_restarted_with_its_history_file_gives_a_late_joiner_the_earlier_lines_and_new_ids() {
    let (_dir, file) = history_file();
    let first = start_server(config_keeping(&file));
    let said = say_all(&first, "alice", &["before the restart", "and a second"]);
    first.stop();

    let second = start_server(config_keeping(&file));
    let history = history_of_newcomer(&second, "bob");
    assert_eq!(texts(&history), ["before the restart", "and a second"]);
    assert_eq!(history[0].from, "alice");
    assert_eq!(history[0].id, said[0].id, "the same message, the same id");
    assert_eq!(history[0].time, said[0].time, "and the same time");
    // Ids go on from the kept ones: a client never takes a new message for an old one.
    let after = say_all(&second, "carol", &["after the restart"]);
    assert!(
        after[0].id > said[1].id,
        "{} after {}",
        after[0].id,
        said[1].id
    );
    second.stop();

    // Kept again: a third start has all three.
    let third = start_server(config_keeping(&file));
    let history = history_of_newcomer(&third, "dave");
    assert_eq!(
        texts(&history),
        ["before the restart", "and a second", "after the restart"]
    );
}

#[test]
fn without_a_history_file_a_restarted_host_has_no_history() {
    let first = start_server(test_config());
    say_all(&first, "alice", &["gone with the host"]);
    first.stop();
    let second = start_server(test_config());
    assert!(history_of_newcomer(&second, "bob").is_empty());
}

#[test]
fn the_history_file_keeps_only_as_many_messages_as_the_history_in_memory() {
    let (_dir, file) = history_file();
    let config = || ServerConfig {
        history_len: 4,
        ..config_keeping(&file)
    };
    let first = start_server(config());
    let said: Vec<String> = (0..11).map(|n| format!("message {n}")).collect();
    let refs: Vec<&str> = said.iter().map(String::as_str).collect();
    say_all(&first, "alice", &refs);
    first.stop();
    let lines = std::fs::read_to_string(&file).unwrap().lines().count();
    // Cut back to 4 when it grows past them by a quarter: never more than 5.
    assert!(lines <= 5, "the file holds {lines} lines");

    let second = start_server(config());
    let history = history_of_newcomer(&second, "bob");
    assert_eq!(
        texts(&history),
        ["message 7", "message 8", "message 9", "message 10"]
    );
}

#[test]
fn private_messages_are_not_kept_in_the_history_file() {
    let (_dir, file) = history_file();
    let first = start_server(config_keeping(&file));
    let (_bob, _) = RawPeer::join(first.local_addr(), "bob");
    let (mut alice, _) = RawPeer::join(first.local_addr(), "alice");
    alice.send(&natter::network::protocol::ClientFrame::Chat {
        text: "only for bob".into(),
        client_id: Some("p1".into()),
        action: false,
        to: Some("bob".into()),
    });
    alice.frame_where(common::chat_of);
    alice.say("for everyone", "c1");
    alice.frame_where(common::chat_of);
    first.stop();
    let kept = std::fs::read_to_string(&file).unwrap();
    assert!(kept.contains("for everyone"), "{kept}");
    assert!(!kept.contains("only for bob"), "{kept}");
}

#[cfg(unix)]
#[test]
fn the_history_file_and_its_folder_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, file) = history_file();
    let server = start_server(config_keeping(&file));
    say_all(&server, "alice", &["private enough"]);
    server.stop();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
}

#[test]
fn a_corrupt_history_file_costs_only_its_bad_lines_and_the_host_goes_on_keeping() {
    let (_dir, file) = history_file();
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let good = r#"{"type":"chat","id":7,"time":"2026-12-03T10:00:00.000Z","from":"alice","text":"survived"}"#;
    let private = r#"{"type":"chat","id":8,"time":"2026-12-03T10:00:01.000Z","from":"alice","text":"secret","to":"bob"}"#;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"not json at all\n");
    bytes.extend_from_slice(b"{\"type\":\"join\",\"nick\":\"x\",\"time\":\"t\"}\n");
    bytes.extend_from_slice(b"\xff\xfe\xfd\n");
    bytes.extend_from_slice(good.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(private.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(br#"{"type":"chat","id":9,"time":"2026-12-"#);
    std::fs::write(&file, &bytes).unwrap();

    let server = start_server(config_keeping(&file));
    let history = history_of_newcomer(&server, "bob");
    assert_eq!(texts(&history), ["survived"]);
    let after = say_all(&server, "carol", &["still keeping"]);
    assert!(after[0].id > 7);
    server.stop();
    let again = start_server(config_keeping(&file));
    assert_eq!(
        texts(&history_of_newcomer(&again, "dave")),
        ["survived", "still keeping"]
    );
}

/// The real `natter serve --history-file`, stopped by SIGTERM and started again.
#[cfg(unix)]
#[test]
fn natter_serve_with_history_file_gives_a_late_joiner_the_lines_from_before_its_restart() {
    use common::ServeProcess;
    use natter::network::protocol::ServerFrame;
    let (_dir, file) = history_file();
    let file_arg = file.to_str().unwrap();
    let first = ServeProcess::start(&["--history-file", file_arg]);
    let printed = String::from_utf8_lossy(&first.printed.concat()).into_owned();
    assert!(
        printed.contains(&format!("The room's history is kept in {file_arg}")),
        "{printed}"
    );
    let (mut alice, _) = RawPeer::join(first.addr, "alice");
    alice.say("said before the restart", "c1");
    alice.frame_where(common::chat_of);
    let pid = libc::pid_t::try_from(first.child.0.id()).unwrap();
    // SAFETY: kill(2) with a pid this test started and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let (exited_tx, exited) = crossbeam_channel::bounded(1);
    let mut child = first.child;
    std::thread::spawn(move || {
        let status = child.0.wait();
        let _ = exited_tx.send(status.map(|s| s.success()).unwrap_or(false));
    });
    assert_eq!(exited.recv_timeout(common::WAIT), Ok(true), "serve exits 0");

    let second = ServeProcess::start(&["--history-file", file_arg]);
    let (_bob, frames) = RawPeer::join(second.addr, "bob");
    let history: Vec<String> = frames
        .into_iter()
        .filter_map(|f| match f {
            ServerFrame::Chat(m) => Some(format!("{}: {}", m.from, m.text)),
            _ => None,
        })
        .collect();
    assert_eq!(history, ["alice: said before the restart"]);
}
