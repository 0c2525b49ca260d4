//! The database a pipeline declares: the idempotent setup script run (as root, over SSH) on the
//! database host before the stages, the `DATABASE_URL` the app gets, and the generated
//! password kept in `.ict/<env>/secrets/<pipeline>-db` (0600) when the script gives none.
//!
//! The setup (`PostgreSQL`, Debian layout): install `postgresql-<version>` only when missing,
//! create the `main` cluster if missing, listen on the host's address (`conf.d/ict.conf`),
//! allow the app hosts' addresses with `scram-sha-256` (a marked block at the top of
//! `pg_hba.conf`, one per pipeline), make sure the cluster runs (systemd unit, else
//! `pg_ctlcluster`), restarting or reloading only when the configuration changed, then create
//! the role and the database if missing and set the role's password. Depends on `model`,
//! `shell` and `atomic`.

use std::fmt::Write as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use rand::RngExt as _;

use crate::model::pipeline::Database;
use crate::shell::quote;

/// The port ict's databases listen on.
pub const PORT: u16 = 5432;

/// Where a database lives and who may reach it, ready for [`setup`].
#[derive(Debug, Clone)]
pub struct Setup<'a> {
    pub pipeline: &'a str,
    pub db: &'a Database,
    /// The database host's address (it listens there).
    pub ip: &'a str,
    /// The app hosts' addresses (allowed in `pg_hba.conf`).
    pub clients: &'a [String],
    pub password: &'a str,
}

/// The setup script (to run as root): see the module comment. Prints what it changed.
pub fn setup(s: &Setup<'_>) -> String {
    let v = &s.db.version;
    let (name, user) = (&s.db.name, &s.db.user);
    let begin = format!("# ict:{} begin", s.pipeline);
    let end = format!("# ict:{} end", s.pipeline);
    let mut block = format!("{begin}\n");
    for client in s.clients {
        let mask = if client.contains(':') { 128 } else { 32 };
        let _ = writeln!(
            block,
            "host \"{name}\" \"{user}\" {client}/{mask} scram-sha-256"
        );
    }
    let _ = write!(block, "{end}");
    let listen = format!("listen_addresses = 'localhost,{}'", s.ip);
    let delimiter = format!("ICT_SQL_{}", rand::random::<u64>());
    let password = s.password.replace('\'', "''");
    format!(
        "set -e\ncd /\nv={v}\nconf=/etc/postgresql/$v/main\n\
         if [ ! -x /usr/lib/postgresql/$v/bin/postgres ]; then\n\
         command -v apt-get >/dev/null || {{ echo \"PostgreSQL $v is not installed and this host has no apt-get\" >&2; exit 1; }}\n\
         echo \"installing postgresql-$v\"\n\
         export DEBIAN_FRONTEND=noninteractive\n\
         apt-get update -qq && apt-get install -y -qq postgresql-$v\n\
         fi\n\
         command -v pg_ctlcluster >/dev/null || {{ echo 'pg_ctlcluster (postgresql-common) is missing' >&2; exit 1; }}\n\
         [ -d \"$conf\" ] || {{ echo \"creating the $v/main cluster\"; pg_createcluster $v main; }}\n\
         mkdir -p \"$conf/conf.d\"\n\
         grep -q \"^include_dir = 'conf.d'\" \"$conf/postgresql.conf\" || echo \"include_dir = 'conf.d'\" >> \"$conf/postgresql.conf\"\n\
         changed=\n\
         if [ \"$(cat \"$conf/conf.d/ict.conf\" 2>/dev/null)\" != {listen} ]; then\n\
         printf '%s\\n' {listen} > \"$conf/conf.d/ict.conf\"; changed=restart; echo \"listening on {ip}\"\n\
         fi\n\
         tmp=$(mktemp)\n\
         {{ printf '%s\\n' {block}; sed '/^{begin_re}$/,/^{end_re}$/d' \"$conf/pg_hba.conf\"; }} > \"$tmp\"\n\
         if ! cmp -s \"$tmp\" \"$conf/pg_hba.conf\"; then\n\
         cat \"$tmp\" > \"$conf/pg_hba.conf\"; [ -n \"$changed\" ] || changed=reload; echo 'allowed the app hosts in pg_hba.conf'\n\
         fi\n\
         rm -f \"$tmp\"\n\
         if [ \"$(cat /proc/1/comm 2>/dev/null)\" = systemd ]; then\n\
         unit=postgresql@$v-main\n\
         systemctl enable -q \"$unit\" 2>/dev/null || true\n\
         if systemctl is-active -q \"$unit\"; then\n\
         case \"$changed\" in restart) systemctl restart \"$unit\";; reload) systemctl reload \"$unit\";; esac\n\
         else echo \"starting $unit\"; systemctl start \"$unit\"; fi\n\
         elif pg_ctlcluster $v main status >/dev/null 2>&1; then\n\
         case \"$changed\" in restart) pg_ctlcluster $v main restart;; reload) pg_ctlcluster $v main reload;; esac\n\
         else echo \"starting PostgreSQL $v\"; pg_ctlcluster $v main start; fi\n\
         i=0; until runuser -u postgres -- pg_isready -q -p {PORT} || [ $i -ge 50 ]; do sleep 0.2; i=$((i+1)); done\n\
         runuser -u postgres -- psql -q -X -v ON_ERROR_STOP=1 -p {PORT} -d postgres <<'{delimiter}'\n\
         SELECT 'CREATE ROLE \"{user}\" LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}')\\gexec\n\
         ALTER ROLE \"{user}\" WITH LOGIN PASSWORD '{password}';\n\
         SELECT 'CREATE DATABASE \"{name}\" OWNER \"{user}\"' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{name}')\\gexec\n\
         {delimiter}\n\
         echo \"database {name} (role {user}) is ready on {ip}:{PORT}\"\n",
        listen = quote(&listen),
        ip = s.ip,
        block = block
            .lines()
            .map(quote)
            .collect::<Vec<_>>()
            .join(" "),
        begin_re = begin.replace('.', "\\."),
        end_re = end.replace('.', "\\."),
    )
}

/// `postgresql://user:password@ip:5432/name`, the password percent-encoded.
pub fn url(db: &Database, ip: &str, password: &str) -> String {
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_owned()
    };
    format!(
        "postgresql://{}:{}@{host}:{PORT}/{}",
        db.user,
        encode(password),
        db.name
    )
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `<state dir>/secrets/<pipeline>-db`.
pub fn password_file(state_dir: &Path, pipeline: &str) -> PathBuf {
    state_dir.join("secrets").join(format!("{pipeline}-db"))
}

/// The generated password of the pipeline's database: read from `file`, or created there
/// (32 letters and digits, the folder 0700, the file 0600) the first time.
pub fn generated_password(file: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(file) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = file.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let password: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    crate::atomic::atomic_write(file, format!("{password}\n").as_bytes(), 0o600)?;
    Ok(password)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;
    use crate::model::pipeline::DbEngine;
    use crate::model::Span;

    fn db() -> Database {
        Database {
            engine: DbEngine::Postgresql,
            version: "15".into(),
            host: "db-1".into(),
            name: "shop".into(),
            user: "shop_app".into(),
            password: None,
            host_span: Span::default(),
        }
    }

    #[test]
    fn urls_encode_the_password() {
        assert_eq!(
            url(&db(), "10.0.0.5", "a b@c/d"),
            "postgresql://shop_app:a%20b%40c%2Fd@10.0.0.5:5432/shop"
        );
        assert!(url(&db(), "fd00::1", "x").contains("@[fd00::1]:5432/"));
    }

    #[test]
    fn the_setup_allows_each_client_and_quotes_the_password() {
        let d = db();
        let clients = ["10.0.0.7".to_owned(), "10.0.0.8".to_owned()];
        let script = setup(&Setup {
            pipeline: "shop",
            db: &d,
            ip: "10.0.0.5",
            clients: &clients,
            password: "it's",
        });
        assert!(script.contains("'host \"shop\" \"shop_app\" 10.0.0.7/32 scram-sha-256'"));
        assert!(script.contains("10.0.0.8/32"));
        assert!(script.contains("PASSWORD 'it''s'"), "{script}");
        assert!(script.contains("listen_addresses = '\\''localhost,10.0.0.5'\\''"));
        assert!(script.contains("apt-get install -y -qq postgresql-$v"));
        // The hba block is replaced, not appended to, on the next run.
        assert!(script.contains("sed '/^# ict:shop begin$/,/^# ict:shop end$/d'"));
    }

    #[test]
    fn the_hba_block_is_replaced_idempotently() {
        let dir = tempfile::tempdir().expect("tmp");
        let hba = dir.path().join("pg_hba.conf");
        std::fs::write(&hba, "local all postgres peer\n").expect("write");
        let d = db();
        let clients = ["10.0.0.7".to_owned()];
        let script = setup(&Setup {
            pipeline: "shop",
            db: &d,
            ip: "10.0.0.5",
            clients: &clients,
            password: "pw",
        });
        // Only the pg_hba part, pointed at the temporary file.
        let start = script.find("tmp=$(mktemp)").expect("hba part");
        let stop = script.find("rm -f \"$tmp\"").expect("hba end");
        let part = format!(
            "conf={}\n{}",
            dir.path().display(),
            &script[start..stop].replace("[ -n \"$changed\" ] || changed=reload; ", "")
        );
        for _ in 0..2 {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&part)
                .output()
                .expect("sh");
            assert!(out.status.success());
        }
        let text = std::fs::read_to_string(&hba).expect("read");
        assert_eq!(
            text,
            "# ict:shop begin\nhost \"shop\" \"shop_app\" 10.0.0.7/32 scram-sha-256\n# ict:shop end\nlocal all postgres peer\n"
        );
    }

    #[test]
    fn a_generated_password_is_kept_private_and_stable() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = password_file(dir.path(), "shop");
        let first = generated_password(&file).expect("create");
        assert_eq!(first.len(), 32);
        assert_eq!(generated_password(&file).expect("read"), first);
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(file.parent().expect("dir")), 0o700);
    }
}
