//! The chat's top: the room's title and link status, the buttons (Leave or Stop hosting, Save
//! chat log, the settings menu, Retry now), whether the link is encrypted with the host's code,
//! the hosting card (addresses and code), and the Stop hosting / Leave confirmation.
//!
//! Draws from the app's state and returns [`UiAction`]s; it never touches a socket.

use egui::{Align, Color32, Layout, RichText};

use crate::app::UiAction;
use crate::chat_state::{ChatState, LinkState, Security};
use crate::settings::ThemeChoice;
use crate::ui::chat::ChatScreen;

/// Marks an encrypted link, and a person or link that is not encrypted.
pub(super) const LOCKED: &str = "\u{1F512}";
pub(super) const UNLOCKED: &str = "\u{1F513}";

/// How long a Copy button says "Copied" after a click, in seconds.
const COPIED_FOR: f64 = 2.0;

pub(super) fn top_bar(ui: &mut egui::Ui, app: &ChatScreen<'_>, actions: &mut Vec<UiAction>) {
    let Some(chat) = app.session.chat() else {
        return;
    };
    ui.add_space(4.0);
    let title = if chat.room.is_empty() {
        "Natter"
    } else {
        &chat.room
    };
    let (color, status) = status_text(ui, chat);
    let height = ui
        .spacing()
        .interact_size
        .y
        .max(ui.text_style_height(&egui::TextStyle::Heading));
    ui.allocate_ui_with_layout(
        egui::vec2(ui.available_width(), height),
        Layout::right_to_left(Align::Center),
        |ui| {
            // The buttons first, from the right edge: they always get their room. The title and
            // status share what is left and shorten with "…" (the full text on hover).
            if app.session.ended() {
                if ui
                    .button("New chat")
                    .on_hover_text("Close this chat and go back to hosting and connecting")
                    .clicked()
                {
                    actions.push(UiAction::CloseChat);
                }
            } else if !app.session.confirm_leave() {
                // (While the confirmation is up, its own button is the only one by that name.)
                if ui.button(leave_label(app.hosting.is_some())).clicked() {
                    actions.push(UiAction::Leave);
                }
            }
            if ui
                .button("Save chat log")
                .on_hover_text("Ctrl+S: save the whole chat as a text file")
                .clicked()
            {
                actions.push(UiAction::SaveLog);
            }
            settings_menu(ui, app, actions);
            if matches!(chat.link, LinkState::Failed(_))
                && chat.ever_connected
                && app.hosting.is_none()
                && ui
                    .button("Reconnect")
                    .on_hover_text("Join this room again; the conversation stays")
                    .clicked()
            {
                actions.push(UiAction::Reconnect);
            }
            if let LinkState::Reconnecting { error, .. } = &chat.link
                && chat.retry_in().is_some()
                && ui
                    .small_button("Retry now")
                    .on_hover_text(format!(
                        "Stop waiting and try to reconnect at once. {error}"
                    ))
                    .clicked()
            {
                actions.push(UiAction::RetryNow);
            }
            ui.add_space(8.0);
            ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
                title_and_status(ui, title, color, &status);
            });
        },
    );
    // The host's card shows its code; a host's own link needs no word about it.
    if app.hosting.is_none() {
        security_line(ui, chat);
    }
    if let Some(hosting) = app.hosting {
        hosting_card(ui, hosting);
        crate::ui::host_notes::show(ui, hosting, actions);
    }
    if app.saving.asking() {
        crate::ui::conversations::save_choice(ui, chat.conversations.shown(), actions);
    }
    if let Some(status) = app.saving.status() {
        ui.label(status);
        let path = app.saving.saved_without_dialog();
        saved_note_buttons(ui, path, app.open_folder, actions);
    }
    ui.add_space(4.0);
}

/// Under how a save went: OK, which puts the note away, and for a log saved without a dialog
/// (the person did not pick where) Copy path, and Open folder where a file manager can be
/// asked (`open_folder`).
fn saved_note_buttons(
    ui: &mut egui::Ui,
    path: Option<&std::path::Path>,
    open_folder: bool,
    actions: &mut Vec<UiAction>,
) {
    ui.horizontal(|ui| {
        if let Some(path) = path {
            if let Some(folder) = path.parent().filter(|_| open_folder)
                && ui.button("Open folder").clicked()
            {
                actions.push(UiAction::OpenFolder(folder.to_path_buf()));
            }
            labelled_copy_button(ui, "Copy path", &path.display().to_string());
        }
        if ui
            .button("OK")
            .on_hover_text("Put this note away")
            .clicked()
        {
            actions.push(UiAction::DismissSaveNote);
        }
    });
}

fn leave_label(hosting: bool) -> &'static str {
    if hosting { "Stop hosting" } else { "Leave" }
}

/// "Stop hosting?" / "Leave?" while others are in the room: they would be cut off.
pub(super) fn confirm_leave(ui: &mut egui::Ui, app: &ChatScreen<'_>, actions: &mut Vec<UiAction>) {
    let others = app.session.others_in_room();
    let people = match others {
        1 => "1 other person is".to_string(),
        n => format!("{n} other people are"),
    };
    let (question, consequence) = if app.hosting.is_some() {
        (
            "Stop hosting?",
            format!("{people} in the room; they will be disconnected."),
        )
    } else {
        (
            "Leave the chat?",
            format!("{people} in the room; you will stop receiving their messages."),
        )
    };
    let modal = egui::Modal::new(egui::Id::unique("confirm_leave")).show(ui.ctx(), |ui| {
        ui.set_max_width(320.0);
        ui.heading(question);
        ui.label(consequence);
        ui.label("The conversation stays in this window to read and save.");
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if ui.button(leave_label(app.hosting.is_some())).clicked() {
                actions.push(UiAction::ConfirmLeave);
            }
            if ui.button("Cancel").clicked() {
                actions.push(UiAction::CancelLeave);
            }
        });
    });
    if modal.should_close() && !actions.contains(&UiAction::ConfirmLeave) {
        actions.push(UiAction::CancelLeave);
    }
}

/// "⚙": the settings that make sense while chatting (the theme), without leaving the chat.
fn settings_menu(ui: &mut egui::Ui, app: &ChatScreen<'_>, actions: &mut Vec<UiAction>) {
    let menu = ui
        .menu_button("⚙", |ui| {
            ui.label(RichText::new("Theme").strong());
            for theme in ThemeChoice::ALL {
                if ui
                    .radio(app.settings.theme == theme, theme.label())
                    .clicked()
                {
                    crate::ui::shell::apply_theme(ui.ctx(), theme);
                    actions.push(UiAction::SetTheme(theme));
                    ui.close();
                }
            }
            ui.separator();
            ui.label(RichText::new("Desktop notifications").strong());
            ui.weak("While this window is not in front:");
            for choice in crate::notify::NotifyChoice::ALL {
                if ui
                    .radio(app.settings.notify == choice, choice.label())
                    .clicked()
                {
                    actions.push(UiAction::SetNotify(choice));
                    ui.close();
                }
            }
            if let Some(problem) = app.notify_problem {
                ui.colored_label(ui.visuals().warn_fg_color, problem);
            }
            ui.separator();
            crate::ui::send_file::download_folder(ui, &app.download_dir, app.files.note(), actions);
            ui.separator();
            kept_conversations(ui, app, actions);
        })
        .response
        .on_hover_text("Settings: theme, desktop notifications, download folder, history");
    // Named in words for screen readers: a gear is read as "⚙", or not at all.
    menu.widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::Button, true, "Settings"));
}

/// Keep conversations on this computer, and Forget this room's history.
fn kept_conversations(ui: &mut egui::Ui, app: &ChatScreen<'_>, actions: &mut Vec<UiAction>) {
    let mut keep = app.settings.keep_conversations;
    if ui
        .checkbox(&mut keep, "Keep conversations on this computer")
        .on_hover_text(
            "Each room's conversation, private ones included, is shown again when you come back \
             to the same host. Only you can read the files.",
        )
        .changed()
    {
        actions.push(UiAction::SetKeepConversations(keep));
    }
    if ui
        .add_enabled(
            app.kept_identity,
            egui::Button::new("Forget this room's history"),
        )
        .on_hover_text("Deletes what this computer kept of this room's conversations")
        .on_disabled_hover_text("Nothing is kept for a host that does not encrypt")
        .clicked()
    {
        actions.push(UiAction::ForgetRoomHistory);
        ui.close();
    }
}

/// A small Copy button that says "Copied" for [`COPIED_FOR`] seconds after a click.
fn copy_button(ui: &mut egui::Ui, text: &str) {
    labelled_copy_button(ui, "Copy", text);
}

/// [`copy_button`] with a label of its own (it still says "Copied" after a click).
fn labelled_copy_button(ui: &mut egui::Ui, label: &str, text: &str) {
    let id = egui::Id::unique(("copied", text));
    let now = ui.input(|i| i.time);
    let copied_at = ui.data(|d| d.get_temp::<f64>(id));
    let copied = copied_at.is_some_and(|at| now - at < COPIED_FOR);
    let label = if copied { "Copied" } else { label };
    if ui
        .small_button(label)
        .on_hover_text(format!("Copy {text}"))
        .clicked()
    {
        ui.ctx().copy_text(text.to_string());
        ui.data_mut(|d| d.insert_temp(id, now));
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs_f64(COPIED_FOR));
    } else if let Some(at) = copied_at.filter(|_| copied) {
        // Come back when "Copied" should turn back into "Copy".
        let left = (COPIED_FOR - (now - at)).max(0.0);
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs_f64(left));
    }
}

/// Whether the link is encrypted, and the host's code to compare with the host's screen.
fn security_line(ui: &mut egui::Ui, chat: &ChatState) {
    match chat.security {
        Security::Unknown => {}
        Security::Encrypted { fingerprint } => {
            ui.horizontal(|ui| {
                ui.label(format!("{LOCKED} Encrypted · host code"));
                ui.label(RichText::new(fingerprint.code()).monospace().strong())
                    .on_hover_text(
                        "The host's window shows its code too. Read them to each other: if \
                         they differ, someone may be posing as the host.",
                    );
            });
        }
        Security::Unencrypted => {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("{UNLOCKED} Not encrypted: anyone on this network can read this chat"),
            );
        }
    }
}

/// What the host needs to tell people: the addresses to type, with copy buttons.
fn hosting_card(ui: &mut egui::Ui, hosting: &crate::app::Hosting) {
    use crate::network::interfaces::AddressKind;
    let fill = ui.visuals().selection.bg_fill.gamma_multiply(0.25);
    egui::Frame::new()
        .fill(fill)
        .corner_radius(6.0)
        .inner_margin(egui::Margin::symmetric(10, 8))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            let people = match hosting.people {
                1 => "1 person in the room".to_string(),
                n => format!("{n} people in the room"),
            };
            ui.label(format!("You are hosting on port {} · {people}", hosting.port));
            // Wrapped rows: at 420 px the code and its hint do not fit on one line.
            ui.horizontal_wrapped(|ui| {
                ui.label("Host code:");
                ui.label(RichText::new(hosting.fingerprint.code()).monospace().size(16.0).strong());
                ui.weak("people who connect see the same code: read it to them");
            });
            if let Some(note) = &hosting.identity_note {
                // A long path has few spaces: it may break anywhere rather than run off.
                let text = RichText::new(note).color(ui.visuals().weak_text_color());
                ui.add(egui::Label::new(text).wrap_mode(egui::TextWrapMode::Wrap));
            }
            let shown: Vec<_> = hosting
                .addresses
                .iter()
                .filter(|a| a.kind != AddressKind::Loopback)
                .collect();
            if shown.is_empty() {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    "This computer has no network address yet: connect it to a network. Until then only this computer can join, at 127.0.0.1.",
                );
                return;
            }
            if !shown.iter().any(|a| a.kind == AddressKind::Lan) {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    "This computer has no private LAN address (like 192.168.x.x or 10.x.x.x), so it may not be on the same local network as the others. They can try an address below; if it does not work, connect this computer to the same Wi-Fi or wired network as them (not a guest network) and host again.",
                );
            }
            ui.label("Others on your network type one of these in Natter's Connect tab:");
            for address in &shown {
                let text = format!("{}:{}", address.ip, hosting.port);
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(&text).monospace().size(16.0).strong());
                    copy_button(ui, &text);
                    let note = match address.kind.label() {
                        Some(label) => format!("{}, {label}", address.interface),
                        None => address.interface.clone(),
                    };
                    ui.weak(note);
                });
            }
            phone_line(ui, hosting, &shown);
        });
}

/// "On a phone or any browser: open http://…" with a QR code of it, for the first private LAN
/// address: a browser joins there with nothing installed (PROTOCOL.md §14). None without one:
/// a phone cannot open this computer's loopback address, and without a private address it is
/// most likely not on the phone's network (the card says so above).
fn phone_line(
    ui: &mut egui::Ui,
    hosting: &crate::app::Hosting,
    shown: &[&crate::network::interfaces::LocalAddress],
) {
    use crate::network::interfaces::AddressKind;
    let lan = |a: &&&crate::network::interfaces::LocalAddress| {
        a.kind == AddressKind::Lan && !a.ip.is_loopback()
    };
    let Some(address) = shown.iter().find(lan) else {
        return;
    };
    let url = crate::phone::page_url(address.ip.into(), hosting.port);
    ui.add_space(4.0);
    let words = |ui: &mut egui::Ui| {
        ui.label("On a phone or any browser: open");
        // Wrapped, so the Copy button goes under the address rather than past a narrow edge.
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(&url).monospace().size(16.0).strong());
            copy_button(ui, &url);
        });
        ui.weak("or point the phone's camera at the code. Browsers join without encryption.");
    };
    // Beside the code where the card is wide enough for both, under it where it is not (a
    // 420 px window): the address and its Copy button always stay in view.
    if ui.available_width() >= 420.0 {
        ui.horizontal(|ui| {
            crate::ui::qr::show(ui, &url, 100.0);
            ui.vertical(words);
        });
    } else {
        crate::ui::qr::show(ui, &url, 100.0);
        words(ui);
    }
}

/// The room title and the link status in the width left of the buttons, each shortened with
/// "…" when it does not fit (hovering shows the whole text). The title gets what it needs up to
/// half the width while the status needs the rest; a short title leaves more to the status.
fn title_and_status(ui: &mut egui::Ui, title: &str, color: Color32, status: &str) {
    let gap = 8.0;
    let width = ui.available_width().max(0.0);
    let measure = |ui: &egui::Ui, text: RichText| {
        egui::WidgetText::from(text)
            .into_galley(
                ui,
                Some(egui::TextWrapMode::Extend),
                f32::INFINITY,
                egui::TextStyle::Body,
            )
            .size()
            .x
    };
    let title_text = RichText::new(title).heading();
    let title_needs = measure(ui, title_text.clone());
    let status_needs = measure(ui, RichText::new(status));
    let title_width = if title_needs + gap + status_needs <= width {
        title_needs
    } else {
        title_needs.min((width - gap - status_needs).max(width * 0.5))
    };
    let height = ui.available_height();
    ui.allocate_ui_with_layout(
        egui::vec2(title_width.ceil(), height),
        Layout::left_to_right(Align::Center),
        |ui| {
            ui.add(egui::Label::new(title_text).truncate())
                .widget_info(|| {
                    egui::WidgetInfo::labeled(egui::accesskit::Role::Label, true, title)
                });
        },
    );
    ui.add_space(gap);
    ui.add(egui::Label::new(RichText::new(status).color(color)).truncate())
        .widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::Label, true, status));
}

fn status_text(ui: &egui::Ui, chat: &ChatState) -> (Color32, String) {
    let visuals = ui.visuals();
    match &chat.link {
        LinkState::Online => (
            Color32::from_rgb(60, 170, 90),
            format!("● Online as {}", chat.my_nick),
        ),
        LinkState::Plain => (
            visuals.warn_fg_color,
            "● Plain mode (not a Natter host)".into(),
        ),
        LinkState::Connecting { .. } => (visuals.warn_fg_color, "● Connecting…".into()),
        LinkState::Reconnecting { attempt, .. } => {
            let waiting = chat.pending_count();
            let unconfirmed = if waiting > 0 {
                format!(" · {waiting} message(s) waiting")
            } else {
                String::new()
            };
            let when = match chat.retry_in() {
                Some(left) => format!("next try in {} s", left.as_secs() + 1),
                None => "trying now…".into(),
            };
            (
                visuals.warn_fg_color,
                format!("● Link down, reconnecting · attempt {attempt}, {when}{unconfirmed}"),
            )
        }
        LinkState::Failed(_) => (visuals.error_fg_color, "● Disconnected".into()),
        LinkState::Ended => (visuals.weak_text_color(), "● Chat ended".into()),
    }
}
