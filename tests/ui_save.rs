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
        app.options_mut().save_dialog_possible = dialog;
        // As on a desktop with a session bus, unless a test says otherwise.
        app.options_mut().open_folder_possible = true;
        app.options_mut().save_fallback_dir = Some(folder.to_path_buf());
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

/// Issue 29 §10: the note saying where a log went without a dialog used to stay for good.
#[test]
fn the_saved_without_a_dialog_note_goes_away_when_ok_is_pressed() {
    let folder = tempfile::tempdir().unwrap();
    let mut window = hosting_with_a_line(folder.path(), false);
    window.click("Save chat log");
    window.until_shown("so the chat log was saved to");
    window.click("OK");
    window.harness.run_steps(2);
    assert!(
        window
            .harness
            .query_by_label_contains("so the chat log was saved to")
            .is_none(),
        "the note is gone"
    );
    assert!(
        window
            .harness
            .query_by_role_and_label(Role::Button, "Open folder")
            .is_none()
            && window
                .harness
                .query_by_role_and_label(Role::Button, "Copy path")
                .is_none(),
        "its buttons went with it"
    );
}

/// Issue 29 §14: saved logs were 0644 (readable by every account) while downloads are 0600.
#[cfg(unix)]
#[test]
fn saved_chat_logs_are_readable_by_their_owner_only_with_or_without_a_dialog() {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let folder = tempfile::tempdir().unwrap();
    let mut window = hosting_with_a_line(folder.path(), false);
    window.click("Save chat log");
    window.until_shown("so the chat log was saved to");
    let without_dialog = folder.path().join(&saved_files(folder.path())[0]);
    assert_eq!(mode(&without_dialog), 0o600, "saved without a dialog");

    // Where the dialog's pick goes: written through a temporary file, then renamed.
    let picked = folder.path().join("picked.txt");
    window.harness.state_mut().save_log_to(picked.clone());
    assert!(
        std::fs::read_to_string(&picked)
            .unwrap()
            .contains("remember the milk")
    );
    assert_eq!(mode(&picked), 0o600, "saved where the dialog pointed");
}

/// Issue 29 §13: the portal's save dialog opened in `/`. It opens in Documents (here the test's
/// stand-in for it), then where the last log went, while that folder is there.
#[test]
fn the_save_dialog_opens_in_documents_then_where_the_last_chat_log_went() {
    let documents = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let mut window = hosting_with_a_line(documents.path(), false);
    assert_eq!(window.app().log_dialog_dir(), documents.path());

    let last = elsewhere.path().join("logs");
    std::fs::create_dir(&last).unwrap();
    window
        .harness
        .state_mut()
        .save_log_to(last.join("ours.txt"));
    assert_eq!(window.app().log_dialog_dir(), last);
    assert_eq!(
        window.app().settings().log_dir.as_deref(),
        Some(last.as_path()),
        "remembered with the settings"
    );
    let stored = window.app().settings().to_ron();
    let (reloaded, _) = natter::settings::Settings::load(Some(&stored));
    assert_eq!(reloaded.log_dir.as_deref(), Some(last.as_path()));

    std::fs::remove_dir_all(&last).unwrap();
    assert_eq!(
        window.app().log_dialog_dir(),
        documents.path(),
        "a folder that is gone is not offered"
    );
}

/// Issue 29 §15: on a bare desktop (no session bus) Open folder showed nothing and left a
/// D-Bus session running after Natter exited. There it is not offered; Copy path is.
#[test]
fn without_a_session_bus_open_folder_is_not_offered_and_copy_path_is() {
    let folder = tempfile::tempdir().unwrap();
    let mut window = hosting_with_a_line(folder.path(), false);
    window
        .harness
        .state_mut()
        .options_mut()
        .open_folder_possible = false;
    window.click("Save chat log");
    window.until_shown("so the chat log was saved to");
    assert!(
        window
            .harness
            .query_by_role_and_label(Role::Button, "Open folder")
            .is_none()
    );
    assert!(
        window
            .harness
            .query_by_role_and_label(Role::Button, "Copy path")
            .is_some()
    );
}
