//! Joining from a phone: the address of the room's page (PROTOCOL.md §14) and its QR code, for
//! the window's hosting card and `natter serve`'s console to show.
//!
//! Owns the page's URL for an address and the QR code's modules and text rendering. Does not
//! own drawing in the window (see `ui::qr`) or serving the page (see `network::server::web`).

use std::net::IpAddr;

use qrcode::render::unicode::Dense1x2;
use qrcode::{EcLevel, QrCode};

/// The page's address on `ip` and `port`, as a phone opens it.
pub fn page_url(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(ip) => format!("http://{ip}:{port}/"),
        IpAddr::V6(ip) => format!("http://[{ip}]:{port}/"),
    }
}

/// A QR code's dark (`true`) and light modules, row by row, without the quiet zone.
pub struct QrModules {
    pub width: usize,
    pub dark: Vec<bool>,
}

/// `text` as a QR code (error correction M: readable from a screen at an angle), or `None` if
/// it does not fit one (a URL never is that long).
pub fn qr(text: &str) -> Option<QrModules> {
    let code = QrCode::with_error_correction_level(text, EcLevel::M).ok()?;
    let width = code.width();
    let dark = (code.to_colors().into_iter())
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Some(QrModules { width, dark })
}

/// `text` as a QR code for a terminal, two rows a line in Unicode half blocks, light modules
/// drawn (so it reads as dark on light in a terminal with a dark background) with the quiet
/// zone.
pub fn qr_lines(text: &str) -> Vec<String> {
    let Ok(code) = QrCode::with_error_correction_level(text, EcLevel::M) else {
        return Vec::new();
    };
    let image = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    image.lines().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_url_brackets_ipv6_and_names_the_port() {
        assert_eq!(
            page_url("192.168.1.20".parse().unwrap(), 5050),
            "http://192.168.1.20:5050/"
        );
        assert_eq!(
            page_url("fe80::1".parse().unwrap(), 80),
            "http://[fe80::1]:80/"
        );
    }

    #[test]
    fn a_page_url_makes_a_square_qr_code_and_terminal_lines_of_half_blocks() {
        let code = qr("http://192.168.1.20:5050/").unwrap();
        assert_eq!(code.dark.len(), code.width * code.width);
        // Version 2 at level M: 25 modules a side.
        assert_eq!(code.width, 25);
        // The finder pattern's corner is dark.
        assert!(code.dark[0]);
        let lines = qr_lines("http://192.168.1.20:5050/");
        // 25 modules and a quiet zone of 4 on each side, two rows a line.
        assert_eq!(lines.len(), (25_usize + 8).div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().count() == 33), "{lines:?}");
    }
}
