//! Files offered to us, and the ones we are saving.
//!
//! Owns the offers we may still save, each download's temporary file (through
//! `files::IncomingFile`: cleaned name, never overwriting, checked SHA-256), acknowledging
//! what is on disk, asking for the rest after a drop, and progress. Does not write to the
//! link (the files thread does).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::meter::Meter;
use crate::network::client::ClientEvent;
use crate::network::files::{Chunk, IncomingFile, sha256_from_hex};
use crate::network::protocol::{ClientFrame, FileOffer};

/// A download acknowledges at least this often (bytes): well inside the window, so the
/// sender never waits for us.
const ACK_EVERY: u64 = 256 * 1024;

struct Download {
    file: IncomingFile,
    /// The last offset we acknowledged.
    acked: u64,
    meter: Meter,
}

/// What one chunk led to.
#[derive(Default)]
pub(super) struct ChunkStep {
    /// A frame to send (an acknowledgement).
    pub(super) reply: Option<ClientFrame>,
    /// The file is complete and saved here, with its size.
    pub(super) saved: Option<(PathBuf, u64)>,
    /// The download failed, in words; its temporary file is gone.
    pub(super) failed: Option<String>,
}

#[derive(Default)]
pub(super) struct Receiving {
    offered: HashMap<String, FileOffer>,
    downloads: HashMap<String, Download>,
}

impl Receiving {
    pub(super) fn offered(&mut self, offer: FileOffer) {
        self.offered.insert(offer.id.clone(), offer);
    }

    /// Whether the offer `id` is open: it may be saved.
    pub(super) fn is_offered(&self, id: &str) -> bool {
        self.offered.contains_key(id)
    }

    /// Forgets the offer `id`; whether it was known.
    pub(super) fn forget_offer(&mut self, id: &str) -> bool {
        self.offered.remove(id).is_some()
    }

    /// Starts saving `id` into `folder`: the `file_accept` to send, or why not.
    pub(super) fn start(&mut self, id: &str, folder: &Path) -> Result<ClientFrame, String> {
        if let Some(download) = self.downloads.get(id) {
            return Ok(accept(id, download.file.written()));
        }
        let offer = self
            .offered
            .get(id)
            .ok_or("That file is no longer on offer.")?;
        let sha256 = sha256_from_hex(&offer.sha256).ok_or(
            "The offer carries no valid SHA-256; it cannot be checked, so it is not saved.",
        )?;
        let file = IncomingFile::create(folder, &offer.name, offer.size, sha256)
            .map_err(|e| e.to_string())?;
        let download = Download {
            file,
            acked: 0,
            meter: Meter::new(0),
        };
        self.downloads.insert(id.to_string(), download);
        Ok(accept(id, 0))
    }

    /// Stops saving `id` (its temporary file is removed); whether it was being saved.
    pub(super) fn cancel(&mut self, id: &str) -> bool {
        match self.downloads.remove(id) {
            Some(download) => {
                download.file.cancel();
                true
            }
            None => false,
        }
    }

    /// Forgets every offer and download (temporary files removed); the downloads' ids.
    pub(super) fn forget_all(&mut self) -> Vec<String> {
        self.offered.clear();
        (self.downloads.drain())
            .map(|(id, download)| {
                download.file.cancel();
                id
            })
            .collect()
    }

    /// After a drop: ask again for each download, from what is on disk.
    pub(super) fn resume_requests(&self) -> Vec<ClientFrame> {
        (self.downloads.iter())
            .map(|(id, d)| accept(id, d.file.written()))
            .collect()
    }

    /// Data for `id` at `offset` (`None`: it came damaged). Repeats after a restart are not written again,
    /// but acknowledged, so the sender moves on to what we lack.
    pub(super) fn chunk(&mut self, id: &str, offset: u64, data: Option<&[u8]>) -> ChunkStep {
        let mut step = ChunkStep::default();
        let Some(download) = self.downloads.get_mut(id) else {
            return step;
        };
        let bytes = match data {
            Some(bytes) => bytes,
            None => {
                return self.fail(
                    id,
                    "The file's data arrived damaged (not base64); nothing was saved.".into(),
                );
            }
        };
        let appended = match download.file.write_chunk(offset, bytes) {
            Ok(chunk) => chunk == Chunk::Appended,
            Err(e) => return self.fail(id, e.to_string()),
        };
        let written = download.file.written();
        if download.file.is_complete() {
            return self.complete(id);
        }
        if written >= download.acked + ACK_EVERY || !appended {
            download.acked = written;
            step.reply = Some(ClientFrame::FileAck {
                id: id.to_string(),
                offset: written,
            });
        }
        step
    }

    fn complete(&mut self, id: &str) -> ChunkStep {
        let mut step = ChunkStep::default();
        let Some(download) = self.downloads.remove(id) else {
            return step;
        };
        let size = download.file.size();
        match download.file.finish() {
            Ok(path) => {
                // Kept after a failure: the person may press Save again.
                self.offered.remove(id);
                step.reply = Some(ClientFrame::FileAck {
                    id: id.to_string(),
                    offset: size,
                });
                step.saved = Some((path, size));
            }
            Err(e) => step.failed = Some(e.to_string()),
        }
        step
    }

    fn fail(&mut self, id: &str, reason: String) -> ChunkStep {
        self.cancel(id);
        ChunkStep {
            failed: Some(reason),
            ..ChunkStep::default()
        }
    }

    /// Progress of downloads that moved (at most every so often, unless `now`).
    pub(super) fn progress(&mut self, now: bool) -> Vec<ClientEvent> {
        (self.downloads.iter_mut())
            .filter_map(|(id, d)| {
                let done = d.file.written();
                let speed = d.meter.report(done, now)?;
                Some(ClientEvent::FileProgress {
                    id: id.clone(),
                    peer: None,
                    done,
                    total: d.file.size(),
                    bytes_per_sec: speed,
                })
            })
            .collect()
    }
}

fn accept(id: &str, offset: u64) -> ClientFrame {
    ClientFrame::FileAccept {
        id: id.to_string(),
        offset,
    }
}
