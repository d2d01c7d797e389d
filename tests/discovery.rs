//! Discovery on loopback only: announcer and finder with `Reach::Loopback`, real UDP sockets on
//! 127.0.0.1 (port 0, kept open), waits on channels with timeouts. The real network's broadcast
//! is tested inside network namespaces only (tests/lab.rs).
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{WAIT, recv_where, start_server, test_config};
use crossbeam_channel::Receiver;
use natter::network::discovery::{
    AnnounceConfig, Announcer, BURST, Finder, FoundRoom, NOTES_PER_WINDOW, Noted, Pace, Reach,
};
use natter::network::server::{ServerConfig, ServerEvent};

fn loopback(peers: Vec<SocketAddr>) -> Reach {
    Reach::Loopback {
        listen_port: 0,
        peers,
    }
}

/// A finder on loopback that asks `ask` (if any), with a channel that hears its wake-ups.
fn finder(ask: Vec<SocketAddr>, pace: Pace) -> (Finder, Receiver<()>) {
    let (tx, woken) = crossbeam_channel::unbounded();
    let finder = Finder::start(
        loopback(ask),
        pace,
        Arc::new(move || {
            let _ = tx.send(());
        }),
    )
    .expect("a finder on 127.0.0.1");
    (finder, woken)
}

fn announcer(
    to: Vec<SocketAddr>,
    people: Arc<AtomicUsize>,
    pace: Pace,
) -> (Announcer, Receiver<Noted>) {
    let (tx, notes) = crossbeam_channel::unbounded();
    let announcer = Announcer::start(
        AnnounceConfig {
            key: None,
            reach: loopback(to),
            host: "alice".into(),
            pace,
        },
        "Lab 3",
        5050,
        Box::new(move || people.load(Ordering::SeqCst)),
        Box::new(move |note| {
            let _ = tx.send(note);
        }),
    )
    .expect("an announcer on 127.0.0.1");
    (announcer, notes)
}

/// Waits (on the finder's wake-ups, at most WAIT) until `done` holds for its room list.
fn until_rooms(
    finder: &mut Finder,
    woken: &Receiver<()>,
    what: &str,
    done: impl Fn(&[FoundRoom]) -> bool,
) -> Vec<FoundRoom> {
    let deadline = Instant::now() + WAIT;
    loop {
        let rooms = finder.rooms().to_vec();
        if done(&rooms) {
            return rooms;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "timed out waiting until {what}: {rooms:?}");
        let _ = woken.recv_timeout(left.min(Duration::from_millis(100)));
    }
}

fn quick() -> Pace {
    Pace {
        steady: Duration::from_millis(300),
        min_gap: Duration::from_millis(50),
        dim_after: Duration::from_millis(400),
        fade_after: Duration::from_millis(900),
    }
}

#[test]
/// (That the first announcement goes out at once is the schedule's unit test, in `pace.rs`;
/// how soon a room is listed is a figure the lab prints, not a timed assertion here.)
fn an_announced_room_is_listed_with_name_host_address_and_people() {
    let (mut finder, woken) = finder(vec![], Pace::default());
    let to = vec![finder.local_addr().unwrap()];
    let (announcer, _) = announcer(to, Arc::new(AtomicUsize::new(3)), Pace::default());
    let rooms = until_rooms(&mut finder, &woken, "the room is listed", |r| !r.is_empty());
    let room = &rooms[0];
    assert_eq!(
        (
            room.room.as_str(),
            room.host.as_str(),
            room.people,
            room.version
        ),
        ("Lab 3", "alice", 3, 1)
    );
    assert_eq!(room.addr, "127.0.0.1:5050".parse().unwrap());
    assert_eq!(room.id, announcer.id());
}

#[test]
fn a_query_is_answered_to_the_asker_even_by_a_host_that_announces_to_nobody() {
    let slow = Pace {
        steady: Duration::from_secs(3600),
        ..Pace::default()
    };
    let (announcer, _) = announcer(vec![], Arc::new(AtomicUsize::new(1)), slow);
    let (mut finder, woken) = finder(vec![announcer.local_addr()], Pace::default());
    let rooms = until_rooms(&mut finder, &woken, "the answer is heard", |r| {
        !r.is_empty()
    });
    assert_eq!(rooms[0].id, announcer.id());
}

#[test]
fn a_stopped_host_says_goodbye_and_its_room_leaves_the_list_at_once() {
    let (mut finder, woken) = finder(vec![], Pace::default());
    let to = vec![finder.local_addr().unwrap()];
    let (announcer, _) = announcer(to, Arc::new(AtomicUsize::new(1)), Pace::default());
    until_rooms(&mut finder, &woken, "the room is listed", |r| r.len() == 1);
    announcer.stop();
    until_rooms(&mut finder, &woken, "the room is gone", |r| r.is_empty());
}

#[test]
fn a_room_no_longer_heard_dims_then_fades_out_of_the_list() {
    let pace = quick();
    let (mut finder, woken) = finder(vec![], pace);
    // One announcement by hand, as a Python finder's author would read it in PROTOCOL.md.
    let host = UdpSocket::bind("127.0.0.1:0").unwrap();
    let datagram = br#"{"natter":"room","version":1,"id":"00000000000000aa","room":"Once","host":"bob","port":6000,"people":2}"#;
    host.send_to(datagram, finder.local_addr().unwrap())
        .unwrap();
    let rooms = until_rooms(&mut finder, &woken, "the room is listed", |r| r.len() == 1);
    assert_eq!(rooms[0].addr.port(), 6000);
    let heard = rooms[0].last_heard;
    until_rooms(&mut finder, &woken, "the room is dimmed", |r| {
        r.first()
            .is_some_and(|room| room.is_fading(Instant::now(), pace.dim_after))
    });
    let rooms = until_rooms(&mut finder, &woken, "the room faded out", |r| r.is_empty());
    assert!(rooms.is_empty());
    assert!(heard.elapsed() >= pace.fade_after);
}

/// The announcements a raw socket (standing in for a finder) hears, in order, as JSON.
fn next_announcement(socket: &UdpSocket) -> serde_json::Value {
    let mut buf = [0u8; 2048];
    let (n, _) = socket
        .recv_from(&mut buf)
        .expect("an announcement within WAIT");
    serde_json::from_slice(&buf[..n]).unwrap()
}

#[test]
fn a_changed_people_count_is_announced_after_the_start_up_burst_without_waiting_for_the_steady_pace()
 {
    let slow = Pace {
        steady: Duration::from_secs(3600),
        min_gap: Duration::from_millis(50),
        ..Pace::default()
    };
    let listener = UdpSocket::bind("127.0.0.1:0").unwrap();
    listener.set_read_timeout(Some(WAIT)).unwrap();
    let people = Arc::new(AtomicUsize::new(1));
    let (_announcer, _) = announcer(
        vec![listener.local_addr().unwrap()],
        Arc::clone(&people),
        slow,
    );
    // The whole start-up burst, heard: after it only the steady pace (an hour) or the
    // change can bring another announcement.
    for sent in 0..BURST.len() {
        let heard = next_announcement(&listener);
        assert_eq!(heard["people"], 1, "burst announcement {sent}: {heard}");
    }
    people.store(4, Ordering::SeqCst);
    let heard = next_announcement(&listener);
    assert_eq!(heard["people"], 4, "{heard}");
}

#[test]
fn malformed_oversized_and_foreign_datagrams_are_ignored_and_counted() {
    let (announcer, _) = announcer(vec![], Arc::new(AtomicUsize::new(1)), Pace::default());
    let (mut finder, woken) = finder(vec![], Pace::default());
    let noise = UdpSocket::bind("127.0.0.1:0").unwrap();
    let junk: [&[u8]; 5] = [
        b"\xff\xfe\x00",
        b"M-SEARCH * HTTP/1.1\r\n\r\n",
        br#"{"natter":"room","version":1,"id":"nothex","room":"x","host":"y","port":1,"people":1}"#,
        br#"{"natter":"teleport"}"#,
        &[b' '; 1500],
    ];
    for bytes in junk {
        noise.send_to(bytes, finder.local_addr().unwrap()).unwrap();
        noise.send_to(bytes, announcer.local_addr()).unwrap();
    }
    // A well-formed room after the junk: the finder still works, and listed nothing else.
    noise
        .send_to(
            br#"{"natter":"room","version":1,"id":"00000000000000bb","room":"Real","host":"x","port":7,"people":1}"#,
            finder.local_addr().unwrap(),
        )
        .unwrap();
    let rooms = until_rooms(&mut finder, &woken, "the real room", |r| !r.is_empty());
    assert_eq!(rooms.len(), 1);
    assert_eq!(finder.ignored(), 5);
    let deadline = Instant::now() + WAIT;
    while announcer.ignored() < 5 && Instant::now() < deadline {
        let _ = woken.recv_timeout(Duration::from_millis(50));
    }
    assert_eq!(announcer.ignored(), 5);
}

#[test]
fn a_note_reaches_the_host_once_and_repeats_are_rate_limited_on_both_ends() {
    let (mut finder, woken) = finder(vec![], Pace::default());
    let to = vec![finder.local_addr().unwrap()];
    let (announcer, notes) = announcer(to, Arc::new(AtomicUsize::new(1)), Pace::default());
    let rooms = until_rooms(&mut finder, &woken, "the room is listed", |r| !r.is_empty());
    let addr = rooms[0].addr;
    assert!(finder.tell_unreachable(addr), "the first note is sent");
    assert!(
        !finder.tell_unreachable(addr),
        "a second within 10 s is not"
    );
    let Noted::One(note) = notes.recv_timeout(WAIT).expect("the host hears the note") else {
        panic!("one note, passed on as it came");
    };
    assert_eq!(note.port, 5050);
    assert!(note.from.is_loopback());
    // Someone sending notes by hand, many times, plus notes for another room.
    let flood = UdpSocket::bind("127.0.0.2:0")
        .or_else(|_| UdpSocket::bind("127.0.0.1:0"))
        .unwrap();
    let ours = format!(
        r#"{{"natter":"unreachable","id":"{}","port":5050}}"#,
        announcer.id()
    );
    let other_room = r#"{"natter":"unreachable","id":"00000000000000cc","port":5050}"#;
    for _ in 0..20 {
        flood
            .send_to(ours.as_bytes(), announcer.local_addr())
            .unwrap();
        flood
            .send_to(other_room.as_bytes(), announcer.local_addr())
            .unwrap();
    }
    // A new sender (127.0.0.2, where it exists) gets one note through; 127.0.0.1 already had
    // its one for the next 30 s. Everything else is ignored.
    let new_sender = flood.local_addr().unwrap().ip() != note.from;
    let passed = usize::from(new_sender);
    let expect_ignored = (40 - passed) as u64;
    let deadline = Instant::now() + WAIT;
    while announcer.ignored() < expect_ignored && Instant::now() < deadline {
        let _ = woken.recv_timeout(Duration::from_millis(50));
    }
    assert_eq!(announcer.ignored(), expect_ignored);
    assert_eq!(notes.try_iter().count(), passed);
    assert!(!finder.tell_unreachable("127.0.0.1:1".parse().unwrap()));
}

#[test]
fn a_server_with_announce_set_announces_its_name_port_and_people_and_reports_notes() {
    let (mut finder, woken) = finder(vec![], Pace::default());
    let to = vec![finder.local_addr().unwrap()];
    let server = start_server(ServerConfig {
        name: "Lab 3".into(),
        announce: Some(AnnounceConfig {
            key: None,
            reach: loopback(to),
            host: "alice".into(),
            pace: Pace::default(),
        }),
        ..test_config()
    });
    let port = server.local_addr().port();
    let rooms = until_rooms(&mut finder, &woken, "the server's room", |r| {
        r.first().is_some_and(|room| room.addr.port() == port)
    });
    assert_eq!(rooms[0].room, "Lab 3");
    assert_eq!(rooms[0].people, 0);
    assert_eq!(Some(rooms[0].id.as_str()), server.announced_id());
    let (_alice, _) = common::RawPeer::join(server.local_addr(), "alice");
    until_rooms(&mut finder, &woken, "one person in", |r| {
        r.first().is_some_and(|room| room.people == 1)
    });
    assert!(finder.tell_unreachable(rooms[0].addr));
    let (from, noted_port) = recv_where(server.events(), "CouldNotReach", |e| match e {
        ServerEvent::CouldNotReach { from, port } => Some((from, port)),
        _ => None,
    });
    assert!(from.is_loopback());
    assert_eq!(noted_port, port);
    server.stop();
    until_rooms(&mut finder, &woken, "the room is gone", |r| r.is_empty());
}

#[test]
fn the_default_server_config_announces_nothing() {
    assert_eq!(ServerConfig::default().announce, None);
    assert_eq!(test_config().announce, None);
    let server = start_server(test_config());
    assert_eq!(server.announced_id(), None);
}

/// Issue 25: the key a server announces is listed whole (it was once cut into "no key"), and
/// another socket claiming its room, or saying goodbye for it, adds its own entry and removes
/// nothing; the server's own goodbye still does.
#[test]
fn a_servers_whole_key_is_listed_and_an_impostors_claim_or_goodbye_leaves_its_room_alone() {
    let (mut finder, woken) = finder(vec![], Pace::default());
    let finder_at = finder.local_addr().unwrap();
    let config = ServerConfig {
        name: "Lab 3".into(),
        announce: Some(AnnounceConfig {
            key: None,
            reach: loopback(vec![finder_at]),
            host: "alice".into(),
            pace: Pace::default(),
        }),
        ..test_config()
    };
    let key = config.identity.as_ref().unwrap().fingerprint();
    let server = start_server(config);
    let port = server.local_addr().port();
    let rooms = until_rooms(&mut finder, &woken, "the server's room", |r| {
        r.iter().any(|room| room.addr.port() == port)
    });
    assert_eq!(rooms[0].key, Some(key));
    let id = server.announced_id().unwrap().to_string();
    let impostor = UdpSocket::bind("127.0.0.1:0").unwrap();
    let other_key = format!("sha256:{}", "5a".repeat(32));
    let datagrams = [
        format!(
            r#"{{"natter":"room","version":1,"id":"{id}","room":"Lab 3","host":"alice","port":1,"people":9,"key":"{other_key}"}}"#
        ),
        format!(r#"{{"natter":"gone","id":"{id}","port":{port}}}"#),
        // Read after the goodbye (one socket, one receiver): once it is listed, so was that.
        r#"{"natter":"room","version":1,"id":"00000000000000ff","room":"marker","host":"m","port":2,"people":1}"#.to_string(),
    ];
    for datagram in &datagrams {
        impostor.send_to(datagram.as_bytes(), finder_at).unwrap();
    }
    let rooms = until_rooms(&mut finder, &woken, "the marker", |r| {
        r.iter().any(|room| room.room == "marker")
    });
    let real: Vec<_> = rooms.iter().filter(|r| r.addr.port() == port).collect();
    assert_eq!(real.len(), 1, "the real room is still listed: {rooms:?}");
    assert_eq!((real[0].key, real[0].people), (Some(key), 0));
    let claims: Vec<_> = rooms.iter().filter(|r| r.id == id).collect();
    assert_eq!(
        claims.len(),
        2,
        "the claim is an entry of its own: {rooms:?}"
    );
    server.stop();
    until_rooms(&mut finder, &woken, "the server's own goodbye", |r| {
        r.iter().all(|room| room.addr.port() != port)
    });
}

/// PROTOCOL.md §11: `room` is at most 64 characters and `host` at most 32, the "…" of a cut
/// name included, and the datagram at most 512 bytes with the key: a finder that drops
/// out-of-range fields still lists the room, and the key it announced reads back whole.
/// (Names were sent as 64 + "…" and 32 + "…"; 4-byte names with a key made a datagram too big
/// to send at all, and a finder cut every key to 64 characters, so none was ever checked.)
#[test]
fn long_names_are_announced_within_their_limits_and_the_key_reads_back_whole() {
    let (mut finder, woken) = finder(vec![], Pace::default());
    let to = vec![finder.local_addr().unwrap()];
    let config = ServerConfig {
        name: "😀".repeat(100),
        announce: Some(AnnounceConfig {
            key: None,
            reach: loopback(to),
            host: "h".repeat(40),
            pace: Pace::default(),
        }),
        ..test_config()
    };
    let key = config.identity.as_ref().unwrap().fingerprint();
    let server = start_server(config);
    let port = server.local_addr().port();
    let rooms = until_rooms(&mut finder, &woken, "the server's room", |r| {
        r.first().is_some_and(|room| room.addr.port() == port)
    });
    let room = &rooms[0];
    assert!(room.room.chars().count() <= 64, "{}", room.room);
    assert!(room.room.starts_with("😀😀") && room.room.ends_with('…'));
    assert_eq!(room.host, format!("{}…", "h".repeat(31)));
    assert_eq!(room.key, Some(key));
    // What went on the wire, as a finder of one's own reads it (the finder above cuts what it
    // reads): within range. A `who` is answered to its sender on loopback.
    let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
    probe
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let bytes = loop {
        assert!(Instant::now() < deadline, "no answer to who");
        probe
            .send_to(br#"{"natter":"who","version":1}"#, room.from)
            .unwrap();
        let mut buf = [0u8; 2048];
        if let Ok((n, _)) = probe.recv_from(&mut buf) {
            break buf[..n].to_vec();
        }
    };
    assert!(bytes.len() <= 512, "{} bytes", bytes.len());
    let wire: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(wire["room"].as_str().unwrap().chars().count() <= 64);
    assert!(wire["host"].as_str().unwrap().chars().count() <= 32);
    assert_eq!(wire["key"].as_str(), Some(key.to_text().as_str()));
}

/// A note's source address can be forged: 200 "could not reach you" notes from 200 addresses
/// (real UDP from 127.0.1.x, as a forger's would be) reach the host as the first few, one by
/// one, and one "N more like this" for the rest, not 200 notes. (1,000 forged sources used to
/// print 4,000 console lines.)
#[test]
fn notes_from_many_forged_sources_reach_the_host_as_a_few_and_one_count() {
    let (probe_finder, _) = finder(vec![], Pace::default());
    let to = vec![probe_finder.local_addr().unwrap()];
    let (announcer, notes) = announcer(to, Arc::new(AtomicUsize::new(1)), Pace::default());
    let note = format!(
        r#"{{"natter":"unreachable","id":"{}","port":5050}}"#,
        announcer.id()
    );
    let sources = 200u32;
    for i in 0..sources {
        let from = std::net::Ipv4Addr::new(127, 0, 1 + (i / 250) as u8, 1 + (i % 250) as u8);
        let forger = UdpSocket::bind((from, 0)).unwrap();
        forger
            .send_to(note.as_bytes(), announcer.local_addr())
            .unwrap();
    }
    // A query sent after them is answered once the announcer has read all of them (one
    // socket, read in order): then every note is counted.
    let asker = UdpSocket::bind("127.0.0.1:0").unwrap();
    asker
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(Instant::now() < deadline, "no answer to who");
        asker
            .send_to(br#"{"natter":"who","version":1}"#, announcer.local_addr())
            .unwrap();
        let mut buf = [0u8; 2048];
        if asker.recv_from(&mut buf).is_ok() {
            break;
        }
    }
    announcer.stop();
    let told: Vec<Noted> = notes.try_iter().collect();
    let one_by_one = told.iter().filter(|n| matches!(n, Noted::One(_))).count();
    assert_eq!(one_by_one, NOTES_PER_WINDOW as usize, "{told:?}");
    assert_eq!(
        told.last(),
        Some(&Noted::More {
            count: sources - NOTES_PER_WINDOW,
            port: 5050
        }),
        "{told:?}"
    );
    assert_eq!(told.len(), NOTES_PER_WINDOW as usize + 1, "{told:?}");
}
