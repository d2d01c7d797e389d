//! Reading what the host sends as untrusted text.
//!
//! Owns [`decode_from_host`], the one way the client turns a line from the host into a frame:
//! every piece of text in it is cleaned before the supervisor, the window or a saved chat log
//! sees it. A hostile or broken host can then no more reach a terminal or the log with an
//! escape than a peer can through a well-behaved host.

use crate::network::files::clean_file_name;
use crate::network::protocol::{
    ChatMessage, DecodeError, FileOffer, ModNotice, PresenceEvent, RoomRoles, ServerFrame, decode,
};
use crate::network::text::{clean_text, single_line};

/// Decodes one line from the host, cleaning every text field: messages keep their line
/// breaks, names and the other one-line fields are made one line.
pub(super) fn decode_from_host(line: &[u8]) -> Result<ServerFrame, DecodeError> {
    decode::<ServerFrame>(line).map(clean_frame)
}

fn clean_frame(frame: ServerFrame) -> ServerFrame {
    let one = |text: String| single_line(&text);
    match frame {
        ServerFrame::Welcome {
            server,
            version,
            max_line_bytes,
            ping_interval_secs,
            idle_timeout_secs,
            text,
            files,
        } => ServerFrame::Welcome {
            server: one(server),
            version,
            max_line_bytes,
            ping_interval_secs,
            idle_timeout_secs,
            text: clean_text(&text),
            files,
        },
        ServerFrame::Accepted {
            nick,
            session,
            users,
            history_count,
            resumed,
            history_complete,
            unencrypted,
        } => ServerFrame::Accepted {
            nick: one(nick),
            session: one(session),
            users: users.into_iter().map(one).collect(),
            history_count,
            resumed,
            history_complete,
            unencrypted: unencrypted.into_iter().map(one).collect(),
        },
        ServerFrame::Chat(message) => ServerFrame::Chat(ChatMessage {
            time: one(message.time),
            from: one(message.from),
            text: clean_text(&message.text),
            to: message.to.map(one),
            ..message
        }),
        ServerFrame::Join {
            nick,
            time,
            unencrypted,
        } => ServerFrame::Join {
            nick: one(nick),
            time: one(time),
            unencrypted,
        },
        ServerFrame::Leave {
            nick,
            reason,
            detail,
            time,
        } => ServerFrame::Leave {
            nick: one(nick),
            reason,
            detail: one(detail),
            time: one(time),
        },
        ServerFrame::Encryption {
            nick,
            unencrypted,
            time,
        } => ServerFrame::Encryption {
            nick: one(nick),
            unencrypted,
            time: one(time),
        },
        ServerFrame::Nick { from, to, time } => ServerFrame::Nick {
            from: one(from),
            to: one(to),
            time: one(time),
        },
        ServerFrame::Error {
            code,
            message,
            client_id,
        } => ServerFrame::Error {
            code,
            message: one(message),
            client_id,
        },
        ServerFrame::Moderation(notice) => ServerFrame::Moderation(ModNotice {
            action: one(notice.action),
            by: one(notice.by),
            nick: one(notice.nick),
            you: notice.you,
            until: notice.until.map(one),
            text: one(notice.text),
            time: one(notice.time),
        }),
        ServerFrame::Roles(roles) => ServerFrame::Roles(RoomRoles {
            host: roles.host.map(one),
            ops: roles.ops.into_iter().map(one).collect(),
            muted_until: roles.muted_until.map(one),
            ..roles
        }),
        ServerFrame::Notice { text } => ServerFrame::Notice { text: one(text) },
        ServerFrame::Bye { reason, ended } => ServerFrame::Bye {
            reason: one(reason),
            ended,
        },
        ServerFrame::Presence { time, events } => ServerFrame::Presence {
            time: one(time),
            events: events.into_iter().map(clean_presence).collect(),
        },
        ServerFrame::FileOffer(offer) => ServerFrame::FileOffer(FileOffer {
            id: one(offer.id),
            from: one(offer.from),
            // As it would be saved: no path, no controls, no bidi overrides.
            name: clean_file_name(&offer.name),
            sha256: one(offer.sha256),
            time: one(offer.time),
            to: offer.to.map(one),
            ..offer
        }),
        ServerFrame::FileAccept {
            id,
            delivery,
            by,
            offset,
        } => ServerFrame::FileAccept {
            id: one(id),
            delivery,
            by: one(by),
            offset,
        },
        ServerFrame::FileDecline { id, by } => ServerFrame::FileDecline {
            id: one(id),
            by: one(by),
        },
        ServerFrame::FileCancel {
            id,
            delivery,
            by,
            reason,
        } => ServerFrame::FileCancel {
            id: one(id),
            delivery,
            by: one(by),
            reason: one(reason),
        },
        // File data is decoded from base64, never shown; ids are only compared.
        other @ (ServerFrame::Ping {}
        | ServerFrame::Pong {}
        | ServerFrame::FileChunk { .. }
        | ServerFrame::FileAck { .. }
        | ServerFrame::FileDone { .. }) => other,
    }
}

/// A join or leave inside a `presence` frame, cleaned like the frame it stands for.
fn clean_presence(event: PresenceEvent) -> PresenceEvent {
    let one = |text: String| single_line(&text);
    match event {
        PresenceEvent::Join { join, unencrypted } => PresenceEvent::Join {
            join: one(join),
            unencrypted,
        },
        PresenceEvent::Leave {
            leave,
            reason,
            detail,
        } => PresenceEvent::Leave {
            leave: one(leave),
            reason,
            detail: one(detail),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_in_a_presence_frame_from_the_host_is_cleaned_to_one_line() {
        let line = br#"{"type":"presence","time":"t\u001b[2J","events":[{"join":"ev\u001b]0;x\u0007il\nname"},{"leave":"b\r\nob","reason":"left","detail":"gone\u001b[31m\nnow"}]}"#;
        let frame = decode_from_host(line).unwrap();
        let ServerFrame::Presence { time, events } = frame else {
            panic!("not a presence frame: {frame:?}");
        };
        let mut texts = vec![time];
        for event in events {
            match event {
                PresenceEvent::Join { join, .. } => texts.push(join),
                PresenceEvent::Leave { leave, detail, .. } => texts.extend([leave, detail]),
            }
        }
        assert_eq!(texts.len(), 4);
        for text in texts {
            assert!(
                !text.chars().any(char::is_control),
                "a control character survived in {text:?}"
            );
        }
    }

    #[test]
    fn the_to_of_a_private_message_from_the_host_is_cleaned_to_one_line() {
        let line =
            br#"{"type":"chat","id":1,"time":"t","from":"a","text":"x","to":"da\u001b[2Jna\nx"}"#;
        let frame = decode_from_host(line).unwrap();
        let ServerFrame::Chat(message) = frame else {
            panic!("not a chat frame: {frame:?}");
        };
        assert_eq!(message.to.as_deref(), Some("dana x"));
    }
}
