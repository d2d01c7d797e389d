//! Diagnostic logging to stderr, for people finding out what went wrong.
//!
//! Owns turning `RUST_LOG` into a logger (env_logger: `RUST_LOG=debug`, or per module such as
//! `RUST_LOG=natter::network::server=debug`). Does not own what is logged: each network layer
//! logs its own lifecycle through the `log` macros, with peer text passed through
//! [`crate::network::text::single_line`] first. Without `RUST_LOG` no logger is installed, so
//! nothing beyond the console's event lines and the window's own messages is printed.

/// The variable that turns logging on, as in every program that uses env_logger.
pub const ENV: &str = "RUST_LOG";

/// Installs the stderr logger if `RUST_LOG` is set to something; does nothing otherwise
/// (env_logger alone would print errors by default, which would be new output for people
/// who never asked for a log). Calling it twice is harmless.
pub fn init_from_env() {
    let wanted = std::env::var_os(ENV).is_some_and(|value| !value.is_empty());
    if !wanted {
        return;
    }
    // Fails only when a logger is installed already (a second call, or a test's): keep it.
    let _ = env_logger::Builder::from_env(env_logger::Env::new().filter(ENV))
        .target(env_logger::Target::Stderr)
        // Local time to the millisecond, as the console's event lines show the time: a log
        // line can be put beside them.
        .format(|out, record| {
            use std::io::Write;
            writeln!(
                out,
                "[{} {:5} {}] {}",
                chrono::Local::now().format("%H:%M:%S%.3f"),
                record.level(),
                record.target(),
                record.args()
            )
        })
        .try_init();
}
