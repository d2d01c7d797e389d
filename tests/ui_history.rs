//! Issue 31 §4-5 in the real window (egui_kittest): each host's conversations are kept on this
//! computer by the host's identity and shown again under "Earlier (…)" when the window comes
//! back, private ones included; the ⚙ menu's Keep and Forget; the cap; no line shown twice
//! when a host replays its history; the Host tab's "Keep the room's history". Real servers on
//! 127.0.0.1 with port 0.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::RawPeer;
use common::app_window::Window;
use egui_kittest::kittest::Queryable;
use natter::chat_state::{ConversationKey, LineKind};
use natter::network::no_wake_up;
use natter::network::protocol::ClientFrame;
use natter::network::server::{RateLimit, ServerConfig, ServerHandle};
use natter::network::tls::Identity;

fn config_with(identity: &Arc<Identity>) -> ServerConfig {
    ServerConfig {
        identity: Some(Arc::clone(identity)),
        // Tests say many lines at once.
        rate: RateLimit {
            burst: 1000.0,
            per_second: 1000.0,
            strikes: 10,
        },
        ..common::test_config()
    }
}

/// A window that keeps conversations in `dir`, joined to `address` as `nick`.
fn join_keeping(dir: &Path, nick: &str, address: &str) -> Window {
    join_keeping_within(dir, natter::app::KEPT_BYTES, nick, address)
}

/// [`join_keeping`] with each host's file held to `cap` bytes.
fn join_keeping_within(dir: &Path, cap: u64, nick: &str, address: &str) -> Window {
    let mut window = Window::new();
    let options = window.harness.state_mut().options_mut();
    options.kept_dir = Some(dir.to_path_buf());
    options.kept_cap = cap;
    window.connect(nick, address);
    window
}

/// Says `text` and waits until the host confirmed it (only then is it kept).
fn say_delivered(window: &mut Window, text: &str) {
    window.say(text);
    window.until("the host confirmed it", |h| {
        h.state().chat().unwrap().pending_count() == 0
    });
}

/// Every message's "from: text" and every system line, in the order the chat holds them.
fn lines(window: &Window) -> Vec<String> {
    let chat = window.app().chat().unwrap();
    chat.lines
        .iter()
        .map(|l| match &l.kind {
            LineKind::Message { from, text, .. } => format!("{from}: {text}"),
            LineKind::System(text) => text.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

fn count(window: &Window, line: &str) -> usize {
    lines(window).iter().filter(|l| *l == line).count()
}

/// Where `line` first is in the chat.
fn place(window: &Window, line: &str) -> usize {
    let all = lines(window);
    all.iter()
        .position(|l| l.starts_with(line))
        .unwrap_or_else(|| panic!("no {line:?} in {all:?}"))
}

fn kept_files(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Alice (a raw peer) writes to the room and privately to bob.
fn alice_writes(server: &ServerHandle, room: &str, private: &str) -> RawPeer {
    let (mut alice, _) = RawPeer::join(server.local_addr(), "alice");
    alice.say(room, "r1");
    alice.send(&ClientFrame::Chat {
        text: private.into(),
        client_id: Some("p1".into()),
        action: false,
        to: Some("bob".into()),
    });
    alice
}

/// Bob's first visit: he and alice talk in the room and privately, then he closes the window.
fn first_visit(dir: &Path, identity: &Arc<Identity>) {
    let server = common::start_server(config_with(identity));
    let address = server.local_addr().to_string();
    let mut bob = join_keeping(dir, "bob", &address);
    say_delivered(&mut bob, "hello from the first visit");
    let _alice = alice_writes(&server, "alice in the room", "alice to bob only");
    bob.until_shown("alice: alice in the room");
    bob.until("the private message arrived", |h| {
        h.state().chat().unwrap().lines.iter().any(
            |l| matches!(&l.kind, LineKind::Message { text, .. } if text == "alice to bob only"),
        )
    });
    drop(bob);
    server.stop();
}

#[test]
fn conversations_survive_closing_and_reopening_the_window_under_an_earlier_line_private_included() {
    let dir = tempfile::tempdir().unwrap();
    let identity = Arc::new(Identity::generate().unwrap());
    first_visit(dir.path(), &identity);

    // The same host identity at another address, with no history of its own.
    let server = common::start_server(config_with(&identity));
    let mut bob = join_keeping(dir.path(), "bob", &server.local_addr().to_string());
    let earlier = format!("Earlier ({})", chrono::Local::now().format("%A %-d %B"));
    bob.until_shown(&earlier);
    bob.until_shown("bob: hello from the first visit");
    bob.until_shown("alice: alice in the room");
    // The earlier conversation above its line, the live session below.
    let divider = place(&bob, &earlier);
    assert!(place(&bob, "bob: hello from the first visit") < divider);
    assert!(divider < place(&bob, "Connected to"), "{:?}", lines(&bob));
    assert!(
        bob.app().chat().unwrap().conversations.has("alice"),
        "the private conversation's tab is back"
    );
    bob.harness
        .state_mut()
        .show_conversation(ConversationKey::private("alice"));
    bob.until_shown("alice: alice to bob only");
    assert!(
        bob.harness.query_by_label_contains(&earlier).is_some(),
        "the private conversation has its own earlier line"
    );
    assert_eq!(count(&bob, "alice: alice to bob only"), 1);
}

#[test]
fn another_host_identity_at_the_same_address_shows_none_of_the_kept_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let identity = Arc::new(Identity::generate().unwrap());
    let listener = natter::network::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let same_port = listener.try_clone().unwrap();
    let first =
        natter::network::server::start(listener, config_with(&identity), no_wake_up()).unwrap();
    let address = first.local_addr().to_string();
    let mut bob = join_keeping(dir.path(), "bob", &address);
    say_delivered(&mut bob, "said to the first host");
    drop(bob);
    first.stop();

    let other = Arc::new(Identity::generate().unwrap());
    let _second =
        natter::network::server::start(same_port, config_with(&other), no_wake_up()).unwrap();
    let mut bob = join_keeping(dir.path(), "bob", &address);
    bob.until_shown("Connected to");
    say_delivered(&mut bob, "new host");
    assert!(
        !lines(&bob).iter().any(|l| l.starts_with("Earlier (")),
        "{:?}",
        lines(&bob)
    );
    assert_eq!(count(&bob, "bob: said to the first host"), 0);
    drop(bob);
    assert_eq!(
        kept_files(dir.path()).len(),
        2,
        "one file per host identity"
    );
}

#[test]
fn with_keep_conversations_turned_off_in_the_settings_menu_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let identity = Arc::new(Identity::generate().unwrap());
    let server = common::start_server(config_with(&identity));
    let mut bob = join_keeping(dir.path(), "bob", &server.local_addr().to_string());
    bob.click("Settings");
    bob.harness
        .get_by_label("Keep conversations on this computer")
        .click();
    bob.harness.run_steps(2);
    assert!(!bob.app().settings().keep_conversations);
    say_delivered(&mut bob, "not to be kept");
    let _alice = alice_writes(&server, "nor this", "nor this either");
    bob.until_shown("alice: nor this");
    drop(bob);
    assert_eq!(kept_files(dir.path()), Vec::<PathBuf>::new());
}

#[test]
fn forget_this_rooms_history_deletes_its_file_and_its_earlier_lines() {
    let dir = tempfile::tempdir().unwrap();
    let identity = Arc::new(Identity::generate().unwrap());
    first_visit(dir.path(), &identity);
    assert_eq!(kept_files(dir.path()).len(), 1, "one host, one file");
    let server = common::start_server(config_with(&identity));
    let mut bob = join_keeping(dir.path(), "bob", &server.local_addr().to_string());
    bob.until_shown("bob: hello from the first visit");
    bob.click("Settings");
    bob.click("Forget this room's history");
    bob.until_shown("This room's history is forgotten on this computer");
    assert!(bob.harness.query_by_label_contains("Earlier (").is_none());
    assert_eq!(count(&bob, "bob: hello from the first visit"), 0);
    drop(bob);
    assert_eq!(kept_files(dir.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_hosts_kept_conversation_past_its_cap_drops_its_oldest_lines() {
    let dir = tempfile::tempdir().unwrap();
    let identity = Arc::new(Identity::generate().unwrap());
    let server = common::start_server(config_with(&identity));
    let cap = 2_000;
    let mut bob = join_keeping_within(dir.path(), cap, "bob", &server.local_addr().to_string());
    let (mut alice, _) = RawPeer::join(server.local_addr(), "alice");
    for n in 0..40 {
        alice.say(&format!("line number {n}"), &format!("c{n}"));
    }
    bob.until_shown("alice: line number 39");
    drop(bob);
    let files = kept_files(dir.path());
    assert_eq!(files.len(), 1);
    let kept = std::fs::read_to_string(&files[0]).unwrap();
    assert!(kept.len() as u64 <= cap, "{} bytes", kept.len());
    assert!(kept.contains("line number 39"), "{kept}");
    assert!(!kept.contains("\"line number 0\""), "{kept}");
}

#[test]
fn a_host_restarted_with_its_history_file_repeats_no_line_the_window_shows() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("room-history.jsonl");
    let identity = Arc::new(Identity::generate().unwrap());
    let config = || ServerConfig {
        history_file: Some(history.clone()),
        ..config_with(&identity)
    };
    let listener = natter::network::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let kept = listener.try_clone().unwrap();
    let first = natter::network::server::start(listener, config(), no_wake_up()).unwrap();
    let address = first.local_addr().to_string();
    let kept_dir = dir.path().join("kept");
    let mut bob = join_keeping(&kept_dir, "bob", &address);
    say_delivered(&mut bob, "said once");
    let alice = alice_writes(&first, "alice said once", "privately once");
    bob.until_shown("alice: alice said once");
    drop(alice);
    first.stop();
    let second = natter::network::server::start(kept, config(), no_wake_up()).unwrap();
    bob.until_shown("Reconnected");
    assert_eq!(second.members(), ["bob"]);
    assert_eq!(count(&bob, "bob: said once"), 1, "{:?}", lines(&bob));
    assert_eq!(
        count(&bob, "alice: alice said once"),
        1,
        "{:?}",
        lines(&bob)
    );

    // A new window, with both the kept conversation and the host's history: once each.
    drop(bob);
    let mut again = join_keeping(&kept_dir, "bob", &address);
    again.until_shown("alice: alice said once");
    say_delivered(&mut again, "back");
    assert_eq!(count(&again, "bob: said once"), 1, "{:?}", lines(&again));
    assert_eq!(
        count(&again, "alice: alice said once"),
        1,
        "{:?}",
        lines(&again)
    );
}

#[test]
fn hosting_with_keep_the_rooms_history_ticked_gives_a_late_joiner_the_lines_from_before() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hosted.jsonl");
    let host = |file: &Path| {
        let mut window = Window::new();
        window.harness.state_mut().options_mut().hosted_history_file = Some(file.to_path_buf());
        window
    };
    let mut alice = host(&file);
    alice
        .harness
        .get_by_label("Keep the room's history when I stop hosting")
        .click();
    alice.harness.run_steps(2);
    assert!(alice.app().settings().keep_hosted_history);
    alice.start_hosting("alice");
    say_delivered(&mut alice, "kept across a stop");
    alice.end_chat("Stop hosting");
    drop(alice);

    let mut alice = host(&file);
    alice.harness.state_mut().settings_mut().keep_hosted_history = true;
    alice.start_hosting("alice");
    let port = alice.app().hosting().unwrap().port;
    let (_bob, frames) = RawPeer::join(([127, 0, 0, 1], port).into(), "bob");
    let history: Vec<String> = frames
        .into_iter()
        .filter_map(common::chat_of)
        .map(|m| format!("{}: {}", m.from, m.text))
        .collect();
    assert_eq!(history, ["alice: kept across a stop"]);
}

/// Issue 31 §4: the conversation kept from an earlier visit above its "Earlier (…)" line, the
/// live session below (README's screenshots/history.png).
#[test]
fn the_kept_conversation_renders_above_its_earlier_line() {
    use chrono::TimeZone;
    use natter::chat_state::{ChatLine, ChatState, KeptLine, LineKind, LinkState};

    let mut window = Window::sized(820.0, 520.0);
    let mut chat = ChatState::new("Dana");
    chat.ever_connected = true;
    chat.link = LinkState::Online;
    chat.room = "Lab 3".into();
    chat.users = ["Dana", "bob", "Yuki"].map(String::from).to_vec();
    let kept = |id: u64, minute: u32, from: &str, text: &str| KeptLine {
        time: format!("2026-12-01T16:{minute:02}:00.000Z"),
        id,
        from: from.into(),
        text: text.into(),
        action: false,
        with: None,
    };
    let now = chrono::Local
        .with_ymd_and_hms(2026, 12, 3, 9, 30, 0)
        .unwrap();
    chat.lines.push(ChatLine::new(
        now,
        LineKind::System("Connected to Lab 3 as Dana.".into()),
    ));
    chat.lines
        .push(ChatLine::new(now, LineKind::System("bob joined".into())));
    chat.add_earlier(vec![
        kept(11, 2, "bob", "Can someone send me the lab sheet?"),
        kept(12, 3, "Dana", "It's on the share, folder week 48."),
        kept(13, 5, "Yuki", "See you Wednesday!"),
    ]);
    let earlier = chat.lines.iter().find_map(|l| match &l.kind {
        LineKind::System(text) if text.starts_with("Earlier (") => Some(text.clone()),
        _ => None,
    });
    assert_eq!(earlier.as_deref(), Some("Earlier (Tuesday 1 December)"));
    window.harness.state_mut().set_chat(chat);
    window.until_shown("Earlier (Tuesday 1 December)");
    crate::screenshots::capture(&mut window, "history");
}
