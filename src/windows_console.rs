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
    match event {
        CTRL_CLOSE_EVENT | CTRL_LOGOFF_EVENT | CTRL_SHUTDOWN_EVENT => {
            if let Some(closing) = CLOSING.get() {
                let _ = closing.stop.try_send(());
                let _ = closing.done.recv_timeout(CLOSE_WAIT);
            }
            TRUE
        }
        _ => FALSE,
    }
}
