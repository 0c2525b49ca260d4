//! Shell text: the one quoter for a value that goes into a POSIX shell command line (the
//! scripts a pipeline sends over SSH, the dynamic inventory script `ict inventory --script`
//! writes).
//!
//! A leaf: depends on nothing else in ict.

/// Quotes `s` as one word for a POSIX shell: single quotes, each `'` written as `'\''`. Nothing
/// inside is expanded (`$`, backquotes, `\`, globs).
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(quote("it's"), "'it'\\''s'");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", quote("a'b $(x) `y` \"z\"")))
            .output()
            .expect("sh");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a'b $(x) `y` \"z\"");
    }
}
