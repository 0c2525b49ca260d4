//! Client authentication: a private key file (ed25519, rsa, ecdsa; unencrypted or with a
//! passphrase) or the keys of a running ssh-agent.
//!
//! A key file is read and decoded once, when the `Auth` is built, so a fan-out over hundreds of
//! hosts shares one decoded key. Depends on `ssh::error` and `ssh::target`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::{AuthResult, Handle, Handler};
use russh::keys::agent::client::AgentClient;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg};

use super::error::SshError;
use super::target::Target;

/// How to prove the client's identity.
#[derive(Clone)]
pub enum Auth {
    /// A decoded private key, read from `path`.
    Key {
        /// The key.
        key: Arc<PrivateKey>,
        /// Where it came from (for messages).
        path: PathBuf,
    },
    /// The identities of the ssh-agent listening on `socket`.
    Agent {
        /// The agent's Unix socket (`SSH_AUTH_SOCK`).
        socket: PathBuf,
    },
}

impl fmt::Debug for Auth {
    /// Never prints key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key { path, .. } => f.debug_struct("Auth::Key").field("path", path).finish(),
            Self::Agent { socket } => f
                .debug_struct("Auth::Agent")
                .field("socket", socket)
                .finish(),
        }
    }
}

impl Auth {
    /// Reads an unencrypted OpenSSH private key. An encrypted key is a clear
    /// `ict::ssh::auth` error (use [`Self::key_file_with_passphrase`] or the agent).
    pub fn key_file(path: &Path) -> Result<Self, SshError> {
        Self::load(path, None)
    }

    /// Reads a private key, decrypting it with `passphrase` if it is encrypted.
    pub fn key_file_with_passphrase(path: &Path, passphrase: &str) -> Result<Self, SshError> {
        Self::load(path, Some(passphrase))
    }

    /// The agent named by `SSH_AUTH_SOCK`.
    pub fn agent() -> Result<Self, SshError> {
        match std::env::var_os("SSH_AUTH_SOCK") {
            Some(socket) if !socket.is_empty() => Ok(Self::Agent {
                socket: socket.into(),
            }),
            _ => Err(SshError::Key {
                path: "ssh-agent".to_owned(),
                reason: "SSH_AUTH_SOCK is not set, so there is no agent to ask".to_owned(),
            }),
        }
    }

    /// The agent listening on `socket`.
    pub fn agent_at(socket: impl Into<PathBuf>) -> Self {
        Self::Agent {
            socket: socket.into(),
        }
    }

    fn load(path: &Path, passphrase: Option<&str>) -> Result<Self, SshError> {
        let key_error = |reason: String| SshError::Key {
            path: path.display().to_string(),
            reason,
        };
        let key = russh::keys::load_secret_key(path, passphrase).map_err(|e| match e {
            russh::keys::Error::KeyIsEncrypted => key_error(
                "the key is encrypted (passphrase-protected) and no passphrase was given"
                    .to_owned(),
            ),
            russh::keys::Error::IO(io) => key_error(io.to_string()),
            other => key_error(other.to_string()),
        })?;
        Ok(Self::Key {
            key: Arc::new(key),
            path: path.to_owned(),
        })
    }
}

/// Runs the authentication exchange on a freshly handshaken session.
pub(crate) async fn authenticate<H: Handler>(
    handle: &mut Handle<H>,
    target: &Target,
    auth: &Auth,
) -> Result<(), SshError> {
    let fail = |reason: String| SshError::Auth {
        server: target.to_string(),
        user: target.user.clone(),
        reason,
    };
    match auth {
        Auth::Key { key, path } => {
            let hash = rsa_hash(handle, key.algorithm().is_rsa())
                .await
                .map_err(|e| fail(e.to_string()))?;
            let with_hash = PrivateKeyWithHashAlg::new(Arc::clone(key), hash);
            let result = handle
                .authenticate_publickey(target.user.clone(), with_hash)
                .await
                .map_err(|e| fail(e.to_string()))?;
            match result {
                AuthResult::Success => Ok(()),
                AuthResult::Failure { .. } => Err(fail(format!(
                    "the server refused the key {}",
                    path.display()
                ))),
            }
        }
        Auth::Agent { socket } => {
            let mut agent = AgentClient::connect_uds(socket).await.map_err(|e| {
                fail(format!(
                    "cannot reach ssh-agent at {}: {e}",
                    socket.display()
                ))
            })?;
            let identities = agent
                .request_identities()
                .await
                .map_err(|e| fail(format!("ssh-agent did not list its keys: {e}")))?;
            let mut tried = 0usize;
            for identity in identities {
                let key = identity.public_key().into_owned();
                let hash = rsa_hash(handle, key.algorithm().is_rsa())
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                tried += 1;
                let result = handle
                    .authenticate_publickey_with(target.user.clone(), key, hash, &mut agent)
                    .await
                    .map_err(|e| fail(format!("ssh-agent signing failed: {e}")))?;
                if matches!(result, AuthResult::Success) {
                    return Ok(());
                }
            }
            Err(fail(if tried == 0 {
                "ssh-agent holds no keys (add one with `ssh-add`)".to_owned()
            } else {
                format!("the server refused all {tried} keys of ssh-agent")
            }))
        }
    }
}

/// For RSA keys, the best signature hash the server accepts (`rsa-sha2-512`/`-256`); `None`
/// for other key types.
async fn rsa_hash<H: Handler>(
    handle: &Handle<H>,
    is_rsa: bool,
) -> Result<Option<russh::keys::HashAlg>, russh::Error> {
    if !is_rsa {
        return Ok(None);
    }
    Ok(handle.best_supported_rsa_hash().await?.flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_key_file_is_a_key_error_naming_the_path() {
        let err = Auth::key_file(Path::new("/nonexistent/id_ed25519")).expect_err("missing");
        let text = err.to_string();
        assert!(text.contains("/nonexistent/id_ed25519"), "{text}");
        assert!(matches!(err, SshError::Key { .. }));
    }

    #[test]
    fn garbage_key_file_is_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key");
        std::fs::write(&path, "not a key\n").expect("write");
        assert!(matches!(Auth::key_file(&path), Err(SshError::Key { .. })));
    }

    #[test]
    fn debug_never_shows_key_material() {
        let auth = Auth::agent_at("/tmp/agent.sock");
        assert_eq!(
            format!("{auth:?}"),
            "Auth::Agent { socket: \"/tmp/agent.sock\" }"
        );
    }
}
