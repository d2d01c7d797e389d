//! The screen shown instead of the chat when a host's key is not the one trusted before (or
//! a host that encrypted no longer does): both codes, what it may mean, and a way on that
//! needs an explicit choice.
//!
//! Draws [`KeyWarning`](crate::app::KeyWarning) and edits only its "I checked" box; what the
//! buttons do is in `app`.

use egui::RichText;

use crate::app::{KeyWarning, UiAction};

pub fn show(ui: &mut egui::Ui, warning: &mut KeyWarning, actions: &mut Vec<UiAction>) {
    egui::CentralPanel::default().show(ui, |ui| {
        ui.add_space(16.0);
        let error = ui.visuals().error_fg_color;
        let heading = match (warning.announced, warning.found) {
            (true, Some(_)) => "Warning: this host's code is not the one its room announced",
            (true, None) => "Warning: this room announced a code but the host does not encrypt",
            (false, Some(_)) => "Warning: this host's code has changed",
            (false, None) => "Warning: this host no longer encrypts",
        };
        ui.label(RichText::new(heading).heading().color(error));
        ui.add_space(8.0);
        ui.label(format!(
            "Natter stopped before sending anything to {}.",
            warning.address
        ));
        ui.add_space(8.0);
        egui::Grid::new("key_codes")
            .num_columns(2)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                ui.label(if warning.announced {
                    "Code the room announced on the list:"
                } else {
                    "Code you trusted before:"
                });
                ui.label(
                    RichText::new(warning.expected.code())
                        .monospace()
                        .size(16.0),
                );
                ui.end_row();
                ui.label("Code the host shows now:");
                match warning.found {
                    Some(found) => {
                        ui.label(RichText::new(found.code()).monospace().size(16.0).strong())
                    }
                    None => {
                        ui.label(RichText::new("none: the link would not be encrypted").strong())
                    }
                };
                ui.end_row();
            });
        ui.add_space(8.0);
        ui.label(if warning.announced {
            "Anyone on the network can announce a room with any name and code; only the \
             connection proves which code a host holds. Someone may be posing as the host to \
             read the chat. Ask the person hosting, in person or by phone, which code their \
             window shows."
        } else {
            "This happens when the host reinstalled Natter or moved to another computer, but \
             also when someone on the network poses as the host to read the chat. Ask the \
             person hosting, in person or by phone, which code their window shows."
        });
        ui.add_space(8.0);
        let tick = match (warning.announced, warning.found) {
            (true, Some(_)) => {
                "I asked the person hosting: their window shows the code the host shows now"
            }
            (false, Some(_)) => "I asked the person hosting: their window shows the new code",
            (_, None) => "I asked the person hosting: they host without encryption now",
        };
        ui.checkbox(&mut warning.checked, tick);
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if ui.button("Don't connect").clicked() {
                actions.push(UiAction::DismissKeyWarning);
            }
            let label = match warning.found {
                Some(_) => "Connect anyway",
                None => "Connect without encryption",
            };
            let anyway = ui.add_enabled(warning.checked, egui::Button::new(label));
            if anyway.clicked() {
                actions.push(UiAction::ConnectAnyway);
            }
        });
    });
}
