//! `Target`: where to connect and as whom. Plain data; depends on nothing.

use std::fmt;

/// One SSH endpoint: a display name (the server's name in the script), an address, a port
/// and the remote user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// Name used in reports (e.g. `web-1`).
    pub name: String,
    /// IP address or DNS name to dial.
    pub host: String,
    /// TCP port of sshd.
    pub port: u16,
    /// Remote user.
    pub user: String,
}

impl Target {
    /// A target; `name` is what reports call it.
    pub fn new(
        name: impl Into<String>,
        host: impl Into<String>,
        port: u16,
        user: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            host: host.into(),
            port,
            user: user.into(),
        }
    }

    /// The host's name as OpenSSH writes it in `known_hosts`: `host` for port 22,
    /// `[host]:port` otherwise.
    pub fn known_hosts_name(&self) -> String {
        known_hosts_name(&self.host, self.port)
    }
}

/// `host` for port 22, `[host]:port` otherwise (OpenSSH's `known_hosts` convention).
pub fn known_hosts_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_owned()
    } else {
        format!("[{host}]:{port}")
    }
}

impl fmt::Display for Target {
    /// `name (host:port)`, or just `host:port` when the name is the host.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name == self.host || self.name.is_empty() {
            write!(f, "{}:{}", self.host, self.port)
        } else {
            write!(f, "{} ({}:{})", self.name, self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hosts_name_brackets_non_default_ports() {
        assert_eq!(
            Target::new("a", "10.0.0.1", 22, "root").known_hosts_name(),
            "10.0.0.1"
        );
        assert_eq!(
            Target::new("a", "127.0.0.1", 22001, "root").known_hosts_name(),
            "[127.0.0.1]:22001"
        );
    }

    #[test]
    fn display_names_the_server_and_its_address() {
        assert_eq!(
            Target::new("web-1", "10.0.0.1", 22, "root").to_string(),
            "web-1 (10.0.0.1:22)"
        );
        assert_eq!(
            Target::new("10.0.0.1", "10.0.0.1", 2222, "root").to_string(),
            "10.0.0.1:2222"
        );
    }
}
