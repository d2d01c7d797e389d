//! The real `natter` binary in a real window under Xvfb: it must draw, not show a blank screen.
//! Needs `Xvfb`, `xwd` and ImageMagick's `convert` (scripts/setup.sh installs them).
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::Killed;

fn free_display() -> u32 {
    (90..200)
        .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
        .expect("a free X display number")
}

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
    for tool in ["Xvfb", "xwd", "convert"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(found, "{tool} is missing: run scripts/setup.sh");
    }
    let number = free_display();
    let display = format!(":{number}");
    let _xvfb = Killed(
        Command::new("Xvfb")
            .args([&display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let home = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(90);
    // Xvfb takes a moment to create its socket; the app cannot start before.
    while !Path::new(&format!("/tmp/.X11-unix/X{number}")).exists() {
        assert!(Instant::now() < deadline, "Xvfb did not start");
        thread::sleep(Duration::from_millis(50));
    }
    let _natter = Killed(
        Command::new(env!("CARGO_BIN_EXE_natter"))
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
                let target = std::env::temp_dir().join("natter-xvfb.png");
                let _ = std::fs::copy(&png, &target);
                println!(
                    "window drawn after {:.1} s with {} colours; screenshot at {}",
                    started.elapsed().as_secs_f32(),
                    colours.len(),
                    target.display()
                );
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the window never drew anything within 90 s"
        );
        thread::sleep(Duration::from_millis(250));
    }
}
