//! `dns_record(#{ zone, name, type, value, ttl, priority })`: declares a record in a 1cloud DNS
//! zone. The value may come from a server (`web.ip`), known after apply.
//!
//! ```rhai
//! let web = server("web-1", #{});
//! dns_record(#{ zone: "example.com", name: "www", type: "A", value: web.ip, ttl: 300 });
//! dns_record(#{ zone: "example.com", name: "@", type: "MX", value: "mail.example.com", priority: 10 });
//! ```

use rhai::{Engine, EvalAltResult, Map, NativeCallContext};

use super::fields::Fields;
use super::handles::DnsRecordHandle;
use super::{function, Shared};
use crate::model::{limits, DnsRecord, ModelError, RecordType, Value};

const FIELDS: &[&str] = &["zone", "name", "type", "value", "ttl", "priority"];
const TYPES: &[&str] = &["A", "AAAA", "CNAME", "MX", "TXT"];

const DOC: &str = "Declares a record (`A`, `AAAA`, `CNAME`, `MX` or `TXT`) in a 1cloud DNS zone; \
its value may be a server's `ip`, known after apply.";

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    let b = builder.clone();
    function("dns_record", &["options: map"], "DnsRecord", DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext,
              options: Map|
              -> Result<DnsRecordHandle, Box<EvalAltResult>> {
            Ok(declare(&b, &ctx, options))
        },
    );
}

fn declare(builder: &Shared, ctx: &NativeCallContext, options: Map) -> DnsRecordHandle {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    let mut f = Fields::new("dns_record", FIELDS, options, &site, &mut b);
    let missing = |f: &mut Fields<'_>, field: &'static str, help: &'static str| {
        let at = site.call;
        f.builder().error(ModelError::MissingField {
            decl: "dns_record",
            field,
            at,
            help,
        });
    };
    let zone = f.string("zone").unwrap_or_default();
    if zone.is_empty() && !f.spans.contains_key("zone") {
        missing(
            &mut f,
            "zone",
            "add `zone: \"example.com\"` (a domain hosted in 1cloud DNS)",
        );
    }
    let name = f.string("name").unwrap_or_else(|| "@".to_owned());
    let rtype = if f.has("type") {
        RecordType::ALL[f.choice("type", TYPES, 0)]
    } else {
        missing(
            &mut f,
            "type",
            "add `type: \"A\"` (one of A, AAAA, CNAME, MX, TXT)",
        );
        RecordType::A
    };
    let value = f.value("value").unwrap_or_else(|| {
        missing(&mut f, "value", "add `value: ...`, e.g. a server's `ip`");
        Value::Null
    });
    check_value(&mut f, rtype, &value);
    let ttl = f.uint("ttl", 3600);
    if !limits::DNS_TTLS.contains(&ttl) {
        f.limit(
            "ttl",
            format!(
                "1cloud DNS accepts a TTL of {:?} seconds, got {ttl}",
                limits::DNS_TTLS
            ),
        );
    }
    let priority = (rtype == RecordType::Mx).then(|| f.uint("priority", 10));
    if rtype != RecordType::Mx && f.has("priority") {
        f.invalid(
            "priority",
            "`priority` only applies to MX records".into(),
            None,
        );
    }
    let fields = std::mem::take(&mut f.spans);
    drop(f);
    let record = DnsRecord {
        id: String::new(),
        zone,
        name,
        rtype,
        value,
        ttl,
        priority,
        span: site.call,
        fields,
    };
    let fqdn = record.fqdn();
    if let Err(e) = b.desired.add_dns_record(record) {
        b.error(e);
    }
    DnsRecordHandle { name: fqdn }
}

fn check_value(f: &mut Fields<'_>, rtype: RecordType, value: &Value) {
    let Value::Str(s) = value else {
        if !matches!(value, Value::Template(_) | Value::Null) {
            f.invalid(
                "value",
                format!("a {} record's value must be a string", rtype.as_str()),
                None,
            );
        }
        return;
    };
    let ok = match rtype {
        RecordType::A => s.parse::<std::net::Ipv4Addr>().is_ok(),
        RecordType::Aaaa => s.parse::<std::net::Ipv6Addr>().is_ok(),
        RecordType::Cname | RecordType::Mx => {
            !s.is_empty() && s.split('.').all(|l| !l.is_empty() || s.ends_with('.'))
        }
        RecordType::Txt => true,
    };
    if !ok {
        let expected = match rtype {
            RecordType::A => "an IPv4 address (or a server's `ip`)",
            RecordType::Aaaa => "an IPv6 address",
            _ => "a host name",
        };
        f.invalid("value", format!("{s:?} is not {expected}"), None);
    }
}
