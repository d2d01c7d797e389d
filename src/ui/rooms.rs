//! The Connect tab's "Rooms on your network": the rooms heard announcing, each with its name,
//! host, address and people count, and a Join button; rooms not heard lately drawn faded; an
//! entry whose announced code is not the one trusted for that room or address marked in words
//! before anyone presses Join.
//!
//! Draws the [`RoomFinder`]'s rooms only; finding them is the app's finder, which key is trusted is
//! `crate::trust`, joining is [`UiAction::JoinRoom`].

use crate::app::{LOOKING_FOR, RoomFinder, UiAction};
use crate::network::discovery::{FoundRoom, Pace};
use crate::settings::Settings;

/// What the section draws from.
pub struct Rooms<'a> {
    pub finder: &'a RoomFinder,
    /// The trusted keys, to mark a room whose announced code is not the trusted one.
    pub settings: &'a Settings,
    pub pace: Pace,
    /// A chat is being connected: Join waits.
    pub connecting: bool,
}
use crate::network::protocol::PROTOCOL_VERSION;

/// The section (shown when the app looks for rooms at all).
pub fn show(ui: &mut egui::Ui, app: &Rooms<'_>, actions: &mut Vec<UiAction>) {
    ui.add_space(14.0);
    ui.strong("Rooms on your network");
    ui.add_space(4.0);
    if let Some(problem) = app.finder.problem() {
        ui.colored_label(ui.visuals().warn_fg_color, problem);
        return;
    }
    let rooms = app.finder.rooms();
    if rooms.is_empty() {
        let looking = app
            .finder
            .started()
            .is_some_and(|at| at.elapsed() < LOOKING_FOR);
        ui.horizontal(|ui| {
            if looking {
                ui.spinner();
                ui.weak("Looking for rooms…");
            } else {
                ui.weak("No rooms heard yet. They appear here as soon as someone hosts; you can also type the address above.");
            }
        });
        return;
    }
    let dim_after = app.pace.dim_after;
    let now = std::time::Instant::now();
    let enabled = !app.connecting;
    for room in rooms {
        let fading = room.is_fading(now, dim_after);
        let differs = crate::trust::differing_key(app.settings, room, rooms).is_some();
        ui.horizontal(|ui| {
            if fading {
                ui.multiply_opacity(0.45);
            }
            if ui
                .add_enabled(enabled, egui::Button::new("Join"))
                .on_hover_text(format!("Connect to {} as your nickname", room.addr))
                .clicked()
            {
                actions.push(UiAction::JoinRoom(Box::new(room.clone())));
            }
            ui.vertical(|ui| {
                ui.strong(&room.room);
                ui.weak(details(room, fading));
                if differs {
                    ui.colored_label(ui.visuals().error_fg_color, DIFFERS);
                }
            });
        });
    }
}

/// Under an entry whose announced code is not the one trusted for that room or address.
pub const DIFFERS: &str = "⚠ code differs from the one you trusted: someone may be posing as \
                           this host. Joining shows both codes first.";

/// "hosted by alice · 192.168.1.20:5050 · 3 people", plus why a room looks different.
pub fn details(room: &FoundRoom, fading: bool) -> String {
    let people = match room.people {
        1 => "1 person".to_string(),
        n => format!("{n} people"),
    };
    let mut text = format!("hosted by {} · {} · {people}", room.host, room.addr);
    if room.version != PROTOCOL_VERSION {
        text.push_str(&format!(
            " · Natter protocol {}: needs the same Natter version",
            room.version
        ));
    }
    if fading {
        text.push_str(" · not heard lately");
    }
    text
}
