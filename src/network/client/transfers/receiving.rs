//! Files offered to us, and the ones we are saving.
//!
//! Owns the offers we may still save, each download's temporary file (through
//! `files::IncomingFile`: cleaned name, never overwriting, checked SHA-256), acknowledging
//! what is on disk, asking for the rest after a drop or, after a host restart, once the
//! sender offers the same file again, and progress. Does not write to the link (the files
//! thread does).

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
    /// The offer's SHA-256 as it came (hex): a re-offer after a host restart must match it.
    sha256: String,
    /// The last offset we acknowledged.
    acked: u64,
    meter: Meter,
    /// The host restarted and forgot this transfer: its part is kept until the sender
    /// offers the file again (see [`Receiving::offered`]).
    orphaned: bool,
}

/// What an offer did to a download of the same file id.
#[derive(Debug, PartialEq)]
pub(super) enum Reoffer {
    /// None was waiting for it: a plain offer.
    Plain,
    /// The download kept over a host restart goes on: send this `file_accept`, from the
    /// bytes on disk.
    GoesOn(ClientFrame),
    /// The kept download was of another file (size or hash differ): its part is removed.
    Changed,
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
    /// An offer came: kept, and matched against a download the host forgot.
    pub(super) fn offered(&mut self, offer: FileOffer) -> Reoffer {
        let id = offer.id.clone();
        let waiting = self.downloads.get(&id).filter(|d| d.orphaned);
        let same = waiting
            .map(|d| d.file.size() == offer.size && d.sha256.eq_ignore_ascii_case(&offer.sha256));
        self.offered.insert(id.clone(), offer);
        match same {
            None => Reoffer::Plain,
            Some(false) => {
                self.cancel(&id);
                Reoffer::Changed
            }
            Some(true) => {
                let Some(download) = self.downloads.get_mut(&id) else {
                    return Reoffer::Plain;
                };
                let written = download.file.written();
                download.orphaned = false;
                download.acked = written;
                download.meter = Meter::new(written);
                Reoffer::GoesOn(accept(&id, written))
            }
        }
    }

    /// The host restarted and knows none of our transfers: its offers are gone, but what we
    /// saved is kept, each download waiting for its sender to offer the file again. The ids of
    /// those downloads.
    pub(super) fn host_forgot(&mut self) -> Vec<String> {
        self.offered.clear();
        (self.downloads.iter_mut())
            .map(|(id, download)| {
                download.orphaned = true;
                id.clone()
            })
            .collect()
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
            sha256: offer.sha256.clone(),
            acked: 0,
            meter: Meter::new(0),
            orphaned: false,
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

    /// After a drop: ask again for each download the host knows, from what is on disk.
    pub(super) fn resume_requests(&self) -> Vec<ClientFrame> {
        (self.downloads.iter())
            .filter(|(_, d)| !d.orphaned)
            .map(|(id, d)| accept(id, d.file.written()))
            .collect()
    }

    /// Data for `id` at `offset` (`None`: it came damaged). Repeats after a restart are not written again,
    /// but acknowledged, so the sender moves on to what we lack.
    pub(super) fn chunk(&mut self, id: &str, offset: u64, data: Option<&[u8]>) -> ChunkStep {
        let mut step = ChunkStep::default();
        let Some(download) = self.downloads.get_mut(id).filter(|d| !d.orphaned) else {
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
            .filter(|(_, d)| !d.orphaned)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(id: &str, size: u64, sha256: &str) -> FileOffer {
        FileOffer {
            id: id.into(),
            from: "dana".into(),
            name: "big.bin".into(),
            size,
            sha256: sha256.into(),
            time: String::new(),
            to: None,
        }
    }

    /// Saving `f1` (8 bytes) with 3 of them on disk.
    fn three_of_eight(folder: &Path) -> Receiving {
        let mut receiving = Receiving::default();
        assert_eq!(
            receiving.offered(offer("f1", 8, &"ab".repeat(32))),
            Reoffer::Plain
        );
        receiving.start("f1", folder).unwrap();
        let step = receiving.chunk("f1", 0, Some(b"abc"));
        assert!(step.failed.is_none());
        receiving
    }

    fn parts_in(folder: &Path) -> usize {
        std::fs::read_dir(folder).unwrap().count()
    }

    #[test]
    fn after_a_host_restart_the_part_is_kept_and_the_same_file_offered_again_is_asked_for_from_the_bytes_saved()
     {
        let folder = tempfile::tempdir().unwrap();
        let mut receiving = three_of_eight(folder.path());
        assert_eq!(receiving.host_forgot(), vec!["f1".to_string()]);
        assert!(!receiving.is_offered("f1"), "the host forgot the offer");
        assert!(
            receiving.resume_requests().is_empty(),
            "nothing is asked of a host that does not know the file"
        );
        assert_eq!(parts_in(folder.path()), 1, "the part is kept");
        // The sender offers it again (hash in the other case): saving goes on from byte 3.
        let again = receiving.offered(offer("f1", 8, &"AB".repeat(32)));
        assert_eq!(again, Reoffer::GoesOn(accept("f1", 3)));
        assert!(receiving.chunk("f1", 3, Some(b"d")).failed.is_none());
        assert_eq!(receiving.downloads["f1"].file.written(), 4);
    }

    #[test]
    fn after_a_host_restart_another_file_offered_under_the_same_id_removes_the_part() {
        let folder = tempfile::tempdir().unwrap();
        let mut receiving = three_of_eight(folder.path());
        receiving.host_forgot();
        assert_eq!(
            receiving.offered(offer("f1", 8, &"cd".repeat(32))),
            Reoffer::Changed
        );
        assert_eq!(parts_in(folder.path()), 0);
        assert!(receiving.is_offered("f1"), "it may be saved from the start");
        let folder2 = tempfile::tempdir().unwrap();
        let mut receiving = three_of_eight(folder2.path());
        receiving.host_forgot();
        assert_eq!(
            receiving.offered(offer("f1", 9, &"ab".repeat(32))),
            Reoffer::Changed
        );
    }
}
