//! After a crowd leaves, the server lets go of its connection threads at once, not when the
//! next person connects. Alone in its own test binary: it counts this process's thread stacks,
//! which other tests' threads would disturb.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{WAIT, recv_where, start_server, test_config};
use natter::network::protocol::{ClientFrame, encode};
use natter::network::server::ServerEvent;

const CROWD: usize = 150;

/// Thread stacks mapped in this process: read-write anonymous mappings of Rust's default
/// stack size (2 MiB, plus what glibc adds). An ended thread keeps its stack until joined.
fn thread_stacks() -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter(|line| {
            let mut fields = line.split_whitespace();
            let (range, perms) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
            let anonymous = fields.nth(3).is_none();
            let Some((start, end)) = range.split_once('-') else {
                return false;
            };
            let size =
                u64::from_str_radix(end, 16).unwrap() - u64::from_str_radix(start, 16).unwrap();
            perms == "rw-p" && anonymous && (2 << 20..(2 << 20) + (64 << 10)).contains(&size)
        })
        .count()
}

fn join_and_leave_all(addr: std::net::SocketAddr) {
    let mut crowd = Vec::new();
    for i in 0..CROWD {
        let mut stream = TcpStream::connect(addr).unwrap();
        let hello = ClientFrame::Hello {
            version: 1,
            nick: format!("c{i}"),
            resume: None,
            features: Vec::new(),
        };
        stream.write_all(&encode(&hello)).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while !line.contains("\"accepted\"") {
            line.clear();
            assert!(
                reader.read_line(&mut line).unwrap() > 0,
                "closed before accepted"
            );
        }
        crowd.push(stream);
    }
    drop(crowd);
}

#[cfg(target_os = "linux")]
#[test]
fn a_crowd_that_leaves_gives_back_its_thread_stacks_without_waiting_for_a_newcomer() {
    let server = start_server(test_config());
    let before = thread_stacks();
    join_and_leave_all(server.local_addr());
    let mut left = 0;
    while left < CROWD {
        recv_where(server.events(), "a member leaving", |e| {
            matches!(e, ServerEvent::Left { .. }).then_some(())
        });
        left += 1;
    }
    // Every connection has left the room; its thread ends right after. Allow a little for the
    // last ones to finish. glibc keeps up to 40 MiB of joined threads' stacks for reuse (20 of
    // 2 MiB); beyond those and a few still ending, none of the crowd's 150 may remain.
    let bound = before + 20 + 5;
    let deadline = Instant::now() + WAIT;
    while thread_stacks() > bound && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let after = thread_stacks();
    assert!(
        after <= bound,
        "{before} thread stacks mapped before the crowd, {after} after it left (bound {bound})"
    );
}
