//! The 1cloud API token. Its `Debug` and `Display` print `(sensitive)`; the value only leaves
//! this type as the `Authorization` header (marked sensitive) and to redact server messages.

use std::fmt;

/// A 1cloud API token (`Authorization: Bearer <token>`).
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wraps a token; surrounding whitespace (a newline from a file) is dropped.
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into().trim().to_owned())
    }

    /// The token from `ONECLOUD_TOKEN`, if set and not empty.
    pub fn from_env() -> Option<Token> {
        let token = Token::new(std::env::var("ONECLOUD_TOKEN").ok()?);
        (!token.0.is_empty()).then_some(token)
    }

    /// The value, for the `Authorization` header only.
    pub(super) fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the token replaced by `(sensitive)`, for messages that
    /// come back from the server (which might echo the header).
    pub(super) fn redact(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.0, "(sensitive)")
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token((sensitive))")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let token = Token::new("  0123456789abcdef\n");
        let shown = format!("{token} {token:?} {token:#?}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert_eq!(token.expose(), "0123456789abcdef");
        assert_eq!(
            token.redact("bad token 0123456789abcdef!"),
            "bad token (sensitive)!"
        );
    }
}
