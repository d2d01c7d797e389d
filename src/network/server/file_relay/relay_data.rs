//! A delivery's data, from its sender to its receiver, each in the form it takes.
//!
//! Owns checking a `file_chunk` (base64) or a `file_data` frame (raw bytes, PROTOCOL.md §13)
//! against the delivery's window and the file's end, and handing it to the receiver as it
//! asked for data in its hello: raw to a client that listed `file_data` (never decoded or
//! copied more than once on the way), base64 lines of at most `chunk_bytes` to any other, so
//! old clients and new ones send to each other. The data goes into the receiver's bulk queue,
//! written only when no chat waits (see `outbox`). Not the window's record (`file_ledger`).

use std::sync::Arc;
use std::time::Instant;

use super::file_limits;
use crate::network::lock;
use crate::network::protocol::{ClientData, ErrorCode, HostData, WINDOW_BYTES};
use crate::network::server::connection::{End, Recipient};
use crate::network::server::handler::Handler;

/// Room before a `file_data` frame's bytes as the splitter hands them over, for the header
/// the host sends them on with (an id of 64, an offset of 20 digits: 140 bytes at most).
pub(in crate::network::server) const DATA_HEADROOM: usize = 160;

/// Frames kept per sender for use again once written: a fresh 256 KiB for every frame was
/// the host's largest cost after AES (its pages faulted in one by one as the data was copied).
const FRAMES_KEPT: usize = 16;

/// A sender's data as it came.
enum Data<'a> {
    /// A `file_chunk`'s base64, checked.
    Base64(&'a [u8]),
    /// A `file_data` frame's bytes, after [`DATA_HEADROOM`] bytes of room.
    Raw(Vec<u8>),
}

impl Handler {
    /// A `file_chunk`: base64 of at most `chunk_bytes`.
    pub(in crate::network::server) fn file_chunk(
        &mut self,
        delivery: u64,
        offset: u64,
        data: &[u8],
    ) -> Option<End> {
        let chunk_bytes = file_limits(self.config()).chunk_bytes;
        let Some(len) = decoded_len(data, chunk_bytes) else {
            let message = format!("A file_chunk's data is base64 of at most {chunk_bytes} bytes.");
            return Some(self.refuse(ErrorCode::BadFrame, &message));
        };
        self.relay(delivery, offset, len, Data::Base64(data))
    }

    /// A `file_data` frame, read whole (its length was checked before a byte of it was read).
    pub(in crate::network::server) fn file_data_frame(
        &mut self,
        header: ClientData,
        data: Vec<u8>,
    ) -> Option<End> {
        if let Some(end) = self.file_frames_refused() {
            return Some(end);
        }
        if !self.takes_data {
            let message = "List \"file_data\" (with \"files\") in your hello's features to send file_data frames; a browser sends none.";
            return Some(self.refuse(ErrorCode::BadFrame, message));
        }
        let len = data.len().saturating_sub(DATA_HEADROOM) as u64;
        self.relay(header.delivery, header.offset, len, Data::Raw(data))
    }

    /// Data for one delivery, relayed to its receiver alone. Data for a delivery that ended
    /// meanwhile (a cancel crossed it) is dropped without a word; data beyond the file or the
    /// window is a broken client, and ends its link.
    fn relay(&mut self, delivery: u64, offset: u64, len: u64, data: Data) -> Option<End> {
        let (file, receiver, raw, size) = {
            let mut room = lock(&self.state.room);
            let session = self.session_token.clone();
            // A delivery that ended meanwhile: its data is dropped without a word.
            let d = (room.ledger.delivery_mut(delivery)).filter(|d| d.sender == session)?;
            let end = offset.saturating_add(len);
            if end > d.size || end > d.acked.saturating_add(WINDOW_BYTES) {
                drop(room);
                let message = format!(
                    "A file's data went past the file's end or more than {WINDOW_BYTES} bytes past the receiver's last file_ack."
                );
                return Some(self.refuse(ErrorCode::BadFrame, &message));
            }
            d.relayed = d.relayed.max(end);
            d.moved_at = Instant::now();
            let (file, to, size) = (d.file.clone(), d.receiver.clone(), d.size);
            let receiver = room.members.iter().find(|m| m.session == to)?;
            (file, receiver.recipient.clone(), receiver.takes_data, size)
        };
        // Made after the room's lock is let go: a chunk is up to 256 kB.
        let chunk_bytes = file_limits(self.config()).chunk_bytes;
        match (data, raw) {
            (Data::Base64(text), false) => {
                receiver.send_bulk(chunk_line(&file, offset, text).into())
            }
            (Data::Base64(text), true) => {
                // Checked by `decoded_len`: it decodes.
                let bytes = base64_simd::STANDARD
                    .decode_to_vec(text)
                    .unwrap_or_default();
                send_raw(&receiver, &file, offset, &bytes);
            }
            (Data::Raw(mut buffer), true) => {
                let bytes_len = buffer.len().saturating_sub(DATA_HEADROOM);
                let header = HostData::line(&file, offset, bytes_len);
                let kept = &mut self.data_frames;
                let refilled = refill(kept, header.as_bytes(), &buffer[DATA_HEADROOM..]);
                let frame = refilled.unwrap_or_else(|| {
                    // The header goes into the room before the bytes: one copy.
                    let frame: Arc<[u8]> = match DATA_HEADROOM.checked_sub(header.len()) {
                        Some(start) => {
                            buffer[start..DATA_HEADROOM].copy_from_slice(header.as_bytes());
                            buffer[start..].into()
                        }
                        None => framed(&header, &buffer[DATA_HEADROOM..]),
                    };
                    if kept.len() < FRAMES_KEPT {
                        kept.push(Arc::clone(&frame));
                    }
                    frame
                });
                receiver.send_bulk(frame);
                self.splitter.recycle(buffer);
                if offset.saturating_add(bytes_len as u64) >= size {
                    // The file's last frame: nothing is kept once it is written.
                    self.data_frames.clear();
                }
            }
            (Data::Raw(buffer), false) => {
                // An old client takes lines of at most `chunk_bytes` bytes of data each.
                let mut at = offset;
                for piece in buffer[DATA_HEADROOM..].chunks(chunk_bytes.max(1)) {
                    let text = base64_simd::STANDARD.encode_type::<String>(piece);
                    receiver.send_bulk(chunk_line(&file, at, text.as_bytes()).into());
                    at += piece.len() as u64;
                }
                self.splitter.recycle(buffer);
            }
        }
        None
    }
}

/// Queues a `file_data` frame, header and bytes as one item: nothing may come between them.
fn send_raw(receiver: &Recipient, file: &str, offset: u64, bytes: &[u8]) {
    let header = HostData::line(file, offset, bytes.len());
    receiver.send_bulk(framed(&header, bytes));
}

/// `header` and `bytes` in one item. Two copies at memory speed; collecting the bytes into
/// the `Arc` one by one was the host's costliest line.
fn framed(header: &str, bytes: &[u8]) -> Arc<[u8]> {
    let mut frame = Vec::with_capacity(header.len() + bytes.len());
    frame.extend_from_slice(header.as_bytes());
    frame.extend_from_slice(bytes);
    frame.into()
}

/// A kept frame of the right length that has been written (nobody else holds it), filled
/// again with `header` and `bytes`.
fn refill(kept: &mut [Arc<[u8]>], header: &[u8], bytes: &[u8]) -> Option<Arc<[u8]>> {
    let len = header.len() + bytes.len();
    let frame = kept
        .iter_mut()
        .find(|f| f.len() == len && Arc::strong_count(f) == 1)?;
    let target = Arc::get_mut(frame)?;
    target[..header.len()].copy_from_slice(header);
    target[header.len()..].copy_from_slice(bytes);
    Some(Arc::clone(frame))
}

/// The `file_chunk` line to a receiver, byte for byte what encoding the frame gives, without
/// escaping 43 kB one character at a time: `data` is base64 (checked by [`decoded_len`]) and
/// ids are letters, digits, `-` and `_` (checked when offered), so neither needs escaping.
pub(super) fn chunk_line(file: &str, offset: u64, data: &[u8]) -> Vec<u8> {
    let mut line = Vec::with_capacity(data.len() + file.len() + 64);
    line.extend_from_slice(br#"{"type":"file_chunk","id":""#);
    line.extend_from_slice(file.as_bytes());
    line.extend_from_slice(format!(r#"","offset":{offset},"data":""#).as_bytes());
    line.extend_from_slice(data);
    line.extend_from_slice(b"\"}\n");
    line
}

/// How many bytes the base64 `data` stands for, if it is well-formed (the standard alphabet,
/// padded) and at most a chunk. The receiver decodes; the host only checks, to hold the sender
/// to its window.
pub(super) fn decoded_len(data: &[u8], chunk_bytes: usize) -> Option<u64> {
    if data.len() > chunk_bytes.div_ceil(3) * 4 {
        return None;
    }
    base64_simd::STANDARD.check(data).ok()?;
    let len = base64_simd::STANDARD.decoded_length(data).ok()?;
    (len <= chunk_bytes).then_some(len as u64)
}
