//! Renders the main screens of the real app with kittest's software (wgpu) renderer.
//!
//! `NATTER_SCREENSHOTS=1 cargo test --test gui screenshots::` writes them to `screenshots/` for the
//! README; `NATTER_SCREENSHOT_DIR=/tmp/x` writes them there instead, to look at. Every run checks that each screen draws (many colours, not a blank window) and
//! compares the two multilingual chats with their reference images in tests/snapshots/ (same
//! size, and at most a few hundred pixels differing beyond a small colour threshold; a failure
//! writes `NAME.diff.png` and `NAME.new.png` next to the reference). After an intended change
//! of the look, `UPDATE_SNAPSHOTS=1 cargo test --test gui screenshots::` rewrites the references:
//! look at them before committing.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::HashSet;

use chrono::TimeZone;
use std::net::Ipv4Addr;

use common::app_window::Window;
use common::closed_port;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use natter::network::client;
use natter::network::interfaces::{AddressKind, LocalAddress};

/// Renders, checks it is a real picture, and saves it for the README when asked.
pub(crate) fn capture(window: &mut Window, name: &str) -> image::RgbaImage {
    // No mouse pointer in the middle of the picture.
    window
        .harness
        .input_mut()
        .events
        .push(egui::Event::PointerGone);
    window.harness.run_steps(3);
    let image = window.harness.render().expect("software rendering works");
    let colours: HashSet<[u8; 4]> = image.pixels().map(|p| p.0).collect();
    assert!(
        colours.len() > 50,
        "{name}: only {} colours: a blank screen?",
        colours.len()
    );
    if std::env::var_os("NATTER_SCREENSHOTS").is_some() {
        let path = format!("{}/screenshots/{name}.png", env!("CARGO_MANIFEST_DIR"));
        image.save(&path).unwrap();
    }
    // To look at a screen without touching the README's pictures.
    if let Some(dir) = std::env::var_os("NATTER_SCREENSHOT_DIR") {
        image
            .save(std::path::Path::new(&dir).join(format!("{name}.png")))
            .unwrap();
    }
    image
}

/// Compares the window with `tests/snapshots/{name}.png`: same size, and at most
/// `MAX_FAILED_PIXELS` pixels differ by more than the colour `THRESHOLD` (anti-aliasing and
/// a blinking text cursor stay under it; a missing line of text does not).
fn assert_like_reference(window: &mut Window, name: &str) {
    const THRESHOLD: f32 = 2.0;
    const MAX_FAILED_PIXELS: usize = 150;
    window.harness.snapshot_options(
        name,
        &egui_kittest::SnapshotOptions::new()
            .threshold(THRESHOLD)
            .max_failed_pixels(MAX_FAILED_PIXELS),
    );
}

/// The code shown on the host's card in screenshots.
const EXAMPLE_KEY: &str = "sha256:6e61747465722d6578616d706c652d6b65792d666f722d73637265656e73686f";

fn host(window: &mut Window, nick: &str) -> std::net::SocketAddr {
    window.start_hosting(nick);
    let port = window.harness.state().hosting().unwrap().port;
    // Every run makes a new key: show one fixed example code instead.
    window
        .harness
        .state_mut()
        .hosting_mut()
        .unwrap()
        .fingerprint = natter::network::tls::Fingerprint::from_text(EXAMPLE_KEY).unwrap();
    // A screenshot should show what a host on a LAN sees; this one listens on loopback,
    // so give it the documentation's example addresses to display.
    window.harness.state_mut().hosting_mut().unwrap().addresses = vec![
        LocalAddress {
            ip: Ipv4Addr::new(192, 168, 1, 20),
            interface: "eth0".into(),
            kind: AddressKind::Lan,
            prefix: 24,
            broadcast: None,
        },
        LocalAddress {
            ip: Ipv4Addr::new(10, 0, 0, 5),
            interface: "wlan0".into(),
            kind: AddressKind::Lan,
            prefix: 24,
            broadcast: None,
        },
    ];
    (Ipv4Addr::LOCALHOST, port).into()
}

/// Every line of the multilingual check (issue: Chinese, Hebrew and mixed text).
const WORLD: [(&str, &str); 8] = [
    ("王小明", "你好，世界"),
    ("Yuki", "こんにちは"),
    ("지민", "안녕하세요"),
    ("דנה", "שלום עולם"),
    ("Omar", "مرحبا بالعالم"),
    ("Sam", "emoji 😀 👍 🎉"),
    ("דנה", "שלום world 123 עולם!"),
    ("Sam", "hello 你好 שלום"),
];

/// Someone in the room through the Natter client (so encrypted, like everyone using the app).
fn natter_peer(addr: std::net::SocketAddr, nick: &str) -> client::ClientHandle {
    let peer = client::connect(
        client::ConnectOptions::new(addr.to_string(), nick),
        natter::network::no_wake_up(),
    )
    .unwrap();
    common::recv_where(peer.events(), "Connected", |e| {
        matches!(e, client::ClientEvent::Connected { .. }).then_some(())
    });
    peer
}

#[test]
fn the_host_screen_lists_addresses() {
    let mut window = Window::sized(900.0, 560.0);
    let addr = host(&mut window, "Dana");
    let _bob = natter_peer(addr, "bob");
    window.until("bob is in", |h| {
        h.query_by_label_contains("2 people in the room").is_some()
            && h.query_by_label_contains("Online (2)").is_some()
    });
    // The example addresses `host` gave the window, each with the port to type.
    for address in ["192.168.1.20", "10.0.0.5"] {
        let shown = format!("{address}:{}", addr.port());
        assert!(
            window.harness.query_by_label(&shown).is_some(),
            "{shown} is not on the host screen"
        );
    }
    capture(&mut window, "host");
}

#[test]
fn the_connect_screen_shows_an_error() {
    let closed = closed_port();
    let mut window = Window::sized(900.0, 560.0);
    window
        .harness
        .get_by_role_and_label(Role::Tab, "Connect")
        .click();
    window.harness.run_steps(2);
    window.type_into("Your nickname", "Dana");
    window.type_into("Host address", &closed.addr.to_string());
    window
        .harness
        .get_by_role_and_label(Role::Button, "Connect")
        .click();
    window.until("the error shows", |h| {
        h.query_by_label_contains("Nothing is listening at")
            .is_some()
    });
    capture(&mut window, "connect-error");
}

/// The chat after Save chat log on a desktop that cannot show a file dialog.
#[test]
fn the_chat_says_where_a_log_saved_without_a_dialog_went() {
    let folder = tempfile::tempdir().unwrap();
    let mut window = Window::sized(900.0, 560.0);
    host(&mut window, "alice");
    {
        let app = window.harness.state_mut();
        app.options_mut().save_dialog_possible = false;
        app.options_mut().save_fallback_dir = Some(folder.path().to_path_buf());
    }
    window.say("remember the milk");
    window.until_shown("remember the milk");
    window.click("Save chat log");
    window.until_shown("so the chat log was saved to");
    capture(&mut window, "saved-without-dialog");
}

/// The Connect tab listing two rooms heard on the network (fed on loopback).
#[test]
fn the_connect_screen_lists_rooms_heard_on_the_network() {
    let mut window = Window::sized(900.0, 560.0);
    {
        let app = window.harness.state_mut();
        app.options_mut().discovery = Some(natter::network::discovery::Reach::Loopback {
            listen_port: 0,
            peers: vec![],
        });
    }
    window.open_tab("Connect");
    window.until("the finder runs", |h| h.state().finder_addr().is_some());
    let finder = window.app().finder_addr().unwrap();
    let feed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for (id, room, host, port, people) in [
        ("00000000000000a1", "Physics 2B", "Dana", 5050, 14),
        ("00000000000000a2", "חדר המורים", "Noa", 5051, 3),
    ] {
        let announcement = format!(
            r#"{{"natter":"room","version":1,"id":"{id}","room":"{room}","host":"{host}","port":{port},"people":{people}}}"#
        );
        feed.send_to(announcement.as_bytes(), finder).unwrap();
    }
    window.until_shown("Physics 2B");
    window.until_shown("חדר המורים");
    capture(&mut window, "connect-rooms");
}

/// The same scripts as below, but arriving over the network from seven peers into a hosting
/// window, compared with tests/snapshots/busy-chat.png. Only what changes from run to run is
/// pinned after the lines are in: the clock shown on each line and the port shown to the host.
#[test]
fn a_busy_multilingual_chat_renders_like_its_reference() {
    let mut window = Window::sized(900.0, 640.0);
    let addr = host(&mut window, "Dana");
    // Natter clients, so they join encrypted like everyone using the app.
    let mut peers: Vec<(&str, client::ClientHandle)> = Vec::new();
    for (local_id, (nick, text)) in (1..).zip(WORLD) {
        let index = match peers.iter().position(|(n, _)| *n == nick) {
            Some(index) => index,
            None => {
                peers.push((nick, natter_peer(addr, nick)));
                peers.len() - 1
            }
        };
        peers[index].1.send(client::ClientCommand::Send {
            local_id,
            text: text.to_string(),
        });
        window.until("the line arrives", |h| {
            h.query_by_label_contains(&format!("{nick}: {text}"))
                .is_some()
        });
    }
    window.until("all lines are in", |h| {
        h.state()
            .chat()
            .unwrap()
            .lines
            .iter()
            .filter(|l| matches!(l.kind, natter::chat_state::LineKind::Message { .. }))
            .count()
            == WORLD.len()
    });
    let clock = chrono::Local
        .with_ymd_and_hms(2026, 11, 23, 9, 34, 0)
        .unwrap();
    let app = window.harness.state_mut();
    for line in &mut app.chat_mut().unwrap().lines {
        line.time = clock;
    }
    app.hosting_mut().unwrap().port = 5050;
    capture(&mut window, "chat");
    assert_like_reference(&mut window, "busy-chat");
}

/// Rendered-image test of every script at once, from a fixed chat (fixed clock, no network),
/// compared with tests/snapshots/multilingual.png. `UPDATE_SNAPSHOTS=1` rewrites the reference.
#[test]
fn every_script_renders_like_its_reference() {
    use natter::chat_state::{ChatLine, ChatState, Delivery, LineKind, LinkState};

    let mut window = Window::sized(820.0, 520.0);
    let time = chrono::Local
        .with_ymd_and_hms(2026, 11, 23, 9, 30, 0)
        .unwrap();
    let mut chat = ChatState::new("Dana");
    chat.ever_connected = true;
    chat.link = LinkState::Online;
    chat.room = "Scripts".into();
    chat.users = ["Dana", "王小明", "Yuki", "지민", "דנה", "Omar", "Sam"]
        .map(String::from)
        .to_vec();
    let mut lines: Vec<(&str, String)> = WORLD.iter().map(|(n, t)| (*n, t.to_string())).collect();
    lines.push(("דנה", "פסקה ארוכה בעברית שנשברת לכמה שורות כדי לבדוק שהסדר נשמר גם אחרי הגלישה לשורה הבאה, עם מספר 2026 באמצע".into()));
    lines.push(("Sam", "two lines:\nשורה שנייה".into()));
    chat.lines
        .push(ChatLine::new(time, LineKind::System("דנה joined".into())));
    for (i, (from, text)) in lines.into_iter().enumerate() {
        chat.lines.push(ChatLine::new(
            time,
            LineKind::Message {
                id: Some(i as u64 + 1),
                from: from.into(),
                text,
                delivery: Delivery::Delivered,
                local_id: None,
                action: false,
            },
        ));
    }
    window.harness.state_mut().set_chat(chat);
    window.harness.state_mut().set_draft("שלום");
    capture(&mut window, "multilingual");
    assert_like_reference(&mut window, "multilingual");
}

/// The chat at its narrow (420 px) and a wide (900 px) size with the longest nicknames, as a
/// host and as a client: the top bar's buttons and shortened title, for a person to look at.
#[test]
fn the_chat_with_long_names_renders_at_420_and_900_px_and_keeps_every_button_in_view() {
    for width in [420.0, 900.0] {
        let mut host_window = Window::sized(width, 560.0);
        let addr = host(&mut host_window, LONG_HOST_NICK);
        let mut client = Window::sized(width, 560.0);
        client.open_tab("Connect");
        client.type_into("Your nickname", LONG_CLIENT_NICK);
        client.type_into("Host address", &addr.to_string());
        // A long wait after the host goes away, so Retry now stays while it is drawn.
        client.harness.state_mut().options_mut().reconnect_backoff = (
            std::time::Duration::from_secs(60),
            std::time::Duration::from_secs(60),
        );
        client.click("Connect");
        client.until("the client is in", |h| {
            h.query_by_label_contains("Online (2)").is_some()
        });
        host_window.until("the host sees the client", |h| {
            h.query_by_label_contains("Online (2)").is_some()
        });
        client.say("shall we meet at the station at noon tomorrow?");
        client.say("נפגש בתחנה מחר בצהריים");
        host_window.say("yes, see you there");
        host_window.until_shown("נפגש בתחנה מחר בצהריים");
        client.until_shown("yes, see you there");
        capture(&mut host_window, &format!("long-names-host-{width}"));
        capture(&mut client, &format!("long-names-client-{width}"));
        assert_every_button_in_view(&host_window, width, "the host");
        assert_every_button_in_view(&client, width, "the client");
        // And in the dark theme, which has its own palette.
        for (window, who) in [(&mut host_window, "host"), (&mut client, "client")] {
            window.harness.ctx.set_theme(egui::Theme::Dark);
            capture(window, &format!("long-names-{who}-{width}-dark"));
            window.harness.ctx.set_theme(egui::Theme::Light);
        }

        // The host ends the room: the client's top bar now also holds Reconnect, still in view.
        host_window.click("Stop hosting");
        host_window.until_shown("Stop hosting?");
        capture(&mut host_window, &format!("confirm-stop-hosting-{width}"));
        host_window.end_chat("Stop hosting");
        capture(&mut host_window, &format!("ended-host-{width}"));
        client.until("the client offers Reconnect", |h| {
            h.query_by_label("Reconnect").is_some()
        });
        capture(&mut client, &format!("room-ended-client-{width}"));
        assert_every_button_in_view(&client, width, "the client whose room ended");
    }
}

/// Every button of `window` (all of them, not a chosen few) lies inside its `width` × 560
/// screen: none pushed off the edge by a long name.
fn assert_every_button_in_view(window: &Window, width: f32, whose: &str) {
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(width, 560.0));
    let buttons: Vec<_> = window.harness.query_all_by_role(Role::Button).collect();
    assert!(
        buttons.len() >= 3,
        "{whose}: only {} buttons",
        buttons.len()
    );
    for button in buttons {
        let rect = button.rect();
        assert!(
            screen.contains_rect(rect),
            "{whose}: {rect:?} is out of view at {width} px: {button:?}"
        );
    }
}

/// 24 characters each, the longest nicknames allowed.
const LONG_HOST_NICK: &str = "AlexandraKonstantinopoli";
const LONG_CLIENT_NICK: &str = "BartholomewFitzwilliamsX";

/// A client's chat with the encrypted link's code in its header and a member who joined
/// without encryption; and the warning a changed host key brings up.
#[test]
fn an_encrypted_client_header_and_the_host_key_warning_render() {
    let mut host_window = Window::sized(900.0, 560.0);
    let addr = host(&mut host_window, "Dana");
    let mut client = Window::join("Yuki", &addr.to_string());
    let (_nc, _) = common::RawPeer::join(addr, "nc-user");
    client.until("nc-user is listed", |h| {
        h.query_by_label("nc-user").is_some()
    });
    let example = natter::network::tls::Fingerprint::from_text(EXAMPLE_KEY).unwrap();
    client.harness.state_mut().chat_mut().unwrap().security =
        natter::chat_state::Security::Encrypted {
            fingerprint: example,
        };
    capture(&mut client, "client-encrypted");

    let now = natter::network::tls::Fingerprint::of_public_key(b"another key");
    client
        .harness
        .state_mut()
        .set_key_warning(natter::app::KeyWarning {
            address: addr.to_string(),
            nick: "Yuki".into(),
            expected: example,
            announced: false,
            room_id: None,
            found: Some(now),
            checked: false,
        });
    client.until_shown("this host's code has changed");
    capture(&mut client, "host-key-warning");
}

/// A private conversation open beside the room (issue 13): the conversation tabs with the
/// room's unread count, the private lines, and a line that mentions the reader highlighted.
#[test]
fn a_private_conversation_renders_beside_the_room() {
    let mut window = Window::sized(900.0, 560.0);
    let addr = host(&mut window, "Dana");
    let bob = natter_peer(addr, "bob");
    let yuki = natter_peer(addr, "Yuki");
    window.until("everyone is in", |h| {
        h.query_by_label_contains("Online (3)").is_some()
    });
    let say = |peer: &client::ClientHandle, local_id: u64, text: &str| {
        peer.send(client::ClientCommand::Send {
            local_id,
            text: text.into(),
        });
    };
    let private = |peer: &client::ClientHandle, local_id: u64, text: &str| {
        peer.send(client::ClientCommand::SendPrivate {
            local_id,
            to: "Dana".into(),
            text: text.into(),
            action: false,
        });
    };
    say(&bob, 1, "Morning all! Slides are on the share.");
    window.until_shown("bob: Morning all!");
    say(&yuki, 1, "Thanks bob 👍");
    window.until_shown("Yuki: Thanks bob");
    private(&bob, 2, "Dana, got a minute before the review?");
    window.until_shown("bob (1)");
    window.harness.get_by_label("bob (1)").click();
    window.harness.run_steps(2);
    window.say("Sure, what's up?");
    window.until_shown("Dana: Sure, what's up?");
    private(&bob, 3, "Can you present the numbers? I lost my voice 🙈");
    window.until_shown("bob: Can you present the numbers?");
    say(&yuki, 2, "Review moved to 10:30");
    window.until_shown("Room (1)");
    window.until("every line is in", |h| {
        h.state()
            .chat()
            .unwrap()
            .lines
            .iter()
            .any(|l| matches!(&l.kind, natter::chat_state::LineKind::Message { text, .. } if text.contains("10:30")))
    });
    let clock = chrono::Local
        .with_ymd_and_hms(2026, 11, 23, 9, 41, 0)
        .unwrap();
    let app = window.harness.state_mut();
    for line in &mut app.chat_mut().unwrap().lines {
        line.time = clock;
    }
    app.hosting_mut().unwrap().port = 5050;
    capture(&mut window, "private-chat");
}

/// Puts a made-up file event into the window's chat, as if the network had posted it.
fn file_event(window: &mut Window, event: client::ClientEvent) {
    let chat = window.harness.state_mut().chat_mut().unwrap();
    chat.apply(event);
    window.harness.run_steps(2);
}

fn offer(id: &str, from: &str, name: &str, size: u64) -> natter::network::protocol::FileOffer {
    natter::network::protocol::FileOffer {
        id: id.into(),
        from: from.into(),
        name: name.into(),
        size,
        sha256: "0".repeat(64),
        time: "2026-11-23T09:41:00.000Z".into(),
        to: None,
    }
}

#[test]
fn a_file_offer_its_progress_and_the_saved_file_render_as_chat_lines() {
    let mut window = Window::sized(900.0, 560.0);
    let addr = host(&mut window, "alice");
    let dana = natter_peer(addr, "דנה");
    window.until_shown("Online (2)");
    dana.send(client::ClientCommand::Send {
        local_id: 1,
        text: "The photos from Saturday 📷".into(),
    });
    window.until_shown("The photos from Saturday");
    file_event(
        &mut window,
        client::ClientEvent::FileOffered {
            offer: offer("f1", "דנה", "photo.jpg", 2_100_000),
            ours: false,
        },
    );
    file_event(
        &mut window,
        client::ClientEvent::FileOffered {
            offer: offer("f2", "alice", "report-2026.pdf", 48_300_000),
            ours: true,
        },
    );
    window.until_shown("דנה offers photo.jpg (2.1 MB)");
    let clock = chrono::Local
        .with_ymd_and_hms(2026, 11, 23, 9, 41, 0)
        .unwrap();
    let fix_times = |window: &mut Window| {
        let app = window.harness.state_mut();
        for line in &mut app.chat_mut().unwrap().lines {
            line.time = clock;
        }
        app.hosting_mut().unwrap().port = 5050;
    };
    fix_times(&mut window);
    capture(&mut window, "file-offer");

    window
        .harness
        .state_mut()
        .chat_mut()
        .unwrap()
        .files
        .saving("f1");
    for (id, peer, done, total) in [
        ("f1", None, 903_000, 2_100_000),
        ("f2", Some("דנה"), 31_395_000, 48_300_000),
        ("f2", Some("bob"), 4_830_000, 48_300_000),
    ] {
        file_event(
            &mut window,
            client::ClientEvent::FileProgress {
                id: id.into(),
                peer: peer.map(Into::into),
                done,
                total,
                bytes_per_sec: 1_800_000,
            },
        );
    }
    fix_times(&mut window);
    capture(&mut window, "file-progress");

    file_event(
        &mut window,
        client::ClientEvent::FileSaved {
            id: "f1".into(),
            path: "/home/alice/Downloads/photo.jpg".into(),
        },
    );
    file_event(
        &mut window,
        client::ClientEvent::FileDelivered {
            id: "f2".into(),
            peer: "דנה".into(),
        },
    );
    file_event(
        &mut window,
        client::ClientEvent::FileDeclined {
            id: "f2".into(),
            peer: "bob".into(),
        },
    );
    window.until_shown("Saved as photo.jpg");
    fix_times(&mut window);
    capture(&mut window, "file-saved");
}
