//! Save chat log when no file dialog can be shown (no file-chooser portal, no session bus):
//! the log still goes to a dated file, never over another, and the window says where, with
//! Open folder and Copy path. Driven through the real app with egui_kittest.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app_window::Window;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

/// A hosting window that says something, with saves going to `folder` and no dialog.
fn hosting_with_a_line(folder: &std::path::Path, dialog: bool) -> Window {
    let (mut window, _) = Window::host("alice");
    {
        let app = window.harness.state_mut();
        app.save_dialog_possible = dialog;
        app.save_fallback_dir = Some(folder.to_path_buf());
    }
    window.say("remember the milk");
    window.until_shown("remember the milk");
    window
}

fn saved_files(folder: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn without_a_file_dialog_save_writes_a_dated_file_says_where_and_offers_open_folder_and_copy_path()
{
    let folder = tempfile::tempdir().unwrap();
    let mut window = hosting_with_a_line(folder.path(), false);
    window.click("Save chat log");
    window.until_shown("so the chat log was saved to");
    let names = saved_files(folder.path());
    assert_eq!(names.len(), 1, "{names:?}");
    let saved = folder.path().join(&names[0]);
    assert!(names[0].starts_with("natter-") && names[0].ends_with(".txt"));
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("alice: remember the milk"), "{text}");
    window.until_shown(&saved.display().to_string());
    assert!(
        window
            .harness
            .query_by_role_and_label(Role::Button, "Open folder")
            .is_some()
    );
    assert!(
        window
            .harness
            .query_by_role_and_label(Role::Button, "Copy path")
            .is_some()
    );

    // Saving again keeps the first file and adds a second.
    window.click("Save chat log");
    window.until("a second file", |_| saved_files(folder.path()).len() == 2);
    let names = saved_files(folder.path());
    assert!(names.iter().any(|n| n.contains(" (2)")), "{names:?}");
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), text);
}

/// The real dialog path on a desktop with no session bus (as here and in CI): rfd gives up at
/// once, which Natter takes as "no dialog could be shown" and saves anyway. Skipped where a
/// session bus is present, since a real dialog would then open.
#[test]
fn with_no_session_bus_the_dialog_returning_at_once_still_saves_the_log() {
    if natter::save::dialog_possible() {
        eprintln!("SKIPPED: a session bus is present here, so a real file dialog would open");
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let mut window = hosting_with_a_line(folder.path(), true);
    window.click("Save chat log");
    window.until_shown("so the chat log was saved to");
    assert_eq!(saved_files(folder.path()).len(), 1);
}
