//! A connection's browser side: reading an HTTP request's head within its bounds, answering
//! it, switching to a WebSocket, and moving WebSocket frames in and out. What the requests and
//! frames look like is in `server::web`; this part moves them on the connection.

use super::*;
use crate::network::server::web::http::{self, Answer, MAX_HEAD_BYTES};
use crate::network::server::web::ws::{self, Incoming};

impl Conn {
    /// The first bytes start an HTTP request: its head has the handshake timeout to be whole.
    pub(super) fn begin_http(&mut self, state: &Arc<ServerState>, first: Vec<u8>, now: Instant) {
        self.phase = Phase::Http {
            head: first,
            until: now + state.config.handshake_timeout,
        };
        self.on_request_bytes(state);
    }

    /// More of a request head came: answer it once it is whole, refuse it once it is too long.
    pub(super) fn on_request_bytes(&mut self, state: &Arc<ServerState>) {
        let Phase::Http { head, .. } = &mut self.phase else {
            return;
        };
        if !http::head_complete(head) {
            if head.len() > MAX_HEAD_BYTES {
                let text = format!("A request's head may be at most {MAX_HEAD_BYTES} bytes.");
                self.respond(http::plain(431, "Request Header Fields Too Large", &text));
            }
            return;
        }
        let head = std::mem::take(head);
        let code = (state.config.identity.as_ref()).map(|identity| identity.fingerprint().code());
        match http::answer(&head, self.tls.is_some(), code.as_deref()) {
            Answer::Respond(response) => self.respond(response),
            Answer::Upgrade(response) => {
                // The 101 goes out as it is; every line after it is a frame. The handler then
                // greets (`welcome`) as it does a Natter client.
                self.raw_lines = 1;
                let _ = self.outbox.push(http::line(response));
                self.ws = Some(Box::new(WsReader::new(state.config.max_line_bytes)));
                self.serve(state, Dialect::Json, &[], Instant::now());
                // Frames sent right behind the request (none from browsers, which wait for
                // the 101, but allowed) come next.
                if let Some(end) = memchr::memmem::find(&head, b"\r\n\r\n") {
                    let rest = &head[end + 4..];
                    if !rest.is_empty() {
                        self.on_ws_bytes(rest, Instant::now());
                    }
                }
            }
        }
    }

    /// The request's head did not come whole in time.
    pub(super) fn request_timed_out(&mut self, state: &Arc<ServerState>) {
        let secs = state.config.handshake_timeout.as_secs_f32();
        let text = format!("The request did not come whole within {secs} s.");
        self.respond(http::plain(408, "Request Timeout", &text));
    }

    /// Writes `response`, then closes (one request per connection).
    fn respond(&mut self, response: Vec<u8>) {
        let _ = self.outbox.push(http::line(response));
        self.outbox.close_after_flush();
        self.phase = Phase::Closing {
            linger: true,
            read_closed: false,
            drain_until: None,
            drained: 0,
        };
    }

    /// A browser's WebSocket bytes: the lines they carry go to the handler as a Natter
    /// client's would; a close or a broken frame ends the stay.
    pub(super) fn on_ws_bytes(&mut self, bytes: &[u8], now: Instant) {
        let (Some(reader), Phase::Serving(handler)) = (self.ws.as_mut(), &mut self.phase) else {
            return;
        };
        handler.heard(now);
        let (lines, after) = match reader.read(bytes) {
            Incoming::Lines(lines) => (lines, None),
            Incoming::Closed { lines } => (lines, Some(None)),
            Incoming::Broken { lines, why } => (lines, Some(Some(why))),
            Incoming::TooLong { lines } => (lines, Some(Some(""))),
        };
        let mut end = handler.feed(&lines);
        if end.is_none() {
            end = match after {
                None => None,
                Some(None) => {
                    // A close frame: the page is going away on purpose, it will not resume.
                    handler.said_goodbye = true;
                    Some(handler.on_closed("closed the connection"))
                }
                Some(Some("")) => Some(handler.line_too_long()),
                Some(Some(why)) => Some(handler.refuse(
                    ErrorCode::BadFrame,
                    &format!("The browser {why}; closing the link."),
                )),
            };
        }
        self.after_handler(end, now);
    }

    /// Lines just taken for a WebSocket become text frames (all but the upgrade's response).
    pub(super) fn frame_taken(&mut self) {
        if self.ws.is_none() {
            return;
        }
        for line in &mut self.out {
            if self.raw_lines > 0 {
                self.raw_lines -= 1;
                continue;
            }
            *line = ws::frame_line(line);
        }
    }
}
