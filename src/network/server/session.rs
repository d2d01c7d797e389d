//! Session tokens: making them, and knowing which ones this run of the server made.
//!
//! Owns [`new_token`] (128 bits from the operating system's secure random source, as 32 hex
//! digits) and [`IssuedSessions`], the bounded record that tells a token of this run from a
//! stale or made-up one. Does not decide what a resume gets (see `json_dialect`).

use std::collections::{HashMap, VecDeque};

/// How many of the most recently issued sessions the server can resume. A session that has
/// not been issued or resumed for this many joins is treated as new (the client gets the
/// normal history and a new token), which bounds the record at about 200 KB.
pub(super) const SESSIONS_KEPT: usize = 4096;

/// A new session token: 128 bits from the OS's secure random source, as 32 lowercase hex
/// digits. Fails only if the OS has no randomness to give.
pub(super) fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{:032x}", u128::from_be_bytes(bytes)))
}

/// The tokens this run issued, the most recently used last, at most [`SESSIONS_KEPT`].
#[derive(Default)]
pub(super) struct IssuedSessions {
    /// Token → the number of its latest use; older numbers in `order` are stale.
    latest: HashMap<u128, u64>,
    order: VecDeque<(u128, u64)>,
    uses: u64,
}

impl IssuedSessions {
    /// Remembers `token` as issued (or used again) now, forgetting the oldest beyond the bound.
    pub(super) fn remember(&mut self, token: &str) {
        let Some(key) = parse(token) else {
            return;
        };
        self.uses += 1;
        self.latest.insert(key, self.uses);
        self.order.push_back((key, self.uses));
        while self.latest.len() > SESSIONS_KEPT || self.order.len() > 2 * SESSIONS_KEPT {
            let Some((old, used)) = self.order.pop_front() else {
                break;
            };
            if self.latest.get(&old) == Some(&used) {
                self.latest.remove(&old);
            }
        }
    }

    pub(super) fn contains(&self, token: &str) -> bool {
        parse(token).is_some_and(|key| self.latest.contains_key(&key))
    }
}

/// A token as this server writes them (32 lowercase hex digits), or `None`.
fn parse(token: &str) -> Option<u128> {
    let well_formed = token.len() == 32
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    well_formed
        .then(|| u128::from_str_radix(token, 16).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ten_thousand_tokens_are_distinct_32_hex_digits_with_no_shared_halves() {
        let tokens: Vec<String> = (0..10_000).map(|_| new_token().unwrap()).collect();
        assert!(tokens.iter().all(|t| parse(t).is_some()));
        let whole: HashSet<&str> = tokens.iter().map(String::as_str).collect();
        let firsts: HashSet<&str> = tokens.iter().map(|t| &t[..16]).collect();
        let lasts: HashSet<&str> = tokens.iter().map(|t| &t[16..]).collect();
        assert_eq!(whole.len(), tokens.len());
        assert_eq!(firsts.len(), tokens.len());
        assert_eq!(lasts.len(), tokens.len());
    }

    #[test]
    fn every_hex_digit_position_takes_many_values() {
        let tokens: Vec<String> = (0..2_000).map(|_| new_token().unwrap()).collect();
        for position in 0..32 {
            let digits: HashSet<u8> = tokens.iter().map(|t| t.as_bytes()[position]).collect();
            assert_eq!(digits.len(), 16, "position {position}");
        }
    }

    #[test]
    fn only_remembered_well_formed_tokens_are_known() {
        let mut issued = IssuedSessions::default();
        let token = new_token().unwrap();
        assert!(!issued.contains(&token));
        issued.remember(&token);
        assert!(issued.contains(&token));
        assert!(!issued.contains(&token.to_uppercase()));
        assert!(!issued.contains(&token[..31]));
        assert!(!issued.contains(&new_token().unwrap()));
        assert!(!issued.contains(&format!("+{}", &token[1..])));
    }

    #[test]
    fn the_oldest_token_is_forgotten_past_the_bound_unless_used_again() {
        let mut issued = IssuedSessions::default();
        let first = new_token().unwrap();
        let second = new_token().unwrap();
        issued.remember(&first);
        issued.remember(&second);
        for _ in 0..SESSIONS_KEPT - 2 {
            issued.remember(&new_token().unwrap());
            // Resumed again and again: stays the most recently used.
            issued.remember(&second);
        }
        assert!(issued.contains(&first));
        issued.remember(&new_token().unwrap());
        assert!(!issued.contains(&first));
        assert!(issued.contains(&second));
        assert_eq!(issued.latest.len(), SESSIONS_KEPT);
        assert!(issued.order.len() <= 2 * SESSIONS_KEPT);
    }
}
