//! Source files and spans: where in which script a declaration was written.
//!
//! Every declaration keeps the [`Span`] of the call that made it, so that validation errors can
//! point at the user's text (file, line, column). The text of each loaded file is kept in
//! [`Sources`] for the whole run. Depends on nothing.

use std::sync::Arc;

/// Identifies one loaded file in [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SourceId(pub u32);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// The file.
    pub source: SourceId,
    /// Byte offset of the start.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

impl Span {
    /// The span as miette wants it.
    pub fn source_span(&self) -> miette::SourceSpan {
        (self.offset, self.len).into()
    }
}

/// One loaded file: the name shown to the user and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as shown in diagnostics (relative when the user gave a relative path).
    pub name: String,
    /// The whole text.
    pub text: Arc<str>,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
}

/// All files loaded during one evaluation: the entry script, imported modules, stdlib modules.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// Adds a file (or returns the existing id when a file of that name is already loaded).
    pub fn add(&mut self, name: &str, text: &str) -> SourceId {
        if let Some(id) = self.find(name) {
            return id;
        }
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        self.files.push(SourceFile {
            name: name.to_owned(),
            text: Arc::from(text),
            line_starts,
        });
        SourceId(u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX))
    }

    /// Looks a file up by the name it was added with.
    pub fn find(&self, name: &str) -> Option<SourceId> {
        self.files
            .iter()
            .position(|f| f.name == name)
            .and_then(|i| u32::try_from(i).ok())
            .map(SourceId)
    }

    /// The file behind an id.
    pub fn get(&self, id: SourceId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// The file's name, or `<unknown>`.
    pub fn name(&self, id: SourceId) -> &str {
        self.get(id).map_or("<unknown>", |f| f.name.as_str())
    }

    /// Converts a 1-based line and 1-based column (in characters, as Rhai counts them) into a
    /// span of `len` bytes. Out-of-range positions are clamped to the end of the file.
    pub fn span_at(&self, id: SourceId, line: usize, column: usize, len: usize) -> Span {
        let Some(file) = self.get(id) else {
            return Span {
                source: id,
                offset: 0,
                len: 0,
            };
        };
        let text = &*file.text;
        let Some(&start) = file.line_starts.get(line.saturating_sub(1)) else {
            return Span {
                source: id,
                offset: text.len(),
                len: 0,
            };
        };
        let end = file.line_starts.get(line).map_or(text.len(), |&e| e);
        let l = &text[start..end];
        let col = l
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(l.trim_end_matches('\n').len(), |(b, _)| b);
        let offset = start + col;
        Span {
            source: id,
            offset,
            len: len.min(text.len() - offset),
        }
    }

    /// 1-based line and column of a span's start, for plain-text messages.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        let Some(file) = self.get(span.source) else {
            return (0, 0);
        };
        let before = file.text.get(..span.offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    /// `file:line:column` of a span.
    pub fn location(&self, span: Span) -> String {
        let (line, column) = self.line_col(span);
        format!("{}:{line}:{column}", self.name(span.source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip() {
        let mut sources = Sources::default();
        let id = sources.add("a.ict", "let x = 1;\nserver(\"é\", #{ cpu: 2 });\n");
        let span = sources.span_at(id, 2, 16, 3);
        assert_eq!(
            &sources.get(id).expect("file").text[span.offset..span.offset + 3],
            "cpu"
        );
        assert_eq!(sources.line_col(span), (2, 16));
        assert_eq!(sources.location(span), "a.ict:2:16");
        assert_eq!(sources.add("a.ict", "other"), id);
    }

    #[test]
    fn out_of_range_is_clamped() {
        let mut sources = Sources::default();
        let id = sources.add("a.ict", "x");
        assert_eq!(sources.span_at(id, 9, 9, 4).offset, 1);
        assert_eq!(
            sources.span_at(id, 1, 9, 4),
            Span {
                source: id,
                offset: 1,
                len: 0
            }
        );
    }
}
