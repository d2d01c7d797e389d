//! Every room command, typed by a plain-text co-host (the `nc` dialect) and sent as a
//! `moderate` frame by the host's own link (the JSON dialect), each doing what it says and
//! told to the room as one line: the table the README's "Running a room" lists. The same
//! commands typed into `natter serve` are in `moderation_serve`; the window's in
//! `ui_moderation`. Real sockets on 127.0.0.1 with port 0.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::moderation::{config, host, member, plain};

use common::start_server;
use natter::network::protocol::{ClientFrame, ModCommand};

#[test]
fn every_command_typed_by_a_plain_co_host_or_sent_by_the_host_is_carried_out_and_told_in_one_line()
{
    let server = start_server(config());
    let addr = server.local_addr();
    let mut dana = host(addr, "dana");
    let mut eve = plain(addr, "eve", 4);
    let _bob = member(addr, "bob", 2);
    let carol = plain(addr, "carol", 3);
    let _zed = member(addr, "zed", 6);
    dana.send(&ClientFrame::Moderate(ModCommand::Op {
        nick: "eve".into(),
    }));
    eve.text_until("* dana made you a co-host");
    // (what eve types, what carol, a plain member, reads next; eve's own answers start "! ").
    let typed = [
        ("/mute bob 5", "* eve muted bob for 5 minutes"),
        ("/unmute bob", "* eve unmuted bob"),
        ("/lecture on", "* eve started a lecture"),
        ("/voice bob", "* eve gave bob a voice"),
        ("/unvoice bob", "* eve took bob's voice"),
        ("/lecture off", "* eve ended the lecture"),
        ("/ban zed 10", "* eve banned zed for 10 minutes"),
    ];
    for (command, told) in typed {
        eve.send_raw(format!("{command}\n").as_bytes());
        let read = carol.text_until("* eve ");
        assert!(
            read.lines().any(|line| line.starts_with(told)),
            "after {command:?} carol read {read:?}, not {told:?}"
        );
    }
    eve.send_raw(b"/bans\n");
    let listed = eve.text_until("! Banned (1): ");
    assert!(listed.contains("127.0.0.6 (zed), by eve"), "{listed}");
    eve.send_raw(b"/unban 127.0.0.6\n");
    eve.text_until("! Lifted the ban on 127.0.0.6");
    eve.send_raw(b"/bans\n");
    eve.text_until("! Nobody is banned.");
    // Only the host makes and unmakes co-hosts: from its own link, as frames.
    eve.send_raw(b"/op carol\n");
    eve.text_until("! Only the host can make or unmake co-hosts.");
    let frames = [
        (
            ModCommand::Voice {
                nick: "carol".into(),
            },
            "* dana gave you a voice",
        ),
        (
            ModCommand::Unvoice {
                nick: "carol".into(),
            },
            "* dana took your voice",
        ),
        (
            ModCommand::Deop { nick: "eve".into() },
            "* dana made eve a member again",
        ),
    ];
    for (command, told) in frames {
        let word = format!("{command:?}");
        dana.send(&ClientFrame::Moderate(command));
        let read = carol.text_until("* dana ");
        assert!(
            read.lines().any(|line| line.starts_with(told)),
            "after {word} carol read {read:?}, not {told:?}"
        );
    }
    eve.send_raw(b"/kick carol\n");
    eve.text_until("! Only the host and co-hosts can use /kick.");
    dana.send(&ClientFrame::Moderate(ModCommand::Kick {
        nick: "eve".into(),
        reason: "class is over".into(),
    }));
    let read = carol.text_until("* dana kicked eve");
    assert!(read.contains("* dana kicked eve (class is over)"), "{read}");
}
