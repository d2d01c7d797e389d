//! Sending and saving files in the real window (`NatterApp` through egui_kittest): offers
//! shown with Save and Decline, saving into the download folder, declining, Send file… with
//! its no-dialog path field, dropped files, and private offers. Hosting on 127.0.0.1, port 0.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::app_window::Window;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use natter::chat_state::{ChatState, LinkState};
use natter::network::client::ClientEvent;
use natter::network::protocol::FileOffer;

/// Alice hosts, bob joins; both have seen each other. Neither can show a file dialog, and
/// each saves into a folder of its own.
fn two(alice_dir: &Path, bob_dir: &Path) -> (Window, Window) {
    let (mut alice, address) = Window::host("alice");
    let mut bob = Window::join("bob", &address);
    alice.until_shown("Online (2)");
    bob.until_shown("Online (2)");
    for (window, dir) in [(&mut alice, alice_dir), (&mut bob, bob_dir)] {
        let app = window.harness.state_mut();
        app.options_mut().save_dialog_possible = false;
        app.settings_mut().download_dir = Some(dir.to_path_buf());
    }
    (alice, bob)
}

/// `len` bytes that differ from each other (a tiny LCG: no two runs of the same byte).
fn data(len: usize) -> Vec<u8> {
    let mut x: u32 = 12345;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect()
}

fn file_in(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Send file…, then the path typed into the field that stands in for the dialog, then Offer.
fn offer_through_path_field(window: &mut Window, path: &Path) {
    window.click("Send file…");
    window.until_shown("No file dialog can be shown on this desktop");
    window.type_into("File to send", &path.display().to_string());
    window.click("Offer file");
}

fn has_button(window: &Window, label: &str) -> bool {
    window
        .harness
        .query_by_role_and_label(Role::Button, label)
        .is_some()
}

#[test]
fn an_offer_shows_name_and_size_with_save_and_decline_and_save_shows_progress_then_saved_as_with_open_and_show_in_folder_and_an_identical_file()
 {
    let (alice_dir, bob_dir, source) = (tempdir(), tempdir(), tempdir());
    let (mut alice, mut bob) = two(alice_dir.path(), bob_dir.path());
    let bytes = data(3_000_000);
    let path = file_in(source.path(), "data.bin", &bytes);
    offer_through_path_field(&mut bob, &path);
    bob.until_shown("You offer data.bin (3.0 MB)");
    alice.until_shown("bob offers data.bin (3.0 MB)");
    assert!(has_button(&alice, "Save") && has_button(&alice, "Decline"));
    assert!(
        names_in(alice_dir.path()).is_empty(),
        "nothing written before Save"
    );

    alice.click("Save");
    let progress_or_done = alice
        .harness
        .query_by_role(Role::ProgressIndicator)
        .is_some()
        || alice.harness.query_by_label_contains("Saved as").is_some();
    assert!(
        progress_or_done,
        "a progress bar (or the file already saved)"
    );
    alice.until_shown("Saved as data.bin");
    assert!(has_button(&alice, "Open") && has_button(&alice, "Show in folder"));
    let saved = std::fs::read(alice_dir.path().join("data.bin")).unwrap();
    assert!(
        saved == bytes,
        "the saved file is byte for byte the one sent"
    );
    assert_eq!(names_in(alice_dir.path()), vec!["data.bin"]);
    bob.until_shown("alice has it");
}

#[test]
fn decline_writes_nothing_shows_declined_and_the_sender_reads_that_alice_declined() {
    let (alice_dir, bob_dir, source) = (tempdir(), tempdir(), tempdir());
    let (mut alice, mut bob) = two(alice_dir.path(), bob_dir.path());
    let path = file_in(source.path(), "notes.txt", b"not for alice");
    offer_through_path_field(&mut bob, &path);
    alice.until_shown("bob offers notes.txt (13 bytes)");
    alice.click("Decline");
    alice.until_shown("Declined");
    assert!(!has_button(&alice, "Save"));
    bob.until_shown("alice declined");
    assert!(names_in(alice_dir.path()).is_empty());
}

#[test]
fn without_a_file_dialog_send_file_shows_a_path_field_and_the_file_typed_there_is_offered_to_the_other_window()
 {
    let (alice_dir, bob_dir, source) = (tempdir(), tempdir(), tempdir());
    let (mut alice, mut bob) = two(alice_dir.path(), bob_dir.path());
    let path = file_in(source.path(), "plan.pdf", &data(2_100_000));
    bob.click("Send file…");
    bob.until_shown("No file dialog can be shown on this desktop");
    assert!(bob.harness.query_by_label("File to send").is_some());
    bob.type_into("File to send", &path.display().to_string());
    bob.click("Offer file");
    assert!(
        bob.harness.query_by_label("File to send").is_none(),
        "the field closes once the file is offered"
    );
    alice.until_shown("bob offers plan.pdf (2.1 MB)");
    bob.until_shown("You offer plan.pdf (2.1 MB)");
    assert!(has_button(&bob, "Stop offering"));
}

/// A dropped file, as the window's integration hands it over.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn a_file_dropped_on_the_window_is_offered_to_the_conversation_shown() {
    let (alice_dir, bob_dir, source) = (tempdir(), tempdir(), tempdir());
    let (mut alice, mut bob) = two(alice_dir.path(), bob_dir.path());
    let path = file_in(source.path(), "dropped.txt", b"dropped here");
    bob.harness
        .input_mut()
        .dropped_files
        .push(Arc::new(Dropped(path)));
    bob.harness.run_steps(2);
    bob.until_shown("You offer dropped.txt (12 bytes)");
    alice.until_shown("bob offers dropped.txt (12 bytes)");
}

#[test]
fn a_private_offer_appears_only_in_the_private_conversation_of_its_two_people() {
    let (alice_dir, bob_dir, source) = (tempdir(), tempdir(), tempdir());
    let (mut alice, mut bob) = two(alice_dir.path(), bob_dir.path());
    let address = {
        let port = alice.app().hosting().unwrap().port;
        format!("127.0.0.1:{port}")
    };
    let mut carol = Window::join("carol", &address);
    carol.until_shown("Online (3)");
    bob.harness.get_by_label("alice").click();
    bob.harness.run_steps(2);
    let path = file_in(source.path(), "secret.txt", b"psst");
    offer_through_path_field(&mut bob, &path);
    bob.until_shown("You offer secret.txt (4 bytes) to alice");
    // Alice is in the room: the offer is counted in bob's conversation, not shown here.
    alice.until_shown("bob (1)");
    assert!(
        alice
            .harness
            .query_by_label_contains("offers secret")
            .is_none()
    );
    alice.harness.get_by_label("bob (1)").click();
    alice.harness.run_steps(2);
    alice.until_shown("bob offers secret.txt (4 bytes)");
    // Carol hears the room go on, and never hears of the file.
    bob.harness.get_by_label("Room").click();
    bob.harness.run_steps(2);
    bob.say("after the file");
    carol.until_shown("bob: after the file");
    let chat = carol.app().chat().unwrap();
    assert!(chat.files.is_empty(), "carol knows no file");
}

/// Alice's link to the room "Lab", with dana in it.
fn alice_connected_to_lab() -> ClientEvent {
    ClientEvent::Connected {
        nick: "alice".into(),
        server: "Lab".into(),
        welcome: String::new(),
        users: vec!["alice".into(), "dana".into()],
        unencrypted: Vec::new(),
        resumed: false,
        history_complete: true,
        history: 0,
    }
}

/// A window in a chat whose events the test makes up: drawing one state exactly.
fn chat_with_offer() -> (Window, &'static str) {
    let mut window = Window::new();
    let mut chat = ChatState::new("alice");
    chat.apply(alice_connected_to_lab());
    assert_eq!(chat.link, LinkState::Online);
    chat.apply(ClientEvent::FileOffered {
        offer: FileOffer {
            id: "f1".into(),
            from: "dana".into(),
            name: "photo.jpg".into(),
            size: 2_000_000,
            sha256: "0".repeat(64),
            time: "2026-12-02T09:30:00.000Z".into(),
            to: None,
        },
        ours: false,
    });
    window.harness.state_mut().set_chat(chat);
    window.harness.run_steps(2);
    (window, "f1")
}

#[test]
fn a_file_being_saved_shows_a_progress_bar_with_percent_speed_and_time_left_and_cancel() {
    let (mut window, id) = chat_with_offer();
    window.until_shown("dana offers photo.jpg (2.0 MB)");
    let chat = window.harness.state_mut().chat_mut().unwrap();
    chat.files.saving(id);
    chat.apply(ClientEvent::FileProgress {
        id: id.into(),
        peer: None,
        done: 840_000,
        total: 2_000_000,
        bytes_per_sec: 1_200_000,
    });
    window.harness.run_steps(2);
    assert!(
        window
            .harness
            .query_by_role_and_label(Role::ProgressIndicator, "42% · 1.2 MB/s · about 1 s left")
            .is_some()
    );
    assert!(has_button(&window, "Cancel"));
    assert!(!has_button(&window, "Save"));
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn after_a_stop_save_is_offered_again_exactly_when_the_network_says_the_offer_is_open() {
    let (mut window, id) = chat_with_offer();
    window.until_shown("dana offers photo.jpg (2.0 MB)");
    let stop = |window: &mut Window, reason: &str, offer_open: bool| {
        let chat = window.harness.state_mut().chat_mut().unwrap();
        chat.files.saving(id);
        chat.apply(ClientEvent::FileStopped {
            id: id.into(),
            peer: None,
            reason: reason.into(),
            offer_open,
        });
        window.harness.run_steps(2);
    };
    // Wording that once decided it either way does not: only the flag does.
    stop(&mut window, "The host stopped it.", false);
    window.until_shown("The host stopped it.");
    assert!(!has_button(&window, "Save"));
    stop(
        &mut window,
        "dana: the file changed while it was sent.",
        true,
    );
    window.until_shown("dana: the file changed while it was sent.");
    assert!(has_button(&window, "Save"));
}

/// Issue 29 §3: while the host is away a save under way reads "waiting for the host", not a
/// speed and time left from before; after the host restarted (a new session) it waits for the
/// sender to offer the file again, then goes on; a stopped one offered again can be saved.
#[test]
fn a_save_under_way_waits_for_the_host_while_it_is_away_and_for_the_sender_after_a_restart() {
    let (mut window, id) = chat_with_offer();
    window.until_shown("dana offers photo.jpg (2.0 MB)");
    let bar = |window: &Window, label: &str| {
        window
            .harness
            .query_by_role_and_label(Role::ProgressIndicator, label)
            .is_some()
    };
    let apply = |window: &mut Window, event: ClientEvent| {
        window.harness.state_mut().chat_mut().unwrap().apply(event);
        window.harness.run_steps(2);
    };
    window
        .harness
        .state_mut()
        .chat_mut()
        .unwrap()
        .files
        .saving(id);
    let progress = |done: u64, bytes_per_sec: u64| ClientEvent::FileProgress {
        id: id.into(),
        peer: None,
        done,
        total: 2_000_000,
        bytes_per_sec,
    };
    apply(&mut window, progress(680_000, 1_200_000));
    assert!(bar(&window, "34% · 1.2 MB/s · about 2 s left"));

    apply(
        &mut window,
        ClientEvent::LinkLost {
            error: natter::network::client::ClientError::HostStopped,
            attempt: 0,
            retry_in: std::time::Duration::from_secs(1),
        },
    );
    assert!(bar(&window, "34% · waiting for the host"));
    assert!(has_button(&window, "Cancel"), "it can still be stopped");

    apply(&mut window, alice_connected_to_lab());
    assert!(bar(
        &window,
        "34% · the host restarted; waiting for dana to offer it again"
    ));
    assert!(!has_button(&window, "Save"));

    let offer = window.app().chat().unwrap().files.get(id).unwrap().clone();
    let reoffer = ClientEvent::FileOffered {
        offer: FileOffer {
            id: id.into(),
            from: offer.from,
            name: offer.name,
            size: 2_000_000,
            sha256: "0".repeat(64),
            time: "2026-12-02T09:31:00.000Z".into(),
            to: None,
        },
        ours: false,
    };
    apply(&mut window, reoffer.clone());
    apply(&mut window, progress(1_000_000, 900_000));
    assert!(bar(&window, "50% · 900.0 kB/s · about 2 s left"));

    // Stopped for good, then offered again: Save is there again.
    apply(
        &mut window,
        ClientEvent::FileStopped {
            id: id.into(),
            peer: None,
            reason: "The other side's link dropped and did not come back.".into(),
            offer_open: false,
        },
    );
    assert!(!has_button(&window, "Save"));
    apply(&mut window, reoffer);
    assert!(has_button(&window, "Save"));
}
