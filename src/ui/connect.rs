//! The Connect tab: nickname, the host's address (with recent hosts), Connect or Cancel, and
//! under them the rooms heard on the network (`ui::rooms`).
//!
//! Draws and edits the app's fields; returns [`UiAction`]s for anything that touches the network.

use crate::app::UiAction;
use crate::ui::shell::{self, Tabs};

pub fn show(ui: &mut egui::Ui, app: &mut Tabs<'_>, actions: &mut Vec<UiAction>) {
    ui.add_space(8.0);
    ui.heading("Join a chat on your network");
    ui.label("Type the address the host's Natter window shows, such as 192.168.1.20.");
    ui.add_space(12.0);
    let connecting = app.connecting;
    let mut enter = false;
    egui::Grid::new("connect_form")
        .num_columns(2)
        .spacing([12.0, 10.0])
        .show(ui, |ui| {
            let nick = shell::nickname_row(ui, app.settings, app.form, !connecting);
            let label = ui.label("Host address");
            let response = ui
                .add_enabled(
                    !connecting,
                    egui::TextEdit::singleline(app.form.address_text_mut())
                        .hint_text("192.168.1.20 or 192.168.1.20:5050")
                        .desired_width(220.0),
                )
                .labelled_by(label.id);
            if app.form.take_focus_address() {
                // A failed attempt: the address is the likeliest thing to fix.
                response.request_focus();
            }
            enter = (nick.lost_focus() || response.lost_focus())
                && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.end_row();
        });
    if !app.settings.recent_hosts.is_empty() && !connecting {
        ui.add_space(6.0);
        ui.horizontal_wrapped(|ui| {
            ui.label("Recent:");
            for host in app.settings.recent_hosts.clone() {
                if ui.small_button(&host).clicked() {
                    *app.form.address_text_mut() = host;
                }
            }
        });
    }
    ui.add_space(12.0);
    if connecting {
        ui.horizontal(|ui| {
            ui.spinner();
            let attempt = match &app.link {
                Some(crate::chat_state::LinkState::Connecting { attempt }) if *attempt > 1 => {
                    format!(" (attempt {attempt})")
                }
                _ => String::new(),
            };
            ui.label(format!(
                "Connecting to {}…{attempt}",
                app.form.address_text().trim()
            ));
            if ui.button("Cancel").clicked() {
                actions.push(UiAction::CancelConnect);
            }
        });
    } else {
        let connect = egui::Button::new(egui::RichText::new("Connect").size(18.0))
            .min_size(egui::vec2(180.0, 40.0));
        if ui.add(connect).clicked() || enter {
            actions.push(UiAction::Connect);
        }
    }
    if let Some(error) = app.form.error() {
        ui.add_space(8.0);
        ui.colored_label(ui.visuals().error_fg_color, error);
        // The host turned us away for now: trying again is the way on (same address, same
        // trusted code), no warning involved.
        if app.form.retry() && !connecting && ui.button("Retry").clicked() {
            actions.push(UiAction::Connect);
        }
    }
    if app.discovery {
        let rooms = crate::ui::rooms::Rooms {
            finder: app.rooms,
            settings: app.settings,
            pace: app.pace,
            connecting,
        };
        crate::ui::rooms::show(ui, &rooms, actions);
    }
}
