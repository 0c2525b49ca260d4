//! Where every HTTP client of ict (reqwest) comes from: the 1cloud API client, the scraper,
//! webhooks, and the tests' clients.
//!
//! reqwest 0.13 with rustls either builds aws-lc as its crypto library or, without a provider
//! (our choice), panics when a client is built with no rustls provider installed. ict already
//! uses ring (russh, `ssh::known_hosts`), so each client gets a prepared rustls configuration on
//! ring that trusts the bundled Mozilla roots (webpki-roots), as reqwest 0.12 did: no process-wide
//! state, no aws-lc, and no dependency on the machine's CA files (reqwest's platform verifier
//! fails to build a client, even for plain `http://`, on a machine without them).
//!
//! Depends on nothing in ict.

use std::sync::Arc;

/// A client builder with ict's TLS settings; add timeouts and the user agent, then `build()`.
#[allow(clippy::disallowed_methods)] // the one place allowed to start a reqwest client
pub fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(tls())
}

/// A client with default settings (what `reqwest::Client::new()` was). Panics, as that did,
/// only if the TLS backend cannot initialise, which a prepared configuration rules out.
pub fn client() -> reqwest::Client {
    builder()
        .build()
        .expect("a client with a prepared TLS configuration builds")
}

/// TLS 1.2 and 1.3 on ring, Mozilla's roots, HTTP/1.1 by ALPN (ict builds reqwest without
/// HTTP/2): what reqwest 0.12's `rustls-tls` feature configured. rustls 0.23.48 deprecates its
/// ring provider for lacking post-quantum key exchange (ML-KEM), which reqwest 0.12 on ring did
/// not offer either; moving to aws-lc would bring it, at the price of a C library build.
#[allow(deprecated)]
fn tls() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports TLS 1.2 and 1.3")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

#[cfg(test)]
mod tests {
    #[test]
    fn clients_build_without_a_process_wide_crypto_provider() {
        assert!(rustls::crypto::CryptoProvider::get_default().is_none());
        drop(super::client());
    }
}
