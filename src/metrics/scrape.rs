//! The parsed form of one Prometheus text exposition: families in input order, their samples
//! and labels, plus lookups by name.
//!
//! Storage is flat (one `Vec` of families and one of samples, linked by index ranges; each
//! sample keeps its label set as a validated span of the input) so that parsing allocates a
//! handful of times per scrape, not once per sample or label. Callers see it through the
//! borrowed views [`FamilyRef`] and [`SampleRef`]. Every string borrows from the input text; a
//! label value or HELP text is copied only when it contains an escape.
//!
//! Depends on `metrics::labels` only.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use super::labels::Labels;

/// The `# TYPE` of a metric family. Families without a `# TYPE` line are [`MetricType::Untyped`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    /// `untyped` (Prometheus) or `unknown` (`OpenMetrics`), and families with no `# TYPE` line.
    Untyped,
    /// `OpenMetrics` `gaugehistogram`.
    GaugeHistogram,
    /// `OpenMetrics` `info`.
    Info,
    /// `OpenMetrics` `stateset`.
    StateSet,
}

impl MetricType {
    /// Reads the type word of a `# TYPE` line.
    pub fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "counter" => Self::Counter,
            "gauge" => Self::Gauge,
            "histogram" => Self::Histogram,
            "summary" => Self::Summary,
            "untyped" | "unknown" => Self::Untyped,
            "gaugehistogram" => Self::GaugeHistogram,
            "info" => Self::Info,
            "stateset" => Self::StateSet,
            _ => return None,
        })
    }

    /// The sample-name suffixes a family of this type may add to its own name
    /// (`http_requests` + `_total`, `rpc_seconds` + `_bucket`, ...).
    pub fn suffixes(self) -> &'static [&'static str] {
        match self {
            Self::Counter => &["_total", "_created"],
            Self::Histogram => &["_bucket", "_sum", "_count", "_created"],
            Self::Summary => &["_sum", "_count", "_created"],
            Self::GaugeHistogram => &["_bucket", "_gsum", "_gcount"],
            Self::Info => &["_info"],
            Self::Gauge | Self::Untyped | Self::StateSet => &[],
        }
    }

    /// Whether a sample called `sample` belongs to a family of this type called `family`.
    pub fn owns(self, family: &str, sample: &str) -> bool {
        match sample.strip_prefix(family) {
            Some("") => true,
            Some(suffix) => self.suffixes().contains(&suffix),
            None => false,
        }
    }
}

/// Every suffix any family type may add; used to find a sample's family by name.
const ALL_SUFFIXES: [&str; 8] = [
    "_total", "_created", "_bucket", "_sum", "_count", "_gsum", "_gcount", "_info",
];

/// Storage of one family; seen through [`FamilyRef`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FamilyData<'a> {
    pub(crate) name: &'a str,
    pub(crate) help: Option<Cow<'a, str>>,
    pub(crate) kind: MetricType,
    /// Whether a `# TYPE` line set `kind` (a second one starts a new family).
    pub(crate) typed: bool,
    pub(crate) samples: Range<usize>,
}

/// Storage of one sample; seen through [`SampleRef`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SampleData<'a> {
    pub(crate) name: &'a str,
    /// The text between `{` and `}`, validated by the parser; walked by [`Labels`].
    pub(crate) labels: &'a str,
    pub(crate) value: f64,
    /// [`NO_TIMESTAMP`] when the line had none (keeps the struct at 40 bytes).
    pub(crate) timestamp: i64,
}

/// The stored timestamp of a sample without one; the parser rejects it as a timestamp.
pub(crate) const NO_TIMESTAMP: i64 = i64::MIN;

/// A parsed exposition. Build it with [`crate::metrics::parse`].
#[derive(Debug, Clone, Default)]
pub struct Scrape<'a> {
    pub(crate) families: Vec<FamilyData<'a>>,
    pub(crate) samples: Vec<SampleData<'a>>,
    /// Family name -> index of the first family with that name, built on the first lookup.
    pub(crate) index: OnceLock<HashMap<&'a str, usize>>,
}

impl<'a> Scrape<'a> {
    /// Number of families (including families with a HELP/TYPE line and no samples).
    pub fn family_count(&self) -> usize {
        self.families.len()
    }

    /// Number of samples across all families.
    pub fn sample_count(&self) -> usize {
        self.samples.len()
    }

    /// The families in input order.
    pub fn families(&self) -> impl ExactSizeIterator<Item = FamilyRef<'_, 'a>> + '_ {
        self.families.iter().map(move |family| FamilyRef {
            scrape: self,
            family,
        })
    }

    /// Every sample in input order.
    pub fn all_samples(&self) -> impl ExactSizeIterator<Item = SampleRef<'_, 'a>> + '_ {
        self.samples.iter().map(|sample| SampleRef { sample })
    }

    /// The first family called exactly `name`.
    pub fn family(&self, name: &str) -> Option<FamilyRef<'_, 'a>> {
        let index = self.index.get_or_init(|| {
            let mut index = HashMap::with_capacity(self.families.len());
            for (at, family) in self.families.iter().enumerate() {
                index.entry(family.name).or_insert(at);
            }
            index
        });
        let index = *index.get(name)?;
        let family = self.families.get(index)?;
        Some(FamilyRef {
            scrape: self,
            family,
        })
    }

    /// The samples called exactly `name` (`node_cpu_seconds_total`, `foo_bucket`, ...), looked
    /// up through their family, which may be named with or without the suffix.
    pub fn samples<'s>(&'s self, name: &'s str) -> impl Iterator<Item = SampleRef<'s, 'a>> + 's {
        let family = self.family(name).or_else(|| {
            ALL_SUFFIXES
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix).and_then(|base| self.family(base)))
        });
        family
            .into_iter()
            .flat_map(|family| family.samples())
            .filter(move |sample| sample.name() == name)
    }

    /// The value of the first sample called `name` whose labels include every pair in
    /// `labels` (other labels are ignored). `&[]` matches the first sample of that name.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples(name)
            .find(|sample| sample.matches(labels))
            .map(|sample| sample.value())
    }
}

/// A borrowed view of one family of a [`Scrape`].
#[derive(Debug, Clone, Copy)]
pub struct FamilyRef<'s, 'a> {
    scrape: &'s Scrape<'a>,
    family: &'s FamilyData<'a>,
}

impl<'s, 'a> FamilyRef<'s, 'a> {
    pub fn name(&self) -> &'a str {
        self.family.name
    }

    /// The `# HELP` text with `\\` and `\n` unescaped.
    pub fn help(&self) -> Option<&'s str> {
        self.family.help.as_deref()
    }

    pub fn kind(&self) -> MetricType {
        self.family.kind
    }

    /// The family's samples in input order.
    pub fn samples(&self) -> impl ExactSizeIterator<Item = SampleRef<'s, 'a>> + use<'s, 'a> {
        let scrape = self.scrape;
        let range = self.family.samples.clone();
        scrape
            .samples
            .get(range)
            .unwrap_or_default()
            .iter()
            .map(|sample| SampleRef { sample })
    }
}

/// A borrowed view of one sample of a [`Scrape`].
#[derive(Debug, Clone, Copy)]
pub struct SampleRef<'s, 'a> {
    sample: &'s SampleData<'a>,
}

impl<'a> SampleRef<'_, 'a> {
    /// The sample's own name, suffix included (`foo_bucket`).
    pub fn name(&self) -> &'a str {
        self.sample.name
    }

    pub fn value(&self) -> f64 {
        self.sample.value
    }

    /// Milliseconds since the Unix epoch, when the line carried a timestamp.
    pub fn timestamp(&self) -> Option<i64> {
        (self.sample.timestamp != NO_TIMESTAMP).then_some(self.sample.timestamp)
    }

    /// The labels in input order.
    pub fn labels(&self) -> Labels<'a> {
        Labels::new(self.sample.labels)
    }

    /// The value of label `name`, if the sample has it (borrowed unless it holds an escape).
    pub fn label(&self, name: &str) -> Option<Cow<'a, str>> {
        self.labels().get(name)
    }

    /// Whether every `(name, value)` pair in `wanted` is among the sample's labels.
    pub fn matches(&self, wanted: &[(&str, &str)]) -> bool {
        wanted
            .iter()
            .all(|(name, value)| self.label(name).is_some_and(|found| found == *value))
    }
}
