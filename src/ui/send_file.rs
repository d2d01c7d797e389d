//! Offering files from the chat: the Send file… button beside the message box, the path
//! field shown when no file dialog can be, files dropped on the window, and the download
//! folder setting (in the ⚙ menu).
//!
//! Draws and returns [`UiAction`]s; it never touches a socket. What the actions do is in
//! `app::files`.

use egui::RichText;

use crate::app::{FileAction, UiAction};
use crate::chat_state::{ChatState, LinkState};

/// Where a file would go now, and whether it can: what the Send file… button, the path field
/// and dropped files draw from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTarget {
    /// A plain-text host: it carries no files.
    pub plain: bool,
    /// Files can be offered now (a Natter host, the link up).
    pub enabled: bool,
    /// Where a file goes, in words: "the room" or "bob".
    pub recipient: String,
}

impl FileTarget {
    pub fn new(chat: Option<&ChatState>, enabled: bool) -> Self {
        FileTarget {
            plain: chat.is_some_and(|c| c.link == LinkState::Plain),
            enabled,
            recipient: chat
                .and_then(|c| c.conversations.shown().nick())
                .unwrap_or("the room")
                .to_string(),
        }
    }
}

/// Send file…: hidden on a plain-text host (it carries no files), disabled while the link is
/// not up.
pub fn button(
    ui: &mut egui::Ui,
    target: &FileTarget,
    size: egui::Vec2,
    actions: &mut Vec<UiAction>,
) {
    if target.plain {
        return;
    }
    let enabled = target.enabled;
    let hover = if enabled {
        format!(
            "Offer a file to {}; you can also drop files on the window",
            target.recipient
        )
    } else {
        "Files can be offered while connected".to_string()
    };
    let response = ui
        .add_enabled_ui(enabled, |ui| {
            ui.add_sized(size, egui::Button::new("Send file…"))
        })
        .inner
        .on_hover_text(hover)
        .on_disabled_hover_text("Files can be offered while connected");
    if response.clicked() {
        actions.push(UiAction::File(FileAction::Pick));
    }
}

/// The path field that stands in for the file dialog when none can be shown.
pub fn path_field(
    ui: &mut egui::Ui,
    send_path: &mut Option<String>,
    to: &str,
    actions: &mut Vec<UiAction>,
) {
    let Some(path) = send_path else {
        return;
    };
    ui.add_space(4.0);
    ui.label(format!(
        "No file dialog can be shown on this desktop. Type the path of the file to offer to {to}:"
    ));
    ui.horizontal(|ui| {
        let label = ui.label("File to send");
        let field = ui
            .add(
                egui::TextEdit::singleline(path)
                    .hint_text("/home/you/photo.jpg")
                    .desired_width((ui.available_width() - 160.0).max(120.0)),
            )
            .labelled_by(label.id);
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let typed = path.trim().to_string();
        if (ui
            .add_enabled(!typed.is_empty(), egui::Button::new("Offer file"))
            .clicked()
            || entered)
            && !typed.is_empty()
        {
            actions.push(UiAction::File(FileAction::Offer(typed.into())));
        }
        if ui.button("Cancel").clicked() {
            actions.push(UiAction::File(FileAction::ClosePathField));
        }
    });
}

/// Files dropped on the window are offered to the conversation shown; while files are dragged
/// over it, the window says where they will go.
pub fn dropped_files(ui: &mut egui::Ui, target: &FileTarget, actions: &mut Vec<UiAction>) {
    if !target.enabled {
        return;
    }
    let (hovering, dropped) = ui.ctx().input(|i| {
        let hovering = !i.raw.hovered_files.is_empty();
        (hovering, i.raw.dropped_files.clone())
    });
    for file in dropped {
        actions.push(UiAction::File(FileAction::Offer(file.path().to_path_buf())));
    }
    if hovering {
        let rect = ui.ctx().content_rect();
        let painter = ui.ctx().layer_painter(egui::LayerId::new(
            egui::Order::Foreground,
            egui::Id::unique("file_drop"),
        ));
        painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(160));
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            format!("Drop to offer to {}", target.recipient),
            egui::FontId::proportional(22.0),
            egui::Color32::WHITE,
        );
    }
}

/// The download folder: shown, typed, or chosen with the folder dialog.
pub fn download_folder(
    ui: &mut egui::Ui,
    download_dir: &std::path::Path,
    note: Option<&str>,
    actions: &mut Vec<UiAction>,
) {
    ui.label(RichText::new("Download folder").strong());
    ui.weak("Save puts files here:");
    let id = egui::Id::unique("download_folder_text");
    let shown = download_dir.display().to_string();
    // While it is being typed in, the field keeps what was typed (an empty field means the
    // default, which would otherwise fill it again at once).
    let mut text = ui
        .data(|d| d.get_temp::<String>(id))
        .unwrap_or_else(|| shown.clone());
    ui.horizontal(|ui| {
        let field = ui
            .add(egui::TextEdit::singleline(&mut text).desired_width(260.0))
            .on_hover_text("Empty: your Downloads folder");
        field.widget_info(|| {
            egui::WidgetInfo::labeled(egui::accesskit::Role::TextInput, true, "Download folder")
        });
        if field.changed() {
            actions.push(UiAction::File(FileAction::SetDownloadDir(text.clone())));
        }
        if field.has_focus() {
            ui.data_mut(|d| d.insert_temp(id, text.clone()));
        } else {
            ui.data_mut(|d| d.remove::<String>(id));
        }
        if ui.button("Choose…").clicked() {
            actions.push(UiAction::File(FileAction::ChooseDownloadDir));
        }
    });
    if let Some(note) = note {
        ui.colored_label(ui.visuals().warn_fg_color, note);
    }
}
