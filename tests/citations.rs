//! Code comments, tests and docs cite the 1cloud API notes by section (`docs/1cloud-api.md §2.1`):
//! every section cited must be a heading there, and a file that cites one must name the notes,
//! so that no citation points at a reference outside the repository.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::test::root;

const NOTES: &str = "docs/1cloud-api.md";

/// The `.rs`, `.md` and `.py` files under `dir`, recursively.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        if path.is_dir() {
            sources(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "rs" || e == "md" || e == "py")
        {
            out.push(path);
        }
    }
}

/// The section numbers cited in `text` (`§3.2–§3.9` cites `3.2` and `3.9`), with their lines.
fn citations(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (number, line) in text.lines().enumerate() {
        for rest in line.split('§').skip(1) {
            let section: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let section = section.trim_end_matches('.');
            if !section.is_empty() {
                out.push((number + 1, section.to_owned()));
            }
        }
    }
    out
}

#[test]
fn every_section_of_the_1cloud_api_notes_cited_in_the_repository_exists() {
    let notes = std::fs::read_to_string(root().join(NOTES)).expect("read the API notes");
    let sections: BTreeSet<&str> = notes
        .lines()
        .filter_map(|l| l.strip_prefix("### ").or_else(|| l.strip_prefix("## ")))
        .filter_map(|heading| heading.split(' ').next())
        .map(|number| number.trim_end_matches('.'))
        .filter(|number| number.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    let mut files = Vec::new();
    for dir in ["src", "tests", "docs"] {
        sources(&root().join(dir), &mut files);
    }
    files.sort();
    let mut problems = Vec::new();
    let mut count = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a source file");
        let name = file.strip_prefix(root()).unwrap_or(file).display();
        let cited = citations(&text);
        if !cited.is_empty() && !text.contains("1cloud-api.md") {
            problems.push(format!("{name}: cites § without naming {NOTES}"));
        }
        for (line, section) in cited {
            count += 1;
            if !sections.contains(section.as_str()) {
                problems.push(format!(
                    "{name}:{line}: §{section} is not a section of {NOTES}"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n(the sections of {NOTES}: {})",
        problems.join("\n"),
        sections.into_iter().collect::<Vec<_>>().join(", ")
    );
    assert!(
        count >= 40,
        "only {count} citations found: is the scan broken?"
    );
}

#[test]
fn citations_are_read_from_ranges_and_sentence_ends() {
    assert_eq!(
        citations("quoted in the notes (§3.2–§3.9)\nof §2.2.\nnot a § citation"),
        [
            (1, "3.2".to_owned()),
            (1, "3.9".to_owned()),
            (2, "2.2".to_owned())
        ]
    );
}
