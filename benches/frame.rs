//! Frame time of the chat view with a long history: `cargo bench --bench frame`.
//!
//! Builds the real app with N messages (default 100,000) in its chat, then times egui frames
//! (layout and tessellation, what the UI thread does each frame) while idle at the bottom and
//! while scrolling through the middle. Rendering on the GPU does not depend on N, since only
//! the visible rows become shapes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use natter::app::NatterApp;
use natter::chat_state::{ChatState, Delivery, LineKind};

/// A chat of `count` messages from 40 people: short, wrapping, two-line and mixed-script ones.
fn long_chat(count: usize) -> ChatState {
    let mut chat = ChatState::new("me");
    chat.ever_connected = true;
    chat.room = "Bench room".into();
    chat.users = (0..40).map(|i| format!("user{i}")).collect();
    let now = chrono::Local::now();
    for i in 0..count {
        let text = match i % 4 {
            0 => format!("message {i}: short"),
            1 => format!(
                "message {i}: a longer line that will wrap once the window is narrow enough to make it wrap, which it is"
            ),
            2 => format!("message {i}: two\nlines"),
            _ => format!("message {i}: 你好 שלום mixed"),
        };
        chat.lines.push(natter::chat_state::ChatLine::new(
            now,
            LineKind::Message {
                id: Some(i as u64 + 1),
                from: format!("user{}", i % 40),
                text,
                delivery: Delivery::Delivered,
                local_id: None,
                action: false,
            },
        ));
    }
    chat
}

fn main() {
    let count: usize = std::env::args()
        .skip_while(|a| a != "--messages")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let mut harness = Harness::builder()
        .with_size([900.0, 640.0])
        .build_eframe(|cc| NatterApp::with_wake(cc, natter::network::no_wake_up()));
    harness.state_mut().set_chat(long_chat(count));
    // Warm up: fonts, the first layout of the visible rows.
    harness.run_steps(10);

    let time =
        |harness: &mut Harness<'_, NatterApp>, frames: usize, scroll: bool| -> Vec<Duration> {
            (0..frames)
                .map(|_| {
                    if scroll {
                        harness.input_mut().events.push(egui::Event::MouseWheel {
                            unit: egui::MouseWheelUnit::Point,
                            delta: egui::vec2(0.0, 400.0),
                            phase: egui::TouchPhase::Move,
                            modifiers: egui::Modifiers::NONE,
                            source: egui::MouseWheelSource::Wheel,
                        });
                    }
                    let start = Instant::now();
                    harness.step();
                    start.elapsed()
                })
                .collect()
        };
    let report = |name: &str, mut frames: Vec<Duration>| {
        frames.sort_unstable();
        let p = |q: f64| frames[((frames.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
        println!(
            "{name}: frames={} p50={:.2}ms p99={:.2}ms max={:.2}ms",
            frames.len(),
            p(0.5),
            p(0.99),
            p(1.0)
        );
    };
    report(
        &format!("{count} messages, idle at the bottom"),
        time(&mut harness, 200, false),
    );
    harness
        .input_mut()
        .events
        .push(egui::Event::PointerMoved(egui::pos2(300.0, 300.0)));
    report(
        &format!("{count} messages, scrolling up"),
        time(&mut harness, 200, true),
    );
}
