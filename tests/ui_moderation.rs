//! Running the room from the window: the commands typed in the message box and the menu on
//! each name in the user list (only for the host and co-hosts), the host and co-hosts marked
//! in the list. Real windows (`NatterApp` through egui_kittest) hosting on 127.0.0.1 with
//! port 0, members as raw Natter clients from other loopback addresses.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, SocketAddr};

use crate::common;

use common::RawPeer;
use common::app_window::Window;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use natter::network::protocol::{FEATURE_MODERATION, ModNotice, ServerFrame};

/// A Natter client that listed `moderation`, from 127.0.0.`last`.
fn member(address: &str, nick: &str, last: u8) -> RawPeer {
    let addr: SocketAddr = address.parse().unwrap();
    let peer = RawPeer::connect_from(addr, IpAddr::from([127, 0, 0, last]));
    let mut peer = peer.say_hello(nick, &[FEATURE_MODERATION]);
    peer.accepted();
    peer
}

fn notice_to_me(peer: &RawPeer) -> ModNotice {
    peer.frame_where(|frame| match frame {
        ServerFrame::Moderation(notice) if notice.you => Some(notice),
        _ => None,
    })
}

/// The mark after `nick` in the user list ("host", "co-host"): the row's text, as a screen
/// reader reads it after the name, is the name then the mark.
fn marked(
    harness: &egui_kittest::Harness<'static, natter::app::NatterApp>,
    nick: &str,
) -> Option<String> {
    let shown = harness
        .query_by_role_and_label(Role::ListItem, nick)?
        .value()?;
    ["co-host", "host"]
        .into_iter()
        .find(|mark| shown.ends_with(&format!("  {mark}")))
        .map(str::to_string)
}

/// Opens the menu on `nick`'s name in the user list.
fn open_menu(window: &mut Window, nick: &str) {
    window
        .harness
        .get_by_role_and_label(Role::ListItem, nick)
        .click_secondary();
    window.harness.run_steps(2);
}

/// Dana's window hosting, once its own link is the room's host (its token was taken).
fn hosting_dana() -> (Window, String) {
    let (mut dana, address) = Window::host("dana");
    dana.until("the window's link is the host", |h| {
        h.state()
            .chat()
            .is_some_and(|c| c.roles.you == natter::network::protocol::Role::Host)
    });
    (dana, address)
}

#[test]
fn the_hosts_user_list_menu_mutes_a_member_who_is_told_when_it_ends() {
    let (mut dana, address) = hosting_dana();
    let bob = member(&address, "bob", 2);
    dana.until_shown("Online (2)");
    assert_eq!(
        marked(&dana.harness, "dana"),
        Some("host".into()),
        "the host is marked in its own list"
    );
    open_menu(&mut dana, "bob");
    for item in [
        "Mute 10 min",
        "Unmute",
        "Kick",
        "Ban for 1 hour",
        "Make co-host",
    ] {
        assert!(
            dana.harness
                .query_by_role_and_label(Role::Button, item)
                .is_some(),
            "the menu offers {item}"
        );
    }
    dana.click("Mute 10 min");
    let told = notice_to_me(&bob);
    assert!(
        told.text
            .starts_with("dana muted you for 10 minutes; it ends at "),
        "{told:?}"
    );
    dana.until_shown("dana muted bob for 10 minutes");
}

#[test]
fn commands_typed_in_the_window_run_the_room_and_co_hosts_are_marked_and_get_the_menu() {
    let (mut dana, address) = hosting_dana();
    let mut bob = Window::join("bob", &address);
    let carol = member(&address, "carol", 3);
    dana.until_shown("Online (3)");
    bob.until_shown("Online (3)");
    // A member has no menu on anyone's name.
    open_menu(&mut bob, "carol");
    assert!(
        bob.harness
            .query_by_role_and_label(Role::Button, "Mute 10 min")
            .is_none()
    );
    bob.harness.key_press(egui::Key::Escape);
    bob.harness.run_steps(2);
    bob.say("/mute carol");
    bob.until_shown("Only the host and co-hosts can use /mute.");
    dana.say("/op bob");
    bob.until_shown("dana made you a co-host");
    bob.until(
        "bob's list marks dana as host and himself as co-host",
        |h| marked(h, "dana") == Some("host".into()) && marked(h, "bob") == Some("co-host".into()),
    );
    dana.until("dana's list marks bob as co-host", |h| {
        marked(h, "bob") == Some("co-host".into())
    });
    assert_eq!(marked(&dana.harness, "carol"), None, "a member has no mark");
    // The co-host's menu on a member; none on the host's name.
    open_menu(&mut bob, "dana");
    assert!(
        bob.harness
            .query_by_role_and_label(Role::Button, "Kick")
            .is_none()
    );
    bob.harness.key_press(egui::Key::Escape);
    bob.harness.run_steps(2);
    open_menu(&mut bob, "carol");
    assert!(
        bob.harness
            .query_by_role_and_label(Role::Button, "Make co-host")
            .is_none()
    );
    bob.click("Kick");
    let gone = carol.frames_until_closed();
    assert!(
        gone.iter()
            .any(|f| matches!(f, ServerFrame::Error { message, .. }
            if message == "bob kicked you out of the room. You may come back.")),
        "{gone:?}"
    );
    dana.until_shown("bob kicked carol");
    dana.say("/bans");
    dana.until_shown("Nobody is banned.");
    dana.say("/lecture maybe");
    dana.until_shown("Type /lecture on|off");
}

#[test]
fn screenshots_of_the_user_list_menu_and_of_a_muted_member_show_them() {
    let (mut dana, address) = hosting_dana();
    let mut bob = Window::join("bob", &address);
    let _carol = member(&address, "carol", 3);
    dana.until_shown("Online (3)");
    dana.say("/op carol");
    dana.until("carol is marked co-host", |h| {
        marked(h, "carol") == Some("co-host".into())
    });
    open_menu(&mut dana, "bob");
    assert!(
        dana.harness
            .query_by_role_and_label(Role::Button, "Mute 10 min")
            .is_some()
    );
    crate::screenshots::capture(&mut dana, "moderation-menu");
    dana.click("Mute 10 min");
    bob.until_shown("dana muted you for 10 minutes; it ends at ");
    bob.say("can anyone hear me?");
    bob.until_shown("You are muted until");
    crate::screenshots::capture(&mut bob, "muted-member");
}

#[test]
fn a_kicked_window_says_why_and_stops_trying_until_asked() {
    let (mut dana, address) = hosting_dana();
    let mut bob = Window::join("bob", &address);
    dana.until_shown("Online (2)");
    dana.say("/kick bob see you tomorrow");
    bob.until_shown("dana kicked you out of the room: see you tomorrow. You may come back.");
    bob.until("bob's window stopped trying rather than redialling", |h| {
        h.state()
            .chat()
            .is_some_and(|c| matches!(c.link, natter::chat_state::LinkState::Failed(_)))
    });
    bob.until_shown("Natter stopped trying: Reconnect tries again");
    dana.until_shown("dana kicked bob (see you tomorrow)");
}
