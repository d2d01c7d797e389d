//! How many "could not reach you" notes a host is shown, whatever their number.
//!
//! Owns [`NoteGate`]: the first few notes of a minute are passed on one by one, the rest are
//! only counted and passed on as one "N more like this in the last minute". A note's source
//! address can be forged at will, so the per-address limit (in `announcer`) does not bound
//! what a flood of forged sources costs the host's console or window: this does. Knows nothing
//! of sockets or datagrams; time comes in as arguments, so it is tested without waiting.

use std::time::{Duration, Instant};

/// Notes passed on one by one in a window; the rest of that window's are counted.
pub const NOTES_PER_WINDOW: u32 = 3;
/// How long a window lasts, from its first note.
pub const NOTE_WINDOW: Duration = Duration::from_secs(60);

/// The window of notes under way.
#[derive(Debug)]
pub struct NoteGate {
    window: Duration,
    per_window: u32,
    /// When the window under way began (at its first note); `None`: no window under way.
    started: Option<Instant>,
    passed: u32,
    held: u32,
}

impl Default for NoteGate {
    fn default() -> Self {
        NoteGate::new(NOTE_WINDOW, NOTES_PER_WINDOW)
    }
}

impl NoteGate {
    pub fn new(window: Duration, per_window: u32) -> Self {
        NoteGate {
            window,
            per_window,
            started: None,
            passed: 0,
            held: 0,
        }
    }

    /// A note came (it passed the per-address limit): `true` to pass it on now, `false` when
    /// it is only counted (see [`NoteGate::due`]).
    pub fn admit(&mut self, now: Instant) -> bool {
        self.started.get_or_insert(now);
        if self.passed < self.per_window {
            self.passed += 1;
            return true;
        }
        self.held = self.held.saturating_add(1);
        false
    }

    /// Once the window under way is over: how many notes it held back, if any (to be passed
    /// on as one), and a new window begins with the next note.
    pub fn due(&mut self, now: Instant) -> Option<u32> {
        let started = self.started?;
        if now.saturating_duration_since(started) < self.window {
            return None;
        }
        self.started = None;
        self.passed = 0;
        self.take_held()
    }

    /// On stop: the notes held back so far, if any, so none goes untold.
    pub fn take_held(&mut self) -> Option<u32> {
        let held = std::mem::take(&mut self.held);
        (held > 0).then_some(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_notes_of_a_window_pass_the_rest_are_counted_and_told_once_it_ends() {
        let t0 = Instant::now();
        let mut gate = NoteGate::new(Duration::from_secs(60), 3);
        let passed = (0..1000)
            .filter(|i| gate.admit(t0 + Duration::from_millis(*i)))
            .count();
        assert_eq!(passed, 3);
        assert_eq!(gate.due(t0 + Duration::from_secs(59)), None);
        assert_eq!(gate.due(t0 + Duration::from_secs(60)), Some(997));
        assert_eq!(gate.due(t0 + Duration::from_secs(200)), None, "told once");
        // A new window begins with the next note.
        let t1 = t0 + Duration::from_secs(300);
        assert!(gate.admit(t1));
        assert_eq!(gate.due(t1 + Duration::from_secs(60)), None, "nothing held");
    }

    #[test]
    fn notes_held_when_stopping_are_handed_over() {
        let t0 = Instant::now();
        let mut gate = NoteGate::new(Duration::from_secs(60), 1);
        assert!(gate.admit(t0));
        assert!(!gate.admit(t0));
        assert!(!gate.admit(t0));
        assert_eq!(gate.take_held(), Some(2));
        assert_eq!(gate.take_held(), None);
    }
}
