//! `natter rooms`: asks who is hosting on the local network, listens a moment, and prints one
//! line per room for scripts.
//!
//! Owns the wording of those lines (name, host, `address:port`, people, the announced code,
//! separated by tabs). The finding itself is `network::discovery::Finder`'s: two hosts
//! claiming one room are two lines. It does not read the window's trusted codes (they live
//! in the window's own storage), so it marks nothing as differing: the code is printed for a
//! person to compare with the host's screen.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::network::discovery::{Finder, FoundRoom, Pace, Reach};

/// One room as `natter rooms` prints it: fields separated by tabs (names come cleaned and on
/// one line, with tabs made spaces, so a field never holds a tab or a newline). The last field
/// is the code the room announced (`-` when it announced none): an announcement proves
/// nothing, so it is for comparing with the host's screen.
pub fn room_line(room: &FoundRoom) -> String {
    let code = room.key.map_or_else(|| "-".to_string(), |k| k.code());
    format!(
        "{}\t{}\t{}\t{}\t{code}",
        room.room, room.host, room.addr, room.people
    )
}

/// Asks, listens for `wait`, then prints every room heard to stdout (and, when none was heard,
/// says so on stderr).
pub fn print_rooms(reach: Reach, wait: Duration) -> Result<(), String> {
    let (woken_tx, woken) = crossbeam_channel::bounded::<()>(1);
    let mut finder = Finder::start(
        reach,
        Pace::default(),
        std::sync::Arc::new(move || {
            let _ = woken_tx.try_send(());
        }),
    )
    .map_err(|e| format!("Could not listen for rooms on the network: {e}"))?;
    let deadline = Instant::now() + wait;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let _ = woken.recv_timeout(left);
    }
    let lines: Vec<String> = finder.rooms().iter().map(room_line).collect();
    finder.stop();
    let mut out = std::io::stdout().lock();
    for line in &lines {
        writeln!(out, "{line}").map_err(|e| format!("Could not print: {e}"))?;
    }
    if lines.is_empty() {
        eprintln!("No rooms heard within {:.1} s.", wait.as_secs_f64());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_line_is_name_host_address_people_and_announced_code_separated_by_tabs() {
        let mut room = FoundRoom {
            id: "0123456789abcdef".into(),
            room: "Lab 3".into(),
            host: "alice".into(),
            addr: "10.66.1.1:5050".parse().unwrap(),
            people: 3,
            version: 1,
            from: "10.66.1.1:5050".parse().unwrap(),
            last_heard: Instant::now(),
            key: None,
        };
        assert_eq!(room_line(&room), "Lab 3\talice\t10.66.1.1:5050\t3\t-");
        let key =
            crate::network::tls::Fingerprint::from_text(&format!("sha256:{}", "00".repeat(32)));
        room.key = key;
        assert_eq!(
            room_line(&room),
            "Lab 3\talice\t10.66.1.1:5050\t3\t00000 00000 00000 00000 00000"
        );
    }
}
