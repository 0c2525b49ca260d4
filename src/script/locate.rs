//! Finds where a field or a string was written inside a declaration call, so that errors about
//! one field point at that field rather than at the whole call.
//!
//! Rhai keeps positions for expressions but not for map keys once a map is built, so this scans
//! the call's text: from the function name, through the balanced parentheses of the call,
//! skipping strings and comments. A miss is harmless: callers fall back to the call's span.

/// Byte range `(start, end)` of the call starting at `offset` (at the function name), up to
/// and including its closing parenthesis.
pub(crate) fn call_extent(text: &str, offset: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let open = offset + text.get(offset..)?.find('(')?;
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'`' | b'\'' => i = skip_string(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block(bytes, i),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some((offset, i + 1));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The span `(start, len)` of `key: value` for a key of the call's options map (nesting depth 2:
/// inside the parentheses and the map's braces), if written literally.
#[cfg(test)]
pub(crate) fn find_key(text: &str, extent: (usize, usize), key: &str) -> Option<(usize, usize)> {
    keys(text, extent)
        .into_iter()
        .find(|(k, _, _)| k == key)
        .map(|(_, s, l)| (s, l))
}

/// Every key written literally in the call's options map, with the span `(start, len)` of its
/// `key: value`, in one pass (callers cache the result per call site).
pub(crate) fn keys(text: &str, extent: (usize, usize)) -> Vec<(String, usize, usize)> {
    let bytes = text.as_bytes();
    let (start, end) = extent;
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut i = start;
    while i < end.min(bytes.len()) {
        let b = bytes[i];
        match b {
            b'"' | b'`' | b'\'' => {
                let close = skip_string(bytes, i);
                if depth == 2 && followed_by_colon(bytes, close + 1) {
                    if let Some(key) = text.get(i + 1..close) {
                        found.push((key.to_owned(), i, value_end(bytes, close + 1, end) - i));
                    }
                }
                i = close;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block(bytes, i),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ if depth == 2 && is_ident_start(b) && (i == 0 || !is_ident(bytes[i - 1])) => {
                let mut j = i;
                while j < bytes.len() && is_ident(bytes[j]) {
                    j += 1;
                }
                if followed_by_colon(bytes, j) {
                    found.push((text[i..j].to_owned(), i, value_end(bytes, j, end) - i));
                }
                i = j - 1;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// The span of the string literal `"value"` inside the call, if there is exactly such a literal.
pub(crate) fn find_string(
    text: &str,
    extent: (usize, usize),
    value: &str,
) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut i = extent.0;
    while i < extent.1.min(bytes.len()) {
        match bytes[i] {
            b'"' | b'`' | b'\'' => {
                let close = skip_string(bytes, i);
                if text.get(i + 1..close) == Some(value) {
                    return Some((i, close + 1 - i));
                }
                i = close;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block(bytes, i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The names written literally as the first argument of `variable("NAME"...)` calls in `text`
/// (reads that evaluation may not reach, e.g. in a branch for another environment).
pub(crate) fn variable_names(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut names = Vec::new();
    for (at, word) in text.match_indices("variable") {
        if at > 0 && is_ident(bytes[at - 1]) {
            continue;
        }
        let rest = text[at + word.len()..].trim_start();
        let Some(arg) = rest.strip_prefix('(').map(str::trim_start) else {
            continue;
        };
        let Some(quote) = arg.bytes().next().filter(|q| matches!(q, b'"' | b'`')) else {
            continue;
        };
        let close = skip_string(arg.as_bytes(), 0);
        if arg.as_bytes().get(close) == Some(&quote) {
            names.extend(arg.get(1..close).map(str::to_owned));
        }
    }
    names
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn followed_by_colon(bytes: &[u8], mut i: usize) -> bool {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    bytes.get(i) == Some(&b':') && bytes.get(i + 1) != Some(&b':')
}

/// End of the value after a key: the next `,` or closing bracket at the key's own depth.
fn value_end(bytes: &[u8], from: usize, end: usize) -> usize {
    let mut depth = 0usize;
    let mut i = from;
    let mut last = from;
    while i < end.min(bytes.len()) {
        match bytes[i] {
            b'"' | b'`' | b'\'' => {
                i = skip_string(bytes, i);
                last = i + 1;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' | b',' | b'\n' if depth == 0 => break,
            b')' | b']' | b'}' => {
                depth -= 1;
                last = i + 1;
            }
            b if !b.is_ascii_whitespace() => last = i + 1,
            _ => {}
        }
        i += 1;
    }
    last
}

/// Index of the closing quote of the string starting at `i` (or the end of input).
fn skip_string(bytes: &[u8], i: usize) -> usize {
    let quote = bytes[i];
    let mut j = i + 1;
    while j < bytes.len() {
        if bytes[j] == b'\\' {
            j += 2;
            continue;
        }
        if bytes[j] == quote {
            return j;
        }
        j += 1;
    }
    bytes.len().saturating_sub(1)
}

fn skip_line(bytes: &[u8], i: usize) -> usize {
    bytes[i..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| i + p)
}

fn skip_block(bytes: &[u8], i: usize) -> usize {
    bytes[i + 2..]
        .windows(2)
        .position(|w| w == b"*/")
        .map_or(bytes.len(), |p| i + 2 + p + 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn variable_names_are_found_in_calls_with_literal_names() {
        let text = "let a = variable(\"size\", 1);\nif x { variable( `cpu` ) }\nmy_variable(\"no\"); variable(name); variable(\"open";
        assert_eq!(super::variable_names(text), ["size", "cpu"]);
    }

    use super::*;

    const TEXT: &str = r#"let x = server("web", #{
    cpu: 2, // cpu: 9
    vars: #{ cpu: 7, name: "a(b" },
    "ram": 1024,
    ssh_keys: ["deplyo", k],
});"#;

    fn at(key: &str) -> &str {
        let extent = call_extent(TEXT, 8).expect("call");
        let (s, l) = find_key(TEXT, extent, key).expect("key");
        &TEXT[s..s + l]
    }

    #[test]
    fn finds_top_level_keys_only() {
        assert_eq!(at("cpu"), "cpu: 2");
        assert_eq!(at("ram"), "\"ram\": 1024");
        assert_eq!(at("ssh_keys"), "ssh_keys: [\"deplyo\", k]");
        assert_eq!(at("vars"), "vars: #{ cpu: 7, name: \"a(b\" }");
        let extent = call_extent(TEXT, 8).expect("call");
        assert_eq!(find_key(TEXT, extent, "name"), None);
        assert_eq!(extent.1, TEXT.len() - 1);
    }

    #[test]
    fn finds_strings() {
        let extent = call_extent(TEXT, 8).expect("call");
        let (s, l) = find_string(TEXT, extent, "deplyo").expect("string");
        assert_eq!(&TEXT[s..s + l], "\"deplyo\"");
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for text in ["f(", "f(\"abc", "f(/*", "f(#{ a", "f(#{ a:", "", "f"] {
            let _ = call_extent(text, 0).map(|e| keys(text, e));
            let _ = find_key(text, (0, text.len()), "a");
            let _ = find_string(text, (0, text.len()), "abc");
        }
    }
}
