//! DNS hosting (reference §2.6): domains with their records, record creation (never twice) and
//! deletion.

use std::collections::HashSet;

use serde::Deserialize;

use super::wire::{WireDomain, WireRecord};
use super::{requests, Client};
use crate::provider::{
    DomainId, ObservedDomain, ObservedRecord, ProviderError, RecordId, RecordKind, RecordSpec,
};

/// Record creation answers with one record (older clients) or with a list (lego's fixture).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<WireRecord>),
    One(WireRecord),
}

impl Client {
    /// `GET /dns`: every domain with its records.
    pub async fn domains(&self) -> Result<Vec<ObservedDomain>, ProviderError> {
        let domains: Vec<WireDomain> = self.get("/dns").await?;
        Ok(domains.into_iter().map(ObservedDomain::from).collect())
    }

    /// `GET /dns/{id}`.
    pub async fn domain(&self, id: DomainId) -> Result<ObservedDomain, ProviderError> {
        let domain: WireDomain = self.get(&format!("/dns/{id}")).await?;
        Ok(domain.into())
    }

    /// `POST /dns`, adopting a domain of that name that appeared if the answer is lost.
    pub async fn create_domain(&self, name: &str) -> Result<ObservedDomain, ProviderError> {
        let same = |domain: &WireDomain| same_host(&domain.name, name);
        let existing: Vec<WireDomain> = self.get("/dns").await?;
        let before: HashSet<u64> = existing.iter().filter(|d| same(d)).map(|d| d.id).collect();
        let (before, same) = (&before, &same);
        let domain: WireDomain = self
            .post_checked("/dns", &requests::create_domain(name), move || async move {
                let now: Vec<WireDomain> = self.get("/dns").await?;
                Ok(now
                    .into_iter()
                    .filter(|d| same(d) && !before.contains(&d.id))
                    .max_by_key(|d| d.id))
            })
            .await?;
        Ok(domain.into())
    }

    /// `DELETE /dns/{id}`.
    pub async fn delete_domain(&self, id: DomainId) -> Result<(), ProviderError> {
        self.delete(&format!("/dns/{id}")).await
    }

    /// `POST /dns/record{a,aaaa,cname,mx,txt}`, adopting a record of that type and value that
    /// appeared in the domain if the answer is lost.
    pub async fn create_record(&self, spec: &RecordSpec) -> Result<ObservedRecord, ProviderError> {
        let matches = |record: &WireRecord| {
            record.type_record.eq_ignore_ascii_case(spec.kind.as_str())
                && same_value(spec.kind, &record.value(), &spec.value)
        };
        let domain_path = format!("/dns/{}", spec.domain);
        let existing: WireDomain = self.get(&domain_path).await?;
        let before: HashSet<u64> = existing.linked_records.iter().map(|r| r.id).collect();
        let (path, body) = requests::create_record(spec);
        let (before_ref, matches_ref, domain_path) = (&before, &matches, domain_path.as_str());
        let answer: OneOrMany = self
            .post_checked(path, &body, move || async move {
                let now: WireDomain = self.get(domain_path).await?;
                Ok(now
                    .linked_records
                    .into_iter()
                    .filter(|r| matches_ref(r) && !before_ref.contains(&r.id))
                    .max_by_key(|r| r.id)
                    .map(OneOrMany::One))
            })
            .await?;
        let record = match answer {
            OneOrMany::One(record) => Some(record),
            OneOrMany::Many(records) => {
                let fresh = |r: &&WireRecord| !before.contains(&r.id);
                let best = records
                    .iter()
                    .filter(fresh)
                    .filter(|r| matches(r))
                    .max_by_key(|r| r.id)
                    .or_else(|| records.iter().filter(|r| matches(r)).max_by_key(|r| r.id))
                    .cloned();
                best
            }
        };
        record
            .map(|r| r.observed(spec.domain))
            .ok_or_else(|| ProviderError::NotFound {
                method: "POST".to_owned(),
                path: path.to_owned(),
                message: format!(
                    "the answer does not contain the new {} record",
                    spec.kind.as_str()
                ),
            })
    }

    /// `DELETE /dns/{domain}/{record}`.
    pub async fn delete_record(
        &self,
        domain: DomainId,
        record: RecordId,
    ) -> Result<(), ProviderError> {
        self.delete(&format!("/dns/{domain}/{record}")).await
    }
}

/// Host names compare without case and without a trailing dot.
fn same_host(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// Whether a record's value (as returned) is the requested one.
fn same_value(kind: RecordKind, returned: &str, requested: &str) -> bool {
    match kind {
        RecordKind::Txt => returned == super::wire::unquote_txt(requested),
        RecordKind::A | RecordKind::Aaaa => returned.trim() == requested.trim(),
        RecordKind::Cname | RecordKind::Mx => same_host(returned, requested),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_like_dns() {
        assert!(same_value(
            RecordKind::Cname,
            "Web.Example.com.",
            "web.example.com"
        ));
        assert!(same_value(RecordKind::Txt, "v=spf1 -all", "v=spf1 -all"));
        assert!(!same_value(RecordKind::Txt, "v=spf1 -all", "V=SPF1 -ALL"));
        assert!(!same_value(RecordKind::A, "10.0.0.1", "10.0.0.2"));
    }
}
