//! Host lists: SSH targets written by hand or by another tool, for `ict exec --hosts FILE`
//! (like `ansible -i`). One host per line, in one of these forms:
//!
//! ```text
//! # name   address     port        (the bench farm's hosts.txt)
//! h001     127.0.0.1   22001
//! web-1    deploy@10.0.0.5          (name, [user@]address[:port])
//! root@10.0.0.6:2222                (just [user@]address[:port]; named after the address)
//! ```
//!
//! `#` starts a comment, blank lines are skipped, IPv6 addresses with a port are bracketed
//! (`[::1]:2222`). Every bad line is reported with its file and line number; names must be
//! unique. Pure: parsing takes text; only [`load`] reads a file. Depends on `ssh::target`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::target::Target;

/// Why a host list cannot be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum HostListError {
    /// The file cannot be read.
    #[error("cannot read the host list {}", path.display())]
    #[diagnostic(
        code(ict::ssh::host_list),
        help("pass a file of `name address [port]` lines with --hosts")
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// Some lines are not hosts.
    #[error("{}", problems.join("\n"))]
    #[diagnostic(
        code(ict::ssh::host_list),
        help(
            "each line is `name address [port]`, `name [user@]address[:port]` or \
             `[user@]address[:port]`; `#` starts a comment"
        )
    )]
    Lines {
        /// One `file:line: what is wrong` per bad line.
        problems: Vec<String>,
    },

    /// The file names no host.
    #[error("{} lists no host", path.display())]
    #[diagnostic(
        code(ict::ssh::host_list),
        help("write one `name address [port]` line per host")
    )]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// Reads and parses the host list at `path`; `user` is the login for lines that name none.
pub fn load(path: &Path, user: &str) -> Result<Vec<Target>, HostListError> {
    let text = std::fs::read_to_string(path).map_err(|source| HostListError::Read {
        path: path.to_owned(),
        source,
    })?;
    let hosts = parse(&text, &path.display().to_string(), user)?;
    if hosts.is_empty() {
        return Err(HostListError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(hosts)
}

/// Parses host-list text; `origin` names it in errors (`origin:line: …`).
pub fn parse(text: &str, origin: &str, user: &str) -> Result<Vec<Target>, HostListError> {
    let mut hosts = Vec::new();
    let mut problems = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.split_once('#').map_or(raw, |(before, _)| before).trim();
        if line.is_empty() {
            continue;
        }
        match parse_line(line, user) {
            Ok(target) => {
                if let Some(first) = seen.get(&target.name) {
                    problems.push(format!(
                        "{origin}:{number}: host `{}` is already listed on line {first}",
                        target.name
                    ));
                } else {
                    seen.insert(target.name.clone(), number);
                    hosts.push(target);
                }
            }
            Err(reason) => problems.push(format!("{origin}:{number}: {reason}")),
        }
    }
    if problems.is_empty() {
        Ok(hosts)
    } else {
        Err(HostListError::Lines { problems })
    }
}

fn parse_line(line: &str, default_user: &str) -> Result<Target, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    match fields.as_slice() {
        [endpoint] => {
            let (user, host, port) = endpoint_parts(endpoint, default_user)?;
            let name = if port.unwrap_or(22) == 22 {
                host.clone()
            } else {
                format!("{host}:{}", port.unwrap_or(22))
            };
            Ok(Target::new(name, host, port.unwrap_or(22), user))
        }
        [name, endpoint] => {
            let (user, host, port) = endpoint_parts(endpoint, default_user)?;
            Ok(Target::new(*name, host, port.unwrap_or(22), user))
        }
        [name, endpoint, port] => {
            let (user, host, inline) = endpoint_parts(endpoint, default_user)?;
            if inline.is_some() {
                return Err(format!(
                    "`{endpoint}` has a port and the line gives another (`{port}`)"
                ));
            }
            Ok(Target::new(*name, host, parse_port(port)?, user))
        }
        _ => Err(format!(
            "expected `name address [port]`, found {} fields: `{line}`",
            fields.len()
        )),
    }
}

/// `[user@]host[:port]`, with `[v6]:port` for IPv6 addresses.
fn endpoint_parts(
    endpoint: &str,
    default_user: &str,
) -> Result<(String, String, Option<u16>), String> {
    let (user, rest) = match endpoint.rsplit_once('@') {
        Some((user, rest)) if !user.is_empty() => (user.to_owned(), rest),
        Some(_) => return Err(format!("`{endpoint}` has an empty user name")),
        None => (default_user.to_owned(), endpoint),
    };
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| format!("`{endpoint}` opens `[` without closing it"))?;
        if after.is_empty() {
            (host, None)
        } else {
            let port = after
                .strip_prefix(':')
                .ok_or_else(|| format!("`{endpoint}`: expected `:port` after `]`"))?;
            (host, Some(parse_port(port)?))
        }
    } else if rest.matches(':').count() == 1 {
        let (host, port) = rest.split_once(':').unwrap_or((rest, ""));
        (host, Some(parse_port(port)?))
    } else {
        // No colon, or a bare IPv6 address (several colons, no port).
        (rest, None)
    };
    if host.is_empty() {
        return Err(format!("`{endpoint}` has no address"));
    }
    Ok((user, host.to_owned(), port))
}

fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("`{text}` is not a TCP port (1-65535)")),
        Ok(port) => Ok(port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Target {
        let hosts = parse(line, "hosts.txt", "root").expect("parses");
        assert_eq!(hosts.len(), 1, "{line}");
        hosts.into_iter().next().expect("one host")
    }

    #[test]
    fn every_line_form_gives_name_address_port_and_user() {
        let cases = [
            ("h001 127.0.0.1 22001", ("h001", "127.0.0.1", 22001, "root")),
            ("web-1 deploy@10.0.0.5", ("web-1", "10.0.0.5", 22, "deploy")),
            ("web-2 10.0.0.6:2222", ("web-2", "10.0.0.6", 2222, "root")),
            (
                "root@10.0.0.7:2200",
                ("10.0.0.7:2200", "10.0.0.7", 2200, "root"),
            ),
            ("ops@db.example", ("db.example", "db.example", 22, "ops")),
            ("v6 [::1]:2222", ("v6", "::1", 2222, "root")),
            ("v6b ::1", ("v6b", "::1", 22, "root")),
            (
                "  h002\t127.0.0.1  22002  # farm host",
                ("h002", "127.0.0.1", 22002, "root"),
            ),
        ];
        for (line, (name, host, port, user)) in cases {
            assert_eq!(one(line), Target::new(name, host, port, user), "{line}");
        }
    }

    #[test]
    fn comments_and_blank_lines_are_skipped_and_order_is_kept() {
        let text = "# farm\n\nh002 127.0.0.1 22002\n   # indented comment\nh001 127.0.0.1 22001\n";
        let names: Vec<String> = parse(text, "f", "root")
            .expect("parses")
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["h002", "h001"]);
    }

    #[test]
    fn bad_lines_are_all_reported_with_file_and_line() {
        let text = "h001 127.0.0.1 22001\nh002 127.0.0.1 port\nh003 a b c\nh001 127.0.0.2 22\n\
                    h004 127.0.0.1:22 23\nh005 @host\nh006 127.0.0.1 0\nh007 [::1\n";
        let Err(HostListError::Lines { problems }) = parse(text, "inv/hosts.txt", "root") else {
            panic!("bad lines accepted");
        };
        let expected = [
            "inv/hosts.txt:2: `port` is not a TCP port",
            "inv/hosts.txt:3: expected `name address [port]`, found 4 fields",
            "inv/hosts.txt:4: host `h001` is already listed on line 1",
            "inv/hosts.txt:5: `127.0.0.1:22` has a port and the line gives another",
            "inv/hosts.txt:6: `@host` has an empty user name",
            "inv/hosts.txt:7: `0` is not a TCP port",
            "inv/hosts.txt:8: `[::1` opens `[` without closing it",
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
        for (problem, start) in problems.iter().zip(expected) {
            assert!(
                problem.starts_with(start),
                "{problem:?} should start with {start:?}"
            );
        }
    }

    #[test]
    fn load_reads_the_file_and_refuses_an_empty_or_missing_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hosts.txt");
        std::fs::write(&path, "h001 127.0.0.1 22001\n").expect("write");
        assert_eq!(
            load(&path, "admin").expect("loads"),
            [Target::new("h001", "127.0.0.1", 22001, "admin")]
        );
        std::fs::write(&path, "# nothing\n").expect("write");
        assert!(matches!(
            load(&path, "root"),
            Err(HostListError::Empty { .. })
        ));
        let missing = dir.path().join("missing.txt");
        let err = load(&missing, "root").expect_err("missing");
        assert!(err.to_string().contains("missing.txt"), "{err}");
    }
}
