//! What the host's window says about reaching it: the "could not reach you" note a client sent
//! (with what to do on Linux, Windows and macOS), and why the room is not announced.
//!
//! Draws [`Hosting::reach_note`] and [`Hosting::not_announced`]; the wording is the doctor's.

use crate::app::{Hosting, UiAction};
use crate::network::doctor::{firewall_note, firewall_steps};

pub fn show(ui: &mut egui::Ui, hosting: &Hosting, actions: &mut Vec<UiAction>) {
    if let Some((from, port)) = hosting.reach_note {
        ui.add_space(4.0);
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(ui.visuals().warn_fg_color, firewall_note(from, port));
            if ui.small_button("OK").clicked() {
                actions.push(UiAction::DismissReachNote);
            }
        });
        egui::CollapsingHeader::new("What to do")
            .id_salt("firewall_steps")
            .default_open(true)
            .show(ui, |ui| {
                for steps in firewall_steps(port) {
                    ui.add(egui::Label::new(steps).wrap());
                }
            });
    }
    if let Some(reason) = &hosting.not_announced {
        ui.weak(format!(
            "This room is not announced on the network ({reason}): people type the address."
        ));
    }
}
