//! The window: placeholder until the window issue lands.

/// Opens the window and runs until it is closed.
pub fn run_window() -> Result<(), String> {
    Err("The window is not built yet; use `natter serve`.".into())
}
