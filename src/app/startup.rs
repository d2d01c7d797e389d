//! How the window starts: what the command line asked for ([`Startup`]), the native window
//! around the app ([`run_window`]) and which renderer draws it ([`Renderer`]).
//!
//! Does not own what the window shows (the `ui` modules) or what the buttons do (`actions`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{NatterApp, Tab, UiAction};
use crate::network::discovery::Reach;
use crate::network::tls::Identity;

/// What the window does as soon as it opens (from the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Startup {
    Tabs,
    /// `nick`: `None` hosts with the nickname remembered from last time (the account's name
    /// the first time), as the desktop entry's "Host a room" does.
    Host {
        nick: Option<String>,
        port: Option<u16>,
    },
    Connect {
        address: String,
        nick: String,
    },
}

impl NatterApp {
    /// Starts hosting or connecting as the command line asked, as if the buttons were pressed.
    pub fn start(&mut self, startup: Startup) {
        match startup {
            Startup::Tabs => {}
            Startup::Host { nick, port } => {
                if let Some(nick) = nick {
                    self.settings.nickname = nick;
                }
                if let Some(port) = port {
                    self.hosting.set_port_text(port);
                }
                self.apply(UiAction::StartHosting);
            }
            Startup::Connect { address, nick } => {
                self.settings.nickname = nick;
                self.connect.set_address(address);
                self.tab = Tab::Connect;
                self.apply(UiAction::Connect);
            }
        }
    }
}

/// One of eframe's two renderers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renderer {
    /// wgpu: Vulkan, Metal, DirectX 12 (or OpenGL ES through wgpu).
    Wgpu,
    /// OpenGL through glow: where wgpu finds no device (virtual machines and remote desktops
    /// without Vulkan or DirectX 12, Wine).
    Glow,
}

/// The environment variable that picks one renderer instead of trying wgpu, then OpenGL.
pub const RENDERER_VAR: &str = "NATTER_RENDERER";

impl Renderer {
    /// The renderers to try, in order: by default wgpu, then OpenGL when wgpu cannot open the
    /// window; under Wine OpenGL first, because wgpu's DirectX 12 (through vkd3d) aborts the
    /// whole process there instead of failing. `choice` (the value of `NATTER_RENDERER`) picks
    /// one of them.
    pub fn to_try(choice: Option<&str>, under_wine: bool) -> Result<Vec<Renderer>, String> {
        match choice.map(|c| c.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "auto") if under_wine => Ok(vec![Renderer::Glow, Renderer::Wgpu]),
            None | Some("" | "auto") => Ok(vec![Renderer::Wgpu, Renderer::Glow]),
            Some("wgpu") => Ok(vec![Renderer::Wgpu]),
            Some("glow" | "opengl" | "gl") => Ok(vec![Renderer::Glow]),
            Some(other) => Err(format!(
                "{RENDERER_VAR}={other} is not a renderer: use wgpu, glow (OpenGL) or auto"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Renderer::Wgpu => "wgpu",
            Renderer::Glow => "OpenGL (glow)",
        }
    }

    fn eframe(self) -> eframe::Renderer {
        match self {
            Renderer::Wgpu => eframe::Renderer::Wgpu,
            Renderer::Glow => eframe::Renderer::Glow,
        }
    }
}

/// Window options and the icon; then runs until the window closes. Tries wgpu, then OpenGL
/// (see [`Renderer::to_try`]); says on stderr which one draws, and why one was given up.
/// `discovery`: where rooms are announced and looked for (`None`: nowhere, `--no-announce`).
pub fn run_window(startup: Startup, discovery: Option<Reach>) -> Result<(), String> {
    let order = Renderer::to_try(std::env::var(RENDERER_VAR).ok().as_deref(), under_wine())?;
    let mut failures = Vec::new();
    for renderer in order {
        let opened = Arc::new(AtomicBool::new(false));
        match open_window(renderer, startup.clone(), discovery.clone(), &opened) {
            Ok(()) => return Ok(()),
            // Once the app ran, its state (a room, a chat) is gone: trying again would
            // start over behind the person's back.
            Err(e) if opened.load(Ordering::SeqCst) => {
                return Err(format!("The window stopped: {e}"));
            }
            Err(e) => {
                eprintln!("natter: {} could not open the window: {e}", renderer.name());
                failures.push(format!("{}: {e}", renderer.name()));
            }
        }
    }
    Err(format!(
        "Could not open the window ({}). Natter needs a graphics driver with Vulkan, Metal, \
         DirectX 12 or OpenGL 2.",
        failures.join("; ")
    ))
}

/// Whether this is a Windows program running under Wine (its ntdll has `wine_get_version`).
#[cfg(windows)]
fn under_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    // SAFETY: both take NUL-terminated literals; ntdll is loaded in every Windows process.
    unsafe {
        let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
        !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
    }
}

#[cfg(not(windows))]
fn under_wine() -> bool {
    false
}

/// One attempt with one renderer; `opened` is set once the app exists (the renderer works).
fn open_window(
    renderer: Renderer,
    startup: Startup,
    discovery: Option<Reach>,
    opened: &Arc<AtomicBool>,
) -> Result<(), eframe::Error> {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Natter")
        .with_app_id("natter")
        .with_inner_size([900.0, 640.0])
        .with_min_inner_size([420.0, 320.0]);
    if let Ok(icon) = eframe::icon_data::from_png_bytes(crate::ICON_PNG) {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        renderer: renderer.eframe(),
        wgpu_options: wgpu_options(),
        ..Default::default()
    };
    let opened = Arc::clone(opened);
    eframe::run_native(
        "Natter",
        options,
        Box::new(move |cc| {
            opened.store(true, Ordering::SeqCst);
            eprintln!("natter: drawing with {}", drawn_by(renderer, cc));
            let mut app = NatterApp::new(cc);
            app.options.discovery = discovery;
            app.options.identity_file = Identity::default_path().ok();
            if let Some(data) = crate::app::data_dir() {
                app.options.kept_dir = Some(data.join("conversations"));
                app.options.hosted_history_file = Some(data.join("hosted-room-history.jsonl"));
            }
            app.start(startup);
            Ok(Box::new(app))
        }),
    )
}

/// wgpu with its native APIs only (Vulkan, Metal, DirectX 12), unless `WGPU_BACKEND` names
/// others: where none works, glow draws instead (see [`Renderer::to_try`]), so wgpu's own
/// OpenGL backend would only be probed for nothing, loading the system's OpenGL driver beside
/// Vulkan's (6 MB resident on Mesa's software renderer, scripts/measure_window.sh).
fn wgpu_options() -> eframe::egui_wgpu::WgpuConfiguration {
    use eframe::egui_wgpu::{WgpuConfiguration, WgpuSetup, wgpu};
    let mut config = WgpuConfiguration::default();
    if let WgpuSetup::CreateNew(setup) = &mut config.wgpu_setup
        && wgpu::Backends::from_env().is_none()
    {
        setup.instance_descriptor.backends = wgpu::Backends::PRIMARY;
    }
    config
}

/// The renderer and, for wgpu, the graphics API and adapter it found.
fn drawn_by(renderer: Renderer, cc: &eframe::CreationContext<'_>) -> String {
    match cc.wgpu_render_state.as_ref() {
        Some(state) if renderer == Renderer::Wgpu => {
            let info = state.adapter.get_info();
            format!("wgpu ({:?}, {})", info.backend, info.name)
        }
        _ => renderer.name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_wgpu_is_tried_first_then_opengl() {
        assert_eq!(
            Renderer::to_try(None, false),
            Ok(vec![Renderer::Wgpu, Renderer::Glow])
        );
        assert_eq!(
            Renderer::to_try(Some("auto"), false),
            Ok(vec![Renderer::Wgpu, Renderer::Glow])
        );
    }

    #[test]
    fn under_wine_opengl_is_tried_first_unless_natter_renderer_says_otherwise() {
        assert_eq!(
            Renderer::to_try(None, true),
            Ok(vec![Renderer::Glow, Renderer::Wgpu])
        );
        assert_eq!(
            Renderer::to_try(Some("wgpu"), true),
            Ok(vec![Renderer::Wgpu])
        );
    }

    #[test]
    fn this_test_program_knows_whether_it_runs_under_wine() {
        // scripts/windows_tests.sh runs the Windows build of this test under Wine and sets
        // NATTER_UNDER_WINE=1; everywhere else it is unset.
        let expected = std::env::var("NATTER_UNDER_WINE").is_ok_and(|v| v == "1");
        assert_eq!(under_wine(), expected);
    }

    #[test]
    fn natter_renderer_picks_one_renderer_and_names_the_choices_when_unknown() {
        assert_eq!(
            Renderer::to_try(Some("GLOW"), false),
            Ok(vec![Renderer::Glow])
        );
        assert_eq!(
            Renderer::to_try(Some("opengl"), false),
            Ok(vec![Renderer::Glow])
        );
        assert_eq!(
            Renderer::to_try(Some("wgpu"), false),
            Ok(vec![Renderer::Wgpu])
        );
        let err = Renderer::to_try(Some("vulkan"), false).unwrap_err();
        assert!(err.contains("wgpu, glow"), "{err}");
    }
}
