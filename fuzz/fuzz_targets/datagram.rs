//! A UDP discovery datagram from anyone on the network.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter::network::discovery::Datagram;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(datagram) = Datagram::decode(bytes) {
        let _ = Datagram::decode(&datagram.encode());
    }
});
