//! The client's file transfers: one thread, `natter-files`, for everything we send and save.
//!
//! Owns the disk side of every transfer of this client (through `network::files`), the pace
//! of what we send (at most the host's window past the receiver's last acknowledgement),
//! acknowledgements of what we save, progress with speed, and picking transfers up again after
//! the link dropped (PROTOCOL.md §13). Hands its lines to the link thread itself (a
//! `BulkWriter`), behind the supervisor's, so file data never waits on the chat's thread and
//! chat waits at most one chunk. Does not dial, touch the socket or decode frames: the
//! supervisor hands it the link's writer, the file frames and the person's file commands.

mod meter;
mod receiving;
mod sending;

use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use super::ClientEvent;
use super::link_io::BulkWriter;
use crate::network::WakeUp;
use crate::network::panics::guarded;
use crate::network::protocol::{ClientFrame, FileLimits, ServerFrame, encode};
use crate::network::text::single_line;
use receiving::{Receiving, Reoffer};
use sending::Sending;

/// Tests only: declining this file id panics the files thread, for the tests of what a panic
/// costs (see [`Files::contained`]).
#[cfg(test)]
pub(super) const PANIC_ID: &str = "natter-test-panic";

/// How often progress is reported while a transfer moves.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// Inputs handled before the next round of data goes out, so acknowledgements keep up.
const INPUTS_PER_ROUND: usize = 64;

/// What a person asks of file transfers (a part of `ClientCommand`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileCommand {
    /// Offer the file at `path` to the room, or to `to` alone. Answered at once by
    /// [`ClientEvent::FileOffering`], then [`ClientEvent::FileOffered`] once the host shows it
    /// (or [`ClientEvent::FileStopped`]).
    Offer {
        path: std::path::PathBuf,
        to: Option<String>,
    },
    /// Save the offered file `id` into `folder`.
    Save {
        id: String,
        folder: std::path::PathBuf,
    },
    /// Say no to the offered file `id`.
    Decline { id: String },
    /// Stop: our own offer `id` (for everyone), or the saving of someone's file `id`.
    Cancel { id: String },
}

/// What the supervisor hands the files thread.
pub(super) enum FilesInput {
    Command(FileCommand),
    /// A `file_*` frame from the host (but `file_chunk`).
    Frame(ServerFrame),
    /// A `file_chunk`'s data, decoded (`None`: it was not base64).
    Chunk {
        id: String,
        offset: u64,
        bytes: Option<Vec<u8>>,
    },
    /// A Natter link is up, in the room as `nick`. `resumed`: the host knew our stay, so
    /// our transfers go on; otherwise it forgot them.
    LinkUp {
        /// Writes on the link, after the supervisor's lines (see `link_io`).
        writer: BulkWriter,
        nick: String,
        limits: Option<FileLimits>,
        resumed: bool,
    },
    LinkDown,
    /// The client is closing: stop, removing partial downloads.
    Stop,
    /// A file to offer was read and hashed (on its own thread).
    Prepared {
        id: String,
        to: Option<String>,
        result: Result<crate::network::files::OutgoingFile, crate::network::files::FileError>,
    },
}

/// The files thread's handle, kept by the supervisor.
pub(super) struct FilesThread {
    pub(super) input: Sender<FilesInput>,
    /// Each panic the thread caught (its summary): every transfer was stopped, and the
    /// supervisor ends the link with this error, so the window shows it and all picks up anew.
    pub(super) failed: Receiver<String>,
    thread: Option<JoinHandle<()>>,
}

impl FilesThread {
    pub(super) fn start(events: Sender<ClientEvent>, wake: WakeUp) -> std::io::Result<Self> {
        let (input, inputs) = crossbeam_channel::unbounded();
        let (report_failure, failed) = crossbeam_channel::unbounded();
        let files = Files {
            report_failure,
            inputs,
            own_input: input.clone(),
            events,
            wake,
            link: None,
            limits: FileLimits::default(),
            waiting: Vec::new(),
            sending: Sending::default(),
            receiving: Receiving::default(),
        };
        let thread = thread::Builder::new()
            .name("natter-files".into())
            .spawn(move || files.run())?;
        Ok(FilesThread {
            input,
            failed,
            thread: Some(thread),
        })
    }

    pub(super) fn send(&self, input: FilesInput) {
        // A closed channel means the thread ended; nothing is lost that anyone waits for.
        let _ = self.input.send(input);
    }

    /// Ends the thread (partial downloads are removed) and waits for it.
    pub(super) fn stop(mut self) {
        let _ = self.input.send(FilesInput::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The link as the files thread uses it.
struct Link {
    writer: BulkWriter,
    nick: String,
}

struct Files {
    inputs: Receiver<FilesInput>,
    /// Where a caught panic is reported (see [`FilesThread::failed`]).
    report_failure: Sender<String>,
    /// Given to hashing threads, which report back here.
    own_input: Sender<FilesInput>,
    events: Sender<ClientEvent>,
    wake: WakeUp,
    link: Option<Link>,
    limits: FileLimits,
    /// Frames to send once a link is up (a request made while the link was down).
    waiting: Vec<ClientFrame>,
    sending: Sending,
    receiving: Receiving,
}

impl Files {
    fn run(mut self) {
        loop {
            let mut handled = 0;
            while handled < INPUTS_PER_ROUND {
                match self.inputs.try_recv() {
                    Ok(FilesInput::Stop) => return self.finish(),
                    Ok(input) => self.contained(|files| files.on_input(input)),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return self.finish(),
                }
                handled += 1;
            }
            let mut sent = false;
            self.contained(|files| {
                sent = files.send_round();
                files.report_progress(false);
            });
            if sent || handled == INPUTS_PER_ROUND {
                continue;
            }
            match self.inputs.recv_timeout(PROGRESS_EVERY) {
                Ok(FilesInput::Stop) => return self.finish(),
                Ok(input) => self.contained(|files| files.on_input(input)),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return self.finish(),
            }
        }
    }

    /// Runs `work`; a panic in it (a bug) costs the transfers, not the thread: every one is
    /// stopped with a reason the window shows, partial downloads are removed, the link is let
    /// go, and the supervisor is told so it ends the link with an error (see
    /// [`FilesThread::failed`]). The next link starts with nothing half-done.
    fn contained(&mut self, work: impl FnOnce(&mut Files)) {
        let Err(panic) = guarded(|| work(self)) else {
            return;
        };
        log::error!("file transfers stopped after an internal error: {panic}");
        self.link = None;
        self.waiting.clear();
        let reason = format!(
            "Stopped: file transfers hit an internal error ({panic}). Offer or save the file again."
        );
        let forgotten = guarded(|| (self.sending.forget_all(), self.receiving.forget_all()));
        let (sent, saved) = forgotten.unwrap_or_default();
        for (id, peer) in sent {
            self.stopped(id, peer, reason.clone());
        }
        for id in saved {
            self.stopped(id, None, reason.clone());
        }
        self.sending = Sending::default();
        self.receiving = Receiving::default();
        let _ = self.report_failure.send(panic);
        (self.wake)();
    }

    fn post(&self, event: ClientEvent) {
        let _ = self.events.send(event);
        (self.wake)();
    }

    /// Tells the window that `id` stopped (to `peer`, if one delivery of ours), and whether
    /// the offer is still there to save: this thread knows, the window need not guess.
    fn stopped(&self, id: String, peer: Option<String>, reason: String) {
        let offer_open = peer.is_none() && self.receiving.is_offered(&id);
        log::info!(
            "file {} stopped{}: {}",
            single_line(&id),
            peer.as_deref()
                .map(|p| format!(" (to {})", single_line(p)))
                .unwrap_or_default(),
            single_line(&reason)
        );
        self.post(ClientEvent::FileStopped {
            id,
            peer,
            reason,
            offer_open,
        });
    }

    /// Writes `frame` on the link, or keeps it for the next link. A failed write is the
    /// link's end, which the supervisor finds and reports; this thread waits for the next.
    fn write(&mut self, frame: ClientFrame) {
        if self.link.is_none() {
            self.waiting.push(frame);
            return;
        }
        self.write_line(encode(&frame));
    }

    /// Writes one line on the link, if one is up; file data is never kept for a later link
    /// (the host asks again from where the receiver is).
    fn write_line(&mut self, line: Vec<u8>) {
        if let Some(link) = &self.link
            && !link.writer.write(line)
        {
            self.link = None;
        }
    }

    fn on_input(&mut self, input: FilesInput) {
        match input {
            FilesInput::Command(command) => self.on_command(command),
            FilesInput::Frame(frame) => self.on_frame(frame),
            FilesInput::Chunk { id, offset, bytes } => self.on_chunk(&id, offset, bytes.as_deref()),
            FilesInput::LinkUp {
                writer,
                nick,
                limits,
                resumed,
            } => self.link_up(writer, nick, limits, resumed),
            FilesInput::LinkDown | FilesInput::Stop => self.link = None,
            FilesInput::Prepared { id, to, result } => self.prepared(id, to, result),
        }
    }

    fn link_up(
        &mut self,
        writer: BulkWriter,
        nick: String,
        limits: Option<FileLimits>,
        resumed: bool,
    ) {
        self.link = Some(Link { writer, nick });
        self.limits = limits.unwrap_or_default();
        if !resumed {
            // The host restarted: our offers go out again under their ids (below), so each
            // receiver that kept a part asks again from it; what we save waits for that.
            for (id, peer) in self.sending.host_forgot() {
                let reason =
                    format!("the host restarted; it goes on when {peer} asks for it again");
                self.stopped(id, Some(peer), reason);
            }
            let waiting = self.receiving.host_forgot();
            if !waiting.is_empty() {
                log::info!(
                    "the host restarted: {} download(s) wait for their senders to offer them again",
                    waiting.len()
                );
            }
        }
        for frame in self.receiving.resume_requests() {
            self.write(frame);
        }
        for frame in self.sending.unconfirmed_offers() {
            self.write(frame);
        }
        for frame in std::mem::take(&mut self.waiting) {
            self.write(frame);
        }
    }

    fn on_command(&mut self, command: FileCommand) {
        match command {
            FileCommand::Offer { path, to } => self.offer(path, to),
            FileCommand::Save { id, folder } => self.save(&id, &folder),
            #[cfg(test)]
            FileCommand::Decline { id } if id == PANIC_ID => {
                panic!("a test asked the files thread to fail")
            }
            FileCommand::Decline { id } => {
                self.receiving.forget_offer(&id);
                self.write(ClientFrame::FileDecline { id });
            }
            FileCommand::Cancel { id } => self.cancel(id),
        }
    }

    /// Hashing a large file takes a while: it runs on its own thread, and the offer goes out
    /// when it is done.
    fn offer(&mut self, path: std::path::PathBuf, to: Option<String>) {
        let id = new_file_id();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.post(ClientEvent::FileOffering {
            id: id.clone(),
            name,
            to: to.clone(),
        });
        let report = self.own_input.clone();
        let hashing = thread::Builder::new()
            .name("natter-files-hash".into())
            .spawn({
                let id = id.clone();
                let to = to.clone();
                move || {
                    let result = crate::network::files::OutgoingFile::open(&path);
                    let _ = report.send(FilesInput::Prepared { id, to, result });
                }
            });
        if let Err(e) = hashing {
            let reason = format!("Could not start reading the file: {e}.");
            self.stopped(id, None, reason);
        }
    }

    fn prepared(
        &mut self,
        id: String,
        to: Option<String>,
        result: Result<crate::network::files::OutgoingFile, crate::network::files::FileError>,
    ) {
        let file = match result {
            Ok(file) => file,
            Err(e) => {
                self.stopped(id, None, e.to_string());
                return;
            }
        };
        if file.size() > self.limits.max_bytes {
            let reason =
                crate::network::files::too_large(&file.name(), file.size(), self.limits.max_bytes);
            self.stopped(id, None, reason);
            return;
        }
        log::info!("file {id} hashed; offering {} bytes", file.size());
        let frame = self.sending.add_offer(id, to, file);
        self.write(frame);
    }

    fn save(&mut self, id: &str, folder: &std::path::Path) {
        match self.receiving.start(id, folder) {
            Ok(frame) => self.write(frame),
            Err(reason) => self.stopped(id.to_string(), None, reason),
        }
    }

    fn cancel(&mut self, id: String) {
        if self.sending.withdraw(&id) {
            self.stopped_by_us(id, "stopped by the sender", "You stopped offering it.");
        } else if self.receiving.cancel(&id) {
            self.stopped_by_us(id, "stopped by the receiver", "You stopped saving it.");
        }
    }

    /// We stopped file `id`: the host is told why (`told`), the person what happened (`shown`).
    fn stopped_by_us(&mut self, id: String, told: &str, shown: &str) {
        self.write(ClientFrame::FileCancel {
            id: Some(id.clone()),
            delivery: None,
            reason: told.to_string(),
        });
        self.stopped(id, None, shown.to_string());
    }

    fn on_frame(&mut self, frame: ServerFrame) {
        match frame {
            ServerFrame::FileOffer(offer) => {
                let ours = self.link.as_ref().is_some_and(|l| l.nick == offer.from)
                    && self.sending.confirm(&offer.id);
                let mut changed = false;
                if !ours {
                    log::debug!(
                        "file {} offered by {} ({} bytes)",
                        single_line(&offer.id),
                        single_line(&offer.from),
                        offer.size
                    );
                    match self.receiving.offered(offer.clone()) {
                        Reoffer::Plain => {}
                        Reoffer::GoesOn(accept) => {
                            log::info!("file {} offered again: saving goes on", offer.id);
                            self.write(accept);
                        }
                        Reoffer::Changed => changed = true,
                    }
                }
                let id = offer.id.clone();
                self.post(ClientEvent::FileOffered { offer, ours });
                if changed {
                    let reason = "It was offered again after the host restarted, but it is not the same file any more; what was saved of it is removed.";
                    self.stopped(id, None, reason.into());
                }
            }
            ServerFrame::FileAccept {
                id,
                delivery,
                by,
                offset,
            } => self.on_accept(&id, delivery, &by, offset),
            ServerFrame::FileDecline { id, by } if self.sending.is_ours(&id) => {
                self.post(ClientEvent::FileDeclined { id, peer: by });
            }
            ServerFrame::FileAck { delivery, offset } => self.sending.acked(delivery, offset),
            ServerFrame::FileDone { delivery } => {
                if let Some((id, peer)) = self.sending.delivered(delivery) {
                    log::info!(
                        "file {} delivered to {}",
                        single_line(&id),
                        single_line(&peer)
                    );
                    self.post(ClientEvent::FileDelivered { id, peer });
                }
            }
            ServerFrame::FileCancel {
                id,
                delivery,
                by,
                reason,
            } => self.on_cancel(id, delivery, by, reason),
            // Someone declined a file that is not ours: nothing of ours changes.
            ServerFrame::FileDecline { .. } => {}
            // The reader hands file data over as chunks, decoded on its own thread.
            ServerFrame::FileChunk { .. } => {}
            // The supervisor keeps these; it hands this thread only the file frames.
            ServerFrame::Welcome { .. }
            | ServerFrame::Accepted { .. }
            | ServerFrame::Chat(_)
            | ServerFrame::Join { .. }
            | ServerFrame::Leave { .. }
            | ServerFrame::Encryption { .. }
            | ServerFrame::Nick { .. }
            | ServerFrame::Ping {}
            | ServerFrame::Pong {}
            | ServerFrame::Error { .. }
            | ServerFrame::Bye { .. }
            | ServerFrame::Presence { .. }
            | ServerFrame::Moderation(_)
            | ServerFrame::Roles(_)
            | ServerFrame::Notice { .. } => {}
        }
    }

    /// `by` asks for our file `id` as `delivery`: start (or restart) it, unless we no
    /// longer offer it.
    fn on_accept(&mut self, id: &str, delivery: u64, by: &str, offset: u64) {
        log::info!(
            "file {} accepted by {} from byte {offset} (delivery {delivery})",
            single_line(id),
            single_line(by)
        );
        if !self.sending.accepted(id, delivery, by, offset) {
            let reason = "That file is no longer offered.".to_string();
            self.write(ClientFrame::FileCancel {
                id: None,
                delivery: Some(delivery),
                reason,
            });
        }
    }

    fn on_chunk(&mut self, id: &str, offset: u64, data: Option<&[u8]>) {
        let step = self.receiving.chunk(id, offset, data);
        if let Some(frame) = step.reply {
            self.write(frame);
        }
        if let Some((path, total)) = step.saved {
            log::info!(
                "file {} saved: {total} bytes in {}",
                single_line(id),
                single_line(&path.display().to_string())
            );
            self.post(ClientEvent::FileProgress {
                id: id.to_string(),
                peer: None,
                done: total,
                total,
                bytes_per_sec: 0,
            });
            self.write(ClientFrame::FileDone { id: id.to_string() });
            self.post(ClientEvent::FileSaved {
                id: id.to_string(),
                path,
            });
        }
        if let Some(reason) = step.failed {
            self.write(ClientFrame::FileCancel {
                id: Some(id.to_string()),
                delivery: None,
                reason: reason.clone(),
            });
            self.stopped(id.to_string(), None, reason);
        }
    }

    fn on_cancel(&mut self, id: String, delivery: Option<u64>, by: String, reason: String) {
        let reason = match by.as_str() {
            "" => reason,
            by => format!("{by}: {reason}"),
        };
        if let Some(delivery) = delivery {
            if let Some((id, peer)) = self.sending.stop_delivery(delivery) {
                self.stopped(id, Some(peer), reason);
            }
            return;
        }
        let ours = self.sending.withdraw(&id);
        let saving = self.receiving.cancel(&id);
        let offered = self.receiving.forget_offer(&id);
        if ours || saving || offered {
            self.stopped(id, None, reason);
        }
    }

    /// One chunk for every delivery that may send; whether any went out.
    fn send_round(&mut self) -> bool {
        if self.link.is_none() {
            return false;
        }
        let limits = self.limits;
        let mut sent = false;
        for step in self.sending.next_chunks(&limits) {
            match step {
                Ok(line) => {
                    self.write_line(line);
                    sent = true;
                }
                Err((delivery, id, peer, reason)) => {
                    self.write(ClientFrame::FileCancel {
                        id: None,
                        delivery: Some(delivery),
                        reason: reason.clone(),
                    });
                    self.stopped(id, Some(peer), reason);
                }
            }
            if self.link.is_none() {
                break;
            }
        }
        sent
    }

    /// Progress of every moving transfer, at most every [`PROGRESS_EVERY`] (`all`: now).
    fn report_progress(&mut self, all: bool) {
        let mut events = self.sending.progress(all);
        events.extend(self.receiving.progress(all));
        for event in events {
            self.post(event);
        }
    }

    /// The client is closing: partial downloads go (their temporary files are removed).
    fn finish(mut self) {
        self.receiving.forget_all();
        self.link = None;
    }
}

/// A fresh file id: 128 random bits in hex, so no two offers on a host ever share one.
fn new_file_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: the time and a counter still make ids unique for this client.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = nanos.to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
