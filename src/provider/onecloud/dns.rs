//! DNS hosting (docs/1cloud-api.md §2.6): domains with their records, record creation (never twice)
//! and deletion.

use serde::Deserialize;

use super::wire::{WireDomain, WireRecord};
use super::{requests, Client};
use crate::provider::observed::{same_host, same_record_name};
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

    /// `POST /dns`, adopting a domain of that name that appeared if the answer is lost (one not
    /// in `before`, the IDs of the domains of that name that existed before).
    pub async fn create_domain(
        &self,
        name: &str,
        before: &[u64],
    ) -> Result<ObservedDomain, ProviderError> {
        let domain: WireDomain = self
            .post_checked("/dns", &requests::create_domain(name), move || async move {
                let now: Vec<WireDomain> = self.get("/dns").await?;
                Ok(now
                    .into_iter()
                    .filter(|d| same_host(&d.name, name) && !before.contains(&d.id))
                    .max_by_key(|d| d.id))
            })
            .await?;
        Ok(domain.into())
    }

    /// `DELETE /dns/{id}`.
    pub async fn delete_domain(&self, id: DomainId) -> Result<(), ProviderError> {
        self.delete(&format!("/dns/{id}")).await
    }

    /// `POST /dns/record{a,aaaa,cname,mx,txt}`, adopting a record of that type, name and value
    /// that appeared in the domain if the answer is lost (one not in `before`, the IDs of the
    /// records of that type and name that existed before).
    pub async fn create_record(
        &self,
        spec: &RecordSpec,
        before: &[u64],
    ) -> Result<ObservedRecord, ProviderError> {
        let domain_path = format!("/dns/{}", spec.domain);
        let (path, body) = requests::create_record(spec);
        let domain_path = domain_path.as_str();
        let answer: OneOrMany = self
            .post_checked(path, &body, move || async move {
                let now: WireDomain = self.get(domain_path).await?;
                let zone = now.name.clone();
                Ok(now
                    .linked_records
                    .into_iter()
                    .filter(|r| is_requested(spec, r, &zone) && !before.contains(&r.id))
                    .max_by_key(|r| r.id)
                    .map(OneOrMany::One))
            })
            .await?;
        let record = match answer {
            OneOrMany::One(record) => Some(record),
            // Some answers list the domain's records: the new one is the requested record that
            // was not there before.
            OneOrMany::Many(records) => {
                let matches = |r: &&WireRecord| {
                    r.type_record.eq_ignore_ascii_case(spec.kind.as_str())
                        && same_value(spec.kind, &r.value(), &spec.value)
                };
                records
                    .iter()
                    .filter(|r| !before.contains(&r.id))
                    .filter(matches)
                    .max_by_key(|r| r.id)
                    .or_else(|| records.iter().filter(matches).max_by_key(|r| r.id))
                    .cloned()
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

/// Whether `record` is the one `spec` asks for: type, name and value.
fn is_requested(spec: &RecordSpec, record: &WireRecord, zone: &str) -> bool {
    record.type_record.eq_ignore_ascii_case(spec.kind.as_str())
        && same_record_name(&record.host_name(), &spec.name, zone)
        && same_value(spec.kind, &record.value(), &spec.value)
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
