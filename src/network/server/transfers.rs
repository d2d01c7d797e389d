//! The host's record of files on offer and deliveries under way (PROTOCOL.md §13).
//!
//! Owns which offers exist and who may see them, which deliveries (one copy of one file to
//! one person) are under way, how far each receiver confirmed, and how long a delivery waits
//! for a side whose link dropped. People are named by their stay (session token), so a
//! resumed link picks up its transfers. Does not own sockets, frames or the room's members
//! (see `files`, which routes through the room): this is plain data, kept under the room's
//! lock.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Most files one person may have on offer at once.
pub(super) const MAX_OPEN_OFFERS: usize = 32;

/// A file someone offers.
#[derive(Debug)]
pub(super) struct Offer {
    pub(super) name: String,
    pub(super) size: u64,
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
    Busy,
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
pub(super) struct Transfers {
    offers: HashMap<String, Offer>,
    deliveries: BTreeMap<u64, Delivery>,
    next_delivery: u64,
}

impl Transfers {
    pub(super) fn is_empty(&self) -> bool {
        self.offers.is_empty() && self.deliveries.is_empty()
    }

    pub(super) fn offer(&self, file: &str) -> Option<&Offer> {
        self.offers.get(file)
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

    /// The stay `receiver` asks for `file` from `offset`: the delivery's number, new or the
    /// one already under way (which restarts from `offset`).
    pub(super) fn accept(
        &mut self,
        file: &str,
        receiver: &str,
        offset: u64,
        max_at_once: usize,
    ) -> Result<(u64, &Offer), AcceptRefused> {
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
        if self.deliveries.len() >= max_at_once {
            return Err(AcceptRefused::Busy);
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

    /// The stay `session`'s link dropped (it may come back) or came back (`since`: `None`).
    pub(super) fn mark_gone(&mut self, session: &str, since: Option<Instant>) {
        for offer in self.offers.values_mut().filter(|o| o.sender == session) {
            offer.sender_gone_since = since;
        }
        let involved = |d: &&mut Delivery| d.sender == session || d.receiver == session;
        for delivery in self.deliveries.values_mut().filter(involved) {
            delivery.gone_since = since;
        }
    }

    /// Ends what has waited longer than `grace` for a side that dropped.
    pub(super) fn expire(&mut self, now: Instant, grace: Duration) -> Vec<Ended> {
        let late = |since: Option<Instant>| since.is_some_and(|t| now.duration_since(t) >= grace);
        self.end_where(|_, _, gone| late(gone))
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

    fn offer(sender: &str, to: Option<&str>) -> Offer {
        Offer {
            name: "photo.jpg".into(),
            size: 100,
            sender: sender.into(),
            to: to.map(str::to_string),
            sender_gone_since: None,
        }
    }

    #[test]
    fn a_private_offer_can_be_taken_by_its_one_person_only_and_never_by_its_sender() {
        let mut transfers = Transfers::default();
        transfers
            .add_offer("f1", offer("dana", Some("bob")))
            .unwrap();
        assert_eq!(
            transfers.accept("f1", "carol", 0, 8).unwrap_err(),
            AcceptRefused::NoSuchFile
        );
        assert_eq!(
            transfers.accept("f1", "dana", 0, 8).unwrap_err(),
            AcceptRefused::NoSuchFile
        );
        assert!(transfers.accept("f1", "bob", 0, 8).is_ok());
    }

    #[test]
    fn asking_again_for_a_file_under_way_restarts_the_same_delivery_and_counts_once() {
        let mut transfers = Transfers::default();
        transfers.add_offer("f1", offer("dana", None)).unwrap();
        let (first, _) = transfers.accept("f1", "bob", 0, 1).unwrap();
        transfers.delivery_mut(first).unwrap().relayed = 100;
        let (again, _) = transfers.accept("f1", "bob", 40, 1).unwrap();
        assert_eq!(first, again);
        assert_eq!(transfers.delivery(first).unwrap().acked, 40);
        assert_eq!(
            transfers.accept("f1", "carol", 0, 1).unwrap_err(),
            AcceptRefused::Busy
        );
    }

    #[test]
    fn a_dropped_sender_keeps_its_offers_until_the_grace_passes_and_then_everything_ends() {
        let mut transfers = Transfers::default();
        transfers.add_offer("f1", offer("dana", None)).unwrap();
        let (number, _) = transfers.accept("f1", "bob", 0, 8).unwrap();
        let t0 = Instant::now();
        transfers.mark_gone("dana", Some(t0));
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
        let mut transfers = Transfers::default();
        transfers.add_offer("f1", offer("dana", None)).unwrap();
        let t0 = Instant::now();
        transfers.mark_gone("dana", Some(t0));
        transfers.mark_gone("dana", None);
        let grace = Duration::from_secs(1);
        assert!(transfers.expire(t0 + grace * 10, grace).is_empty());
        assert!(transfers.offer("f1").is_some());
    }

    #[test]
    fn a_receiver_confirms_no_more_than_was_relayed_so_the_window_cannot_be_widened() {
        let mut transfers = Transfers::default();
        transfers.add_offer("f1", offer("dana", None)).unwrap();
        let (number, _) = transfers.accept("f1", "bob", 0, 8).unwrap();
        let delivery = transfers.delivery_mut(number).unwrap();
        delivery.relayed = 40;
        delivery.confirmed(100);
        assert_eq!(delivery.acked, 40);
        delivery.confirmed(10);
        assert_eq!(delivery.acked, 40, "a confirmation never goes back");
    }

    #[test]
    fn a_receiver_who_leaves_ends_only_its_own_delivery() {
        let mut transfers = Transfers::default();
        transfers.add_offer("f1", offer("dana", None)).unwrap();
        let (bobs, _) = transfers.accept("f1", "bob", 0, 8).unwrap();
        let (carols, _) = transfers.accept("f1", "carol", 0, 8).unwrap();
        let ended = transfers.left("bob");
        assert_eq!(ended.len(), 1);
        assert!(transfers.delivery(bobs).is_none());
        assert!(transfers.delivery(carols).is_some());
        assert!(transfers.offer("f1").is_some());
    }

    #[test]
    fn an_id_in_use_and_a_33rd_open_offer_are_refused() {
        let mut transfers = Transfers::default();
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
