//! Errors of the provider layer, each with a stable diagnostic code (`ict::provider::...`) and a
//! help line. They name the HTTP method and path (never the token or any header) and, for
//! waits, the object (name and ID) and the task that did not finish.

use std::time::Duration;

use super::ServerId;

const TOKEN_HELP: &str =
    "create an API token in the 1cloud panel (https://panel.1cloud.ru/Account/Manage) \
     and export it: `export ONECLOUD_TOKEN=<64 hex characters>`; ONECLOUD_API_URL overrides the \
     API address (default https://api.1cloud.ru)";

/// Why a provider operation failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ProviderError {
    /// No token in the environment.
    #[error("no 1cloud API token: ONECLOUD_TOKEN is not set")]
    #[diagnostic(code(ict::provider::no_token), help("{}", TOKEN_HELP))]
    NoToken,

    /// The API answered 401 or 403.
    #[error("the 1cloud API refused the token: {method} {path} answered HTTP {status}")]
    #[diagnostic(code(ict::provider::unauthorized), help("{}", TOKEN_HELP))]
    Unauthorized {
        method: String,
        path: String,
        status: u16,
    },

    /// The API answered 404 (a server, network, key, domain or record that does not exist).
    #[error("not found: {method} {path} answered HTTP 404: {message}")]
    #[diagnostic(
        code(ict::provider::not_found),
        help("the object was deleted outside ict, or its ID is stale; `ict cloud ...` lists what exists")
    )]
    NotFound {
        method: String,
        path: String,
        message: String,
    },

    /// Any other unsuccessful HTTP status, after the retries allowed for the call.
    #[error("{method} {path} failed with HTTP {status} (after {attempts} attempt(s)): {message}")]
    #[diagnostic(
        code(ict::provider::http),
        help("a 4xx status means 1cloud rejected the request; a 5xx status is 1cloud's own failure, try again later")
    )]
    Http {
        method: String,
        path: String,
        status: u16,
        message: String,
        attempts: u32,
    },

    /// Every attempt timed out.
    #[error("{method} {path} timed out after {timeout:?} (after {attempts} attempt(s))")]
    #[diagnostic(
        code(ict::provider::timeout),
        help("the 1cloud API is slow or unreachable; check the network and try again")
    )]
    Timeout {
        method: String,
        path: String,
        timeout: Duration,
        attempts: u32,
    },

    /// No connection could be made.
    #[error("cannot connect to the 1cloud API at {url} (after {attempts} attempt(s))")]
    #[diagnostic(
        code(ict::provider::connect),
        help("check the network, a proxy, or ONECLOUD_API_URL")
    )]
    Connect {
        url: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },

    /// The connection broke in some other way (while sending or reading the body).
    #[error("{method} {path} failed: the connection broke (after {attempts} attempt(s))")]
    #[diagnostic(
        code(ict::provider::transport),
        help("try again; the network may be unstable")
    )]
    Transport {
        method: String,
        path: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },

    /// The answer was not the JSON ict expects.
    #[error("cannot read the answer to {method} {path}: {source}")]
    #[diagnostic(
        code(ict::provider::decode),
        help("the 1cloud API changed or ONECLOUD_API_URL points to something else")
    )]
    Decode {
        method: String,
        path: String,
        #[source]
        source: serde_json::Error,
    },

    /// A wait (for an action, or for a server or network to become active) ran out of time.
    #[error("timed out after {waited:?} waiting for {task} on {kind} \"{name}\" (ID {id})")]
    #[diagnostic(
        code(ict::provider::wait_timeout),
        help("the task may still finish; check it later with `ict cloud servers` and run again")
    )]
    WaitTimeout {
        /// `server` or `network`.
        kind: &'static str,
        name: String,
        id: u64,
        /// What was awaited, e.g. `action 17 (PowerOn)` or `state Active`.
        task: String,
        waited: Duration,
    },

    /// An action ended in a state other than `Completed`.
    #[error("{task} on server \"{name}\" (ID {server}) ended in state {state}")]
    #[diagnostic(
        code(ict::provider::action_failed),
        help("look at the server in the 1cloud panel; the task did not complete")
    )]
    ActionFailed {
        name: String,
        server: ServerId,
        task: String,
        state: String,
    },

    /// A server is in a state from which it will not become active by waiting.
    #[error("server \"{name}\" (ID {server}) is {state} and will not become active")]
    #[diagnostic(
        code(ict::provider::server_state),
        help("NeedMoney and Blocked mean the 1cloud balance is too low: top it up (`ict cloud balance`)")
    )]
    ServerStuck {
        name: String,
        server: ServerId,
        state: String,
    },

    /// Listing one kind of object failed (`observe`).
    #[error("cannot read the account's {what}: {source}")]
    #[diagnostic(
        code(ict::provider::list),
        help("ict reads only the kinds the script declares or the state owns; this one is needed, so fix the cause above and run again")
    )]
    List {
        what: &'static str,
        #[source]
        source: Box<ProviderError>,
    },

    /// A change was not sent: the command's hold on the state's lock may have lapsed (its
    /// lease was not renewed in time, e.g. the process was paused), and another command may
    /// have taken over.
    #[error(
        "{method} {path} was not sent: this command's lock on the state may have been taken over"
    )]
    #[diagnostic(
        code(ict::provider::not_sent),
        help("its lease was not renewed in time (was the process paused?); run the command again")
    )]
    NotSent { method: String, path: String },

    /// A libvirt object (domain, pool, volume, network) that does not exist.
    #[error("libvirt: {what} not found: {message}")]
    #[diagnostic(
        code(ict::provider::not_found),
        help("it was removed outside ict, or its ID is stale; `ict cloud servers --provider libvirt` lists what exists")
    )]
    Missing { what: String, message: String },

    /// A libvirt call failed.
    #[error("libvirt: cannot {operation}: {message}")]
    #[diagnostic(
        code(ict::provider::libvirt),
        help("check that libvirtd runs and the URI is right (`virsh -c $ICT_LIBVIRT_URI list --all`)")
    )]
    Libvirt { operation: String, message: String },

    /// An object ict did not create: ict never changes or deletes it.
    #[error("will not {doing} {kind} \"{name}\": ict did not create it")]
    #[diagnostic(
        code(ict::provider::not_owned),
        help("ict changes only what carries its metadata; manage this one by hand, or give the declared server another name")
    )]
    NotOwned {
        kind: &'static str,
        name: String,
        doing: String,
    },

    /// The name is taken by an object ict did not make (libvirt names are unique).
    #[error("a {kind} named \"{name}\" already exists and ict did not create it")]
    #[diagnostic(
        code(ict::provider::name_taken),
        help("rename the declared object, or remove the existing one by hand if it is not needed")
    )]
    NameTaken { kind: &'static str, name: String },

    /// The provider has no such thing.
    #[error("the {provider} provider does not support {what}")]
    #[diagnostic(
        code(ict::provider::unsupported),
        help("declare it only in environments on a provider that has it (`provider(...)` per environment)")
    )]
    Unsupported {
        provider: &'static str,
        what: &'static str,
    },

    /// The client could not be configured (bad URL, TLS backend failure).
    #[error("cannot set up the 1cloud client: {reason}")]
    #[diagnostic(code(ict::provider::config), help("{}", TOKEN_HELP))]
    Config { reason: String },
}

impl ProviderError {
    /// Whether the request may have taken effect although no success was seen: no answer
    /// (timeout, broken connection), or a server-side failure. A refusal (4xx) or a request
    /// that never left (no connection) did not take effect.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ProviderError::Timeout { .. } | ProviderError::Transport { .. } => true,
            ProviderError::Http { status, .. } => *status >= 500 || *status == 429,
            ProviderError::List { source, .. } => source.outcome_unknown(),
            _ => false,
        }
    }

    /// Whether the error says the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ProviderError::NotFound { .. } | ProviderError::Missing { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use miette::Diagnostic;

    use super::*;

    #[test]
    fn codes_are_stable_and_token_errors_explain_the_variable() {
        let error = ProviderError::Unauthorized {
            method: "GET".to_owned(),
            path: "/server".to_owned(),
            status: 401,
        };
        assert_eq!(
            error.code().map(|c| c.to_string()).as_deref(),
            Some("ict::provider::unauthorized")
        );
        let help = error.help().map(|h| h.to_string()).unwrap_or_default();
        assert!(help.contains("ONECLOUD_TOKEN"), "{help}");
    }

    #[test]
    fn wait_timeout_names_the_server_and_task() {
        let error = ProviderError::WaitTimeout {
            kind: "server",
            name: "web-1".to_owned(),
            id: 42,
            task: "action 7 (PowerOn)".to_owned(),
            waited: Duration::from_secs(300),
        };
        assert_eq!(
            error.to_string(),
            "timed out after 300s waiting for action 7 (PowerOn) on server \"web-1\" (ID 42)"
        );
    }
}
