//! The Host tab: nickname, port, Start hosting, and what went wrong.
//!
//! Draws and edits the app's fields; returns [`UiAction`]s for anything that touches the network.

use crate::app::UiAction;
use crate::ui::shell::{self, Tabs};

pub fn show(ui: &mut egui::Ui, app: &mut Tabs<'_>, actions: &mut Vec<UiAction>) {
    ui.add_space(8.0);
    ui.heading("Host a chat on this computer");
    ui.label("Others on your network connect to this computer's address, shown once you start.");
    ui.add_space(12.0);
    let mut enter = false;
    egui::Grid::new("host_form")
        .num_columns(2)
        .spacing([12.0, 10.0])
        .show(ui, |ui| {
            let nick = shell::nickname_row(ui, app.settings, app.form, true);
            let label = ui.label("Port");
            let port = ui
                .add(egui::TextEdit::singleline(app.hosting.port_text_mut()).desired_width(80.0))
                .on_hover_text("5050 is usual; 0 lets the system pick any free port")
                .labelled_by(label.id);
            ui.end_row();
            // Enter in either field starts hosting, as Enter in the address field connects.
            enter = (nick.lost_focus() || port.lost_focus())
                && ui.input(|i| i.key_pressed(egui::Key::Enter));
        });
    if app.discovery {
        ui.add_space(8.0);
        ui.checkbox(
            &mut app.settings.announce_room,
            "Announce this room on the network",
        )
        .on_hover_text("Others then see it under Rooms on your network in their Connect tab, without typing an address");
    }
    ui.add_space(8.0);
    ui.checkbox(
        &mut app.settings.require_encryption,
        "Only encrypted connections",
    )
    .on_hover_text("Natter always encrypts. This also turns away nc, telnet and tutorial scripts that connect without encryption (ncat --ssl still works).");
    ui.checkbox(
        &mut app.settings.keep_hosted_history,
        "Keep the room's history when I stop hosting",
    )
    .on_hover_text("The last messages of the room (what people who join later are shown) are kept on this computer, readable by you only, and shown again the next time you host. Private messages are not kept.");
    ui.add_space(12.0);
    let start = egui::Button::new(egui::RichText::new("Start hosting").size(18.0))
        .min_size(egui::vec2(180.0, 40.0));
    if ui.add(start).clicked() || enter {
        actions.push(UiAction::StartHosting);
    }
    if let Some(problem) = app.hosting.problem() {
        ui.add_space(8.0);
        ui.colored_label(ui.visuals().error_fg_color, &problem.text);
        if problem.port_in_use && ui.button("Use any free port").clicked() {
            actions.push(UiAction::HostOnAnyPort);
        }
    }
}
