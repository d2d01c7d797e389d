//! The real `natter` binary in a real window under Xvfb: it must draw, not show a blank screen.
//! Needs `Xvfb`, `xwd` and ImageMagick's `convert` (scripts/setup.sh installs them). Without
//! them a plain `cargo test` passes and prints that this test was skipped; with `CI` set (as CI
//! services do) a missing tool fails the test, so CI cannot skip it silently.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::common;

use common::Killed;
use common::xvfb::{found, on_ci, start_xvfb};

/// Grabs the whole screen as PNG; `None` if the screen cannot be read yet.
fn screenshot(display: &str, png: &Path) -> Option<image::RgbaImage> {
    let xwd = Command::new("xwd")
        .args(["-root", "-silent", "-display", display])
        .output()
        .ok()?;
    if !xwd.status.success() {
        return None;
    }
    let mut convert = Command::new("convert")
        .args(["xwd:-", &format!("png:{}", png.display())])
        .stdin(Stdio::piped())
        .spawn()
        .ok()?;
    std::io::Write::write_all(convert.stdin.as_mut()?, &xwd.stdout).ok()?;
    drop(convert.stdin.take());
    convert.wait().ok()?.success().then_some(())?;
    image::open(png).ok().map(|i| i.to_rgba8())
}

#[test]
fn the_real_binary_draws_its_window_under_xvfb() {
    let Some(stderr) = draws_under_xvfb("the_real_binary_draws_its_window_under_xvfb", &[]) else {
        return;
    };
    assert!(stderr.contains("natter: drawing with wgpu"), "{stderr}");
}

/// Where wgpu finds no device (here: told to use only DirectX 12, which Linux lacks; on
/// Windows: VMs, remote desktops, Wine), the window still opens, drawn with OpenGL.
#[test]
fn when_wgpu_cannot_open_the_window_opengl_draws_it_and_stderr_says_so() {
    let Some(stderr) = draws_under_xvfb(
        "when_wgpu_cannot_open_the_window_opengl_draws_it_and_stderr_says_so",
        &[("WGPU_BACKEND", "dx12")],
    ) else {
        return;
    };
    assert!(
        stderr.contains("natter: wgpu could not open the window"),
        "{stderr}"
    );
    assert!(
        stderr.contains("natter: drawing with OpenGL (glow)"),
        "{stderr}"
    );
}

/// Runs the binary under Xvfb until its window shows more than 20 colours; returns what it
/// printed on stderr by then (`None`: skipped, a tool is missing outside CI).
fn draws_under_xvfb(test: &str, env: &[(&str, &str)]) -> Option<String> {
    for tool in ["Xvfb", "xwd", "convert"] {
        if found(tool) {
            continue;
        }
        assert!(
            !on_ci(),
            "{tool} not found, and CI is set so this test may not skip: run scripts/setup.sh"
        );
        // Straight to stderr: eprintln! would be captured, and hidden, for a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "{test} skipped: {tool} not found; \
             install with scripts/setup.sh (with CI=true this fails instead)"
        );
        return None;
    }
    let (_xvfb, display) = start_xvfb();
    let home = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(90);
    let mut natter = Killed(
        Command::new(env!("CARGO_BIN_EXE_natter"))
            .arg("--no-announce")
            .envs(env.iter().copied())
            .env_remove("NATTER_RENDERER")
            .env("DISPLAY", &display)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path())
            .env("XDG_DATA_HOME", home.path())
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let png: PathBuf = home.path().join("screen.png");
    loop {
        if let Some(image) = screenshot(&display, &png) {
            let colours: HashSet<[u8; 4]> = image.pixels().map(|p| p.0).collect();
            // An empty Xvfb screen is one colour; Natter's window has text in many shades.
            if colours.len() > 20 {
                let target = std::env::temp_dir().join(format!("natter-xvfb-{test}.png"));
                let _ = std::fs::copy(&png, &target);
                println!(
                    "window drawn after {:.1} s with {} colours; screenshot at {}",
                    started.elapsed().as_secs_f32(),
                    colours.len(),
                    target.display()
                );
                // Its stderr ends when it does.
                let mut stderr = natter.0.stderr.take().unwrap();
                natter.0.kill().unwrap();
                let mut text = String::new();
                stderr.read_to_string(&mut text).unwrap();
                return Some(text);
            }
        }
        assert!(
            Instant::now() < deadline,
            "the window never drew anything within 90 s"
        );
        thread::sleep(Duration::from_millis(250));
    }
}
