//! The connection threads' join handles, joined as soon as each thread ends.
//!
//! Why: an ended thread that nobody has joined keeps its stack mapped. Joining only when the
//! next connection arrives (as the accept loop once did) left a crowd's 2,000 stacks (~40 MB
//! resident) in place after it left, until someone connected again. Here each ending thread
//! joins the threads that ended before it, so at most the last one waits, for the next ending
//! or for stop. Owns nothing else; the listener spawns, the connection thread reports its end.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::thread::JoinHandle;

use super::connection::ConnId;
use crate::network::lock;

#[derive(Default)]
pub(super) struct ConnThreads {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Threads still running, by connection.
    running: HashMap<ConnId, JoinHandle<()>>,
    /// Threads that said they are ending; joined by the next one to end, or at stop.
    ending: Vec<JoinHandle<()>>,
    /// Threads that ended before the listener stored their handle.
    ended_unregistered: HashSet<ConnId>,
}

impl ConnThreads {
    /// Called by the listener right after spawning the thread of connection `id`.
    pub(super) fn add(&self, id: ConnId, handle: JoinHandle<()>) {
        let mut inner = lock(&self.inner);
        if inner.ended_unregistered.remove(&id) {
            inner.ending.push(handle);
        } else {
            inner.running.insert(id, handle);
        }
    }

    /// Called by connection `id`'s own thread as its last act: joins the threads that ended
    /// before it and leaves its own handle for whoever comes next. Joining one that is still
    /// in this method is safe: each joins only handles left earlier, so nobody waits in a
    /// circle, and what remains of each is returning.
    pub(super) fn ending(&self, id: ConnId) {
        let earlier = {
            let mut inner = lock(&self.inner);
            let earlier = std::mem::take(&mut inner.ending);
            match inner.running.remove(&id) {
                Some(own) => inner.ending.push(own),
                None => {
                    inner.ended_unregistered.insert(id);
                }
            }
            earlier
        };
        for handle in earlier {
            let _ = handle.join();
        }
    }

    /// How many handles are held (running or ended but not yet joined).
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        let inner = lock(&self.inner);
        inner.running.len() + inner.ending.len()
    }

    /// Joins every thread; for stop, once every connection has been told to close.
    pub(super) fn join_all(&self) {
        let handles: Vec<_> = {
            let mut inner = lock(&self.inner);
            let running: Vec<_> = inner.running.drain().map(|(_, h)| h).collect();
            inner.ending.drain(..).chain(running).collect()
        };
        for handle in handles {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;
    use std::time::Duration;

    #[test]
    fn after_a_crowd_ends_one_by_one_only_the_last_thread_waits_to_be_joined() {
        let threads = Arc::new(ConnThreads::default());
        for id in 0..50 {
            let (done_tx, done) = crossbeam_channel::bounded(1);
            let shared = Arc::clone(&threads);
            let handle = thread::spawn(move || {
                shared.ending(id);
                let _ = done_tx.send(());
            });
            threads.add(id, handle);
            done.recv_timeout(Duration::from_secs(10))
                .expect("the connection thread ends");
        }
        assert_eq!(threads.held(), 1);
        threads.join_all();
        assert_eq!(threads.held(), 0);
    }

    #[test]
    fn a_thread_that_ends_before_its_handle_is_stored_is_still_joined() {
        let threads = ConnThreads::default();
        threads.ending(7);
        let handle = thread::spawn(|| {});
        threads.add(7, handle);
        assert_eq!(
            threads.held(),
            1,
            "the early-ended thread's handle waits to be joined"
        );
        threads.join_all();
        assert_eq!(threads.held(), 0);
    }
}
