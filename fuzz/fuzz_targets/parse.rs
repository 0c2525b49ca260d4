//! Fuzz target: `ict::metrics::parse` and the node figures never panic, whatever the bytes.
//! Errors must point at a line of the input; a parsed scrape must only hold what the input had.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines = text.split('\n').count();
    match ict::metrics::parse(text) {
        Ok(scrape) => {
            assert!(scrape.sample_count() <= lines);
            let mut seen = 0;
            for family in scrape.families() {
                for sample in family.samples() {
                    seen += 1;
                    assert!(sample.name().starts_with(family.name()));
                    for label in sample.labels() {
                        assert!(!label.name.is_empty());
                    }
                    let _ = (sample.timestamp(), sample.value());
                }
            }
            assert!(seen <= scrape.sample_count());
            let figures = ict::metrics::figures(&scrape, &scrape, Duration::from_secs(1));
            let _ = serde_json_free(&figures);
        }
        Err(error) => assert!((1..=lines).contains(&error.line)),
    }
});

/// Touches every figure without pulling serde_json into the fuzz crate.
fn serde_json_free(figures: &ict::metrics::NodeFigures) -> usize {
    figures.mounts.len() + usize::from(figures.cpu_busy_percent.is_some())
}
