//! The window outside a chat: the title bar with the Host and Connect tabs and the theme
//! picker, a notice line, and a centred card that the `host` or `connect` module fills.
//!
//! Owns layout only: what the tabs do is in `host`/`connect`, what the actions do is in `app`.

use crate::app::{ConnectForm, HostingState, RoomFinder, Tab, UiAction};
use crate::chat_state::LinkState;
use crate::network::discovery::Pace;
use crate::settings::{Settings, ThemeChoice};
use crate::ui::{connect, host};

/// The pieces of the app's state the window outside a chat draws and edits.
pub struct Tabs<'a> {
    pub settings: &'a mut Settings,
    /// A sentence shown once at the top (e.g. settings could not be read).
    pub notice: Option<&'a str>,
    pub tab: &'a mut Tab,
    pub form: &'a mut ConnectForm,
    pub hosting: &'a mut HostingState,
    pub rooms: &'a RoomFinder,
    /// Whether rooms are announced and looked for at all.
    pub discovery: bool,
    pub pace: Pace,
    /// A chat is being connected (the Connect tab shows its progress and Cancel).
    pub connecting: bool,
    /// The link of that chat, while it connects.
    pub link: Option<LinkState>,
}

/// The card's widest: lines of text stay readable however wide the window is.
const CARD_WIDTH: f32 = 520.0;

/// Draws the tabs and the current tab's card; pushes what the person asked for to `actions`.
pub fn show(ui: &mut egui::Ui, mut app: Tabs<'_>, actions: &mut Vec<UiAction>) {
    let theme_before = app.settings.theme;
    let tab_before = *app.tab;
    egui::Panel::top("tabs").show(ui, |ui| title_bar(ui, app.tab, app.settings));
    if *app.tab != tab_before {
        // Chosen with the keyboard, the tab kept the focus and typing went nowhere: the
        // focus goes where typing starts on the new tab.
        let nickname_empty = app.settings.nickname.trim().is_empty();
        app.form
            .tab_chosen(*app.tab == Tab::Connect && !nickname_empty);
    }
    if app.settings.theme != theme_before {
        actions.push(UiAction::SetTheme(app.settings.theme));
        apply_theme(ui.ctx(), app.settings.theme);
    }
    egui::CentralPanel::default().show(ui, |ui| {
        if let Some(notice) = app.notice {
            ui.horizontal_wrapped(|ui| {
                ui.colored_label(ui.visuals().warn_fg_color, notice);
                if ui.button("OK").clicked() {
                    actions.push(UiAction::DismissNotice);
                }
            });
            ui.separator();
        }
        let width = ui.available_width().min(CARD_WIDTH);
        let margin = ((ui.available_width() - width) / 2.0).max(0.0);
        ui.add_space(16.0);
        ui.horizontal(|ui| {
            ui.add_space(margin);
            egui::Frame::group(ui.style())
                .inner_margin(egui::Margin::same(18))
                .corner_radius(8.0)
                .show(ui, |ui| {
                    ui.set_width(width - 40.0);
                    ui.vertical(|ui| match *app.tab {
                        Tab::Host => host::show(ui, &mut app, actions),
                        Tab::Connect => connect::show(ui, &mut app, actions),
                    });
                });
        });
    });
}

/// "Natter", the two tabs, and the theme picker on the right.
fn title_bar(ui: &mut egui::Ui, tab: &mut Tab, settings: &mut Settings) {
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        ui.heading("Natter");
        ui.add_space(12.0);
        tab_button(ui, tab, Tab::Host, "Host");
        tab_button(ui, tab, Tab::Connect, "Connect");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            egui::ComboBox::from_label("Theme")
                .selected_text(settings.theme.label())
                .show_ui(ui, |ui| {
                    for theme in ThemeChoice::ALL {
                        ui.selectable_value(&mut settings.theme, theme, theme.label());
                    }
                });
        });
    });
    ui.add_space(4.0);
}

/// A tab header: looks like a selectable label, and tells assistive technology it is a tab.
fn tab_button(ui: &mut egui::Ui, current: &mut Tab, value: Tab, label: &str) {
    let selected = *current == value;
    let response = ui.selectable_label(selected, egui::RichText::new(label).size(16.0));
    response.widget_info(|| {
        egui::WidgetInfo::selected(egui::accesskit::Role::Tab, true, selected, label)
    });
    if response.clicked() {
        *current = value;
    }
}

/// Makes egui follow the chosen theme (or the system's), with Natter's look for each.
pub fn apply_theme(ctx: &egui::Context, theme: ThemeChoice) {
    for each in [egui::Theme::Light, egui::Theme::Dark] {
        ctx.set_visuals_of(each, visuals(each));
    }
    ctx.set_theme(match theme {
        ThemeChoice::FollowSystem => egui::ThemePreference::System,
        ThemeChoice::Light => egui::ThemePreference::Light,
        ThemeChoice::Dark => egui::ThemePreference::Dark,
    });
}

/// egui's look for `theme`, with secondary text (timestamps, system lines) that reaches 4.5:1
/// against the panel: egui's default is its text colour at 60 % opacity, well under that.
pub fn visuals(theme: egui::Theme) -> egui::Visuals {
    match theme {
        egui::Theme::Light => egui::Visuals {
            weak_text_color: Some(egui::Color32::from_gray(100)),
            ..egui::Visuals::light()
        },
        egui::Theme::Dark => egui::Visuals {
            weak_text_color: Some(egui::Color32::from_gray(140)),
            ..egui::Visuals::dark()
        },
    }
}

/// The "Your nickname" row of a tab's form grid, and under it what is wrong with the nickname
/// as typed (checked on every keystroke, so a fixed mistake disappears at once). The field
/// takes at most [`MAX_NICK_CHARS`] characters, and the keyboard focus at launch. Returns the
/// field's response.
pub fn nickname_row(
    ui: &mut egui::Ui,
    settings: &mut Settings,
    form: &mut ConnectForm,
    enabled: bool,
) -> egui::Response {
    use crate::network::text::MAX_NICK_CHARS;
    let label = ui.label("Your nickname");
    let response = ui
        .add_enabled(
            enabled,
            egui::TextEdit::singleline(&mut settings.nickname)
                .hint_text("e.g. Dana")
                .char_limit(MAX_NICK_CHARS)
                .desired_width(220.0),
        )
        .labelled_by(label.id);
    if form.take_focus_nickname() {
        response.request_focus();
    }
    ui.end_row();
    if let Some(problem) = form.nick_problem(&settings.nickname) {
        ui.label("");
        ui.add(
            egui::Label::new(egui::RichText::new(problem).color(ui.visuals().error_fg_color))
                .wrap(),
        );
        ui.end_row();
    }
    response
}
