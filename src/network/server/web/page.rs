//! The page a browser gets at `/`: one self-contained HTML document, its style and script
//! inline, compiled into the binary (nothing is read from disk), and the
//! `Content-Security-Policy` that lets only that style and script run.
//!
//! Owns putting the page together and its policy. Does not own how it is sent (see `http`).

use std::sync::OnceLock;

const HTML: &str = include_str!("page.html");
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

struct Page {
    html: String,
    policy: String,
}

fn page() -> &'static Page {
    static PAGE: OnceLock<Page> = OnceLock::new();
    PAGE.get_or_init(|| {
        // Inline code runs only if its hash is in the policy: an injected <script> or
        // style="" would not, whatever else went wrong.
        let policy = format!(
            "default-src 'none'; script-src '{}'; style-src '{}'; connect-src 'self'; \
             img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            sha256(SCRIPT),
            sha256(STYLE)
        );
        let html = HTML
            .replace("/*STYLE*/", STYLE)
            .replace("/*SCRIPT*/", SCRIPT);
        Page { html, policy }
    })
}

/// `sha256-BASE64` of `text`, as a policy names inline code.
fn sha256(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    format!(
        "sha256-{}",
        base64_simd::STANDARD.encode_to_string(digest.as_ref())
    )
}

/// The page; `code` is the host's code (digits in groups) when it has a TLS identity.
pub(in crate::network::server) fn html(code: Option<&str>) -> String {
    // The code is made of digits and spaces; anything else is left out, so it cannot be markup.
    let code: String = code
        .unwrap_or("none (this host offers no encryption)")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '(' || *c == ')')
        .collect();
    page().html.replace("{{CODE}}", &code)
}

pub(in crate::network::server) fn content_security_policy() -> &'static str {
    &page().policy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_small_self_contained_and_its_inline_code_is_in_the_policy() {
        let html = html(Some("1234 5678"));
        assert!(html.len() < 24 * 1024, "{} bytes", html.len());
        assert!(html.contains("Host code: <span id=\"code\">1234 5678</span>"));
        assert!(!html.contains("/*STYLE*/") && !html.contains("/*SCRIPT*/"));
        // Nothing is loaded from another origin.
        assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("src="));
        let policy = content_security_policy();
        assert!(policy.contains(&sha256(SCRIPT)) && policy.contains(&sha256(STYLE)));
        // Peer text goes in as text only.
        assert!(!SCRIPT.contains("innerHTML") && !SCRIPT.contains("insertAdjacentHTML"));
    }

    #[test]
    fn the_host_code_cannot_bring_markup_into_the_page() {
        assert!(
            html(Some("<script>x</script>")).contains("<span id=\"code\">scriptxscript</span>")
        );
    }
}
