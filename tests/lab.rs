//! LAN discovery and the connection doctor on a real (virtual) network: Linux network
//! namespaces built by scripts/lab.sh, torn down when each test ends however it ends. Real
//! subnet broadcasts go only inside those namespaces. Skipped, saying so, where namespaces are
//! unavailable; CI=true makes them run (and fail if they cannot). Issue 25's impostor test
//! drives the real window (egui_kittest) on computer B.
#![cfg(all(target_os = "linux", feature = "window"))]
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::app_window::Window;
use common::lab::Lab;
use common::{Killed, WAIT, recv_where, test_config};
use crossbeam_channel::Receiver;
use egui_kittest::kittest::Queryable;
use natter::network::client::{self, ClientEvent, ConnectOptions};
use natter::network::discovery::{AnnounceConfig, Finder, FoundRoom, Pace, Reach};
use natter::network::doctor::{self, Case};
use natter::network::interfaces::local_ipv4_addresses;
use natter::network::server::{self, ServerConfig, ServerEvent, ServerHandle};
use natter::network::tls::Fingerprint;

/// A server running on a lab computer. `ServerHandle::stop` wakes its accept loop with a
/// connection to loopback, which must come from the server's own namespace: so it is stopped
/// there, also when a test fails (drop).
struct LabHost<'a> {
    lab: &'a Lab,
    name: String,
    handle: Option<ServerHandle>,
}

impl LabHost<'_> {
    fn server(&self) -> &ServerHandle {
        self.handle.as_ref().expect("running")
    }

    fn stop(mut self) {
        self.stop_within();
    }

    fn stop_within(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.lab.within(&self.name, move || handle.stop());
        }
    }
}

impl Drop for LabHost<'_> {
    fn drop(&mut self) {
        self.stop_within();
    }
}

/// A server on computer `name`, port `port`, announcing on its LAN.
fn host_on<'a>(lab: &'a Lab, name: &str, port: u16, room: &str) -> LabHost<'a> {
    keyed_host_on(lab, name, port, Some(room)).0
}

/// A server on computer `name`, port `port`, with a key of its own, announcing `room` on its
/// LAN (`None`: announcing nothing); and its key.
fn keyed_host_on<'a>(
    lab: &'a Lab,
    name: &str,
    port: u16,
    room: Option<&str>,
) -> (LabHost<'a>, Fingerprint) {
    let config = ServerConfig {
        name: room.unwrap_or("not announced").to_string(),
        announce: room.map(|_| AnnounceConfig {
            key: None,
            reach: Reach::lan(),
            host: "alice".into(),
            pace: Pace::default(),
        }),
        ..test_config()
    };
    let key = config.identity.as_ref().expect("an identity").fingerprint();
    let handle = lab.within(name, move || {
        let listener = server::bind(SocketAddr::from(([0, 0, 0, 0], port))).unwrap();
        server::start(listener, config, natter::network::no_wake_up()).unwrap()
    });
    let host = LabHost {
        lab,
        name: name.to_string(),
        handle: Some(handle),
    };
    (host, key)
}

/// A finder on computer `name` with a channel that hears its wake-ups.
fn finder_on(lab: &Lab, name: &str) -> (Finder, Receiver<()>) {
    lab.within(name, || {
        let (tx, woken) = crossbeam_channel::unbounded();
        let finder = Finder::start(
            Reach::lan(),
            Pace::default(),
            Arc::new(move || {
                let _ = tx.send(());
            }),
        )
        .unwrap();
        (finder, woken)
    })
}

/// Waits on the finder's wake-ups (at most `within`) until `done` holds; the rooms then.
fn until_rooms(
    finder: &mut Finder,
    woken: &Receiver<()>,
    within: Duration,
    done: impl Fn(&[FoundRoom]) -> bool,
) -> Option<Vec<FoundRoom>> {
    let deadline = Instant::now() + within;
    loop {
        let rooms = finder.rooms().to_vec();
        if done(&rooms) {
            return Some(rooms);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let _ = woken.recv_timeout(left.min(Duration::from_millis(100)));
    }
}

#[test]
fn lab_a_room_is_listed_on_another_computer_twenty_times_gone_on_stop_never_across_the_router() {
    let Some(lab) = Lab::up("lab_room_listed") else {
        return;
    };
    let (mut on_b, woken_b) = finder_on(&lab, "b");
    let (mut on_d, _) = finder_on(&lab, "d");
    let mut times = Vec::new();
    for round in 0..20 {
        let started = Instant::now();
        let host = host_on(&lab, "a", 5050, &format!("Round {round}"));
        let id = host.server().announced_id().unwrap().to_string();
        let rooms = until_rooms(&mut on_b, &woken_b, WAIT, |r| r.iter().any(|x| x.id == id))
            .expect("B lists A's room");
        times.push(started.elapsed());
        let room = rooms.iter().find(|r| r.id == id).unwrap();
        assert_eq!(room.addr, "10.66.1.1:5050".parse().unwrap());
        assert_eq!(room.room, format!("Round {round}"));
        host.stop();
        until_rooms(&mut on_b, &woken_b, WAIT, |r| r.iter().all(|x| x.id != id))
            .expect("the goodbye takes the room off B's list");
    }
    times.sort();
    let median = (times[9] + times[10]) / 2;
    println!(
        "LAB FIGURE: Start hosting → listed on another computer: median {:.1} ms, max {:.1} ms (20 rounds)",
        median.as_secs_f64() * 1000.0,
        times[19].as_secs_f64() * 1000.0
    );
    // D, behind the router, heard none of the 20 rooms (broadcasts stay on their link).
    assert_eq!(on_d.rooms(), &[]);
}

/// Numbers the lab's identity files.
static NEXT_IDENTITY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// `natter serve` on computer `name`, waiting for its "listening on" line.
/// Each gets an identity file of its own in a temporary folder, never the user's settings.
fn serve_on(lab: &Lab, name: &str, args: &[&str]) -> Killed {
    let identity = std::env::temp_dir().join(format!(
        "natter-lab-{}-{name}-{}.pem",
        std::process::id(),
        NEXT_IDENTITY.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut child = Killed(
        lab.command(name, env!("CARGO_BIN_EXE_natter"))
            .arg("serve")
            .arg("--identity")
            .arg(&identity)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, lines) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .expect("natter serve says where it listens");
        if line.contains("listening on") {
            return child;
        }
    }
}

/// `natter rooms` on computer `name`: its lines without their last field, the announced code,
/// which is checked to be one (five groups of five digits: `natter serve` always has a key).
fn rooms_on(lab: &Lab, name: &str, wait: &str) -> String {
    let out = lab.run(
        name,
        env!("CARGO_BIN_EXE_natter"),
        &["rooms", "--wait", wait],
    );
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8(out.stdout).unwrap();
    printed
        .lines()
        .map(|line| {
            let (fields, code) = line.rsplit_once('\t').expect("tab-separated");
            let groups: Vec<&str> = code.split(' ').collect();
            assert!(
                groups.len() == 5
                    && groups
                        .iter()
                        .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit())),
                "{line:?}"
            );
            format!("{fields}\n")
        })
        .collect()
}

#[test]
fn lab_natter_rooms_prints_two_serve_hosts_of_one_computer_not_across_the_router_and_drops_a_stopped_one()
 {
    let Some(lab) = Lab::up("lab_natter_rooms") else {
        return;
    };
    let first = serve_on(
        &lab,
        "a",
        &[
            "--port",
            "5050",
            "--name",
            "Lab one",
            "--announce-as",
            "pc-a",
        ],
    );
    let _second = serve_on(
        &lab,
        "a",
        &[
            "--port",
            "6060",
            "--name",
            "Lab two",
            "--announce-as",
            "pc-a",
        ],
    );
    let printed = rooms_on(&lab, "b", "2");
    let mut lines: Vec<&str> = printed.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "Lab one\tpc-a\t10.66.1.1:5050\t0",
            "Lab two\tpc-a\t10.66.1.1:6060\t0"
        ],
        "{printed}"
    );
    assert_eq!(rooms_on(&lab, "d", "1.5"), "", "nothing crosses the router");
    // SIGTERM: natter serve says goodbye on the network as it stops.
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(first.0.id() as i32, libc::SIGTERM) };
    let mut first = first;
    let status = first.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let printed = rooms_on(&lab, "b", "2");
    assert_eq!(printed, "Lab two\tpc-a\t10.66.1.1:6060\t0\n");
}

/// Connects from computer `name` to `address` (2 s to connect) and returns the final failure.
fn fail_to_connect(lab: &Lab, name: &str, address: &str) -> client::ClientError {
    let address = address.to_string();
    let handle = lab.within(name, move || {
        let options = ConnectOptions {
            connect_timeout: Duration::from_secs(2),
            ..ConnectOptions::new(address, "bob")
        };
        client::connect(options, natter::network::no_wake_up()).unwrap()
    });
    recv_where(handle.events(), "Failed", |e| match e {
        ClientEvent::Failed(error) => Some(error),
        _ => None,
    })
}

fn diagnose_on(
    lab: &Lab,
    name: &str,
    error: client::ClientError,
    heard: bool,
) -> doctor::Diagnosis {
    lab.within(name, move || {
        doctor::diagnose(&error, &local_ipv4_addresses(), heard)
    })
}

#[test]
fn lab_a_firewalled_host_is_diagnosed_as_such_on_the_client_and_receives_the_note() {
    let Some(lab) = Lab::up("lab_firewalled_host") else {
        return;
    };
    let host = host_on(&lab, "c", 5050, "Behind a firewall");
    let (mut on_b, woken_b) = finder_on(&lab, "b");
    let rooms = until_rooms(&mut on_b, &woken_b, WAIT, |r| !r.is_empty())
        .expect("UDP gets through: B hears C's room");
    let addr = rooms[0].addr;
    assert_eq!(addr, "10.66.1.3:5050".parse().unwrap());
    let error = fail_to_connect(&lab, "b", &addr.to_string());
    let heard = on_b.room_at(addr).is_some();
    let diagnosis = diagnose_on(&lab, "b", error, heard);
    assert_eq!(diagnosis.case, Case::HostFirewall, "{}", diagnosis.text);
    assert!(
        diagnosis
            .text
            .starts_with("The host is on your network but its firewall blocks port 5050"),
        "{}",
        diagnosis.text
    );
    assert!(diagnosis.tell_host());
    // The note goes out from B's namespace (the finder's socket lives there).
    assert!(lab.within("b", move || {
        let sent = on_b.tell_unreachable(addr);
        drop(on_b);
        sent
    }));
    let (from, port) = recv_where(host.server().events(), "CouldNotReach", |e| match e {
        ServerEvent::CouldNotReach { from, port } => Some((from, port)),
        _ => None,
    });
    assert_eq!((from.to_string(), port), ("10.66.1.2".to_string(), 5050));
    assert_eq!(
        doctor::firewall_note(from, port),
        "Someone at 10.66.1.2 tried to join but could not reach port 5050: your firewall probably blocks it."
    );
}

#[test]
fn lab_refused_no_answer_and_no_route_are_told_apart() {
    let Some(lab) = Lab::up("lab_refused_no_answer_no_route") else {
        return;
    };
    // Nothing listens on A's port 5999.
    let refused = fail_to_connect(&lab, "b", "10.66.1.1:5999");
    let refused = diagnose_on(&lab, "b", refused, false);
    assert_eq!(refused.case, Case::Refused, "{}", refused.text);
    // C drops port 5050 silently, and B has not heard C announce (C hosts nothing).
    let silent = fail_to_connect(&lab, "b", "10.66.1.3:5050");
    let silent = diagnose_on(&lab, "b", silent, false);
    assert_eq!(silent.case, Case::NoAnswer, "{}", silent.text);
    // B has no route to 10.99.0.0/16.
    let nowhere = fail_to_connect(&lab, "b", "10.99.0.1:5050");
    let nowhere = diagnose_on(&lab, "b", nowhere, false);
    assert_eq!(nowhere.case, Case::NoRoute, "{}", nowhere.text);
    assert!(
        nowhere
            .text
            .contains("on another network than this computer (10.66.1.2/24 on eth0)"),
        "{}",
        nowhere.text
    );
}

/// Issue 25, "Done when": on a real (virtual) LAN, a host on A announces "Lab 3"; bob's window
/// on B joins it from the list (so its key is pinned) and leaves. An impostor on C runs a
/// Natter host with its own key on port 6060 and broadcasts, from a plain UDP socket, the
/// real room's `id` at its own address with its own key. Bob's list shows both entries, the
/// impostor's marked; Join on it (the window's own button) stops at the changed-code warning
/// and the impostor hears nothing. A `gone` for the real room broadcast from C removes nothing.
#[test]
fn lab_a_pinned_window_joining_an_impostors_entry_gets_the_warning_sends_nothing_and_a_spoofed_goodbye_removes_nothing()
 {
    let Some(lab) = Lab::up("lab_impostor_room") else {
        return;
    };
    let (real, real_key) = keyed_host_on(&lab, "a", 5050, Some("Lab 3"));
    let id = real.server().announced_id().unwrap().to_string();
    let (impostor, impostor_key) = keyed_host_on(&lab, "c", 6060, None);
    let impostor_events = impostor.server().events().clone();
    // A socket made on C stays on C, whichever thread sends on it.
    let forger = lab.within("c", || {
        let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        socket.set_broadcast(true).unwrap();
        socket
    });
    let broadcast: SocketAddr = "10.66.1.255:5050".parse().unwrap();
    let claim = format!(
        r#"{{"natter":"room","version":1,"id":"{id}","room":"Lab 3","host":"alice","port":6060,"people":1,"key":"{}"}}"#,
        impostor_key.to_text()
    );
    let goodbye = format!(r#"{{"natter":"gone","id":"{id}","port":5050}}"#);
    let marker = r#"{"natter":"room","version":1,"id":"00000000000000ff","room":"marker","host":"m","port":7070,"people":1}"#;
    let real_at: SocketAddr = "10.66.1.1:5050".parse().unwrap();
    let impostor_at: SocketAddr = "10.66.1.3:6060".parse().unwrap();
    let real_id = id.clone();
    let pins = lab.within("b", move || {
        let id = real_id;
        let mut bob = Window::new();
        bob.harness.state_mut().options_mut().discovery = Some(Reach::lan());
        bob.open_tab("Connect");
        bob.type_into("Your nickname", "bob");
        let real_listed = |h: &egui_kittest::Harness<'static, natter::app::NatterApp>| {
            h.state()
                .rooms()
                .iter()
                .any(|r| r.addr == real_at && r.key == Some(real_key))
        };
        bob.until("A's room is listed with its key", real_listed);
        bob.click("Join");
        bob.until_shown("New host: compare this code");
        bob.end_chat("Leave");
        bob.click("New chat");
        bob.until("A's room is listed again", real_listed);

        forger.send_to(claim.as_bytes(), broadcast).unwrap();
        bob.until("the impostor's entry is listed too", |h| {
            h.state().rooms().iter().filter(|r| r.id == id).count() == 2
        });
        bob.until_shown(natter::ui::rooms::DIFFERS);
        let index = bob
            .app()
            .rooms()
            .iter()
            .position(|r| r.addr == impostor_at)
            .unwrap();
        bob.harness
            .query_all_by_role_and_label(egui::accesskit::Role::Button, "Join")
            .nth(index)
            .expect("the impostor entry's Join button")
            .click();
        bob.until("the warning is up", |h| h.state().key_warning().is_some());
        bob.until_shown("this host's code has changed");
        assert!(bob.harness.query_by_label(&real_key.code()).is_some());
        assert!(bob.harness.query_by_label(&impostor_key.code()).is_some());
        assert!(!bob.app().in_chat());
        bob.click("Don't connect");

        forger.send_to(goodbye.as_bytes(), broadcast).unwrap();
        forger.send_to(marker.as_bytes(), broadcast).unwrap();
        bob.until("the marker sent after the goodbye is listed", |h| {
            h.state().rooms().iter().any(|r| r.room == "marker")
        });
        assert!(
            bob.app().rooms().iter().any(|r| r.addr == real_at),
            "a goodbye from C removed A's room: {:?}",
            bob.app().rooms()
        );
        let settings = bob.app().settings();
        (
            settings.pinned_room(&id),
            settings.pinned_address(&real_at.to_string()),
            settings.pinned_address(&impostor_at.to_string()),
        )
    });
    assert_eq!(pins, (Some(real_key), Some(real_key), None));
    impostor.stop();
    let heard: Vec<ServerEvent> = impostor_events
        .try_iter()
        .filter(|e| {
            matches!(
                e,
                ServerEvent::Joined { .. }
                    | ServerEvent::Message(_)
                    | ServerEvent::PeerError { .. }
            )
        })
        .collect();
    assert!(heard.is_empty(), "the impostor heard: {heard:?}");
    real.stop();
}

/// The figure for the issue's note: announcement bytes per minute on A's interface, with
/// nothing else on the lab network. Takes a minute, so run it by hand:
/// `cargo test --test lab -- --ignored --nocapture`.
#[test]
#[ignore = "takes 65 s; run by hand for the bytes-per-minute figure"]
fn lab_measure_announcement_bytes_per_minute_per_interface() {
    let Some(lab) = Lab::up("lab_measure_bytes") else {
        return;
    };
    let tx_bytes = |lab: &Lab| -> u64 {
        let out = lab.run("a", "cat", &["/sys/class/net/eth0/statistics/tx_bytes"]);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let host = host_on(&lab, "a", 5050, "Lab 3 on the second floor");
    // Past the burst, then one steady minute.
    let (_tick, never) = crossbeam_channel::bounded::<()>(0);
    let _ = never.recv_timeout(Duration::from_secs(5));
    let before = tx_bytes(&lab);
    let _ = never.recv_timeout(Duration::from_secs(60));
    let after = tx_bytes(&lab);
    println!(
        "LAB FIGURE: steady announcements: {} bytes per minute on one interface (Ethernet frames)",
        after - before
    );
    host.stop();
}

/// An address configured without a broadcast address (`ip addr add 10.66.1.1/24 dev eth0`, no
/// `brd`): Linux then reports the address itself as its broadcast, and announcements went to
/// the host itself. The broadcast is computed from the netmask instead, and B lists the room.
#[test]
fn lab_a_host_whose_address_has_no_broadcast_configured_is_still_listed_on_another_computer() {
    let Some(lab) = Lab::up("lab_no_brd") else {
        return;
    };
    for args in [
        ["addr", "del", "10.66.1.1/24", "dev", "eth0"],
        ["addr", "add", "10.66.1.1/24", "dev", "eth0"],
    ] {
        let out = lab.run("a", "ip", &args);
        assert!(out.status.success(), "ip {args:?}: {out:?}");
    }
    let shown = lab.run("a", "ip", &["-4", "addr", "show", "dev", "eth0"]);
    let shown = String::from_utf8_lossy(&shown.stdout).to_string();
    assert!(
        shown.contains("10.66.1.1/24") && !shown.contains("brd"),
        "{shown}"
    );
    let eth0 = lab.within("a", || {
        local_ipv4_addresses()
            .into_iter()
            .find(|a| a.interface == "eth0")
    });
    assert_eq!(
        eth0.and_then(|a| a.broadcast),
        Some(std::net::Ipv4Addr::new(10, 66, 1, 255))
    );
    let (mut on_b, woken_b) = finder_on(&lab, "b");
    let host = host_on(&lab, "a", 5050, "No brd");
    let id = host.server().announced_id().unwrap().to_string();
    let rooms = until_rooms(&mut on_b, &woken_b, WAIT, |r| r.iter().any(|x| x.id == id))
        .expect("B lists A's room although A's address has no broadcast configured");
    let room = rooms.iter().find(|x| x.id == id).unwrap();
    assert_eq!(room.room, "No brd");
    host.stop();
}
