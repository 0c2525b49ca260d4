//! The russh client event handler: it forwards the server's host key to the task that holds
//! the `HostKeyVerifier` (see `session::handshake`) and waits for the verdict, so nothing is
//! accepted by default; it remembers the accepted key for re-key checks and records the
//! negotiated key exchange. Depends on nothing else in ict.

use std::sync::{Arc, OnceLock};

use russh::client::{self, Handler};
use russh::keys::{PublicKey, PublicKeyOrCertificate};
use russh::Names;
use tokio::sync::{mpsc, oneshot};

/// A host key presented during the handshake, waiting for the verifier's answer.
pub(crate) struct KeyCheck {
    pub(crate) key: PublicKey,
    pub(crate) reply: oneshot::Sender<bool>,
}

/// russh's event handler: forwards the server's key to `handshake` and waits for its verdict.
///
/// russh asks again at every re-key (after 1 GB or an hour, by default); by then `handshake`
/// is gone, so the key accepted the first time is remembered here and only that key is
/// accepted later, as OpenSSH does.
pub(crate) struct Client {
    checks: mpsc::Sender<KeyCheck>,
    accepted: Option<PublicKey>,
    /// The negotiated key exchange, set once by `kex_done`.
    pub(crate) kex: Arc<OnceLock<String>>,
}

impl Client {
    pub(crate) fn new(checks: mpsc::Sender<KeyCheck>) -> Self {
        Self {
            checks,
            accepted: None,
            kex: Arc::default(),
        }
    }
}

impl Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // Host certificates are not trusted: only plain keys are checked (and maybe accepted).
        let PublicKeyOrCertificate::PublicKey { key, .. } = server_key else {
            return Ok(false);
        };
        if let Some(accepted) = &self.accepted {
            return Ok(accepted.key_data() == key.key_data());
        }
        let (reply, answer) = oneshot::channel();
        if self
            .checks
            .send(KeyCheck {
                key: key.clone(),
                reply,
            })
            .await
            .is_err()
        {
            return Ok(false);
        }
        let ok = answer.await.unwrap_or(false);
        if ok {
            self.accepted = Some(key.clone());
        }
        Ok(ok)
    }

    async fn kex_done(
        &mut self,
        _shared_secret: Option<&[u8]>,
        names: &Names,
        _session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        // Only the first key exchange is recorded; re-keys negotiate the same algorithms.
        let _ = self.kex.set(names.kex.as_ref().to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(key: &PublicKey) -> PublicKeyOrCertificate {
        PublicKeyOrCertificate::PublicKey {
            key: key.clone(),
            hash_alg: None,
        }
    }

    fn key(b64: &str) -> PublicKey {
        PublicKey::from_openssh(&format!("ssh-ed25519 {b64}")).expect("test key")
    }

    #[tokio::test]
    async fn rekey_accepts_only_the_key_accepted_at_connect() {
        let a = key("AAAAC3NzaC1lZDI1NTE5AAAAIGW6m3twJMyFXyFINNTLIVcZUNQJ6EligRcGn7eer+AA");
        let b = key("AAAAC3NzaC1lZDI1NTE5AAAAIKlyv1DkJV9koeZEJ8FupvL1W5gdUvXhxa/P6toALZbP");
        let (checks, mut requests) = mpsc::channel(1);
        let mut client = Client::new(checks);
        let verifier = tokio::spawn(async move {
            let check: KeyCheck = requests.recv().await.expect("one check");
            let _ = check.reply.send(true);
            // `requests` is dropped here, as when `handshake` has returned.
        });
        assert!(client
            .check_server_key(&offer(&a))
            .await
            .expect("first check"));
        verifier.await.expect("verifier task");
        assert!(client
            .check_server_key(&offer(&a))
            .await
            .expect("re-key, same key"));
        assert!(!client
            .check_server_key(&offer(&b))
            .await
            .expect("re-key, other key"));
    }

    #[tokio::test]
    async fn a_refused_or_unanswered_key_is_not_remembered() {
        let a = key("AAAAC3NzaC1lZDI1NTE5AAAAIGW6m3twJMyFXyFINNTLIVcZUNQJ6EligRcGn7eer+AA");
        let (checks, requests) = mpsc::channel(1);
        drop(requests);
        let mut client = Client::new(checks);
        assert!(!client
            .check_server_key(&offer(&a))
            .await
            .expect("no verifier"));
        assert!(client.accepted.is_none());
    }
}
