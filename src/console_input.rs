//! `natter serve`'s standard input: the person hosting types room commands (`/mute bob 10`,
//! `/kick`, `/ban`, `/bans`, `/lecture on`, `/op`…), one per line.
//!
//! Owns reading those lines on their own thread (`natter-console-input`) and handing them
//! over a channel. A closed standard input (`< /dev/null`, a service manager, a pipe that
//! ended) ends only this thread: the server goes on. A `natter serve &` in the background of
//! a terminal is not stopped by the terminal for reading (SIGTTIN is ignored, so the read
//! fails instead, and is tried again each second until it is brought to the foreground). Does
//! not carry the commands out (`ServerHandle::console_command` does).

use std::io::BufRead;
use std::thread;
use std::time::Duration;

use crossbeam_channel::Receiver;

/// The longest line kept; the rest of a longer one is dropped.
const MAX_LINE_BYTES: usize = 4096;

/// How long to wait before reading again after a failed read (in the background of a
/// terminal).
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Starts reading standard input; each line (without its line end) comes on the channel,
/// which closes when standard input does. `None` if no thread could be started.
pub fn start() -> Option<Receiver<String>> {
    ignore_background_read_stops();
    let (lines_tx, lines) = crossbeam_channel::bounded(64);
    let started = thread::Builder::new()
        .name("natter-console-input".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            let mut line = Vec::new();
            loop {
                line.clear();
                let read = stdin.lock().read_until(b'\n', &mut line);
                match read {
                    Ok(0) => return,
                    Ok(_) => {
                        line.truncate(MAX_LINE_BYTES);
                        let text = String::from_utf8_lossy(&line);
                        let text = text.trim_end_matches(['\r', '\n']).to_string();
                        if lines_tx.send(text).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => thread::sleep(RETRY_AFTER),
                }
            }
        });
    started.ok().map(|_| lines)
}

/// A background process that reads its terminal is stopped by it (SIGTTIN) unless it ignores
/// the signal: then the read fails and the server goes on.
fn ignore_background_read_stops() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler code.
    unsafe {
        libc::signal(libc::SIGTTIN, libc::SIG_IGN);
    }
}
