//! `ict::ssh` against real OpenSSH daemons on 127.0.0.1 (see `support::sshd`).

use std::sync::Arc;
use std::time::Duration;

use ict::ssh::{
    exec_many, wait_for_ssh, Auth, FanoutOptions, HostKeyVerifier, KnownHosts, PinnedKeys, Session,
    SshError, Stream, Target, Verdict,
};
use miette::Diagnostic;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::sshd::{free_port, Agent, Sshd, SshdFarm};

const TIMEOUT: Duration = Duration::from_secs(20);

fn target(sshd: &Sshd) -> Target {
    Target::new(sshd.name.clone(), "127.0.0.1", sshd.port, "root")
}

fn code(error: &SshError) -> String {
    error.code().map(|c| c.to_string()).unwrap_or_default()
}

async fn connect(
    sshd: &Sshd,
    auth: &Auth,
    verifier: &dyn HostKeyVerifier,
) -> Result<Session, SshError> {
    Session::connect(&target(sshd), auth, verifier, TIMEOUT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_returns_stdout_stderr_and_exit_status() {
    let farm = SshdFarm::new();
    let sshd = farm.start("exec");
    let auth = Auth::key_file(&farm.client_key).expect("client key");
    let session = connect(&sshd, &auth, &PinnedKeys::new())
        .await
        .expect("connect");

    let result = session
        .exec("echo out-1; echo err-1 >&2; exit 3", TIMEOUT)
        .await
        .expect("exec");
    assert_eq!(result.stdout, "out-1\n");
    assert_eq!(result.stderr, "err-1\n");
    assert_eq!(result.exit_status, Some(3));
    assert!(!result.success());

    // The same session runs a second command; large output arrives whole.
    let result = session
        .exec("seq 1 20000", TIMEOUT)
        .await
        .expect("exec seq");
    assert!(result.success());
    assert_eq!(result.stdout.lines().count(), 20000);
    assert_eq!(result.stdout.lines().last(), Some("20000"));

    let slow = session
        .exec("sleep 5", Duration::from_millis(300))
        .await
        .expect_err("timeout");
    assert_eq!(code(&slow), "ict::ssh::timeout", "{slow}");
    session.close().await;
}

/// Lines arrive while the command still runs, input goes to its standard input, and what was
/// streamed is also collected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_streaming_reports_lines_as_they_come_and_feeds_stdin() {
    let farm = SshdFarm::new();
    let sshd = farm.start("stream");
    let auth = Auth::key_file(&farm.client_key).expect("client key");
    let session = connect(&sshd, &auth, &PinnedKeys::new())
        .await
        .expect("connect");
    let started = std::time::Instant::now();
    let mut seen: Vec<(Stream, String, Duration)> = Vec::new();
    let result = session
        .exec_streaming(
            "echo first; sleep 1; read secret; echo \"got $secret\" >&2; printf tail",
            Some(b"s3cr3t\n"),
            TIMEOUT,
            |stream, line| seen.push((stream, line.to_owned(), started.elapsed())),
        )
        .await
        .expect("exec");
    assert!(result.success(), "{result:?}");
    let lines: Vec<(Stream, &str)> = seen.iter().map(|(s, l, _)| (*s, l.as_str())).collect();
    assert_eq!(
        lines,
        [
            (Stream::Stdout, "first"),
            (Stream::Stderr, "got s3cr3t"),
            (Stream::Stdout, "tail"),
        ]
    );
    // The first line came before the command's one-second sleep ended.
    assert!(
        seen[1].2.saturating_sub(seen[0].2) >= Duration::from_millis(500),
        "{seen:?}"
    );
    assert_eq!(result.stdout, "first\ntail");
    assert_eq!(result.stderr, "got s3cr3t\n");
    session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_contact_pins_then_a_changed_host_key_is_refused_naming_both_fingerprints() {
    let farm = SshdFarm::new();
    let mut sshd = farm.start("pinned");
    let auth = Auth::key_file(&farm.client_key).expect("client key");
    let pins = PinnedKeys::new();
    let name = target(&sshd).known_hosts_name();

    let session = connect(&sshd, &auth, &pins).await.expect("first contact");
    session.close().await;
    let old_fp = sshd.host_fingerprint();
    let pinned = pins.newly_pinned();
    assert_eq!(pinned.len(), 1);
    assert_eq!(pinned[0].0, name);
    assert_eq!(
        ict::ssh::fingerprint(&pinned[0].1),
        old_fp,
        "pinned the key sshd really has"
    );

    // Same key again: accepted, nothing new pinned twice.
    connect(&sshd, &auth, &pins)
        .await
        .expect("same key")
        .close()
        .await;
    assert_eq!(pins.newly_pinned().len(), 1);

    // The pins written as known_hosts are accepted by the known_hosts verifier too.
    let known_hosts_path = farm.path().join("ict_known_hosts");
    pins.write_known_hosts(&known_hosts_path)
        .expect("write known_hosts");
    let known = KnownHosts::load(&known_hosts_path).expect("load known_hosts");
    connect(&sshd, &auth, &known)
        .await
        .expect("known_hosts verifier")
        .close()
        .await;

    sshd.restart_with_new_host_key();
    let new_fp = sshd.host_fingerprint();
    assert_ne!(old_fp, new_fp);
    for verifier in [&pins as &dyn HostKeyVerifier, &known] {
        let error = connect(&sshd, &auth, verifier)
            .await
            .expect_err("changed key refused");
        assert_eq!(code(&error), "ict::ssh::host_key_changed", "{error}");
        let message = error.to_string();
        assert!(message.contains(&old_fp), "{message}");
        assert!(message.contains(&new_fp), "{message}");
        assert!(
            message.contains(&sshd.port.to_string()),
            "names the server: {message}"
        );
    }
    assert_eq!(
        pins.get(&name).map(|k| ict::ssh::fingerprint(&k)),
        Some(old_fp),
        "the refused key did not replace the pin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_hosts_verifier_refuses_unknown_hosts() {
    let farm = SshdFarm::new();
    let sshd = farm.start("unknown");
    let other = farm.start("other");
    let auth = Auth::key_file(&farm.client_key).expect("client key");
    // A known_hosts file (written like OpenSSH would) that only knows `other`.
    let text = format!(
        "[127.0.0.1]:{} {} other\n",
        other.port,
        other.host_public_key()
    );
    let known = KnownHosts::parse(&text);
    connect(&other, &auth, &known)
        .await
        .expect("known host")
        .close()
        .await;
    let error = connect(&sshd, &auth, &known)
        .await
        .expect_err("unknown host refused");
    assert_eq!(code(&error), "ict::ssh::host_key_unknown", "{error}");
    assert!(
        error.to_string().contains(&sshd.host_fingerprint()),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_keys_rsa_wrong_and_encrypted() {
    let farm = SshdFarm::new();
    let sshd = farm.start("auth");
    let pins = PinnedKeys::new();

    let rsa = farm.new_client_key("client_rsa", "rsa", true);
    let auth = Auth::key_file(&rsa).expect("rsa key");
    let session = connect(&sshd, &auth, &pins).await.expect("rsa auth");
    assert!(session.exec("true", TIMEOUT).await.expect("exec").success());
    session.close().await;

    let stranger = farm.new_client_key("stranger", "ed25519", false);
    let auth = Auth::key_file(&stranger).expect("stranger key");
    let error = connect(&sshd, &auth, &pins).await.expect_err("wrong key");
    assert_eq!(code(&error), "ict::ssh::auth", "{error}");
    assert!(
        error.to_string().contains("root"),
        "names the user: {error}"
    );

    let locked = farm.path().join("locked");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "s3cret", "-f"])
        .arg(&locked)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    let error = Auth::key_file(&locked).expect_err("encrypted key needs a passphrase");
    assert_eq!(code(&error), "ict::ssh::auth", "{error}");
    assert!(error.to_string().contains("encrypted"), "{error}");
    assert!(Auth::key_file_with_passphrase(&locked, "s3cret").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_agent_keys_authenticate() {
    let farm = SshdFarm::new();
    let sshd = farm.start("agent");
    let pins = PinnedKeys::new();
    let agent = Agent::start(farm.path());
    let auth = Auth::agent_at(&agent.socket);

    let error = connect(&sshd, &auth, &pins).await.expect_err("empty agent");
    assert_eq!(code(&error), "ict::ssh::auth", "{error}");
    assert!(error.to_string().contains("no keys"), "{error}");

    // A key the server does not know first, then the authorized one: the agent's keys are
    // tried in turn.
    agent.add(&farm.new_client_key("stranger", "ed25519", false));
    agent.add(&farm.client_key);
    let session = connect(&sshd, &auth, &pins).await.expect("agent auth");
    assert!(session.exec("true", TIMEOUT).await.expect("exec").success());
    session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_reports_every_host_and_an_unreachable_one_without_failing_the_others() {
    let farm = SshdFarm::new();
    let mut daemons: Vec<Sshd> = (0..20).map(|i| farm.start(&format!("h{i:02}"))).collect();
    daemons[7].stop();
    // A host whose port accepts TCP but never speaks SSH: it must time out on its own.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind silent listener");
    let silent_port = silent.local_addr().expect("addr").port();
    let mut targets: Vec<Target> = daemons.iter().map(target).collect();
    targets.push(Target::new("silent", "127.0.0.1", silent_port, "root"));
    let auth = Auth::key_file(&farm.client_key).expect("client key");
    let pins = Arc::new(PinnedKeys::new());
    // Each host answers with the port it was reached on, and exits with port % 5.
    let command = "port=${SSH_CONNECTION##* }; echo $port; echo e$port >&2; exit $((port % 5))";
    let options = FanoutOptions {
        parallelism: 8,
        connect: ict::ssh::ConnectOptions::with_timeout(Duration::from_secs(3)),
        ..FanoutOptions::default()
    };

    let results = exec_many(&targets, &auth, pins.clone(), command, &options).await;

    assert_eq!(results.len(), 21);
    for (result, target) in results.iter().zip(&targets) {
        assert_eq!(&result.target, target, "results come back in input order");
        if target.port == silent_port {
            let error = result
                .outcome
                .as_ref()
                .expect_err("the silent host times out");
            assert_eq!(code(error), "ict::ssh::timeout", "{error}");
            assert!(error.is_unreachable(), "{error}");
            assert!(
                result.elapsed >= Duration::from_secs(3),
                "{:?}",
                result.elapsed
            );
            continue;
        }
        if target.port == daemons[7].port {
            let error = result.outcome.as_ref().expect_err("the stopped host fails");
            assert!(error.is_unreachable(), "{error}");
            assert_eq!(code(error), "ict::ssh::connect");
            continue;
        }
        let output = result
            .outcome
            .as_ref()
            .unwrap_or_else(|e| panic!("{target}: {e}"));
        assert_eq!(output.stdout, format!("{}\n", target.port));
        assert_eq!(output.stderr, format!("e{}\n", target.port));
        assert_eq!(output.exit_status, Some(u32::from(target.port % 5)));
    }
    assert_eq!(
        pins.newly_pinned().len(),
        19,
        "every reachable host was pinned once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tunnel_reaches_an_http_server_on_the_servers_loopback() {
    let farm = SshdFarm::new();
    let sshd = farm.start("tunnel");
    let auth = Auth::key_file(&farm.client_key).expect("client key");
    let session = connect(&sshd, &auth, &PinnedKeys::new())
        .await
        .expect("connect");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let http_port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.ends_with(b"\r\n\r\n") && request.len() < 65536 {
            let n = socket.read(&mut buf).await.expect("read request");
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let body = "node_load1 0.25\n";
        let response = format!(
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        socket
            .write_all(response.as_bytes())
            .await
            .expect("write response");
        String::from_utf8_lossy(&request).into_owned()
    });

    let tunnel = session
        .tunnel("127.0.0.1", http_port)
        .await
        .expect("open tunnel");
    let response = tunnel
        .fetch_http("/metrics")
        .await
        .expect("GET over the tunnel");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4")
    );
    assert_eq!(response.text(), "node_load1 0.25\n");
    let request = server.await.expect("server task");
    assert!(
        request.starts_with("GET /metrics HTTP/1.0\r\n"),
        "{request}"
    );

    // Nothing listens on this port: the server refuses to open the channel.
    let closed = free_port();
    let error = session
        .tunnel("127.0.0.1", closed)
        .await
        .expect_err("nothing listening");
    assert_eq!(code(&error), "ict::ssh::channel", "{error}");
    session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_ssh_retries_until_sshd_answers_or_the_deadline() {
    let farm = SshdFarm::new();
    let mut sshd = farm.start("boot");
    let ready = wait_for_ssh(&target(&sshd), TIMEOUT)
        .await
        .expect("running sshd is ready");
    assert!(
        ready.banner.starts_with("SSH-2.0-OpenSSH"),
        "{}",
        ready.banner
    );
    assert_eq!(ready.attempts, 1);

    sshd.stop();
    let error = wait_for_ssh(&target(&sshd), Duration::from_millis(400))
        .await
        .expect_err("down");
    assert_eq!(code(&error), "ict::ssh::timeout", "{error}");

    // The server "boots" 600 ms from now: refused connections are retried until it answers.
    let target = target(&sshd);
    let booting = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(600));
        sshd.restart_with_new_host_key();
        sshd
    });
    let ready = wait_for_ssh(&target, TIMEOUT)
        .await
        .expect("ready after boot");
    assert!(ready.attempts > 1, "retried: {ready:?}");
    assert!(ready.elapsed >= Duration::from_millis(500), "{ready:?}");
    drop(booting.join().expect("boot thread"));
}

#[test]
fn a_verifier_never_accepts_an_unknown_key_without_recording_it() {
    let key = ict::ssh::PublicKey::from_openssh(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGW6m3twJMyFXyFINNTLIVcZUNQJ6EligRcGn7eer+AA",
    )
    .expect("key");
    assert_eq!(KnownHosts::parse("").check("h", &key), Verdict::Unknown);
    let pins = PinnedKeys::new();
    assert_eq!(pins.check("h", &key), Verdict::Pinned);
    assert!(pins.get("h").is_some());
}
