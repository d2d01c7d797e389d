//! HTTP/1 requests on the room's port: reading one request's head within bounds, and what it
//! is answered. One request per connection (`Connection: close`): the page is one response and
//! the WebSocket a second connection, so nothing here keeps a connection alive.
//!
//! Owns the request's size limit, its parsing (httparse), the Origin check of a WebSocket
//! upgrade and the responses' bytes. Does not own the socket, timing or the page's content
//! (see `conn_io` and `page`).

use std::sync::Arc;

use super::page;

/// A request's head (request line and headers) may be at most this long; more is answered
/// `431` and the connection closed.
pub(in crate::network::server) const MAX_HEAD_BYTES: usize = 8 * 1024;
/// At most this many header fields are read.
const MAX_HEADERS: usize = 32;
/// The path the page opens its WebSocket on.
pub(in crate::network::server) const WS_PATH: &str = "/ws";

/// What a complete request head asks for, as the server answers it.
#[derive(Debug, PartialEq, Eq)]
pub(in crate::network::server) enum Answer {
    /// A response to write, after which the connection closes.
    Respond(Vec<u8>),
    /// A WebSocket upgrade that passed every check: its `101` response, then JSON frames.
    Upgrade(Vec<u8>),
}

/// Whether `buf` holds a whole request head (it ends with an empty line).
pub(in crate::network::server) fn head_complete(buf: &[u8]) -> bool {
    memchr::memmem::find(buf, b"\r\n\r\n").is_some() || memchr::memmem::find(buf, b"\n\n").is_some()
}

/// Answers one request head; `tls` when it came over the host's TLS (the page's origin is then
/// `https://`); `code` is the host's code, shown on the page.
pub(in crate::network::server) fn answer(head: &[u8], tls: bool, code: Option<&str>) -> Answer {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let parsed = request.parse(head);
    let (Ok(httparse::Status::Complete(_)), Some(method), Some(target)) =
        (parsed, request.method, request.path)
    else {
        return Answer::Respond(plain(
            400,
            "Bad Request",
            "That was not an HTTP request I read.",
        ));
    };
    let path = target.split(['?', '#']).next().unwrap_or(target);
    let header = |name: &str| {
        (request.headers.iter())
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(str::trim)
    };
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return Answer::Respond(plain(405, "Method Not Allowed", "Only GET is served here."));
    }
    match path {
        "/" => Answer::Respond(page_response(head_only, code)),
        WS_PATH => upgrade(&header, tls),
        _ => Answer::Respond(plain(
            404,
            "Not Found",
            "Nothing here: the chat is at the address's root, /.",
        )),
    }
}

/// Checks a WebSocket upgrade: the handshake's headers, and that the page asking is this
/// host's own (its `Origin` names the `Host` it asked), so another page a person has open
/// cannot join the room in their name. A request without `Origin` comes from no browser page
/// (a script) and could connect as a Natter client anyway: it is let in.
fn upgrade<'a>(header: &impl Fn(&str) -> Option<&'a str>, tls: bool) -> Answer {
    let has_token = |name: &str, token: &str| {
        header(name).is_some_and(|value| {
            value
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    };
    if !has_token("Upgrade", "websocket") || !has_token("Connection", "upgrade") {
        return Answer::Respond(plain(
            426,
            "Upgrade Required",
            "This address is the chat's WebSocket: open / in a browser instead.",
        ));
    }
    if header("Sec-WebSocket-Version") != Some("13") {
        let mut response = plain(400, "Bad Request", "Only WebSocket version 13 is spoken.");
        insert_header(&mut response, "Sec-WebSocket-Version: 13");
        return Answer::Respond(response);
    }
    let Some(key) = header("Sec-WebSocket-Key").filter(|key| !key.is_empty()) else {
        return Answer::Respond(plain(400, "Bad Request", "A WebSocket key is missing."));
    };
    if let Some(origin) = header("Origin") {
        let scheme = if tls { "https" } else { "http" };
        let own = header("Host").map(|host| format!("{scheme}://{host}"));
        if own.is_none_or(|own| !own.eq_ignore_ascii_case(origin)) {
            return Answer::Respond(plain(
                403,
                "Forbidden",
                "Only this host's own page may join its room.",
            ));
        }
    }
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    Answer::Upgrade(
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .into_bytes(),
    )
}

/// The page, with its security headers; `head_only` leaves out the body. `code`: the host's.
fn page_response(head_only: bool, code: Option<&str>) -> Vec<u8> {
    let body = page::html(code);
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Content-Security-Policy: {}\r\nX-Content-Type-Options: nosniff\r\n\
         Referrer-Policy: no-referrer\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len(),
        page::content_security_policy(),
    )
    .into_bytes();
    if !head_only {
        response.extend_from_slice(body.as_bytes());
    }
    response
}

/// A short plain-text response with `status`, for a person who typed the address.
pub(in crate::network::server) fn plain(status: u16, reason: &str, text: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n{text}\n",
        text.len() + 1
    )
    .into_bytes()
}

/// Adds a header line to a response made by [`plain`].
fn insert_header(response: &mut Vec<u8>, line: &str) {
    if let Some(end) = memchr::memmem::find(response, b"\r\n") {
        let at = end + 2;
        response.splice(at..at, format!("{line}\r\n").into_bytes());
    }
}

/// A response as one outbox line.
pub(in crate::network::server) fn line(bytes: Vec<u8>) -> Arc<[u8]> {
    bytes.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(answer: &Answer) -> String {
        match answer {
            Answer::Respond(bytes) | Answer::Upgrade(bytes) => {
                String::from_utf8_lossy(bytes).into_owned()
            }
        }
    }

    const UPGRADE: &str = "GET /ws HTTP/1.1\r\nHost: 192.168.1.20:5050\r\nUpgrade: websocket\r\n\
        Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

    #[test]
    fn the_root_gets_the_page_with_a_content_security_policy_and_other_paths_404() {
        let page = text(&answer(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", false, None));
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.contains("Content-Security-Policy: default-src 'none'"));
        assert!(page.contains("<!doctype html>"));
        let head = text(&answer(b"HEAD /?x=1 HTTP/1.1\r\n\r\n", false, None));
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && !head.contains("<!doctype"));
        for path in [
            "/etc/passwd",
            "/../Cargo.toml",
            "/favicon.ico",
            "/index.html",
        ] {
            let request = format!("GET {path} HTTP/1.1\r\n\r\n");
            let response = text(&answer(request.as_bytes(), false, None));
            assert!(response.starts_with("HTTP/1.1 404 "), "{path}: {response}");
        }
        let post = text(&answer(b"POST / HTTP/1.1\r\n\r\n", false, None));
        assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
        let junk = text(&answer(
            b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
            false,
            None,
        ));
        assert!(junk.starts_with("HTTP/1.1 400 "), "{junk}");
    }

    #[test]
    fn an_upgrade_from_the_hosts_own_page_gets_the_rfc_6455_accept_key() {
        let request = format!("{UPGRADE}Origin: http://192.168.1.20:5050\r\n\r\n");
        let answer = answer(request.as_bytes(), false, None);
        assert!(matches!(answer, Answer::Upgrade(_)));
        // The example of RFC 6455 §1.3.
        assert!(text(&answer).contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        let scripted = format!("{UPGRADE}\r\n");
        assert!(matches!(answer_of(&scripted), Answer::Upgrade(_)));
    }

    fn answer_of(request: &str) -> Answer {
        answer(request.as_bytes(), false, None)
    }

    #[test]
    fn an_upgrade_from_another_origin_or_without_its_headers_is_refused() {
        for origin in [
            "http://evil.example",
            "http://192.168.1.20:5051",
            "https://192.168.1.20:5050",
            "null",
        ] {
            let request = format!("{UPGRADE}Origin: {origin}\r\n\r\n");
            let response = text(&answer_of(&request));
            assert!(
                response.starts_with("HTTP/1.1 403 "),
                "{origin}: {response}"
            );
        }
        let plain_get = text(&answer_of("GET /ws HTTP/1.1\r\nHost: h\r\n\r\n"));
        assert!(plain_get.starts_with("HTTP/1.1 426 "), "{plain_get}");
        let old = UPGRADE.replace("Version: 13", "Version: 8");
        let response = text(&answer_of(&format!("{old}\r\n")));
        assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
        assert!(
            response.contains("Sec-WebSocket-Version: 13\r\n"),
            "{response}"
        );
    }
}
