//! Turning a TLS peer away at the door, in a way its client reads as a refusal and not as a
//! host that stopped encrypting (PROTOCOL.md §12, "Refused at the door").
//!
//! Owns the two TLS alerts a host answers a ClientHello with when it will not serve the
//! connection (too many from the peer's address; the host is full or flooded), and how a client
//! reads them, or the `error` line a host may send before it saw the ClientHello. Does not
//! decide who is refused (the server's listener does) nor what the client does next (its
//! supervisor retries).
//!
//! Why an alert and not a finished handshake with an `error` frame inside: a refusal happens
//! under load (a school behind one address, a flood), and a TLS 1.3 handshake costs the host a
//! key exchange and a signature per connection. Seven constant bytes cost nothing, so the one
//! thread that answers refused peers stays cheap however many come. The alert is not
//! authenticated (no handshake took place), so a client trusts it for nothing but "not now":
//! it shows its own words, retries later, and never offers to connect without encryption.

use crate::network::protocol::{ErrorCode, ServerFrame, decode};

/// `access_denied`: too many connections (open, or new lately) from the peer's address.
pub const ALERT_TOO_MANY_FROM_YOU: u8 = 49;
/// `internal_error`: the host cannot take another connection now (its room is full and many
/// more are waiting, or too many are still saying hello).
pub const ALERT_BUSY: u8 = 80;

/// Why a host turned a connection away before any handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoorRefusal {
    /// Too many connections from the peer's address (a whole class behind one NAT).
    TooManyFromYou,
    /// The host is full or flooded.
    Busy,
}

impl DoorRefusal {
    /// The refusal a host's `error` code stands for, if it is one of the door's.
    pub fn of_code(code: ErrorCode) -> Option<DoorRefusal> {
        match code {
            ErrorCode::TooManyConnections | ErrorCode::TooManyJoins => {
                Some(DoorRefusal::TooManyFromYou)
            }
            ErrorCode::RoomFull => Some(DoorRefusal::Busy),
            _ => None,
        }
    }

    /// The refusal a fatal TLS alert stands for, if it is one of the door's.
    pub fn of_alert(description: u8) -> Option<DoorRefusal> {
        match description {
            ALERT_TOO_MANY_FROM_YOU => Some(DoorRefusal::TooManyFromYou),
            ALERT_BUSY => Some(DoorRefusal::Busy),
            _ => None,
        }
    }

    /// The refusal in the first bytes a host sent instead of a ServerHello: an `error` frame
    /// with one of the door's codes (a host that refused before the ClientHello came).
    pub fn of_first_line(bytes: &[u8]) -> Option<DoorRefusal> {
        let line = bytes.split(|&b| b == b'\n').next()?;
        match decode(line) {
            Ok(ServerFrame::Error { code, .. }) => DoorRefusal::of_code(code),
            _ => None,
        }
    }

    /// The fatal alert record a host sends for this refusal, in clear (no handshake happened):
    /// content type 21 (alert), legacy version 3.3, length 2, level 2 (fatal), description.
    pub fn alert_record(self) -> [u8; 7] {
        let description = match self {
            DoorRefusal::TooManyFromYou => ALERT_TOO_MANY_FROM_YOU,
            DoorRefusal::Busy => ALERT_BUSY,
        };
        [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::protocol::encode;

    #[test]
    fn each_refusal_reads_back_from_its_alert_and_its_error_frame() {
        for refusal in [DoorRefusal::TooManyFromYou, DoorRefusal::Busy] {
            let record = refusal.alert_record();
            assert_eq!(DoorRefusal::of_alert(record[6]), Some(refusal));
        }
        let line = encode(&ServerFrame::Error {
            code: ErrorCode::TooManyJoins,
            message: "Too many new connections".into(),
            client_id: None,
        });
        assert_eq!(
            DoorRefusal::of_first_line(&line),
            Some(DoorRefusal::TooManyFromYou)
        );
        assert_eq!(
            DoorRefusal::of_first_line(b"! Too many connections\r\n"),
            None
        );
        assert_eq!(DoorRefusal::of_alert(40), None);
    }
}
