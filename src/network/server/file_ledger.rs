//! The host's record of files on offer and deliveries under way (PROTOCOL.md §13).
//!
//! Owns which offers exist and who may see them, which deliveries (one copy of one file to
//! one person) are under way, how far each receiver confirmed, how long a delivery waits
//! for a side whose link dropped or for data that does not come, and how many of the host's
//! delivery places one address may take. People are named by their stay (session token), so a
//! resumed link picks up its transfers. Does not own sockets, frames or the room's members
//! (see `file_relay`, which routes through the room): this is plain data, kept under the
//! room's lock, as the room's `ledger`.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Most files one person may have on offer at once.
pub(super) const MAX_OPEN_OFFERS: usize = 32;

/// A file someone offers.
#[derive(Debug)]
pub(super) struct Offer {
    pub(super) name: String,
    pub(super) size: u64,
    /// As relayed: 64 lowercase hex digits.
    pub(super) sha256: String,
    /// When it was offered (RFC 3339), as its `file_offer` said.
    pub(super) time: String,
    /// The offering stay.
    pub(super) sender: String,
    /// The one stay a private offer is for; `None`: the room.
    pub(super) to: Option<String>,
    /// The sender's link dropped at this moment and has not come back.
    pub(super) sender_gone_since: Option<Instant>,
}

impl Offer {
    /// Whether the stay `session` may take this file.
    pub(super) fn for_session(&self, session: &str) -> bool {
        self.sender != session && self.to.as_deref().is_none_or(|to| to == session)
    }
}

/// One copy of one file on its way to one person.
pub(super) struct Delivery {
    pub(super) file: String,
    pub(super) sender: String,
    pub(super) receiver: String,
    pub(super) size: u64,
    /// The receiver has confirmed this many bytes (never more than `relayed`).
    pub(super) acked: u64,
    /// The end of the furthest chunk relayed: a receiver cannot confirm more, so it cannot
    /// widen the window the host holds the sender to.
    pub(super) relayed: u64,
    /// One side's link dropped at this moment and has not come back.
    pub(super) gone_since: Option<Instant>,
    /// Where the receiver connected from when it asked: one address takes at most its share
    /// of the host's places.
    pub(super) receiver_ip: IpAddr,
    /// When data last went through (or the delivery started, or a side came back): a
    /// delivery that moves nothing for long ends, so its place is not held for nothing.
    pub(super) moved_at: Instant,
}

impl Delivery {
    /// The receiver says it has the first `offset` bytes: believed up to what was relayed.
    pub(super) fn confirmed(&mut self, offset: u64) {
        self.acked = self.acked.max(offset.min(self.relayed));
    }
}

/// Why an offer was not taken.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum OfferRefused {
    IdInUse,
    TooManyOffers,
}

/// Why a request for a file was not taken.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum AcceptRefused {
    NoSuchFile,
    /// The host carries its most deliveries at once.
    Busy,
    /// Receivers at this address already have their share of the host's places.
    AddressBusy,
}

/// How many deliveries the host carries at once, and how many of them may go to receivers
/// at one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Places {
    pub(super) at_once: usize,
    pub(super) per_address: usize,
}

/// The one asking for a file: its stay and where it connected from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Asker<'a> {
    pub(super) session: &'a str,
    pub(super) ip: IpAddr,
}

/// Something that stopped because a side went away for good or did not come back in time:
/// who is still there to be told.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Ended {
    /// A withdrawn offer: everyone who could see it (the room, or the one person).
    Offer {
        file: String,
        sender: String,
        to: Option<String>,
        name: String,
    },
    Delivery {
        number: u64,
        file: String,
        sender: String,
        receiver: String,
    },
}

#[derive(Default)]
pub(super) struct Ledger {
    offers: HashMap<String, Offer>,
    deliveries: BTreeMap<u64, Delivery>,
    next_delivery: u64,
}

impl Ledger {
    pub(super) fn is_empty(&self) -> bool {
        self.offers.is_empty() && self.deliveries.is_empty()
    }

    pub(super) fn offer(&self, file: &str) -> Option<&Offer> {
        self.offers.get(file)
    }

    /// Every offer open now, by file id.
    pub(super) fn offers(&self) -> impl Iterator<Item = (&String, &Offer)> {
        self.offers.iter()
    }

    pub(super) fn add_offer(&mut self, file: &str, offer: Offer) -> Result<(), OfferRefused> {
        if self.offers.contains_key(file) {
            return Err(OfferRefused::IdInUse);
        }
        let open = self.offers.values().filter(|o| o.sender == offer.sender);
        if open.count() >= MAX_OPEN_OFFERS {
            return Err(OfferRefused::TooManyOffers);
        }
        self.offers.insert(file.to_string(), offer);
        Ok(())
    }

    /// `asker` asks for `file` from `offset`: the delivery's number, new or the one already
    /// under way (which restarts from `offset`), unless the host has no place for it.
    pub(super) fn accept(
        &mut self,
        file: &str,
        asker: Asker<'_>,
        offset: u64,
        places: Places,
        now: Instant,
    ) -> Result<(u64, &Offer), AcceptRefused> {
        let receiver = asker.session;
        let offer = self.offers.get(file).filter(|o| o.for_session(receiver));
        let offer = offer.ok_or(AcceptRefused::NoSuchFile)?;
        if offset > offer.size {
            return Err(AcceptRefused::NoSuchFile);
        }
        if let Some((&number, delivery)) =
            (self.deliveries.iter_mut()).find(|(_, d)| d.file == file && d.receiver == receiver)
        {
            delivery.confirmed(offset);
            return Ok((number, offer));
        }
        if self.deliveries.len() >= places.at_once {
            return Err(AcceptRefused::Busy);
        }
        let here = (self.deliveries.values()).filter(|d| d.receiver_ip == asker.ip);
        if here.count() >= places.per_address {
            return Err(AcceptRefused::AddressBusy);
        }
        self.next_delivery += 1;
        let delivery = Delivery {
            file: file.to_string(),
            sender: offer.sender.clone(),
            receiver: receiver.to_string(),
            size: offer.size,
            acked: offset,
            relayed: offset,
            gone_since: None,
            receiver_ip: asker.ip,
            moved_at: now,
        };
        self.deliveries.insert(self.next_delivery, delivery);
        Ok((self.next_delivery, offer))
    }

    pub(super) fn delivery(&self, number: u64) -> Option<&Delivery> {
        self.deliveries.get(&number)
    }

    pub(super) fn delivery_mut(&mut self, number: u64) -> Option<&mut Delivery> {
        self.deliveries.get_mut(&number)
    }

    /// The delivery of `file` to the stay `receiver`.
    pub(super) fn delivery_to(
        &mut self,
        file: &str,
        receiver: &str,
    ) -> Option<(u64, &mut Delivery)> {
        (self.deliveries.iter_mut())
            .find(|(_, d)| d.file == file && d.receiver == receiver)
            .map(|(n, d)| (*n, d))
    }

    /// Every delivery the stay `sender` is sending: number, file, receiver's stay and what
    /// the receiver confirmed.
    pub(super) fn deliveries_of_sender(&self, sender: &str) -> Vec<(u64, String, String, u64)> {
        (self.deliveries.iter())
            .filter(|(_, d)| d.sender == sender)
            .map(|(n, d)| (*n, d.file.clone(), d.receiver.clone(), d.acked))
            .collect()
    }

    pub(super) fn end_delivery(&mut self, number: u64) -> Option<Delivery> {
        self.deliveries.remove(&number)
    }

    /// Withdraws `file`, with every delivery of it (numbers and receivers, to be told).
    pub(super) fn withdraw(&mut self, file: &str) -> Option<(Offer, Vec<(u64, String)>)> {
        let offer = self.offers.remove(file)?;
        let numbers: Vec<u64> = (self.deliveries.iter())
            .filter(|(_, d)| d.file == file)
            .map(|(n, _)| *n)
            .collect();
        let receivers = (numbers.into_iter())
            .filter_map(|n| self.deliveries.remove(&n).map(|d| (n, d.receiver)))
            .collect();
        Some((offer, receivers))
    }

    /// The stay `session` left on purpose: everything it sent or received ends now.
    pub(super) fn left(&mut self, session: &str) -> Vec<Ended> {
        self.end_where(|sender, receiver, _| sender == session || receiver == Some(session))
    }

    /// The stay `session`'s link dropped at `now` (it may come back), or came back (`back`):
    /// a delivery waiting for it counts as idle from then on, not from before the drop.
    pub(super) fn mark_gone(&mut self, session: &str, now: Instant, back: bool) {
        let since = (!back).then_some(now);
        for offer in self.offers.values_mut().filter(|o| o.sender == session) {
            offer.sender_gone_since = since;
        }
        let involved = |d: &&mut Delivery| d.sender == session || d.receiver == session;
        for delivery in self.deliveries.values_mut().filter(involved) {
            delivery.gone_since = since;
            delivery.moved_at = now;
        }
    }

    /// Ends what has waited longer than `grace` for a side that dropped.
    pub(super) fn expire(&mut self, now: Instant, grace: Duration) -> Vec<Ended> {
        let late = |since: Option<Instant>| since.is_some_and(|t| now.duration_since(t) >= grace);
        self.end_where(|_, _, gone| late(gone))
    }

    /// Ends every delivery with both sides in the room that moved no data for `idle`: its
    /// place is free for someone else (a side that dropped is waited for by `expire`).
    pub(super) fn expire_idle(&mut self, now: Instant, idle: Duration) -> Vec<Ended> {
        let numbers: Vec<u64> = (self.deliveries.iter())
            .filter(|(_, d)| d.gone_since.is_none())
            .filter(|(_, d)| now.saturating_duration_since(d.moved_at) >= idle)
            .map(|(n, _)| *n)
            .collect();
        let ended = numbers.into_iter().filter_map(|number| {
            let d = self.deliveries.remove(&number)?;
            Some(Ended::Delivery {
                number,
                file: d.file,
                sender: d.sender,
                receiver: d.receiver,
            })
        });
        ended.collect()
    }

    /// Ends every offer and delivery `ends(sender, receiver, gone_since)` picks (an offer is
    /// asked with no receiver); a withdrawn offer takes its deliveries along.
    fn end_where(
        &mut self,
        ends: impl Fn(&str, Option<&str>, Option<Instant>) -> bool,
    ) -> Vec<Ended> {
        let mut ended = Vec::new();
        let offers: Vec<String> = (self.offers.iter())
            .filter(|(_, o)| ends(&o.sender, None, o.sender_gone_since))
            .map(|(id, _)| id.clone())
            .collect();
        for file in offers {
            if let Some((offer, deliveries)) = self.withdraw(&file) {
                ended.extend(
                    deliveries
                        .into_iter()
                        .map(|(number, receiver)| Ended::Delivery {
                            number,
                            file: file.clone(),
                            sender: offer.sender.clone(),
                            receiver,
                        }),
                );
                ended.push(Ended::Offer {
                    file,
                    sender: offer.sender,
                    to: offer.to,
                    name: offer.name,
                });
            }
        }
        let deliveries: Vec<u64> = (self.deliveries.iter())
            .filter(|(_, d)| ends(&d.sender, Some(&d.receiver), d.gone_since))
            .map(|(n, _)| *n)
            .collect();
        for number in deliveries {
            if let Some(d) = self.deliveries.remove(&number) {
                ended.push(Ended::Delivery {
                    number,
                    file: d.file,
                    sender: d.sender,
                    receiver: d.receiver,
                });
            }
        }
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    /// `who` at 127.0.0.1 asks for `file`; the host carries `at_once` deliveries, as many
    /// as it likes from one address.
    fn ask(
        transfers: &mut Ledger,
        file: &str,
        who: &str,
        offset: u64,
        at_once: usize,
    ) -> Result<u64, AcceptRefused> {
        let places = Places {
            at_once,
            per_address: at_once,
        };
        let asker = Asker {
            session: who,
            ip: HERE,
        };
        let accepted = transfers.accept(file, asker, offset, places, Instant::now());
        accepted.map(|(number, _)| number)
    }

    fn offer(sender: &str, to: Option<&str>) -> Offer {
        Offer {
            name: "photo.jpg".into(),
            size: 100,
            sha256: "0".repeat(64),
            time: String::new(),
            sender: sender.into(),
            to: to.map(str::to_string),
            sender_gone_since: None,
        }
    }

    #[test]
    fn a_private_offer_can_be_taken_by_its_one_person_only_and_never_by_its_sender() {
        let mut transfers = Ledger::default();
        transfers
            .add_offer("f1", offer("dana", Some("bob")))
            .unwrap();
        assert_eq!(
            ask(&mut transfers, "f1", "carol", 0, 8).unwrap_err(),
            AcceptRefused::NoSuchFile
        );
        assert_eq!(
            ask(&mut transfers, "f1", "dana", 0, 8).unwrap_err(),
            AcceptRefused::NoSuchFile
        );
        assert!(ask(&mut transfers, "f1", "bob", 0, 8).is_ok());
    }

    #[test]
    fn asking_again_for_a_file_under_way_restarts_the_same_delivery_and_counts_once() {
        let mut transfers = Ledger::default();
        transfers.add_offer("f1", offer("dana", None)).unwrap();
        let first = ask(&mut transfers, "f1", "bob", 0, 1).unwrap();
        transfers.delivery_mut(first).unwrap().relayed = 100;
        let again = ask(&mut transfers, "f1", "bob", 40, 1).unwrap();
        assert_eq!(first, again);
        assert_eq!(transfers.delivery(first).unwrap().acked, 40);
        assert_eq!(
            ask(&mut transfers, "f1", "carol", 0, 1).unwrap_err(),
            AcceptRefused::Busy
        );
    }

    #[test]
    fn a_dropped_sender_keeps_its_offers_until_the_grace_passes_and_then_everything_ends() {
        let mut transfers = Ledger::default();
        transfers.add_offer("f1", offer("dana", None)).unwrap();
        let number = ask(&mut transfers, "f1", "bob", 0, 8).unwrap();
        let t0 = Instant::now();
        transfers.mark_gone("dana", t0, false);
        let grace = Duration::from_secs(120);
        assert!(
            transfers
                .expire(t0 + Duration::from_secs(60), grace)
                .is_empty()
        );
        let ended = transfers.expire(t0 + grace, grace);
        assert!(ended.contains(&Ended::Delivery {
            number,
            file: "f1".into(),
            sender: "dana".into(),
            receiver: "bob".into()
        }));
        assert!(transfers.is_empty());
    }

    #[test]
    fn a_sender_who_comes_back_in_time_keeps_its_offer() {
        let mut transfers = Ledger::default();
        transfers.add_offer("f1", offer("dana", None)).unwrap();
        let t0 = Instant::now();
        transfers.mark_gone("dana", t0, false);
        transfers.mark_gone("dana", t0, true);
        let grace = Duration::from_secs(1);
        assert!(transfers.expire(t0 + grace * 10, grace).is_empty());
        assert!(transfers.offer("f1").is_some());
    }

    #[test]
    fn a_receiver_confirms_no_more_than_was_relayed_so_the_window_cannot_be_widened() {
        let mut transfers = Ledger::default();
        transfers.add_offer("f1", offer("dana", None)).unwrap();
        let number = ask(&mut transfers, "f1", "bob", 0, 8).unwrap();
        let delivery = transfers.delivery_mut(number).unwrap();
        delivery.relayed = 40;
        delivery.confirmed(100);
        assert_eq!(delivery.acked, 40);
        delivery.confirmed(10);
        assert_eq!(delivery.acked, 40, "a confirmation never goes back");
    }

    #[test]
    fn a_receiver_who_leaves_ends_only_its_own_delivery() {
        let mut transfers = Ledger::default();
        transfers.add_offer("f1", offer("dana", None)).unwrap();
        let bobs = ask(&mut transfers, "f1", "bob", 0, 8).unwrap();
        let carols = ask(&mut transfers, "f1", "carol", 0, 8).unwrap();
        let ended = transfers.left("bob");
        assert_eq!(ended.len(), 1);
        assert!(transfers.delivery(bobs).is_none());
        assert!(transfers.delivery(carols).is_some());
        assert!(transfers.offer("f1").is_some());
    }

    #[test]
    fn receivers_at_one_address_get_at_most_their_share_of_the_places() {
        let mut transfers = Ledger::default();
        let places = Places {
            at_once: 8,
            per_address: 4,
        };
        let now = Instant::now();
        let at = |session, last: u8| Asker {
            session,
            ip: IpAddr::from([10, 0, 0, last]),
        };
        for i in 0..6 {
            transfers
                .add_offer(&format!("f{i}"), offer("mallory", None))
                .unwrap();
        }
        for i in 0..4 {
            let file = format!("f{i}");
            assert!(
                transfers
                    .accept(&file, at("mal2", 9), 0, places, now)
                    .is_ok()
            );
        }
        assert_eq!(
            transfers
                .accept("f4", at("mal3", 9), 0, places, now)
                .unwrap_err(),
            AcceptRefused::AddressBusy,
            "another stay at the same address counts with the first"
        );
        assert!(
            transfers
                .accept("f0", at("mal2", 9), 0, places, now)
                .is_ok(),
            "restarting a delivery under way takes no new place"
        );
        assert!(transfers.accept("f4", at("bob", 7), 0, places, now).is_ok());
    }

    #[test]
    fn a_delivery_that_moves_nothing_for_the_idle_time_ends_and_one_that_moves_does_not() {
        let mut transfers = Ledger::default();
        transfers.add_offer("f1", offer("dana", None)).unwrap();
        let stuck = ask(&mut transfers, "f1", "bob", 0, 8).unwrap();
        let moving = ask(&mut transfers, "f1", "carol", 0, 8).unwrap();
        let waiting = ask(&mut transfers, "f1", "erin", 0, 8).unwrap();
        let t0 = transfers.delivery(stuck).unwrap().moved_at;
        let idle = Duration::from_secs(60);
        transfers.delivery_mut(moving).unwrap().moved_at = t0 + Duration::from_secs(30);
        transfers.mark_gone("erin", t0 + Duration::from_secs(1), false);
        assert!(transfers.expire_idle(t0 + idle / 2, idle).is_empty());
        let ended = transfers.expire_idle(t0 + idle, idle);
        assert_eq!(
            ended,
            vec![Ended::Delivery {
                number: stuck,
                file: "f1".into(),
                sender: "dana".into(),
                receiver: "bob".into()
            }]
        );
        assert!(transfers.delivery(moving).is_some());
        assert!(
            transfers.delivery(waiting).is_some(),
            "a side that dropped is waited for by the grace, not the idle time"
        );
        // Back after a minute and a half away: idle from its return, not from before the drop
        // (the one that moved last at 30 s has been idle for longer meanwhile).
        let back = t0 + Duration::from_secs(100);
        transfers.mark_gone("erin", back, true);
        let ended = transfers.expire_idle(back + idle / 2, idle);
        assert!(matches!(ended[..], [Ended::Delivery { number, .. }] if number == moving));
        assert!(transfers.delivery(waiting).is_some());
        assert_eq!(transfers.expire_idle(back + idle, idle).len(), 1);
        assert!(transfers.delivery(waiting).is_none());
    }

    #[test]
    fn an_id_in_use_and_a_33rd_open_offer_are_refused() {
        let mut transfers = Ledger::default();
        transfers.add_offer("f0", offer("dana", None)).unwrap();
        assert_eq!(
            transfers.add_offer("f0", offer("erin", None)).unwrap_err(),
            OfferRefused::IdInUse
        );
        for i in 1..MAX_OPEN_OFFERS {
            transfers
                .add_offer(&format!("f{i}"), offer("dana", None))
                .unwrap();
        }
        assert_eq!(
            transfers
                .add_offer("late", offer("dana", None))
                .unwrap_err(),
            OfferRefused::TooManyOffers
        );
        assert!(transfers.add_offer("late", offer("erin", None)).is_ok());
    }
}
