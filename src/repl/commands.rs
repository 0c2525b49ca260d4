//! The REPL's meta-commands (`:help`, `:reload`, `:vars`, `:graph`, `:check`, `:quit`), parsed
//! before anything is evaluated (`:plan` and `:apply` talk to the cloud: see `apply.rs`). [`handle`] works on a [`Session`] and returns what to show, so
//! it is tested without a terminal. Prints nothing.

use std::fmt::Write as _;

use super::cloud::LIVE_FUNCTIONS;
use crate::model::{Desired, DidYouMean, Graph};
use crate::script::{api, Failure, Session};

/// The meta-commands, with a one-line description each.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        ":help",
        "show help; `:help server` shows a function and its fields",
    ),
    (":vars", "list the variables in scope with their values"),
    (":graph", "show the graph of what has been declared so far"),
    (":check", "validate what has been declared so far"),
    (
        ":plan",
        "show what applying the declarations would change in the cloud",
    ),
    (
        ":apply",
        "plan, ask for `yes` and apply (`:apply --yes` does not ask)",
    ),
    (":reload", "forget everything and evaluate FILE again"),
    (":quit", "leave (Ctrl-D does the same)"),
];

/// What a meta-command asks the REPL to do.
#[derive(Debug)]
pub enum Outcome {
    /// Show this text.
    Print(String),
    /// Show these diagnostics; the command failed.
    Problems(Failure),
    /// The command itself was wrong (unknown, bad argument).
    Error(String),
    /// Leave the REPL.
    Quit,
}

/// Whether `input` is a meta-command rather than script text.
pub fn is_command(input: &str) -> bool {
    input.trim_start().starts_with(':')
}

/// Runs the meta-command `input` (e.g. `:help server`).
pub fn handle(input: &str, session: &mut Session) -> Outcome {
    let mut words = input.split_whitespace();
    let name = words.next().unwrap_or(":");
    let argument = words.next();
    match name {
        ":help" | ":h" | ":?" => help(argument),
        ":vars" => vars(session),
        ":graph" => graph(&session.declared()),
        ":check" => match session.check() {
            Ok(desired) => {
                Outcome::Print(format!("ok (env {}): {}", desired.env, summary(&desired)))
            }
            Err(failure) => Outcome::Problems(failure),
        },
        ":reload" => reload(session),
        ":quit" | ":q" | ":exit" => Outcome::Quit,
        // Handled by `apply.rs` when the live runtime is up.
        ":plan" | ":apply" => Outcome::Error(format!(
            "`{name}` needs the live session, which could not start"
        )),
        other => {
            let names = COMMANDS.iter().map(|(n, _)| *n);
            let hint = DidYouMean::new(other, names)
                .help()
                .map_or_else(String::new, |h| format!("; {h}"));
            Outcome::Error(format!(
                "unknown command `{other}`{hint} (`:help` lists them)"
            ))
        }
    }
}

fn help(topic: Option<&str>) -> Outcome {
    let Some(topic) = topic else {
        let mut out = String::from(
            "Type script statements to evaluate them; a line with an open bracket or string\n\
             continues on the next. Tab completes names, Ctrl-C cancels a line, Ctrl-D leaves.\n\n",
        );
        for (name, what) in COMMANDS {
            let _ = writeln!(out, "  {name:<9} {what}");
        }
        out.push_str("\nScript functions:\n");
        for (_, signature) in api::FUNCTIONS {
            let _ = writeln!(out, "  {signature}");
        }
        out.push_str("  declared() -> map of the names declared so far, by kind (REPL only)\n");
        out.push_str("\nLive functions (REPL only; Ctrl-C cancels a call):\n");
        for (_, signature) in LIVE_FUNCTIONS {
            let _ = writeln!(out, "  {signature}");
        }
        out.pop();
        return Outcome::Print(out);
    };
    let command = format!(":{}", topic.trim_start_matches(':'));
    if let Some((name, what)) = COMMANDS.iter().find(|(n, _)| *n == command) {
        return Outcome::Print(format!("{name}: {what}"));
    }
    if let Some((_, signature)) = LIVE_FUNCTIONS.iter().find(|(n, _)| *n == topic) {
        return Outcome::Print((*signature).to_owned());
    }
    if let Some((_, signature)) = api::FUNCTIONS.iter().find(|(n, _)| *n == topic) {
        let fields = Session::fields_of(topic);
        let mut out = (*signature).to_owned();
        if !fields.is_empty() {
            let _ = write!(out, "\noptions: {}", fields.join(", "));
        }
        return Outcome::Print(out);
    }
    let known = COMMANDS
        .iter()
        .map(|(n, _)| n.trim_start_matches(':'))
        .chain(api::FUNCTIONS.iter().map(|(n, _)| *n))
        .chain(LIVE_FUNCTIONS.iter().map(|(n, _)| *n));
    let hint = DidYouMean::new(topic, known)
        .help()
        .map_or_else(String::new, |h| format!("; {h}"));
    Outcome::Error(format!("no help on `{topic}`{hint}"))
}

fn vars(session: &Session) -> Outcome {
    let variables = session.variables();
    if variables.is_empty() {
        return Outcome::Print("no variables yet".into());
    }
    let width = variables.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let lines: Vec<String> = variables
        .iter()
        .map(|(name, value)| format!("{name:<width$} = {}", super::display::compact(value)))
        .collect();
    Outcome::Print(lines.join("\n"))
}

fn graph(desired: &Desired) -> Outcome {
    if desired.is_empty() {
        return Outcome::Print("nothing declared yet".into());
    }
    match Graph::build(desired) {
        Ok(graph) => Outcome::Print(crate::ui::graph::text(&graph).trim_end().to_owned()),
        Err(error) => Outcome::Error(error.to_string()),
    }
}

fn reload(session: &mut Session) -> Outcome {
    let name = session
        .file()
        .map_or_else(|| "the session".to_owned(), |f| f.display().to_string());
    match session.reload() {
        Ok(_) => Outcome::Print(format!("reloaded {name}: {}", summary(&session.declared()))),
        Err(failure) => Outcome::Problems(failure),
    }
}

/// "2 servers, 1 network" (zero counts left out).
fn summary(d: &Desired) -> String {
    let counts = [
        (d.servers.len(), "server"),
        (d.ssh_keys.len(), "ssh key"),
        (d.networks.len(), "network"),
        (d.groups.len(), "group"),
        (d.playbooks.len(), "playbook"),
        (d.dns_records.len(), "DNS record"),
    ];
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| match n {
            1 => format!("1 {what}"),
            _ => format!("{n} {what}s"),
        })
        .collect();
    if parts.is_empty() {
        "nothing declared".to_owned()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Options;
    use indexmap::IndexMap;

    fn session(inputs: &[&str]) -> Session {
        let mut s = Session::new(Options::new("dev", IndexMap::new()));
        for input in inputs {
            s.eval(input).expect("input evaluates");
        }
        s
    }

    fn print(outcome: Outcome) -> String {
        match outcome {
            Outcome::Print(text) => text,
            other => panic!("expected text, got {other:?}"),
        }
    }

    #[test]
    fn vars_lists_values_aligned() {
        let mut s = session(&[
            "let n = 3;",
            "let web = server(\"web-1\");",
            "let tags = #{ a: 1 };",
        ]);
        assert_eq!(
            print(handle(":vars", &mut s)),
            "n    = 3\nweb  = Server(\"web-1\")\ntags = #{ a: 1 }"
        );
        assert_eq!(
            print(handle(":vars", &mut session(&[]))),
            "no variables yet"
        );
    }

    #[test]
    fn graph_shows_what_is_declared_so_far() {
        let mut s = session(&[]);
        assert_eq!(print(handle(":graph", &mut s)), "nothing declared yet");
        s.eval("network(\"lan\"); server(\"web-1\", #{ networks: [\"lan\"] });")
            .expect("declares");
        let text = print(handle(":graph", &mut s));
        assert!(text.contains("network.lan"), "{text}");
        assert!(text.contains("-> network.lan (network)"), "{text}");
    }

    #[test]
    fn check_reports_dangling_references_and_passes_when_fixed() {
        let mut s = session(&["server(\"web-1\", #{ networks: [\"lan\"] });"]);
        let Outcome::Problems(failure) = handle(":check", &mut s) else {
            panic!("a dangling network must fail the check")
        };
        assert!(
            failure.problems[0].to_string().contains("lan"),
            "{:?}",
            failure.problems
        );
        s.eval("network(\"lan\");").expect("declares");
        assert_eq!(
            print(handle(":check", &mut s)),
            "ok (env dev): 1 server, 1 network"
        );
    }

    #[test]
    fn help_topics() {
        let mut s = session(&[]);
        let all = print(handle(":help", &mut s));
        assert!(
            all.contains(":reload") && all.contains("server(name: string"),
            "{all}"
        );
        assert!(
            all.contains(":apply") && all.contains("cloud::servers() -> array"),
            "{all}"
        );
        let server = print(handle(":help server", &mut s));
        assert!(server.contains("options: cpu, ram"), "{server}");
        let live = print(handle(":help cloud::servers", &mut s));
        assert!(live.contains("managed"), "{live}");
        assert_eq!(
            print(handle(":help graph", &mut s)),
            format!(":graph: {}", COMMANDS[2].1)
        );
        assert!(
            matches!(handle(":help sever", &mut s), Outcome::Error(e) if e.contains("`server`"))
        );
    }

    #[test]
    fn quit_reload_and_unknown() {
        let mut s = session(&["server(\"a\");"]);
        assert!(matches!(handle(":quit", &mut s), Outcome::Quit));
        assert!(matches!(handle("  :q", &mut s), Outcome::Quit));
        assert_eq!(
            print(handle(":reload", &mut s)),
            "reloaded the session: nothing declared"
        );
        assert!(s.declared().servers.is_empty());
        assert!(matches!(handle(":grpah", &mut s), Outcome::Error(e) if e.contains("`:graph`")));
        assert!(is_command(" :vars") && !is_command("a :b"));
    }
}
