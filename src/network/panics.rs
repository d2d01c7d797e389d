//! Catching a panic at a thread's boundary and saying what it was without quoting peer text.
//!
//! Owns [`guarded`] (run some work, turning a panic into its summary), [`summary`] (a panic's
//! message made safe to print) and the process's panic hook ([`install_hook`]). Does not decide
//! what a caught panic costs: the server's I/O threads drop one connection (see
//! `server::io_thread::contain`), the client ends its link (see `client::supervisor`).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::text::clean_text;

/// A summary is cut to this many characters.
const SUMMARY_CHARS: usize = 200;

/// Runs `work`; a panic in it becomes `Err` with the panic's [`summary`]. The work's data is
/// treated as unwind safe: every caller throws away (or only closes) what the panic may have
/// left half-changed, and the shared tables it may have held are taken poison-tolerantly
/// (`network::lock`).
pub(crate) fn guarded<R>(work: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|payload| summary_of(payload.as_ref()))
}

/// The summary of a caught panic's payload.
fn summary_of(payload: &(dyn Any + Send)) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    summary(message)
}

/// A panic's message safe for a console or a log, and free of what a peer typed: std quotes
/// the text it was cutting ("byte index 5 is not a char boundary; it is inside 'K' (bytes
/// 4..7) of `/nicK bob`"), and `Debug` quotes strings, so every quoted span becomes "…". The
/// rest is its first line, cleaned of controls, at most 200 characters.
pub fn summary(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or_default();
    let mut unquoted = String::with_capacity(first_line.len());
    let mut quote = None;
    for c in first_line.chars() {
        match quote {
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None if matches!(c, '`' | '\'' | '"') => {
                quote = Some(c);
                unquoted.push('…');
            }
            None => unquoted.push(c),
        }
    }
    let text = clean_text(&unquoted);
    let mut out: String = text.trim().chars().take(SUMMARY_CHARS).collect();
    if out.is_empty() {
        out.push_str("a panic without a message");
    }
    out
}

/// Replaces the default panic hook (which prints the whole message, peer text included, to
/// stderr) with one that prints the thread, the place and the [`summary`]. With
/// `RUST_BACKTRACE` set, the default hook runs as before, for whoever is debugging.
pub fn install_hook() {
    if std::env::var_os("RUST_BACKTRACE").is_some() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = summary_of(info.payload());
        eprintln!("natter: internal error on thread {name}{place}: {message}");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_becomes_its_message_without_the_text_it_quoted() {
        let text = "/nic\u{212A} bob\u{1b}[2J";
        // Built at run time: a literal slice would not compile past the lint.
        let cut = 5 + usize::from(text.is_empty());
        let caught = guarded(|| text[cut..].len());
        assert_eq!(
            caught,
            Err(
                "start byte index 5 is not a char boundary; it is inside … (bytes 4..7) of …"
                    .to_string()
            )
        );
        assert_eq!(guarded(|| 7), Ok(7));
        let owned = guarded(|| -> u8 { panic!("{} went wrong\nsecond line", "it") });
        assert_eq!(owned, Err("it went wrong".to_string()));
        assert_eq!(summary("\u{1b}[31mred\u{7} `secret` x"), "red … x");
        assert_eq!(summary("called `unwrap` on \"peer's\""), "called … on …");
        assert_eq!(summary(&"x".repeat(500)).chars().count(), 200);
    }
}
