//! The browser dialect: HTTP requests on the room's port, the page they get, and the
//! WebSocket link the page joins over.
//!
//! Owns telling an HTTP request line from other text. Does not own the room or the JSON frames
//! a WebSocket carries (see `handler` and `json_dialect`).

/// The request methods an HTTP request line may start with.
const METHODS: [&[u8]; 9] = [
    b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE",
];

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
