//! How the window starts: what the command line asked for ([`Startup`]) and the native
//! window around the app ([`run_window`]).

use super::{NatterApp, Tab, UiAction};
use crate::network::discovery::Reach;
use crate::network::tls::Identity;

/// What the window does as soon as it opens (from the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Startup {
    Tabs,
    Host { nick: String, port: Option<u16> },
    Connect { address: String, nick: String },
}

impl NatterApp {
    /// Starts hosting or connecting as the command line asked, as if the buttons were pressed.
    pub fn start(&mut self, startup: Startup) {
        match startup {
            Startup::Tabs => {}
            Startup::Host { nick, port } => {
                self.settings.nickname = nick;
                if let Some(port) = port {
                    self.port_text = port.to_string();
                }
                self.apply(UiAction::StartHosting);
            }
            Startup::Connect { address, nick } => {
                self.settings.nickname = nick;
                self.address_text = address;
                self.tab = Tab::Connect;
                self.apply(UiAction::Connect);
            }
        }
    }
}

/// Window options and the icon; then runs until the window closes.
/// `discovery`: where rooms are announced and looked for (`None`: nowhere, `--no-announce`).
pub fn run_window(startup: Startup, discovery: Option<Reach>) -> Result<(), String> {
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
        ..Default::default()
    };
    eframe::run_native(
        "Natter",
        options,
        Box::new(|cc| {
            let mut app = NatterApp::new(cc);
            app.discovery = discovery;
            app.identity_file = Identity::default_path().ok();
            app.start(startup);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| format!("Could not open the window: {e}"))
}
