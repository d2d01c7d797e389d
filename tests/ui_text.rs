//! Text in the real window (`NatterApp` through egui_kittest): typing (IME composition,
//! Shift+Enter), right-to-left and mixed text in logical order and aligned, continuation lines
//! under the text, and the message box growing to its cap. Hosts listen on 127.0.0.1 with
//! port 0.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app_window::Window;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

/// IME composition as winit hands it to egui (pinyin "ni hao" composed, then 你好 committed):
/// the box shows the composition, keeps the committed text, and Enter sends it.
#[test]
fn ime_composition_types_chinese_into_the_message_box() {
    let (mut alice, _address) = Window::host("alice");
    let input = alice.harness.get_by_role(Role::MultilineTextInput);
    input.focus();
    alice.harness.run_steps(1);
    alice
        .harness
        .event(egui::Event::Ime(egui::ImeEvent::Preedit {
            text: "ni hao".into(),
            active_range_chars: None,
        }));
    alice.harness.run_steps(1);
    assert_eq!(
        alice.app().draft(),
        "ni hao",
        "the composition shows while it is being typed"
    );
    alice
        .harness
        .event(egui::Event::Ime(egui::ImeEvent::Commit("你好".into())));
    alice.harness.run_steps(1);
    assert_eq!(alice.app().draft(), "你好");
    alice.harness.key_press(egui::Key::Enter);
    alice.harness.run_steps(2);
    alice.until_shown("alice: 你好");
}

/// Where the harness's last frame painted the text whose galley reads exactly `text`.
fn painted_text(
    harness: &egui_kittest::Harness<'_, natter::app::NatterApp>,
    text: &str,
) -> egui::Rect {
    let rects: Vec<egui::Rect> = harness
        .output()
        .shapes
        .iter()
        .filter_map(|clipped| match &clipped.shape {
            egui::Shape::Text(shape) if shape.galley.text() == text => {
                Some(shape.galley.rect.translate(shape.pos.to_vec2()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(rects.len(), 1, "{text:?} painted once: {rects:?}");
    rects[0]
}

/// Hebrew typed in the box is sent in logical order and shown right to left once sent: the
/// painted Hebrew row ends at the right edge of its chat row, while an English row starts at
/// the left edge, measured on what the window painted.
#[test]
fn hebrew_is_sent_in_logical_order_and_shown_right_aligned() {
    let (mut alice, address) = Window::host("alice");
    let mut bob = Window::join("bob", &address);
    bob.say("שלום world");
    alice.until_shown("bob: שלום world");
    alice.say("hello world");
    alice.until("alice's line is delivered", |h| {
        h.query_by_label_contains("alice: hello world").is_some()
            && h.query_by_label_contains("(sending…)").is_none()
    });
    let chat = alice.app().chat().unwrap();
    let sent = chat
        .lines
        .iter()
        .find_map(|l| match &l.kind {
            natter::chat_state::LineKind::Message { text, .. } if text.contains("world") => {
                Some(text.clone())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(
        sent, "שלום world",
        "logical order on the wire and in the model"
    );

    alice.harness.run_steps(2);
    // A right-to-left row takes the chat's whole width; a left-to-right row's text is a label
    // as wide as its text, after the time and nick (checked below on what was painted).
    let width = alice
        .harness
        .get_by_label_contains("bob: שלום world")
        .rect();
    assert!(width.width() > 600.0, "a chat-wide row: {width:?}");
    let hebrew_row = width;
    // The right-to-left body is painted in visual order, on its own after the time and nick.
    let hebrew = painted_text(&alice.harness, "world שלום");
    assert!(
        (hebrew.right() - hebrew_row.right()).abs() <= 2.0,
        "the Hebrew line ends at the right edge: painted {hebrew:?} in row {hebrew_row:?}"
    );
    assert!(
        hebrew.left() > hebrew_row.center().x,
        "and is not stretched from the left: {hebrew:?} in {hebrew_row:?}"
    );
    // A left-to-right row: time and nick from the left edge, then the text beside them.
    let prefix_text = alice
        .harness
        .output()
        .shapes
        .iter()
        .find_map(|clipped| match &clipped.shape {
            egui::Shape::Text(shape) if shape.galley.text().ends_with("alice: ") => {
                Some(shape.galley.text().to_string())
            }
            _ => None,
        })
        .expect("the English row's time and nick are painted");
    let prefix = painted_text(&alice.harness, &prefix_text);
    let english = painted_text(&alice.harness, "hello world");
    assert!(
        (prefix.left() - width.left()).abs() <= 2.0,
        "the English line starts at the left edge: painted {prefix:?} in {width:?}"
    );
    assert!(
        (english.left() - prefix.right()).abs() <= 2.0,
        "its text follows the nick: {english:?} after {prefix:?}"
    );
    assert!(
        english.right() < width.center().x,
        "and does not reach the right: {english:?} in {width:?}"
    );
}

/// The widget that draws such rows: right-to-left paragraphs are flagged for right alignment,
/// pieces come in visual order, and wrapping happens before reordering.
#[test]
fn the_bidi_layout_orders_aligns_and_wraps() {
    let ctx = egui::Context::default();
    natter::ui::fonts::install(&ctx);
    let format = egui::TextFormat {
        font_id: egui::FontId::proportional(14.0),
        ..Default::default()
    };
    let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
        let rows = natter::ui::bidi_text::layout(ui, "שלום world", &format, 400.0, false);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].1, "a paragraph starting in Hebrew is right-aligned");
        assert_eq!(rows[0].0.text(), "world שלום", "visual piece order");

        let rows = natter::ui::bidi_text::layout(ui, "hello שלום", &format, 400.0, false);
        assert!(
            !rows[0].1,
            "a paragraph starting in English is left-aligned"
        );

        let long = "אחת שתיים שלוש ארבע חמש שש שבע שמונה תשע עשר";
        let rows = natter::ui::bidi_text::layout(ui, long, &format, 80.0, false);
        assert!(rows.len() > 2, "wrapped into several rows");
        assert!(
            rows[0].0.text().contains("אחת"),
            "the first words are on the first row"
        );
        let texts: Vec<String> = rows.iter().map(|r| r.0.text().to_string()).collect();
        assert!(texts.last().unwrap().contains("עשר"), "{texts:?}");
    });
    // Nothing renders here: the font atlas updates are not needed.
    output.textures_delta.clear();
}

#[test]
fn shift_enter_adds_a_line_and_enter_sends_both() {
    let (mut alice, _address) = Window::host("alice");
    let input = alice.harness.get_by_role(Role::MultilineTextInput);
    input.focus();
    input.type_text("first");
    alice.harness.run_steps(1);
    alice
        .harness
        .key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::Enter);
    alice.harness.run_steps(1);
    alice
        .harness
        .get_by_role(Role::MultilineTextInput)
        .type_text("second");
    alice.harness.run_steps(1);
    assert_eq!(
        alice.app().draft(),
        "first\nsecond",
        "Shift+Enter did not send"
    );
    alice.harness.key_press(egui::Key::Enter);
    alice.harness.run_steps(2);
    assert_eq!(alice.app().draft(), "", "Enter sent it");
    alice.until_shown("alice: first\nsecond");
}

/// Where each row of the painted galley whose text is exactly `text` starts (x).
fn painted_row_lefts(
    harness: &egui_kittest::Harness<'_, natter::app::NatterApp>,
    text: &str,
) -> Vec<f32> {
    harness
        .output()
        .shapes
        .iter()
        .find_map(|clipped| match &clipped.shape {
            egui::Shape::Text(shape) if shape.galley.text() == text => Some(
                shape
                    .galley
                    .rows
                    .iter()
                    .map(|row| shape.pos.x + row.rect().left())
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{text:?} is painted"))
}

#[test]
fn continuation_lines_of_typed_breaks_and_wraps_start_under_the_text_not_under_the_time() {
    let (mut alice, _address) = Window::host("alice");
    alice.say("first line\nsecond line");
    let long = "a long message that goes on and on ".repeat(8);
    alice.say(long.trim_end());
    alice.until("both lines are delivered", |h| {
        h.query_by_label_contains("alice: first line\nsecond line")
            .is_some()
            && h.query_all_by_label_contains("(sending…)").next().is_none()
    });
    alice.harness.run_steps(2);
    let row = alice
        .harness
        .get_by_label_contains("alice: first line\nsecond line")
        .rect();
    let lines = painted_row_lefts(&alice.harness, "first line\nsecond line");
    assert_eq!(lines.len(), 2, "two rows: {lines:?}");
    assert!(
        (lines[1] - lines[0]).abs() < 1.0,
        "the second line starts where the first line's text does: {lines:?}"
    );
    // The time and nickname are painted before the text, starting at the row's left edge.
    let time_x = alice
        .harness
        .output()
        .shapes
        .iter()
        .find_map(|clipped| match &clipped.shape {
            egui::Shape::Text(shape) if shape.galley.text().ends_with("alice: ") => {
                Some(shape.pos.x)
            }
            _ => None,
        })
        .expect("time and nickname are painted");
    assert!(
        lines[0] > time_x + 40.0,
        "the text is indented past the time and nick: text at {}, time at {time_x}, row {row:?}",
        lines[0]
    );
    let wrapped = painted_row_lefts(&alice.harness, long.trim_end());
    assert!(wrapped.len() > 1, "the long message wraps: {wrapped:?}");
    assert!(
        wrapped.iter().all(|x| (x - lines[0]).abs() < 1.0),
        "every wrapped line starts under the text: {wrapped:?} vs {}",
        lines[0]
    );
}

#[test]
fn the_message_box_grows_for_3_lines_stops_at_its_cap_for_10_and_send_keeps_its_size() {
    let (mut alice, _address) = Window::host("alice");
    // The input panel sits on the window's bottom edge with Send at its top right: how far up
    // Send is is how tall the panel (the box) is.
    let panel_height = |window: &Window| {
        640.0
            - window
                .harness
                .get_by_role_and_label(Role::Button, "Send")
                .rect()
                .top()
    };
    let send_size = |window: &Window| {
        window
            .harness
            .get_by_role_and_label(Role::Button, "Send")
            .rect()
            .size()
    };
    let mut measure = |lines: usize| {
        alice
            .harness
            .state_mut()
            .set_draft(vec!["line"; lines].join("\n"));
        alice.harness.run_steps(3);
        (panel_height(&alice), send_size(&alice))
    };
    let (one, send_one) = measure(1);
    let (three, send_three) = measure(3);
    let (five, _) = measure(5);
    let (ten, send_ten) = measure(10);
    assert!(three > one + 5.0, "3 lines grow the box: {one} -> {three}");
    assert!(
        (ten - five).abs() < 1.0,
        "past the cap it scrolls instead: {five} vs {ten}"
    );
    assert!(ten < one * 3.0, "the cap is a few lines: {one} -> {ten}");
    assert_eq!(send_one, send_three, "Send keeps its size");
    assert_eq!(send_one, send_ten, "Send keeps its size");
}
