//! A crowd costs the server no thread of its own: connections live on a fixed few I/O
//! threads, however many people come. Alone in its process (tests/solo.rs): it counts this process's
//! threads, which other tests' servers would disturb. Linux only: threads are counted in /proc.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use common::{WAIT, natter_threads, recv_where, start_server, test_config};
use natter::network::protocol::{ClientFrame, encode};
use natter::network::server::ServerEvent;

const CROWD: usize = 150;

fn join(addr: std::net::SocketAddr, i: usize) -> TcpStream {
    {
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
        stream
    }
}

/// Joins the whole crowd, counts the server's threads while all are in, then lets them go.
fn join_count_and_leave_all(addr: std::net::SocketAddr) -> Vec<String> {
    let mut crowd = Vec::new();
    for i in 0..CROWD {
        crowd.push(join(addr, i));
    }
    let with_crowd = natter_threads();
    drop(crowd);
    with_crowd
}

#[test]
fn a_crowd_of_150_adds_no_server_thread_and_all_of_them_leave() {
    let _alone = crate::alone();
    let server = start_server(test_config());
    // Two people in: connections 0 and 1, one on each of the two I/O threads (`id % 2`), so
    // every server thread has run and named itself (one person left the other I/O thread
    // unnamed on a busy machine: it counted as a thread the crowd had added).
    let first = join(server.local_addr(), CROWD);
    let second = join(server.local_addr(), CROWD + 1);
    let with_two = natter_threads();
    let with_crowd = join_count_and_leave_all(server.local_addr());
    assert_eq!(
        with_crowd.len(),
        with_two.len(),
        "server threads with 152 people vs two: {with_crowd:?} vs {with_two:?}"
    );
    drop(first);
    drop(second);
    for _ in 0..CROWD + 2 {
        recv_where(server.events(), "a member leaving", |e| {
            matches!(e, ServerEvent::Left { .. }).then_some(())
        });
    }
    assert_eq!(server.members(), Vec::<String>::new());
}
