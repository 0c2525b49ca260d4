//! The health check after a restart, as a shell script run on the host itself (so it works
//! behind a firewall): as the pipeline's user, from `current` with its `.ict-env` loaded, it
//! asks `ICT_HOST_IP:port` — an HTTP `GET` answered 2xx/3xx (`curl`, else `python3`, else
//! bash's `/dev/tcp`) or a TCP accept (`python3`, else bash) — retrying with backoff until the
//! service's timeout. When the app never answers it prints why and the end of the app's log
//! and exits non-zero. Pure strings; depends on `model` and `pipeline::remote`.

use super::remote::Scripts;
use crate::model::pipeline::{Health, Service};
use crate::shell::quote;

/// A GET that succeeds on 2xx/3xx, with python3: `python3 -c HTTP host port path`.
const PY_HTTP: &str = "import http.client,sys\n\
c=http.client.HTTPConnection(sys.argv[1],int(sys.argv[2]),timeout=2)\n\
c.request('GET',sys.argv[3])\n\
sys.exit(0 if c.getresponse().status<400 else 1)";

/// A TCP connect, with python3: `python3 -c TCP host port`.
const PY_TCP: &str =
    "import socket,sys\nsocket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=2).close()";

/// A GET with bash alone: `bash -c BASH_HTTP sh host port path`.
const BASH_HTTP: &str = "exec 3<>\"/dev/tcp/$1/$2\" || exit 1\n\
printf 'GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' \"$3\" \"$1\" >&3\n\
IFS=' ' read -r _ code _ <&3 || exit 1\n\
case \"$code\" in 2??|3??) exit 0;; esac\nexit 1";

/// A TCP connect with bash alone: `bash -c BASH_TCP sh host port`.
const BASH_TCP: &str = "exec 3<>\"/dev/tcp/$1/$2\"";

/// The probe loop, run as the app's user with its environment; `None` when health is off.
pub fn probe(service: &Service) -> Option<String> {
    let (kind, path, probe) = match &service.health {
        Health::Off => return None,
        Health::Http { path } => (
            "HTTP",
            path.as_str(),
            format!(
                "if command -v curl >/dev/null 2>&1; then curl -fsS -o /dev/null --max-time 2 \"http://$host:$port$path\" 2>/dev/null\n\
                 elif command -v python3 >/dev/null 2>&1; then python3 -c {} \"$host\" \"$port\" \"$path\" 2>/dev/null\n\
                 else timeout 3 bash -c {} sh \"$host\" \"$port\" \"$path\" 2>/dev/null; fi",
                quote(PY_HTTP),
                quote(BASH_HTTP)
            ),
        ),
        Health::Tcp => (
            "TCP",
            "",
            format!(
                "if command -v python3 >/dev/null 2>&1; then python3 -c {} \"$host\" \"$port\" 2>/dev/null\n\
                 else timeout 3 bash -c {} sh \"$host\" \"$port\" 2>/dev/null; fi",
                quote(PY_TCP),
                quote(BASH_TCP)
            ),
        ),
    };
    let seconds = service.timeout.as_secs().max(1);
    // `port` was checked to be a number or `$VAR` / `${VAR}`: expanding it here is intended.
    Some(format!(
        "host=\"$ICT_HOST_IP\"; port=\"{port}\"; path={path}\n\
         case \"$port\" in ''|*[!0-9]*) echo \"health: the port ({raw}) is not a number: set it in the pipeline's env\"; exit 2;; esac\n\
         probe() {{\n{probe}\n}}\n\
         end=$(( $(date +%s) + {seconds} )); i=0\n\
         while [ $i -lt 10000 ]; do\n\
         if probe; then echo \"the app answers ({kind}) on $host:$port\"; exit 0; fi\n\
         [ \"$(date +%s)\" -lt \"$end\" ] || break\n\
         case $i in 0) d=0.2;; 1) d=0.4;; 2) d=0.8;; 3) d=1.6;; *) d=2;; esac\n\
         sleep $d; i=$((i+1))\n\
         done\n\
         echo \"the app did not answer ({kind}) on $host:$port$path within {seconds}s\"\n\
         exit 1",
        port = service.port,
        raw = service.port.replace(['$', '{', '}'], ""),
        path = quote(path),
    ))
}

impl Scripts<'_> {
    /// Checks the service of `current`; on failure also prints the end of the app's log.
    pub fn health(&self, service: &Service) -> Option<String> {
        let probe = probe(service)?;
        let path = quote(&self.pipeline.path);
        let unit = quote(&format!("ict-{}", self.pipeline.name));
        Some(self.privileged(&format!(
            "cd {path}/current || exit 1\n\
             {check}\n\
             rc=$?\n\
             if [ $rc -ne 0 ]; then\n\
             echo '--- the end of the app log:'\n\
             if [ \"$(cat /proc/1/comm 2>/dev/null)\" = systemd ]; then journalctl -u {unit} -n 20 --no-pager\n\
             else tail -n 20 {path}/app.log 2>/dev/null; fi\n\
             fi\n\
             exit $rc",
            check = self.as_user(&probe),
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::net::TcpListener;
    use std::time::Duration;

    use super::*;

    fn service(health: Health, port: &str) -> Service {
        Service {
            command: "true".into(),
            health,
            port: port.into(),
            timeout: Duration::from_secs(1),
        }
    }

    fn run(script: &str, port: u16) -> (bool, String) {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("ICT_HOST_IP", "127.0.0.1")
            .env("PORT", port.to_string())
            .output()
            .expect("sh");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// A one-shot HTTP server answering `status` to the first request.
    fn serve_once(status: &'static str) -> (u16, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let handle = std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = write!(s, "HTTP/1.0 {status}\r\nContent-Length: 0\r\n\r\n");
            }
        });
        (port, handle)
    }

    #[test]
    fn off_means_no_probe() {
        assert!(probe(&service(Health::Off, "$PORT")).is_none());
    }

    #[test]
    fn http_passes_on_2xx_and_fails_on_5xx_and_silence() {
        let http = |p: &str| service(Health::Http { path: "/".into() }, p);
        let (port, server) = serve_once("200 OK");
        let (ok, out) = run(&probe(&http("$PORT")).expect("probe"), port);
        server.join().expect("server");
        assert!(ok, "{out}");
        assert!(out.contains("answers (HTTP)"), "{out}");

        let (port, server) = serve_once("500 Internal Server Error");
        // Only one answer is served: later retries find nothing listening; the run fails.
        let (ok, out) = run(&probe(&http(&port.to_string())).expect("probe"), 1);
        server.join().expect("server");
        assert!(!ok, "{out}");
        assert!(out.contains("did not answer (HTTP)"), "{out}");
    }

    #[test]
    fn tcp_passes_on_accept_and_a_bad_port_is_named() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (ok, out) = run(
            &probe(&service(Health::Tcp, "${PORT}")).expect("probe"),
            port,
        );
        assert!(ok, "{out}");
        drop(listener);
        let (ok, out) = run(&probe(&service(Health::Tcp, "$NOPE")).expect("probe"), port);
        assert!(!ok && out.contains("port (NOPE) is not a number"), "{out}");
    }
}
