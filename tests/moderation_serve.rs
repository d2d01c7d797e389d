//! Running a room from `natter serve`'s standard input, the real binary on 127.0.0.1 with
//! port 0: commands typed there act as the host's, in both dialects; a ban typed there holds
//! across a restart with the same data folder; a closed standard input stops nothing.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, SocketAddr};

use crate::common;
use crate::moderation::notice_to_me;

use common::{RawPeer, ServeProcess};
use natter::network::protocol::{ErrorCode, FEATURE_MODERATION, ServerFrame};

fn from(addr: SocketAddr, last: u8) -> RawPeer {
    RawPeer::connect_from(addr, IpAddr::from([127, 0, 0, last]))
}

fn member(addr: SocketAddr, nick: &str, last: u8) -> RawPeer {
    let mut peer = from(addr, last).say_hello(nick, &[FEATURE_MODERATION]);
    peer.accepted();
    peer
}

#[test]
fn commands_typed_into_serve_act_as_the_host_in_both_dialects_and_are_answered_there() {
    let mut serve = ServeProcess::start(&[]);
    let addr = serve.addr;
    let bob = member(addr, "bob", 2);
    serve.line_with("bob joined");
    let mut carol = from(addr, 3);
    carol.send_raw(b"/nick carol\n");
    carol.text_until("is now carol");
    serve.type_line("/mute bob 10");
    let to_bob = notice_to_me(&bob);
    assert!(
        to_bob
            .text
            .starts_with("host muted you for 10 minutes; it ends at "),
        "{to_bob:?}"
    );
    carol.text_until("* host muted bob for 10 minutes");
    serve.line_with("host muted bob for 10 minutes");
    serve.type_line("/mute nobody");
    serve.line_with("Nobody called nobody is in the room.");
    serve.type_line("/bans");
    serve.line_with("Nobody is banned.");
    serve.type_line("/who");
    serve.line_with("Online (2): bob, carol");
    serve.type_line("hello?");
    serve.line_with("Commands: /mute NICK [minutes]");
    serve.type_line("/kick carol time to go");
    let text = carol.text_until_closed();
    assert!(
        text.contains("! host kicked you out of the room: time to go. You may come back."),
        "{text}"
    );
    serve.line_with("host kicked carol (time to go)");
}

#[test]
fn a_ban_typed_into_serve_survives_its_restart_with_the_same_data_folder() {
    let folder = tempfile::tempdir().unwrap();
    let identity = folder.path().join("host-identity.pem");
    let identity = identity.to_str().unwrap();
    let mut serve = ServeProcess::start(&["--identity", identity]);
    let bob = member(serve.addr, "bob", 2);
    serve.line_with("bob joined");
    serve.type_line("/ban bob 30");
    serve.line_with("host banned bob for 30 minutes");
    assert!(
        bob.frames_until_closed().iter().any(|f| matches!(
            f,
            ServerFrame::Error {
                code: ErrorCode::Banned,
                ..
            }
        )),
        "bob was put out"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let bans = folder.path().join("bans.json");
        let mode = std::fs::metadata(&bans).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "bans.json is its owner's only: {mode:o}"
        );
    }
    drop(serve);
    let restarted = ServeProcess::start(&["--identity", identity]);
    let mut again = from(restarted.addr, 2).say_hello("bob", &[]);
    let message = again.assert_error(ErrorCode::Banned);
    assert!(
        message.starts_with("This address is banned from this room by host for 30 more minutes")
            || message
                .starts_with("This address is banned from this room by host for 29 more minutes"),
        "{message}"
    );
    let nc = from(restarted.addr, 2);
    let text = nc.text_until_closed();
    assert!(
        text.contains("! This address is banned from this room by host"),
        "{text}"
    );
    let other = member(restarted.addr, "zoe", 3);
    assert_eq!(other.nick, "zoe", "another address is let in");
}

#[test]
fn serve_goes_on_when_its_standard_input_closes() {
    let mut serve = ServeProcess::start(&[]);
    drop(serve.stdin.take());
    serve.line_with(
        "standard input closed: room commands can no longer be typed here; the room goes on",
    );
    let (mut bob, _) = RawPeer::join(serve.addr, "bob");
    bob.say("still here", "1");
    serve.line_with("bob: still here");
    assert!(
        serve.child.0.try_wait().unwrap().is_none(),
        "natter serve still runs"
    );
}

/// The table of "Running a room", typed into `natter serve`: each command does what it says,
/// the room (here a plain member) reads it as one line, and serve prints it too.
#[test]
fn every_command_typed_into_serve_is_carried_out_told_to_the_room_and_printed() {
    let mut serve = ServeProcess::start(&[]);
    let addr = serve.addr;
    let _bob = member(addr, "bob", 2);
    serve.line_with("bob joined");
    let mut carol = from(addr, 3);
    carol.send_raw(b"/nick carol\n");
    carol.text_until("is now carol");
    let _zed = member(addr, "zed", 6);
    serve.line_with("zed joined");
    // (typed into serve, what carol reads next and serve prints)
    let typed = [
        ("/op bob", "host made bob a co-host"),
        ("/deop bob", "host made bob a member again"),
        ("/mute bob 5", "host muted bob for 5 minutes"),
        ("/unmute bob", "host unmuted bob"),
        ("/lecture on", "host started a lecture"),
        ("/voice bob", "host gave bob a voice"),
        ("/unvoice bob", "host took bob's voice"),
        ("/lecture off", "host ended the lecture"),
        ("/ban zed 10", "host banned zed for 10 minutes"),
        ("/kick bob see you", "host kicked bob (see you)"),
    ];
    for (command, told) in typed {
        serve.type_line(command);
        let read = carol.text_until("* host ");
        assert!(
            read.lines()
                .any(|line| line.starts_with(&format!("* {told}"))),
            "after {command:?} carol read {read:?}, not {told:?}"
        );
        serve.line_with(told);
    }
    serve.type_line("/bans");
    assert!(
        serve
            .line_with("Banned (1): ")
            .contains("127.0.0.6 (zed), by host")
    );
    serve.type_line("/unban 127.0.0.6");
    serve.line_with("Lifted the ban on 127.0.0.6");
    serve.type_line("/bans");
    serve.line_with("Nobody is banned.");
}
