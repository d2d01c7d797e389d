//! Who is online, beside the chat: names in their colours (greyed while the link is down),
//! a mark for those without encryption, the host and co-hosts marked, a click on a name to talk
//! privately, the rename box opened by clicking one's own name, and for the host and co-hosts
//! a menu on each name they may act on (a right click: Mute 10 min, Unmute, Kick, Ban…).
//!
//! Draws from the app's state and returns [`UiAction`]s; it never touches a socket.

use egui::text::LayoutJob;
use egui::{FontId, Key, TextFormat};

use crate::app::{Session, UiAction};
use crate::chat_state::{ConversationKey, LinkState};
use crate::network::protocol::{ModCommand, Role, RoomRoles};
use crate::ui::bidi_text;
use crate::ui::chat::nick_color;
use crate::ui::chat_top::UNLOCKED;

pub(super) fn user_list(ui: &mut egui::Ui, session: &mut Session, actions: &mut Vec<UiAction>) {
    let (chat, rename_draft) = session.chat_and_rename_draft();
    let Some(chat) = chat else {
        return;
    };
    let mut open_rename = false;
    ui.add_space(6.0);
    // While the link is down the list is what we last saw, greyed.
    let down = chat.link_down();
    if down {
        ui.strong(format!("Last seen ({})", chat.users.len()));
        ui.weak(if matches!(chat.link, LinkState::Ended) {
            "(chat ended)"
        } else {
            "(link down)"
        });
    } else {
        ui.strong(format!("Online ({})", chat.users.len()));
    }
    ui.separator();
    egui::ScrollArea::vertical().show(ui, |ui| {
        // A list with an item per person, as screen readers expect of a list of people.
        let list = egui::UiBuilder::new()
            .accessibility_role(egui::accesskit::Role::List)
            .accessibility_label("People in the room");
        ui.scope_builder(list, |ui| {
        for user in &chat.users {
            let color = if down {
                ui.visuals().weak_text_color()
            } else {
                nick_color(user, ui.visuals().dark_mode)
            };
            let format = TextFormat {
                font_id: FontId::proportional(14.0),
                color,
                underline: if *user == chat.my_nick {
                    egui::Stroke::new(1.0, color)
                } else {
                    egui::Stroke::NONE
                },
                ..Default::default()
            };
            let mut job = LayoutJob::default();
            bidi_text::append_visual(&mut job, user, &format);
            let unencrypted = chat.unencrypted.contains(user);
            if unencrypted {
                job.append(&format!(" {UNLOCKED}"), 0.0, format.clone());
            }
            let role = role_of(&chat.roles, user);
            if let Some(mark) = role_mark(role) {
                let weak = TextFormat {
                    color: ui.visuals().weak_text_color(),
                    underline: egui::Stroke::NONE,
                    ..format.clone()
                };
                job.append(mark, 0.0, weak);
            }
            // One row per name: a long one ends in "…" (whole on hover), never broken mid-word.
            let mine = *user == chat.my_nick && !down;
            let label = egui::Label::new(job).truncate();
            let label = if !down {
                label.sense(egui::Sense::click())
            } else {
                label
            };
            let mut response = ui.add(label);
            response.widget_info(|| {
                egui::WidgetInfo::labeled(egui::accesskit::Role::ListItem, true, user)
            });
            if !mine && !down && may_act_on(chat.roles.you, role) {
                response.context_menu(|ui| {
                    moderation_menu(ui, user, role, &chat.roles, actions);
                });
            }
            if unencrypted {
                response = response.on_hover_text(
                    "Joined without encryption: what they send and receive can be read on the network",
                );
            }
            if mine
                && response
                    .clone()
                    .on_hover_text("Click to change your name")
                    .on_hover_cursor(egui::CursorIcon::PointingHand)
                    .clicked()
            {
                open_rename = true;
            } else if !mine
                && !down
                && response
                    .on_hover_text(format!("Click to write to {user} privately"))
                    .on_hover_cursor(egui::CursorIcon::PointingHand)
                    .clicked()
            {
                actions.push(UiAction::ShowConversation(ConversationKey::private(user)));
            }
        }
        });
    });
    if open_rename && rename_draft.is_none() {
        *rename_draft = Some(chat.my_nick.clone());
        // The box takes the keyboard focus once, when its field exists (next in this frame).
        ui.data_mut(|d| d.insert_temp(rename_field_id(), true));
    }
    rename_box(ui, rename_draft, actions);
}

/// `user`'s role as the host last said (only the host and co-hosts are named).
fn role_of(roles: &RoomRoles, user: &str) -> Role {
    if roles.host.as_deref() == Some(user) {
        Role::Host
    } else if roles.ops.iter().any(|op| op == user) {
        Role::Op
    } else {
        Role::Member
    }
}

/// The words after a name in the list.
fn role_mark(role: Role) -> Option<&'static str> {
    match role {
        Role::Host => Some("  host"),
        Role::Op => Some("  co-host"),
        Role::Member | Role::Voiced => None,
    }
}

/// Whether someone of role `me` has tools for someone of role `them` (the host decides too).
fn may_act_on(me: Role, them: Role) -> bool {
    match me {
        Role::Host => them != Role::Host,
        Role::Op => them == Role::Member || them == Role::Voiced,
        Role::Member | Role::Voiced => false,
    }
}

/// The host's and co-hosts' menu on `user`'s name.
fn moderation_menu(
    ui: &mut egui::Ui,
    user: &str,
    role: Role,
    roles: &RoomRoles,
    actions: &mut Vec<UiAction>,
) {
    let nick = || user.to_string();
    let mut items: Vec<(&str, ModCommand)> = vec![
        (
            "Mute 10 min",
            ModCommand::Mute {
                nick: nick(),
                minutes: Some(10),
            },
        ),
        ("Unmute", ModCommand::Unmute { nick: nick() }),
        (
            "Kick",
            ModCommand::Kick {
                nick: nick(),
                reason: String::new(),
            },
        ),
        (
            "Ban for 1 hour",
            ModCommand::Ban {
                target: nick(),
                minutes: Some(60),
            },
        ),
    ];
    if roles.lecture {
        items.push(("Give a voice", ModCommand::Voice { nick: nick() }));
        items.push(("Take the voice", ModCommand::Unvoice { nick: nick() }));
    }
    if roles.you == Role::Host {
        items.push(match role {
            Role::Op => ("Make a member again", ModCommand::Deop { nick: nick() }),
            _ => ("Make co-host", ModCommand::Op { nick: nick() }),
        });
    }
    for (label, command) in items {
        if ui.button(label).clicked() {
            actions.push(UiAction::Moderate(command));
            ui.close();
        }
    }
}

fn rename_field_id() -> egui::Id {
    egui::Id::unique("rename_field")
}

/// The small box for a new name, under the user list while it is open.
fn rename_box(ui: &mut egui::Ui, rename_draft: &mut Option<String>, actions: &mut Vec<UiAction>) {
    use crate::network::text::MAX_NICK_CHARS;
    let Some(draft) = rename_draft.as_mut() else {
        return;
    };
    let mut done = None;
    egui::Frame::popup(ui.style()).show(ui, |ui| {
        let label = ui.label("New name");
        let field = ui
            .add(
                egui::TextEdit::singleline(draft)
                    .id(rename_field_id())
                    .char_limit(MAX_NICK_CHARS)
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
        if ui.data_mut(|d| d.remove_temp::<bool>(rename_field_id()).unwrap_or(false)) {
            field.request_focus();
        }
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        ui.horizontal(|ui| {
            if ui.button("Rename").clicked() || enter {
                done = Some(true);
            }
            if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(Key::Escape)) {
                done = Some(false);
            }
        });
    });
    match done {
        Some(true) => {
            if let Some(wanted) = rename_draft.take() {
                actions.push(UiAction::Rename(wanted));
            }
        }
        Some(false) => *rename_draft = None,
        None => {}
    }
}
