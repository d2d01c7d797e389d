//! The files we offer, and each delivery of them to one person.
//!
//! Owns our offers (the open, hashed file), each delivery's position (the next byte to send,
//! what its receiver confirmed), reading chunks within the window, and their progress. Does
//! not write to the link (the files thread does) nor decide what to tell the person.

use std::collections::{BTreeMap, HashMap};

use super::meter::Meter;
use crate::network::client::ClientEvent;
use crate::network::files::{OutgoingFile, sha256_hex};
use crate::network::protocol::{ClientData, ClientFrame, DATA_BYTES, FileLimits, OfferRequest};

struct OwnOffer {
    file: OutgoingFile,
    to: Option<String>,
    /// The host showed it (we got our `file_offer` back).
    confirmed: bool,
}

struct Delivery {
    id: String,
    peer: String,
    /// The next byte to send.
    next: u64,
    /// The receiver has confirmed this many bytes.
    acked: u64,
    size: u64,
    meter: Meter,
}

/// A delivery that cannot go on: its number, file, receiver and why, in words.
pub(super) type Failed = (u64, String, String, String);

#[derive(Default)]
pub(super) struct Sending {
    offers: HashMap<String, OwnOffer>,
    deliveries: BTreeMap<u64, Delivery>,
    /// A chunk's bytes on their way to base64 (a host without `file_data`).
    buf: Vec<u8>,
}

impl Sending {
    /// Keeps a hashed file as offer `id`; returns the `file_offer` to send.
    pub(super) fn add_offer(
        &mut self,
        id: String,
        to: Option<String>,
        file: OutgoingFile,
    ) -> ClientFrame {
        let frame = offer_frame(&id, &file, to.clone());
        self.offers.insert(
            id,
            OwnOffer {
                file,
                to,
                confirmed: false,
            },
        );
        frame
    }

    /// Offers the host has not shown yet: sent again on a new link.
    pub(super) fn unconfirmed_offers(&self) -> Vec<ClientFrame> {
        (self.offers.iter())
            .filter(|(_, o)| !o.confirmed)
            .map(|(id, o)| offer_frame(id, &o.file, o.to.clone()))
            .collect()
    }

    /// Our `file_offer` came back: whether `id` is one of ours.
    pub(super) fn confirm(&mut self, id: &str) -> bool {
        match self.offers.get_mut(id) {
            Some(offer) => {
                offer.confirmed = true;
                true
            }
            None => false,
        }
    }

    pub(super) fn is_ours(&self, id: &str) -> bool {
        self.offers.contains_key(id)
    }

    /// `peer` asked for `id` from `offset` as `delivery` (new, or restarted after a drop).
    /// False if `id` is not ours (any more).
    pub(super) fn accepted(&mut self, id: &str, delivery: u64, peer: &str, offset: u64) -> bool {
        let Some(offer) = self.offers.get(id) else {
            return false;
        };
        let size = offer.file.size();
        let offset = offset.min(size);
        let entry = self.deliveries.entry(delivery).or_insert_with(|| Delivery {
            id: id.to_string(),
            peer: peer.to_string(),
            next: offset,
            acked: offset,
            size,
            meter: Meter::new(offset),
        });
        entry.next = offset;
        entry.acked = offset;
        true
    }

    pub(super) fn acked(&mut self, delivery: u64, offset: u64) {
        if let Some(d) = self.deliveries.get_mut(&delivery) {
            d.acked = d.acked.max(offset.min(d.size));
            // After a restart the receiver may already have more than we sent again.
            d.next = d.next.max(d.acked);
        }
    }

    /// The receiver has it all: the delivery's file and receiver.
    pub(super) fn delivered(&mut self, delivery: u64) -> Option<(String, String)> {
        self.deliveries.remove(&delivery).map(|d| (d.id, d.peer))
    }

    pub(super) fn stop_delivery(&mut self, delivery: u64) -> Option<(String, String)> {
        self.delivered(delivery)
    }

    /// Stops offering `id` and every delivery of it; whether it was ours.
    pub(super) fn withdraw(&mut self, id: &str) -> bool {
        self.deliveries.retain(|_, d| d.id != id);
        self.offers.remove(id).is_some()
    }

    /// The host restarted and knows none of our transfers: every offer is to be made again
    /// (under the same id, so receivers that kept a part go on from it) and every delivery
    /// is gone, until its receiver asks again. Each gone delivery's id and receiver.
    pub(super) fn host_forgot(&mut self) -> Vec<(String, String)> {
        for offer in self.offers.values_mut() {
            offer.confirmed = false;
        }
        (std::mem::take(&mut self.deliveries).into_values())
            .map(|d| (d.id, d.peer))
            .collect()
    }

    /// Forgets everything (after an internal error): each offer's id, with no receiver, and
    /// each delivery's id and receiver.
    pub(super) fn forget_all(&mut self) -> Vec<(String, Option<String>)> {
        let mut forgotten: Vec<(String, Option<String>)> = std::mem::take(&mut self.deliveries)
            .into_values()
            .map(|d| (d.id, Some(d.peer)))
            .collect();
        forgotten.extend(self.offers.drain().map(|(id, _)| (id, None)));
        forgotten
    }

    /// The next chunk of every delivery that may send one now: within the window past what
    /// its receiver confirmed. A file that cannot be read any more fails its deliveries.
    /// Each chunk comes ready to write: a `file_data` frame, its bytes read from the file
    /// straight behind its header, when the host takes them (`data_bytes` in its welcome),
    /// else a `file_chunk` line.
    pub(super) fn next_chunks(&mut self, limits: &FileLimits) -> Vec<Result<Vec<u8>, Failed>> {
        let mut out = Vec::new();
        let chunk = match limits.data_bytes {
            Some(data_bytes) => data_bytes.min(DATA_BYTES),
            None => limits.chunk_bytes,
        }
        .max(1);
        for (&number, d) in self.deliveries.iter_mut() {
            let room = (d.acked + limits.window_bytes)
                .min(d.size)
                .saturating_sub(d.next);
            if room == 0 {
                continue;
            }
            let Some(offer) = self.offers.get_mut(&d.id) else {
                continue;
            };
            let want = room.min(chunk as u64) as usize;
            let read = match limits.data_bytes {
                Some(_) => data_frame(&mut offer.file, number, d.next, want),
                None => {
                    self.buf.resize(want, 0);
                    (offer.file.read_chunk(d.next, &mut self.buf[..want]))
                        .map(|n| (n, chunk_line(number, d.next, &self.buf[..n])))
                }
            };
            match read {
                Ok((n, frame)) if n > 0 => {
                    out.push(Ok(frame));
                    d.next += n as u64;
                }
                Ok(_) => {
                    let reason = format!(
                        "{} changed since it was offered; offer it again.",
                        offer.file.name()
                    );
                    out.push(Err((number, d.id.clone(), d.peer.clone(), reason)));
                }
                Err(e) => out.push(Err((number, d.id.clone(), d.peer.clone(), e.to_string()))),
            }
        }
        for (number, ..) in out.iter().filter_map(|r| r.as_ref().err()) {
            self.deliveries.remove(number);
        }
        out
    }

    /// Progress of deliveries that moved (at most every so often, unless `now`).
    pub(super) fn progress(&mut self, now: bool) -> Vec<ClientEvent> {
        (self.deliveries.values_mut())
            .filter_map(|d| {
                let speed = d.meter.report(d.acked, now)?;
                Some(ClientEvent::FileProgress {
                    id: d.id.clone(),
                    peer: Some(d.peer.clone()),
                    done: d.acked,
                    total: d.size,
                    bytes_per_sec: speed,
                })
            })
            .collect()
    }
}

/// The `file_data` frame of `want` bytes at `offset` of `delivery`, read from `file` into its
/// place behind the header (no copy), and how many bytes it carries.
fn data_frame(
    file: &mut OutgoingFile,
    delivery: u64,
    offset: u64,
    want: usize,
) -> Result<(usize, Vec<u8>), crate::network::files::FileError> {
    let header = ClientData::line(delivery, offset, want);
    let mut frame = Vec::with_capacity(header.len() + want);
    frame.extend_from_slice(header.as_bytes());
    // `want` is within the offered size: all of it is read, or it fails.
    let n = file.append_chunk(offset, want, &mut frame)?;
    Ok((n, frame))
}

/// The `file_chunk` line for `data` at `offset` of `delivery`: byte for byte what encoding the
/// frame gives, with the base64 written straight into the line (it needs no escaping, and
/// escaping 43 kB one character at a time was most of the sender's work).
fn chunk_line(delivery: u64, offset: u64, data: &[u8]) -> Vec<u8> {
    let mut line =
        format!(r#"{{"type":"file_chunk","delivery":{delivery},"offset":{offset},"data":""#);
    base64_simd::STANDARD.encode_append(data, &mut line);
    line.push_str("\"}\n");
    line.into_bytes()
}

fn offer_frame(id: &str, file: &OutgoingFile, to: Option<String>) -> ClientFrame {
    ClientFrame::FileOffer(OfferRequest {
        id: id.to_string(),
        name: file.name(),
        size: file.size(),
        sha256: sha256_hex(&file.sha256()),
        to,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_chunk_line_made_by_hand_is_byte_for_byte_the_encoded_frame() {
        let data = [0u8, 1, 2, 250, 251, 252, 253];
        let frame = crate::network::protocol::ClientFrame::FileChunk {
            delivery: 7,
            offset: 1 << 33,
            data: base64_simd::STANDARD.encode_to_string(data),
        };
        assert_eq!(
            super::chunk_line(7, 1 << 33, &data),
            crate::network::protocol::encode(&frame)
        );
    }
}
