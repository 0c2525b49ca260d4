//! The 1cloud API token. Its `Debug` and `Display` print `(sensitive)`; the value only leaves
//! this type as the `Authorization` header (marked sensitive) and to redact server messages.

use std::fmt;

use crate::provider::ProviderError;

/// The shortest token accepted from the environment. Real 1cloud tokens have 64 lowercase
/// hexadecimal characters; this only refuses what cannot be one, not other formats.
const MIN_LENGTH: usize = 16;

/// A 1cloud API token (`Authorization: Bearer <token>`).
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wraps a token; surrounding whitespace (a newline from a file) is dropped.
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into().trim().to_owned())
    }

    /// The token from `ONECLOUD_TOKEN` (see [`Token::from_setting`]).
    pub fn from_env() -> Result<Option<Token>, ProviderError> {
        Token::from_setting(std::env::var_os("ONECLOUD_TOKEN").as_deref())
    }

    /// The token a setting gives: `None` if unset or blank, an error if it is too short to be
    /// a 1cloud token (redacting a one-letter "token" would hide that letter everywhere in
    /// every message, and it cannot be real anyway).
    pub fn from_setting(value: Option<&std::ffi::OsStr>) -> Result<Option<Token>, ProviderError> {
        let token = Token::new(value.unwrap_or_default().to_string_lossy());
        match token.0.chars().count() {
            0 => Ok(None),
            length if length < MIN_LENGTH => Err(ProviderError::Config {
                reason: format!(
                    "ONECLOUD_TOKEN is {length} character(s) long: too short to be a 1cloud API token \
                     (those have 64; ict refuses fewer than {MIN_LENGTH})"
                ),
            }),
            _ => Ok(Some(token)),
        }
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
    fn a_token_too_short_to_be_real_is_refused() {
        let from = |value: Option<&str>| {
            Token::from_setting(value.map(std::ffi::OsStr::new))
                .map(|token| token.map(|t| t.expose().to_owned()))
        };
        let error = from(Some("t")).expect_err("one letter");
        assert_eq!(
            error.to_string(),
            "cannot set up the 1cloud client: ONECLOUD_TOKEN is 1 character(s) long: too short to be \
             a 1cloud API token (those have 64; ict refuses fewer than 16)"
        );
        assert!(from(Some("0123456789abcde")).is_err());
        assert_eq!(
            from(Some(" 0123456789abcdef\n")).expect("16 characters"),
            Some("0123456789abcdef".to_owned())
        );
        assert_eq!(from(Some("  ")).expect("blank is unset"), None);
        assert_eq!(from(None).expect("unset"), None);
    }

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
