//! Socket and file errors in words a person can act on, instead of the system's own
//! ("Connection reset by peer (os error 104)"). Owns the wording only; what to do about an
//! error is the caller's. The system's text still goes to the log (`RUST_LOG=debug`).

use std::io::{self, ErrorKind};

/// What happened, in words, for a sentence such as "The connection to the host was lost
/// (…)": no error number, no system jargon.
pub fn in_words(e: &io::Error) -> String {
    log::debug!("system error: {e}");
    let words = match e.kind() {
        ErrorKind::ConnectionReset => "the other end cut the connection off",
        ErrorKind::ConnectionAborted => {
            "this computer cut the connection off; its network may have gone down or changed"
        }
        ErrorKind::BrokenPipe => "the other end stopped listening",
        ErrorKind::UnexpectedEof => "the other end closed the connection",
        ErrorKind::TimedOut => "the network stopped answering",
        ErrorKind::NetworkDown => "this computer's network is down",
        ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable => {
            "the other computer cannot be reached from this network"
        }
        ErrorKind::AddrNotAvailable => "this computer no longer has that network address",
        ErrorKind::ConnectionRefused => "the other end refused the connection",
        ErrorKind::NotConnected => "the connection had already closed",
        ErrorKind::PermissionDenied => "permission denied",
        ErrorKind::NotFound => "it was not found",
        ErrorKind::StorageFull => "the disk is full",
        ErrorKind::QuotaExceeded => "the disk quota is used up",
        ErrorKind::ReadOnlyFilesystem => "the disk is read-only",
        _ => return without_error_number(&e.to_string()),
    };
    words.to_string()
}

/// The system's text without its trailing " (os error 104)".
pub fn without_error_number(text: &str) -> String {
    let trimmed = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => &text[..at],
        _ => text,
    };
    let trimmed = trimmed.trim();
    if trimmed.is_empty() {
        "an error the system did not explain".to_string()
    } else {
        // The system writes "Connection reset by peer": mid-sentence it reads lower case.
        let mut chars = trimmed.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_lowercase().chain(chars).collect::<String>()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_aborted_and_other_connection_errors_read_as_words_with_no_error_number() {
        // The system's own numbers for reset, aborted, broken pipe, timed out, network down,
        // network and host unreachable, address not available: Linux's errno, Windows' WSA codes.
        #[cfg(unix)]
        let (codes, reset) = ([104, 103, 32, 110, 100, 101, 113, 99], 104);
        #[cfg(windows)]
        let (codes, reset) = (
            [10054, 10053, 109, 10060, 10050, 10051, 10065, 10049],
            10054,
        );
        for code in codes {
            let text = in_words(&io::Error::from_raw_os_error(code));
            assert!(!text.contains("os error"), "{code}: {text}");
            assert!(!text.contains(char::is_numeric), "{code}: {text}");
        }
        assert_eq!(
            in_words(&io::Error::from_raw_os_error(reset)),
            "the other end cut the connection off"
        );
    }

    #[test]
    fn an_unmapped_error_keeps_the_systems_words_without_the_number() {
        assert_eq!(
            without_error_number("Too many open files (os error 24)"),
            "too many open files"
        );
        assert_eq!(without_error_number("plain words"), "plain words");
        assert_eq!(
            without_error_number(" (os error 5)"),
            "an error the system did not explain"
        );
    }
}
