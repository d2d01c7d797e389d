//! Windows consoles. A release `natter.exe` is a GUI program (no console window when it is
//! double-clicked), so it attaches to the console of the shell that started it, if any: then
//! `natter serve`, `natter rooms`, `--help` and error messages print there. Closing that console
//! (or logging off, shutting down) stops `natter serve` the way Ctrl+C does, and waits for the
//! goodbyes before Windows ends the process.
//!
//! Owns only these two console calls; what `serve` prints and how it stops is `headless`.

use std::sync::OnceLock;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use windows_sys::Win32::Foundation::{FALSE, TRUE};
use windows_sys::Win32::System::Console::{
    ATTACH_PARENT_PROCESS, AttachConsole, CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT,
    SetConsoleCtrlHandler,
};
use windows_sys::core::BOOL;

/// Prints go to the console of the shell that started Natter. Fails quietly when there is
/// none (double-clicked, the Start menu) or when Natter already has one (a debug build).
pub fn attach_to_parent_console() {
    // SAFETY: no pointers; failing leaves the process as it was.
    unsafe {
        AttachConsole(ATTACH_PARENT_PROCESS);
    }
}

/// Windows ends a process 5 s after its console is closed; the goodbyes take well under 1 s.
const CLOSE_WAIT: Duration = Duration::from_secs(4);

struct Closing {
    stop: Sender<()>,
    done: Receiver<()>,
}

static CLOSING: OnceLock<Closing> = OnceLock::new();

/// From now on, closing the console (logging off, shutting down) sends on `stop` and holds
/// Windows off until the returned sender is dropped (or 4 s passed). Ctrl+C and Ctrl+Break
/// are left to the handler installed before (ctrlc's). Call once.
pub fn stop_on_close(stop: Sender<()>) -> Result<Sender<()>, String> {
    let (done_tx, done) = crossbeam_channel::bounded(0);
    CLOSING
        .set(Closing { stop, done })
        .map_err(|_| "the console close handler is already set".to_string())?;
    // SAFETY: `on_console_event` is a plain function that lives as long as the program.
    if unsafe { SetConsoleCtrlHandler(Some(on_console_event), TRUE) } == FALSE {
        return Err(format!(
            "Could not catch the console closing: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(done_tx)
}

/// Runs on a thread Windows makes for the event. Handlers run newest first: returning FALSE
/// passes Ctrl+C on to ctrlc's handler.
unsafe extern "system" fn on_console_event(event: u32) -> BOOL {
    handle(CLOSING.get(), event, CLOSE_WAIT)
}

/// What `on_console_event` does with `event`: closing the console, logging off and shutting
/// down stop the host and hold Windows off until the goodbyes are said (`done` dropped) or
/// `wait` passed, and count as handled; anything else (Ctrl+C, Ctrl+Break) is left to the
/// handler before this one.
fn handle(closing: Option<&Closing>, event: u32, wait: Duration) -> BOOL {
    match event {
        CTRL_CLOSE_EVENT | CTRL_LOGOFF_EVENT | CTRL_SHUTDOWN_EVENT => {
            if let Some(closing) = closing {
                let _ = closing.stop.try_send(());
                let _ = closing.done.recv_timeout(wait);
            }
            TRUE
        }
        _ => FALSE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, CTRL_C_EVENT};

    /// Long enough that the handler can only return early because `done` was dropped.
    const NEVER: Duration = Duration::from_secs(600);
    const WITHIN: Duration = Duration::from_secs(30);

    #[test]
    fn closing_logoff_and_shutdown_stop_the_host_and_wait_until_the_goodbyes_are_said() {
        for event in [CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT] {
            let (stop, stopped) = crossbeam_channel::bounded(1);
            let (done, done_rx) = crossbeam_channel::bounded::<()>(0);
            let (returned_tx, returned) = crossbeam_channel::bounded(1);
            let handler = std::thread::spawn(move || {
                let closing = Closing {
                    stop,
                    done: done_rx,
                };
                let _ = returned_tx.send(handle(Some(&closing), event, NEVER));
            });
            stopped
                .recv_timeout(WITHIN)
                .unwrap_or_else(|_| panic!("event {event} did not ask the host to stop"));
            // A zero-capacity channel: this send goes through only while the handler waits on
            // it, so the handler holds Windows off while the host says goodbye.
            assert!(
                done.send_timeout((), WITHIN).is_ok(),
                "event {event}: the handler did not wait for the goodbyes"
            );
            assert_eq!(returned.recv_timeout(WITHIN), Ok(TRUE), "event {event}");
            handler.join().unwrap();
        }
    }

    #[test]
    fn ctrl_c_and_ctrl_break_are_left_to_the_earlier_handler_and_stop_nothing_here() {
        for event in [CTRL_C_EVENT, CTRL_BREAK_EVENT] {
            let (stop, stopped) = crossbeam_channel::bounded(1);
            let (_done, done) = crossbeam_channel::bounded::<()>(0);
            let closing = Closing { stop, done };
            assert_eq!(handle(Some(&closing), event, NEVER), FALSE, "event {event}");
            assert!(
                stopped.try_recv().is_err(),
                "event {event} stopped the host"
            );
        }
    }
}
