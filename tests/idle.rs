//! An idle window does not keep repainting: the text cursor blinks for a few seconds after
//! the last input, then stays lit (a blink repaints the whole window).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app_window::Window;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use natter::app::CURSOR_BLINK_SECS;

/// Types into the message box, as a person would.
fn type_message(window: &mut Window, text: &str) {
    window
        .harness
        .get_by_role(Role::MultilineTextInput)
        .type_text(text);
    window.harness.run_steps(2);
}

fn cursor_blinks(window: &Window) -> bool {
    window.harness.ctx.global_style().visuals.text_cursor.blink
}

#[test]
fn the_text_cursor_stops_blinking_after_idle_seconds_and_blinks_again_on_a_key() {
    let (mut alice, _address) = Window::host("alice");
    type_message(&mut alice, "hi");
    assert!(cursor_blinks(&alice), "blinks while typing");
    // kittest moves egui's clock 0.25 s a step and sends no input of its own.
    let idle_steps = (CURSOR_BLINK_SECS / 0.25) as usize + 4;
    alice.harness.run_steps(idle_steps);
    assert!(
        !cursor_blinks(&alice),
        "steady after {CURSOR_BLINK_SECS} s without input"
    );
    type_message(&mut alice, "!");
    assert!(cursor_blinks(&alice), "blinks again once typing resumes");
    assert_eq!(alice.app().draft(), "hi!");
}
