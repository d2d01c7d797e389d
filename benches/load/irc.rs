//! The other server of `--against ngircd`: Debian's ngIRCd, installed with apt-get when it is
//! missing, run in the foreground on 127.0.0.1 with a private config in a temporary folder (a
//! free port, no PID file, no DNS/ident/PAM, and its limits raised as Natter's are, so that
//! the generator is not refused), pinned like `natter serve`; and the bench's IRC client:
//! NICK/USER registration and JOIN of one room. Reading IRC lines is in `read.rs`.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::apt::ensure_installed;
use crate::link::Link;
use crate::server::{SERVER_CPU, Server, pin_to};

/// The one channel every bench client joins.
pub(crate) const ROOM: &str = "#room";

/// A port on 127.0.0.1 that nothing listens on right now (ngIRCd takes no port 0).
fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// ngIRCd on 127.0.0.1 with room for `clients`, pinned to the server's CPU, killed when the
/// returned server is dropped (and by the kernel when the bench ends any other way).
pub(crate) fn start_ngircd(clients: usize) -> Server {
    if ensure_installed("ngircd", "ngircd", "--version") {
        // Debian's package starts its own ngIRCd on port 6667 of every interface where
        // services start on install: a bench must not leave an IRC server open to the network.
        let stopped = Command::new("systemctl")
            .args(["disable", "--now", "ngircd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
            || Command::new("service")
                .args(["ngircd", "stop"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        println!(
            "ngircd installed; its system service {}",
            if stopped {
                "was stopped and disabled"
            } else {
                "was not running"
            }
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("ngircd.conf");
    // MaxPenaltyTime = 0 turns off the flood penalties, as --rate/--burst do for Natter; no
    // connection, join or per-address limit; pings far beyond any run.
    std::fs::write(
        &config,
        format!(
            "[Global]\nName = bench.irc\nInfo = natter load bench\nListen = 127.0.0.1\n\
             Ports = {port}\nMotdPhrase = bench\nAdminInfo1 = bench\nAdminInfo2 = bench\n\
             AdminEMail = bench@localhost\n\
             [Limits]\nMaxConnections = 0\nMaxConnectionsIP = 0\nMaxJoins = 0\n\
             MaxPenaltyTime = 0\nPingTimeout = 3600\nPongTimeout = 3600\nMaxNickLength = 30\n\
             [Options]\nDNS = no\nIdent = no\nPAM = no\n"
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("ngircd.log")).unwrap();
    let mut command = Command::new("ngircd");
    pin_to(&mut command, SERVER_CPU);
    let child = command
        .arg("--nodaemon")
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("ngircd runs");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let log_path = dir.path().join("ngircd.log");
    let mut server = Server {
        child,
        addr,
        _dir: dir,
    };
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        let exited = server.child.try_wait().ok().flatten().is_some();
        assert!(
            !exited && Instant::now() < until,
            "ngircd did not listen on {addr} (room for {clients}): {}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        thread::sleep(Duration::from_millis(20));
    }
    server
}

/// Connects an IRC client: registration and JOIN in one write (ngIRCd handles them in order);
/// the welcome, the names list and everything after are read by the reader threads.
pub(crate) fn connect(addr: SocketAddr, nick: &str) -> Link {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let hello = format!("NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\nJOIN {ROOM}\r\n");
    stream.write_all(hello.as_bytes()).unwrap();
    Link {
        stream,
        tls: None,
        ws: false,
        irc: true,
    }
}
