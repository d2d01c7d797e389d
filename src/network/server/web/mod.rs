//! The browser dialect: HTTP requests on the room's port, the page they get, and the
//! WebSocket link the page joins over.
//!
//! Owns telling an HTTP request from the other dialects' first bytes (here), requests and
//! responses (`http`), the page (`page`) and WebSocket framing (`ws`). Does not own the socket
//! (see `conn_io`), the room or the JSON frames a WebSocket carries (see `handler` and
//! `json_dialect`).

pub(super) mod http;
mod page;
pub(super) mod ws;

/// The request methods an HTTP request line may start with.
const METHODS: [&[u8]; 9] = [
    b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE",
];

/// What a connection's first bytes say about HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sniffed {
    /// They start with a request method and a space: an HTTP request.
    Http,
    /// They could still become one (`GE`): wait for more, within the sniff window.
    Maybe,
    /// Not HTTP: the other dialects decide.
    No,
}

/// Tells whether a connection's first bytes start an HTTP request.
pub(super) fn sniff(first: &[u8]) -> Sniffed {
    let mut maybe = false;
    for method in METHODS {
        let word_and_space = [method, b" ".as_slice()].concat();
        if first.starts_with(&word_and_space) {
            return Sniffed::Http;
        }
        maybe |= word_and_space.starts_with(first);
    }
    if maybe { Sniffed::Maybe } else { Sniffed::No }
}

/// Whether `line` is a whole HTTP/1 request line (`GET /path HTTP/1.1`, with or without its
/// line end): what a browser sends on a socket it opened ahead of time.
pub(super) fn is_request_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    METHODS.contains(&method)
        && (target.starts_with(b"/") || target == b"*")
        && version.len() == 8
        && version.starts_with(b"HTTP/1.")
        && version[7].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_is_sniffed_from_a_method_and_a_space_and_waited_for_while_it_may_come() {
        assert_eq!(sniff(b"GET / HTTP/1.1\r\n"), Sniffed::Http);
        assert_eq!(sniff(b"HEAD "), Sniffed::Http);
        assert_eq!(sniff(b"GE"), Sniffed::Maybe);
        assert_eq!(sniff(b"GET"), Sniffed::Maybe);
        assert_eq!(sniff(b"GETTING started\n"), Sniffed::No);
        assert_eq!(sniff(b"hello\n"), Sniffed::No);
        assert_eq!(sniff(b"{\"type\":\"hello\"}"), Sniffed::No);
    }

    #[test]
    fn a_request_line_is_told_from_chat_that_mentions_http() {
        assert!(is_request_line(b"GET / HTTP/1.1\r\n"));
        assert!(is_request_line(b"GET /ws HTTP/1.1"));
        assert!(is_request_line(b"OPTIONS * HTTP/1.0\n"));
        assert!(!is_request_line(b"GET me a coffee HTTP/1.1"));
        assert!(!is_request_line(b"get / HTTP/1.1"));
        assert!(!is_request_line(b"GET / HTTP/2"));
        assert!(!is_request_line(b"I use HTTP/1.1 every day"));
        assert!(!is_request_line(b"GET http://x/ HTTP/1.1"));
    }
}
