//! A bounded channel whose room is taken as it fills, not all at once.
//!
//! Owns only [`bounded`] and its [`LazySender`]. Why: `crossbeam_channel::bounded(n)` sets up
//! all `n` slots when made, and touches them, so an idle server kept its 8,192 event slots
//! (1.2 MB) and the refuser's 4,096 (0.3 MB) resident. This is an unbounded (linked blocks)
//! channel that refuses a value once `cap` wait: the same bound, paid for only while used.
//! The bound is kept to within one value per sender racing at the limit: it guards memory
//! when nobody reads, not an exact count.

use crossbeam_channel::{Receiver, Sender, TrySendError};

/// The sending side: refuses a value once `cap` wait.
pub(super) struct LazySender<T> {
    tx: Sender<T>,
    cap: usize,
}

/// A channel that holds at most `cap` values, allocated as they come.
pub(super) fn bounded<T>(cap: usize) -> (LazySender<T>, Receiver<T>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    (LazySender { tx, cap }, rx)
}

impl<T> LazySender<T> {
    /// Sends `value` unless `cap` values wait (`Full`) or the receiver is gone.
    pub(super) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        if self.tx.len() >= self.cap {
            return Err(TrySendError::Full(value));
        }
        self.tx.try_send(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lazily_bounded_channel_refuses_the_value_past_its_cap_and_takes_again_once_read() {
        let (tx, rx) = bounded(3);
        for i in 0..3 {
            assert!(tx.try_send(i).is_ok());
        }
        assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
        assert_eq!(rx.len(), 3);
        assert_eq!(rx.try_recv(), Ok(0));
        assert!(tx.try_send(4).is_ok());
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2, 4]);
        drop(rx);
        assert!(matches!(tx.try_send(5), Err(TrySendError::Disconnected(5))));
    }
}
