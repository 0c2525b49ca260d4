//! The repository side of a pipeline: `git ls-remote` on this machine, and choosing the one
//! commit a run deploys, so that every host gets the same code even if the branch moves
//! during the run. Parsing is pure; only [`ls_remote`] runs a process.

use std::time::Duration;

use crate::model::PipelineEnv;

use super::PipelineError;

/// A branch or tag of the repository and the commit it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// `main`, `v1.2.0` (without `refs/heads/` or `refs/tags/`).
    pub name: String,
    pub tag: bool,
    pub commit: String,
}

/// What a run deploys: a ref as named and the commit it resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub name: String,
    pub commit: String,
}

impl Resolved {
    /// The first 7 characters of the commit.
    pub fn short(&self) -> &str {
        self.commit.get(..7).unwrap_or(&self.commit)
    }
}

/// Parses `git ls-remote` output. Annotated tags appear twice (`v1` and `v1^{}`); the peeled
/// commit wins. HEAD and other refs are ignored.
pub fn parse_ls_remote(text: &str) -> Vec<RemoteRef> {
    let mut refs: Vec<RemoteRef> = Vec::new();
    for line in text.lines() {
        let Some((commit, name)) = line.split_once('\t') else {
            continue;
        };
        let (name, tag, peeled) = if let Some(n) = name.strip_prefix("refs/heads/") {
            (n, false, false)
        } else if let Some(n) = name.strip_prefix("refs/tags/") {
            match n.strip_suffix("^{}") {
                Some(n) => (n, true, true),
                None => (n, true, false),
            }
        } else {
            continue;
        };
        let found = refs.iter_mut().find(|r| r.name == name && r.tag == tag);
        match found {
            Some(existing) if peeled => commit.clone_into(&mut existing.commit),
            Some(_) => {}
            None => refs.push(RemoteRef {
                name: name.to_owned(),
                tag,
                commit: commit.to_owned(),
            }),
        }
    }
    refs.sort_by(|a, b| (a.tag, &a.name).cmp(&(b.tag, &b.name)));
    refs
}

/// The refs of the repository that deploy to `env`.
pub fn matching<'a>(refs: &'a [RemoteRef], env: &PipelineEnv) -> Vec<&'a RemoteRef> {
    refs.iter().filter(|r| env.accepts(&r.name)).collect()
}

/// Chooses what to deploy: `wanted` (a branch, a tag, or a commit hash the repository has at
/// one of the environment's refs), or else the environment's first ref written without a glob.
pub fn resolve(
    refs: &[RemoteRef],
    env: &PipelineEnv,
    wanted: Option<&str>,
) -> Result<Resolved, PipelineError> {
    let name = match wanted {
        Some(w) => w.to_owned(),
        None => env
            .refs
            .iter()
            .find(|r| !r.contains(['*', '?']))
            .cloned()
            .ok_or_else(|| PipelineError::NoDefaultRef {
                refs: env.refs.join(", "),
            })?,
    };
    let by_commit = name.len() >= 7 && name.chars().all(|c| c.is_ascii_hexdigit());
    let found = refs.iter().find(|r| r.name == name).or_else(|| {
        by_commit
            .then(|| {
                refs.iter()
                    .find(|r| r.commit.starts_with(&name) && env.accepts(&r.name))
            })
            .flatten()
    });
    let Some(found) = found else {
        return Err(PipelineError::UnknownRef {
            name,
            known: refs
                .iter()
                .map(|r| r.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    if !env.accepts(&found.name) {
        return Err(PipelineError::RefNotAllowed {
            name: found.name.clone(),
            refs: env.refs.join(", "),
        });
    }
    Ok(Resolved {
        name: found.name.clone(),
        commit: found.commit.clone(),
    })
}

/// Runs `git ls-remote REPO` here (not on the hosts), without prompting for credentials.
pub async fn ls_remote(repo: &str, timeout: Duration) -> Result<Vec<RemoteRef>, PipelineError> {
    let fail = |reason: String| PipelineError::Git {
        repo: repo.to_owned(),
        reason,
    };
    let child = tokio::process::Command::new("git")
        .args(["ls-remote", "--heads", "--tags", "--", repo])
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(format!("cannot run git: {e}")))?;
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| fail(format!("no answer within {}s", timeout.as_secs())))?
        .map_err(|e| fail(e.to_string()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(fail(
            stderr.trim().lines().last().unwrap_or("failed").to_owned(),
        ));
    }
    Ok(parse_ls_remote(&String::from_utf8_lossy(&output.stdout)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Span;

    const LS: &str = "1111111111111111111111111111111111111111\trefs/heads/main\n\
                      2222222222222222222222222222222222222222\trefs/heads/dev\n\
                      3333333333333333333333333333333333333333\trefs/tags/v1.0\n\
                      4444444444444444444444444444444444444444\trefs/tags/v1.0^{}\n\
                      5555555555555555555555555555555555555555\trefs/pull/1/head\n";

    fn env(refs: &[&str]) -> PipelineEnv {
        PipelineEnv {
            refs: refs.iter().map(|r| (*r).to_owned()).collect(),
            hosts: "all".into(),
            span: Span::default(),
            hosts_span: Span::default(),
        }
    }

    #[test]
    fn ls_remote_output_is_parsed_with_peeled_tags() {
        let refs = parse_ls_remote(LS);
        let names: Vec<(&str, bool, &str)> = refs
            .iter()
            .map(|r| (r.name.as_str(), r.tag, &r.commit[..1]))
            .collect();
        assert_eq!(
            names,
            [
                ("dev", false, "2"),
                ("main", false, "1"),
                ("v1.0", true, "4")
            ]
        );
    }

    #[test]
    fn resolving_refs() {
        let refs = parse_ls_remote(LS);
        let prod = env(&["v*", "main"]);
        assert_eq!(resolve(&refs, &prod, None).expect("main").name, "main");
        let tag = resolve(&refs, &prod, Some("v1.0")).expect("tag");
        assert_eq!((tag.name.as_str(), tag.short()), ("v1.0", "4444444"));
        let by_hash = resolve(&refs, &prod, Some("1111111")).expect("hash");
        assert_eq!(by_hash.name, "main");
        assert!(matches!(
            resolve(&refs, &prod, Some("dev")),
            Err(PipelineError::RefNotAllowed { .. })
        ));
        assert!(matches!(
            resolve(&refs, &prod, Some("nope")),
            Err(PipelineError::UnknownRef { .. })
        ));
        assert!(matches!(
            resolve(&refs, &env(&["v*"]), None),
            Err(PipelineError::NoDefaultRef { .. })
        ));
        assert_eq!(matching(&refs, &prod).len(), 2);
    }
}
