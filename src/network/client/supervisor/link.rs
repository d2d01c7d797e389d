//! One live link to the host, from the supervisor's side: the link thread started, the files
//! thread told, unconfirmed lines sent again, then commands from the window and frames from the
//! host pumped until the link ends. Dialling, reconnecting and backing off are `supervisor`'s.

use super::*;
use crate::network::client::link_io::{BulkWriter, LinkIo, LinkWriter};
use crate::network::panics::guarded;

impl Supervisor {
    pub(super) fn run_link(&mut self, established: Established) -> LinkEnd {
        let (incoming_tx, incoming) = crossbeam_channel::unbounded();
        let plain = established.plain;
        // A failure of the files thread while no link was up stopped its transfers and was
        // shown then; it must not end this new link.
        let files_failed = self.files.as_ref().map(|f| f.failed.clone());
        while files_failed.as_ref().is_some_and(|f| f.try_recv().is_ok()) {}
        let ended = incoming_tx.clone();
        let reader = Reader {
            splitter: established.splitter,
            early_lines: established.early_lines,
            plain,
            incoming: incoming_tx,
            files: self.files.as_ref().map(|f| f.input.clone()),
        };
        let idle_timeout = self.options.idle_timeout;
        let (link_io, writer, bulk) = match LinkIo::new(established.stream, reader, idle_timeout) {
            Ok(parts) => parts,
            Err(e) => return LinkEnd::Lost(ClientError::lost(&e)),
        };
        let link_thread = match thread::Builder::new()
            .name("natter-client-link".into())
            .spawn(move || {
                // A panic (a bug) ends the link with words, not a silent "link stopped".
                if let Err(panic) = guarded(|| link_io.run()) {
                    let detail = format!("an internal error while reading from the host: {panic}");
                    let _ = ended.send(Incoming::Ended(ClientError::Lost { detail }));
                }
            }) {
            Ok(thread) => thread,
            Err(e) => return LinkEnd::Lost(ClientError::lost(&e)),
        };
        self.hand_link_to_files(bulk, plain);
        // The hosting window's own link: it proves it is the host's on every link (a stay
        // that did not resume is a new session).
        if let Some(token) = self.options.host_token.clone().filter(|_| !plain) {
            writer.write(encode(&ClientFrame::HostToken { token }));
        }
        self.resend_unconfirmed(&writer, plain);
        let end = self.pump(&writer, plain, &incoming, files_failed);
        if matches!(end, LinkEnd::Disconnected) && !plain {
            writer.write(encode(&ClientFrame::Bye {}));
        }
        // Letting go of the writer closes the link: the thread writes what is left, says
        // goodbye and ends.
        drop(writer);
        let _ = link_thread.join();
        self.to_files(FilesInput::LinkDown);
        end
    }

    /// A Natter link is up: the files thread writes on it too.
    fn hand_link_to_files(&mut self, bulk: BulkWriter, plain: bool) {
        let joined = self.joined_files.take();
        if plain {
            return;
        }
        let Some((limits, resumed)) = joined else {
            return;
        };
        self.to_files(FilesInput::LinkUp {
            writer: bulk,
            nick: self.nick.clone(),
            limits,
            resumed,
        });
    }

    pub(super) fn to_files(&self, input: FilesInput) {
        match &self.files {
            Some(files) => files.send(input),
            None => {
                if let FilesInput::Command(FileCommand::Offer { .. } | FileCommand::Save { .. }) =
                    input
                {
                    self.post(ClientEvent::Warning(
                        "File transfers could not start on this computer (no thread for them)."
                            .into(),
                    ));
                }
            }
        }
    }

    /// Unconfirmed messages from before the drop go out again, oldest first.
    fn resend_unconfirmed(&mut self, writer: &LinkWriter, plain: bool) {
        for (local_id, text, action, to) in self.unconfirmed.clone() {
            self.write_chat(writer, plain, local_id, &text, action, to);
        }
    }

    /// Moves commands to the link thread and frames to events until the link ends.
    /// A panic the files thread caught (`files_failed`) ends the link with words too: its
    /// transfers were stopped, and the next link starts them afresh.
    fn pump(
        &mut self,
        writer: &LinkWriter,
        plain: bool,
        incoming: &Receiver<Incoming>,
        files_failed: Option<Receiver<String>>,
    ) -> LinkEnd {
        let mut files_failed = files_failed.unwrap_or_else(crossbeam_channel::never);
        let mut files_gone = false;
        loop {
            let result = crossbeam_channel::select! {
                recv(files_failed) -> panic => match panic {
                    Ok(panic) => Err(LinkEnd::Lost(ClientError::Lost {
                        detail: format!(
                            "file transfers hit an internal error ({panic}) and were stopped; reconnecting"
                        ),
                    })),
                    // The thread ended (it stops only with the client): nothing more comes.
                    Err(_) => {
                        files_gone = true;
                        Ok(())
                    }
                },
                recv(self.commands) -> command => match command {
                    Ok(command) => self.on_command(writer, plain, command),
                    Err(_) => Err(LinkEnd::Disconnected),
                },
                recv(incoming) -> item => match item {
                    Ok(Incoming::Frame(frame)) => self.on_frame(writer, frame),
                    // Only without a files thread (the reader hands chunks to it directly).
                    Ok(Incoming::Chunk { .. }) => Ok(()),
                    Ok(Incoming::Text(text)) => {
                        self.post(ClientEvent::PlainText(text));
                        Ok(())
                    }
                    Ok(Incoming::Ended(error)) => Err(LinkEnd::Lost(error)),
                    Err(_) => Err(LinkEnd::Lost(ClientError::Lost {
                        detail: "the link thread stopped".into(),
                    })),
                },
            };
            if let Err(end) = result {
                return end;
            }
            if std::mem::take(&mut files_gone) {
                files_failed = crossbeam_channel::never();
            }
        }
    }

    fn on_command(
        &mut self,
        writer: &LinkWriter,
        plain: bool,
        command: ClientCommand,
    ) -> Result<(), LinkEnd> {
        match command {
            ClientCommand::Send { local_id, text } => {
                self.unconfirmed
                    .push_back((local_id, text.clone(), false, None));
                self.write_chat(writer, plain, local_id, &text, false, None);
            }
            ClientCommand::SendAction { local_id, text } => {
                self.unconfirmed
                    .push_back((local_id, text.clone(), true, None));
                self.write_chat(writer, plain, local_id, &text, true, None);
            }
            ClientCommand::SendPrivate {
                local_id,
                to,
                text,
                action,
            } => {
                let to = Some(to);
                let queued = (local_id, text.clone(), action, to.clone());
                self.unconfirmed.push_back(queued);
                self.write_chat(writer, plain, local_id, &text, action, to);
            }
            ClientCommand::Rename(nick) if plain => self.nick = nick,
            ClientCommand::Rename(nick) => writer.write(encode(&ClientFrame::Nick { nick })),
            ClientCommand::Moderate(_) if plain => self.post(ClientEvent::Warning(
                "This host speaks plain text: it has no room tools.".into(),
            )),
            ClientCommand::Moderate(command) => {
                writer.write(encode(&ClientFrame::Moderate(command)));
            }
            ClientCommand::Disconnect => return Err(LinkEnd::Disconnected),
            // The link is up: there is nothing to retry.
            ClientCommand::RetryNow => {}
            ClientCommand::File(command) => self.to_files(FilesInput::Command(command)),
        }
        Ok(())
    }

    /// Hands a chat line to the link thread. A link that broke meanwhile says so through
    /// `incoming`; the line stays unconfirmed and goes again on the next link.
    fn write_chat(
        &mut self,
        writer: &LinkWriter,
        plain: bool,
        local_id: u64,
        text: &str,
        action: bool,
        to: Option<String>,
    ) {
        if !plain {
            let frame = ClientFrame::Chat {
                text: text.to_string(),
                client_id: Some(local_id.to_string()),
                action,
                to,
            };
            return writer.write(encode(&frame));
        }
        // A host that does not speak Natter gets an action as the line people would read,
        // and a private message as the `/msg` command chat servers know.
        let mut line = if action {
            format!("* {} {}", self.nick, text.replace('\n', " "))
        } else if let Some(to) = &to {
            format!("/msg {to} {}", text.replace('\n', " "))
        } else {
            text.replace('\n', " ")
        };
        line.push('\n');
        writer.write(line.into_bytes());
        // A plain server confirms nothing: handed to the link is as delivered as it gets.
        let message = ChatMessage {
            id: 0,
            time: now_rfc3339(),
            from: self.nick.clone(),
            text: text.to_string(),
            client_id: None,
            action,
            to,
        };
        self.unconfirmed.retain(|(queued, ..)| *queued != local_id);
        self.post(ClientEvent::Message {
            message,
            local_id: Some(local_id),
        });
    }

    fn on_frame(&mut self, writer: &LinkWriter, frame: ServerFrame) -> Result<(), LinkEnd> {
        match frame {
            ServerFrame::Chat(message) => self.on_message(message),
            ServerFrame::Join {
                nick,
                time,
                unencrypted,
            } => self.post(ClientEvent::Joined {
                nick,
                time,
                unencrypted,
            }),
            ServerFrame::Presence { time, events } => {
                for event in events {
                    self.post(presence_event(event, &time));
                }
            }
            ServerFrame::Leave {
                nick,
                reason,
                detail,
                time,
            } => self.post(ClientEvent::Left {
                nick,
                reason,
                detail,
                time,
            }),
            ServerFrame::Encryption {
                nick,
                unencrypted,
                time,
            } => self.post(ClientEvent::EncryptionChanged {
                nick,
                unencrypted,
                time,
            }),
            ServerFrame::Nick { from, to, time } => {
                if from == self.nick {
                    self.nick = to.clone();
                }
                self.post(ClientEvent::Renamed { from, to, time });
            }
            ServerFrame::Ping {} => writer.write(encode(&ClientFrame::Pong {})),
            ServerFrame::Error {
                code,
                message,
                client_id,
            } => {
                if code.is_fatal() {
                    return Err(LinkEnd::Lost(ClientError::Rejected { code, message }));
                }
                match client_id.and_then(|id| id.parse::<u64>().ok()) {
                    Some(local_id) => {
                        self.unconfirmed.retain(|(queued, ..)| *queued != local_id);
                        self.post(ClientEvent::NotSent {
                            local_id,
                            reason: message,
                        });
                    }
                    None => self.post(ClientEvent::Warning(message)),
                }
            }
            // The person hosting ended the room: no redialling (the window offers Reconnect).
            ServerFrame::Bye { ended: true, .. } => {
                return Err(LinkEnd::Lost(ClientError::RoomEnded));
            }
            ServerFrame::Bye { .. } => return Err(LinkEnd::Lost(ClientError::HostStopped)),
            ServerFrame::Moderation(notice) => self.post(ClientEvent::Moderation(notice)),
            ServerFrame::Roles(roles) => self.post(ClientEvent::Roles(roles)),
            ServerFrame::Notice { text } => self.post(ClientEvent::Notice(text)),
            ServerFrame::Pong {} | ServerFrame::Welcome { .. } | ServerFrame::Accepted { .. } => {}
            file @ (ServerFrame::FileOffer(_)
            | ServerFrame::FileAccept { .. }
            | ServerFrame::FileDecline { .. }
            | ServerFrame::FileChunk { .. }
            | ServerFrame::FileAck { .. }
            | ServerFrame::FileDone { .. }
            | ServerFrame::FileCancel { .. }) => self.to_files(FilesInput::Frame(file)),
        }
        Ok(())
    }
}

/// The event a join or leave inside a `presence` frame stands for.
fn presence_event(event: PresenceEvent, time: &str) -> ClientEvent {
    let time = time.to_string();
    match event {
        PresenceEvent::Join { join, unencrypted } => ClientEvent::Joined {
            nick: join,
            time,
            unencrypted,
        },
        PresenceEvent::Leave {
            leave,
            reason,
            detail,
        } => ClientEvent::Left {
            nick: leave,
            reason,
            detail,
            time,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::network::client::reader::PANIC_TEXT;
    use crate::network::client::transfers::PANIC_ID;
    use crate::network::client::{
        ClientCommand, ClientError, ClientEvent, ClientHandle, ConnectOptions, FileCommand, connect,
    };
    use crate::network::no_wake_up;
    use crate::network::server::{self, ServerConfig, ServerHandle};

    const WAIT: Duration = Duration::from_secs(10);

    fn host() -> ServerHandle {
        let listener = server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let config = ServerConfig::default().with_new_identity().unwrap();
        server::start(listener, config, no_wake_up()).unwrap()
    }

    /// The next event `pick` takes, skipping others; panics after WAIT.
    fn next<T>(client: &ClientHandle, mut pick: impl FnMut(ClientEvent) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = client.events().recv_timeout(left).unwrap();
            if let ClientEvent::Failed(_) | ClientEvent::Closed = event {
                panic!("the client ended: {event:?}");
            }
            if let Some(found) = pick(event) {
                return found;
            }
        }
    }

    fn in_room(host: &ServerHandle) -> ClientHandle {
        let options = ConnectOptions::new(host.local_addr().to_string(), "alice");
        let client = connect(options, no_wake_up()).unwrap();
        next(&client, |e| {
            matches!(e, ClientEvent::Connected { .. }).then_some(())
        });
        client
    }

    fn link_lost(client: &ClientHandle) -> ClientError {
        next(client, |e| match e {
            ClientEvent::LinkLost { error, .. } => Some(error),
            _ => None,
        })
    }

    #[test]
    fn a_panic_in_the_reader_ends_the_link_with_an_internal_error_in_words() {
        let host = host();
        let client = in_room(&host);
        let text = String::from_utf8_lossy(PANIC_TEXT).into_owned();
        // Our own message comes back: the reader panics on it.
        client.send(ClientCommand::Send { local_id: 1, text });
        let error = link_lost(&client);
        assert!(
            error.to_string().contains(
                "an internal error while reading from the host: a test asked the reader to fail"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_panic_in_the_files_thread_ends_the_link_with_words_and_files_work_on_the_next_link() {
        let host = host();
        let client = in_room(&host);
        client.send(ClientCommand::File(FileCommand::Decline {
            id: PANIC_ID.into(),
        }));
        let error = link_lost(&client);
        assert!(
            error.to_string().contains(
                "file transfers hit an internal error (a test asked the files thread to fail)"
            ),
            "{error}"
        );
        next(&client, |e| {
            matches!(e, ClientEvent::Connected { .. }).then_some(())
        });
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("notes.txt");
        std::fs::write(&path, b"still works").unwrap();
        client.send(ClientCommand::File(FileCommand::Offer { path, to: None }));
        next(&client, |e| match e {
            ClientEvent::FileOffered { offer, ours: true } => Some(offer.name),
            _ => None,
        });
    }
}
