//! A file's line in the chat: who offers what, and what can be done with it now (Save,
//! Decline, a progress bar with Cancel, Open and Show in folder; for our own offers each
//! receiver's progress and Stop offering).
//!
//! Draws from `chat_state::SharedFiles` and returns [`UiAction`]s; it never touches a socket or a file.

use egui::text::LayoutJob;
use egui::{Color32, FontId, RichText, TextFormat};

use crate::app::{FileAction, UiAction};
use crate::chat_state::ChatLine;
use crate::chat_state::{Incoming, Outgoing, Progress, Receiver, SharedFile, Side};
use crate::ui::bidi_text;
use crate::ui::chat::{nick_color, time_label};

/// The progress bars' width: long enough for "42% · 1.2 MB/s · about 5 s left".
const BAR_WIDTH: f32 = 300.0;

/// Draws the line of file `id` (`transfer`, when the window knows it).
pub fn file_row(
    ui: &mut egui::Ui,
    line: &ChatLine,
    id: &str,
    transfer: Option<&SharedFile>,
    my_nick: &str,
    actions: &mut Vec<UiAction>,
) -> egui::Response {
    ui.vertical(|ui| {
        let Some(transfer) = transfer else {
            return;
        };
        headline(ui, line, transfer, my_nick);
        // Under the headline, in line with its text rather than the time.
        ui.horizontal(|ui| {
            ui.add_space(ui.text_style_height(&egui::TextStyle::Body) * 3.0);
            let waiting = transfer.waiting.as_deref();
            ui.vertical(|ui| match &transfer.side {
                Side::Incoming { state, .. } => incoming(ui, id, state, waiting, actions),
                Side::Outgoing { state, receivers } => {
                    outgoing(ui, id, state, receivers, waiting, actions);
                }
            });
        });
        if let Some(note) = &transfer.note {
            ui.colored_label(ui.visuals().error_fg_color, note);
        }
    })
    .response
}

/// "10:02  dana offers photo.jpg (2.1 MB)": names in their colours, right-to-left names in
/// visual order; screen readers get the sentence in logical order.
fn headline(ui: &mut egui::Ui, line: &ChatLine, transfer: &SharedFile, my_nick: &str) {
    let dark = ui.visuals().dark_mode;
    let font = FontId::proportional(14.0);
    let format = |color: Color32| TextFormat {
        font_id: font.clone(),
        color,
        ..Default::default()
    };
    let weak = format(ui.visuals().weak_text_color());
    let strong = format(ui.visuals().strong_text_color());
    let mut job = LayoutJob::default();
    job.append(&format!("{}  ", time_label(line)), 0.0, weak.clone());
    let ours = matches!(transfer.side, Side::Outgoing { .. });
    let size = transfer
        .size
        .map(|s| format!(" ({})", crate::network::files::human_size(s)))
        .unwrap_or_default();
    match (&transfer.side, ours) {
        (
            Side::Outgoing {
                state: Outgoing::Preparing,
                ..
            },
            _,
        ) => {
            job.append("Preparing ", 0.0, weak.clone());
            bidi_text::append_visual(&mut job, &transfer.name, &strong);
            job.append("…", 0.0, weak.clone());
        }
        (_, true) => {
            job.append("You offer ", 0.0, weak.clone());
            bidi_text::append_visual(&mut job, &transfer.name, &strong);
            job.append(&size, 0.0, weak.clone());
            if let Some(to) = &transfer.to {
                job.append(" to ", 0.0, weak.clone());
                bidi_text::append_visual(&mut job, to, &format(nick_color(to, dark)));
            }
        }
        (_, false) => {
            let mut nick = format(nick_color(&transfer.from, dark));
            if transfer.from == my_nick {
                nick.underline = egui::Stroke::new(1.0, nick.color);
            }
            bidi_text::append_visual(&mut job, &transfer.from, &nick);
            job.append(" offers ", 0.0, weak.clone());
            bidi_text::append_visual(&mut job, &transfer.name, &strong);
            job.append(&size, 0.0, weak);
            if transfer.to.is_some() {
                job.append(" to you", 0.0, format(ui.visuals().weak_text_color()));
            }
        }
    }
    let accessible = format!("{}  {}", time_label(line), transfer.summary());
    let response = ui.add(egui::Label::new(job).wrap());
    response
        .widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::Label, true, &accessible));
}

fn incoming(
    ui: &mut egui::Ui,
    id: &str,
    state: &Incoming,
    waiting: Option<&str>,
    actions: &mut Vec<UiAction>,
) {
    let file = |action: FileAction| UiAction::File(action);
    match state {
        Incoming::Offered => save_or_decline(ui, id, actions),
        Incoming::Saving(progress) => {
            ui.horizontal(|ui| {
                progress_bar(ui, progress, waiting);
                if ui
                    .button("Cancel")
                    .on_hover_text("Stop saving; nothing is kept")
                    .clicked()
                {
                    actions.push(file(FileAction::Cancel(id.to_string())));
                }
            });
        }
        Incoming::Saved(path) => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string());
            ui.horizontal_wrapped(|ui| {
                ui.label(format!("Saved as {name}"))
                    .on_hover_text(path.display().to_string());
                if ui.button("Open").clicked() {
                    actions.push(file(FileAction::Open(path.clone())));
                }
                if ui.button("Show in folder").clicked() {
                    actions.push(file(FileAction::ShowInFolder(path.clone())));
                }
            });
        }
        Incoming::Declined => {
            ui.weak("Declined");
        }
        Incoming::Stopped { reason, offer_open } => {
            ui.label(RichText::new(format!("Stopped: {reason}")).color(ui.visuals().warn_fg_color));
            if *offer_open {
                save_or_decline(ui, id, actions);
            }
        }
    }
}

fn save_or_decline(ui: &mut egui::Ui, id: &str, actions: &mut Vec<UiAction>) {
    ui.horizontal(|ui| {
        if ui
            .button("Save")
            .on_hover_text("Save it in your download folder (⚙ to change it)")
            .clicked()
        {
            actions.push(UiAction::File(FileAction::Save(id.to_string())));
        }
        if ui.button("Decline").clicked() {
            actions.push(UiAction::File(FileAction::Decline(id.to_string())));
        }
    });
}

fn outgoing(
    ui: &mut egui::Ui,
    id: &str,
    state: &Outgoing,
    receivers: &[(String, Receiver)],
    waiting: Option<&str>,
    actions: &mut Vec<UiAction>,
) {
    match state {
        Outgoing::Preparing => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.weak("Reading and checking the file…");
            });
        }
        Outgoing::Offered => {
            if receivers.is_empty() {
                ui.weak("Nobody has taken it yet.");
            }
        }
        Outgoing::Stopped(reason) => {
            ui.label(RichText::new(format!("Stopped: {reason}")).color(ui.visuals().warn_fg_color));
        }
    }
    for (nick, receiver) in receivers {
        ui.horizontal(|ui| match receiver {
            Receiver::Receiving(progress) => {
                nick_then(ui, nick, ":");
                progress_bar(ui, progress, waiting);
            }
            Receiver::HasIt => nick_then(ui, nick, " has it"),
            Receiver::Declined => nick_then(ui, nick, " declined"),
            Receiver::Stopped(reason) => nick_then(ui, nick, &format!(": stopped ({reason})")),
        });
    }
    if *state == Outgoing::Offered
        && ui
            .button("Stop offering")
            .on_hover_text("Withdraw it: nobody else can save it, transfers under way stop")
            .clicked()
    {
        actions.push(UiAction::File(FileAction::Cancel(id.to_string())));
    }
}

/// "bob has it": the name in its colour (right-to-left names in visual order), then `rest`;
/// read out in logical order.
fn nick_then(ui: &mut egui::Ui, nick: &str, rest: &str) {
    let font = FontId::proportional(14.0);
    let nick_format = TextFormat {
        font_id: font.clone(),
        color: nick_color(nick, ui.visuals().dark_mode),
        ..Default::default()
    };
    let mut job = LayoutJob::default();
    bidi_text::append_visual(&mut job, nick, &nick_format);
    let rest_format = TextFormat {
        font_id: font,
        color: ui.visuals().text_color(),
        ..Default::default()
    };
    job.append(rest, 0.0, rest_format);
    let accessible = format!("{nick}{rest}");
    let response = ui.add(egui::Label::new(job));
    response
        .widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::Label, true, &accessible));
}

/// The bar with "42% · 1.2 MB/s · about 5 s left", or why it does not move.
fn progress_bar(ui: &mut egui::Ui, progress: &Progress, waiting: Option<&str>) {
    ui.add(
        egui::ProgressBar::new(progress.fraction())
            .desired_width(BAR_WIDTH)
            .text(progress.text_waiting(waiting)),
    );
}
