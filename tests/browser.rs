//! The room in a real browser: Debian's chromium driven by Playwright for Python
//! (tests/browser/driver.py), against a real server on 127.0.0.1. Skips with a message where
//! chromium or Playwright is missing, and fails under CI=true then (scripts/setup.sh installs
//! both). Nothing is downloaded at test time.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;

use common::{CuttableProxy, Killed, RawPeer, chat_of, start_server, test_config};
use natter::network::protocol::ServerFrame;
use natter::network::server::{self, ServerConfig, ServerHandle};
use natter::network::tls::Identity;

const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromium page under the test's control.
struct Browser {
    _child: Killed,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Browser {
    /// Starts the driver, or says why not: `None` skips the test (a failure under CI=true).
    fn start() -> Option<Browser> {
        let playwright = Command::new("python3")
            .args(["-c", "import playwright"])
            .output()
            .is_ok_and(|o| o.status.success());
        let chromium = std::path::Path::new(CHROMIUM).exists();
        if !playwright || !chromium {
            let missing = match (playwright, chromium) {
                (false, false) => "Playwright for Python and chromium are",
                (false, true) => "Playwright for Python is",
                _ => "chromium is",
            };
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{missing} missing: scripts/setup.sh installs them"
            );
            eprintln!(
                "skipped: {missing} missing on this machine (scripts/setup.sh installs them)"
            );
            return None;
        }
        let driver = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/driver.py");
        let mut child = Command::new("python3")
            .arg(driver)
            .env("NATTER_CHROMIUM", CHROMIUM)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Some(Browser {
            _child: Killed(child),
            stdin,
            stdout,
        })
    }

    /// Runs one command (see driver.py) and returns its result; panics with the driver's
    /// words if it failed.
    fn run(&mut self, command: serde_json::Value) -> String {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).unwrap();
        let answer = answer.trim_end();
        match answer.strip_prefix("ok") {
            Some(result) => result.trim_start().to_string(),
            None => panic!("the browser could not {command}: {answer:?}"),
        }
    }

    fn open(&mut self, addr: SocketAddr) {
        self.run(serde_json::json!({"do": "open", "url": format!("http://{addr}/")}));
    }

    fn join(&mut self, nick: &str) {
        self.run(serde_json::json!({"do": "join", "nick": nick}));
    }

    fn sees(&mut self, text: &str) {
        self.run(serde_json::json!({"do": "see", "text": text}));
    }

    fn times_shown(&mut self, text: &str) -> usize {
        self.run(serde_json::json!({"do": "count", "text": text}))
            .parse()
            .unwrap()
    }

    fn says(&mut self, text: &str) {
        self.run(serde_json::json!({"do": "say", "text": text}));
    }
}

/// A server on `addr` (port 0: any) with the host key `identity`.
fn host(addr: &str, identity: &Arc<Identity>) -> ServerHandle {
    let config = ServerConfig {
        identity: Some(Arc::clone(identity)),
        ..test_config()
    };
    if addr.ends_with(":0") {
        return start_server(config);
    }
    let listener = server::bind(addr.parse().unwrap()).unwrap();
    let handle = server::start(listener, config, natter::network::no_wake_up()).unwrap();
    common::recv_where(handle.events(), "the restarted host starts", |e| match e {
        server::ServerEvent::Started { .. } => Some(()),
        _ => None,
    });
    handle
}

/// The next chat `peer` reads, as (from, text).
fn next_chat(peer: &RawPeer) -> (String, String) {
    let message = peer.frame_where(chat_of);
    (message.from, message.text)
}

#[test]
fn browser_json_and_nc_peers_chat_in_hebrew_and_chinese_joins_and_leaves_show_markup_stays_text() {
    let Some(mut browser) = Browser::start() else {
        return;
    };
    let identity = Arc::new(Identity::generate().unwrap());
    let server = host("127.0.0.1:0", &identity);
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    let mut nc = RawPeer::connect(addr);
    nc.text_until("Online");
    nc.send_raw(b"/nick Dana\n");
    nc.text_until("guest-1 is now Dana");

    browser.open(addr);
    browser.join("Noa <b>");
    let joined = alice.frame_where(|f| match f {
        ServerFrame::Join {
            nick, unencrypted, ..
        } if nick.starts_with("Noa") => Some((nick, unencrypted)),
        _ => None,
    });
    assert_eq!(
        joined,
        ("Noa <b>".to_string(), true),
        "marked like nc users"
    );
    nc.text_until("* Noa <b> joined without encryption");

    alice.say("你好 <b>bold</b> from alice", "1");
    nc.send_raw("שלום <img src=x onerror=alert(1)> from Dana\n".as_bytes());
    browser.sees("alice: 你好 <b>bold</b> from alice");
    browser.sees("Dana: שלום <img src=x onerror=alert(1)> from Dana");
    let tags = browser.run(serde_json::json!({"do": "elements_in_log"}));
    assert_eq!(tags, "p,span,time", "peer markup became elements");
    assert_eq!(browser.run(serde_json::json!({"do": "dir_auto"})), "True");

    browser.says("עברית ו中文 <i>x</i>");
    let from_the_page = alice.frame_where(|f| chat_of(f).filter(|m| m.from == "Noa <b>"));
    assert_eq!(from_the_page.text, "עברית ו中文 <i>x</i>");
    nc.text_until("Noa <b>: עברית ו中文 <i>x</i>");
    // The Send button does what Enter does.
    browser.run(serde_json::json!({"do": "send_button", "text": "by the button"}));
    assert_eq!(next_chat(&alice).1, "by the button");
    browser.sees("Noa <b>: by the button");
    // Joins and leaves are lines of the log, and the list follows them.
    let (carol, _) = RawPeer::join(addr, "carol");
    browser.sees("carol joined");
    carol.vanish();
    browser.sees("carol left");
    let people = browser.run(serde_json::json!({"do": "people"}));
    assert!(
        people.contains("alice")
            && people.contains("Dana")
            && people.contains("Noa <b> (you)")
            && !people.contains("carol"),
        "{people}"
    );
}

#[test]
fn a_browser_that_lost_its_link_gets_exactly_the_missed_messages() {
    let Some(mut browser) = Browser::start() else {
        return;
    };
    let identity = Arc::new(Identity::generate().unwrap());
    let server = host("127.0.0.1:0", &identity);
    let (mut alice, _) = RawPeer::join(server.local_addr(), "alice");
    let proxy = CuttableProxy::start(server.local_addr());
    browser.open(proxy.addr);
    browser.join("Noa");
    alice.say("before the cut", "1");
    browser.sees("alice: before the cut");
    proxy.cut();
    alice.say("during the cut", "2");
    browser.sees("Back in the room.");
    browser.sees("alice: during the cut");
    assert_eq!(browser.times_shown("before the cut"), 1);
    assert_eq!(browser.times_shown("during the cut"), 1);
}

#[test]
fn the_page_survives_a_host_restart_on_the_same_port_and_key_with_nothing_lost() {
    let Some(mut browser) = Browser::start() else {
        return;
    };
    let identity = Arc::new(Identity::generate().unwrap());
    let server = host("127.0.0.1:0", &identity);
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    browser.open(addr);
    browser.join("Noa");
    alice.say("before the restart 你好", "1");
    browser.sees("alice: before the restart 你好");
    drop(alice);
    server.stop();
    browser.sees("The host stopped hosting");
    // Typed while the host is away: sent once it is back.
    browser.says("written while away שלום");
    let server = host(&addr.to_string(), &identity);
    // The page may be back before bob or after him: its message is in his history or live.
    let (mut bob, history) = RawPeer::join(addr, "bob");
    let written = (history.into_iter().find_map(chat_of))
        .map(|m| (m.from, m.text))
        .unwrap_or_else(|| next_chat(&bob));
    assert_eq!(
        written,
        ("Noa".to_string(), "written while away שלום".to_string())
    );
    browser.sees("The host restarted");
    bob.say("after the restart", "1");
    browser.sees("bob: after the restart");
    assert_eq!(browser.times_shown("before the restart 你好"), 1);
    assert_eq!(browser.times_shown("written while away שלום"), 1);
    drop(server);
}

#[test]
fn the_page_shows_history_and_fits_a_360_px_phone_without_sideways_scrolling_and_a_desktop() {
    let Some(mut browser) = Browser::start() else {
        return;
    };
    let identity = Arc::new(Identity::generate().unwrap());
    let server = host("127.0.0.1:0", &identity);
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    let mut nc = RawPeer::connect(addr);
    nc.text_until("Online");
    nc.send_raw("/nick דנה\n".as_bytes());
    alice.say("Lunch at 12? 午饭十二点？", "1");
    browser.open(addr);
    browser.join("Noa");
    // Said before the page joined: its history.
    browser.sees("alice: Lunch at 12? 午饭十二点？");
    nc.send_raw("שלום לכולם! מה נשמע?\n".as_bytes());
    browser.sees("שלום לכולם");
    alice.say(
        "A long word: Pneumonoultramicroscopicsilicovolcanoconiosis-and-more",
        "2",
    );
    browser.sees("Pneumonoultramicroscopicsilicovolcanoconiosis");
    browser.says("On my way 🚲");
    browser.sees("Noa: On my way");
    let shots = std::env::var_os("NATTER_SCREENSHOTS").is_some();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/screenshots");
    for (name, width, height) in [("web-phone", 360, 740), ("web-desktop", 1280, 800)] {
        browser.run(serde_json::json!({"do": "size", "width": width, "height": height}));
        assert_eq!(
            browser.run(serde_json::json!({"do": "overflows"})),
            "False",
            "{name}: the page scrolls sideways at {width} px"
        );
        if shots {
            let path = format!("{dir}/{name}.png");
            browser.run(serde_json::json!({"do": "screenshot", "path": path}));
        }
    }
}

#[test]
fn a_browser_reads_the_hosts_lines_addressed_to_it_and_stays_out_once_kicked() {
    use natter::network::protocol::{ClientFrame, FEATURE_MODERATION, ModCommand, Role};
    let Some(mut browser) = Browser::start() else {
        return;
    };
    let token = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
    let server = start_server(ServerConfig {
        host_token: Some(token.into()),
        ..test_config()
    });
    let addr = server.local_addr();
    let mut dana = RawPeer::hello_with_features(addr, "dana", &[FEATURE_MODERATION]);
    dana.accepted();
    dana.send(&ClientFrame::HostToken {
        token: token.into(),
    });
    dana.frame_where(|f| match f {
        ServerFrame::Roles(roles) if roles.you == Role::Host => Some(()),
        _ => None,
    });
    browser.open(addr);
    browser.join("Noa");
    dana.frame_where(|f| matches!(f, ServerFrame::Join { .. }).then_some(()));
    dana.send(&ClientFrame::Moderate(ModCommand::Mute {
        nick: "noa".into(),
        minutes: Some(10),
    }));
    browser.sees("dana muted you for 10 minutes; it ends at");
    dana.send(&ClientFrame::Moderate(ModCommand::Kick {
        nick: "noa".into(),
        reason: "enough".into(),
    }));
    // Shown once the link closed instead of "reconnecting": the page does not come back.
    browser.run(serde_json::json!({
        "do": "status",
        "text": "Out of the room: dana kicked you out of the room: enough. You may come back."
    }));
}
