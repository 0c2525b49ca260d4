//! The 1cloud client against a small scripted HTTP server on 127.0.0.1:0, started and stopped
//! by each test: retries, timeouts, creates that are not sent twice, waits, and the token never
//! showing in errors.

use std::fmt::Write as _;
use std::time::Duration;

use axum::http::Method;
use ict::provider::onecloud::{Client, Token};
use ict::provider::{ActionId, ActionState, NetworkId, PowerOp, Provider, ProviderError, ServerId};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::fake::{fast_config, ok, server_json, slow, spec, status, Fake, TOKEN};

#[tokio::test]
async fn get_is_retried_after_two_500s_and_sends_the_token() {
    let mut calls = 0;
    let fake = Fake::start(move |_| {
        calls += 1;
        if calls <= 2 {
            status(500, "boom")
        } else {
            ok(json!([server_json(1, "web-1", "Active")]))
        }
    })
    .await;
    let client = fake.client();
    let servers = client.servers().await.unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].name, "web-1");
    let stats = client.stats();
    assert_eq!((stats.requests, stats.retries), (3, 2));
    let auth = fake.seen()[0].auth.clone();
    assert_eq!(auth.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
}

#[tokio::test]
async fn client_errors_are_not_retried_and_never_show_the_token() {
    // A server that echoes the token in its message must not make it appear in ours.
    let fake = Fake::start(|seen| {
        if seen.path == "/server" {
            status(401, &format!("invalid token {TOKEN}"))
        } else {
            status(
                400,
                &format!("bad request from {}", seen.auth.clone().unwrap_or_default()),
            )
        }
    })
    .await;
    let client = fake.client();
    let error = client.servers().await.unwrap_err();
    assert!(
        matches!(error, ProviderError::Unauthorized { status: 401, .. }),
        "{error:?}"
    );
    let error2 = client.images().await.unwrap_err();
    assert!(
        matches!(error2, ProviderError::Http { status: 400, .. }),
        "{error2:?}"
    );
    assert_eq!(client.stats().retries, 0);
    let mut shown = String::new();
    for e in [&error, &error2] {
        writeln!(shown, "{e} {e:?} {e:#?}").unwrap();
        let mut report = String::new();
        miette::GraphicalReportHandler::new()
            .render_report(&mut report, e)
            .unwrap();
        shown.push_str(&report);
    }
    write!(shown, "{client:?}").unwrap();
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(
        shown.contains("(sensitive)"),
        "the echoed token is redacted: {shown}"
    );
    assert!(
        shown.contains("ONECLOUD_TOKEN"),
        "the help says how to set it: {shown}"
    );
}

#[tokio::test]
async fn a_lost_create_answer_adopts_the_server_instead_of_creating_twice() {
    let mut created: Vec<Value> = vec![server_json(5, "web-1", "Active")];
    let fake = Fake::start(
        move |seen| match (seen.method.as_str(), seen.path.as_str()) {
            ("GET", "/server") => ok(Value::Array(created.clone())),
            ("POST", "/server") => {
                // The server is created, but the answer is a 500.
                created.push(server_json(6, "web-1", "New"));
                status(500, "internal error")
            }
            _ => status(404, "no route"),
        },
    )
    .await;
    let client = fake.client();
    let server = client.create_server(&spec("web-1"), &[]).await.unwrap();
    assert_eq!(
        server.id,
        ServerId(6),
        "the new server, not the old one of the same name"
    );
    assert_eq!(fake.count(&Method::POST, "/server"), 1);
    assert_eq!(client.stats().adopted, 1);
    let body = &fake
        .seen()
        .iter()
        .find(|s| s.method == Method::POST)
        .unwrap()
        .body
        .clone();
    assert_eq!(body["Name"], "web-1");
    assert_eq!(body["ImageID"], 3492);
}

#[tokio::test]
async fn a_create_that_did_not_happen_is_sent_again() {
    let mut created: Vec<Value> = vec![];
    let mut posts = 0;
    let fake = Fake::start(
        move |seen| match (seen.method.as_str(), seen.path.as_str()) {
            ("GET", "/server") => ok(Value::Array(created.clone())),
            ("POST", "/server") => {
                posts += 1;
                if posts == 1 {
                    status(503, "try later")
                } else {
                    let server = server_json(9, "web-2", "New");
                    created.push(server.clone());
                    ok(server)
                }
            }
            _ => status(404, "no route"),
        },
    )
    .await;
    let client = fake.client();
    let server = client.create_server(&spec("web-2"), &[]).await.unwrap();
    assert_eq!(server.id, ServerId(9));
    assert_eq!(fake.count(&Method::POST, "/server"), 2);
    assert_eq!(client.stats().retries, 1);
    assert_eq!(client.stats().adopted, 0);
}

#[tokio::test]
async fn a_timed_out_get_is_retried() {
    let mut calls = 0;
    let fake = Fake::start(move |_| {
        calls += 1;
        let reply = ok(json!([]));
        if calls == 1 {
            slow(reply, Duration::from_secs(2))
        } else {
            reply
        }
    })
    .await;
    let client = fake.client();
    assert!(client.networks().await.unwrap().is_empty());
    assert_eq!(client.stats().retries, 1);
    assert_eq!(fake.count(&Method::GET, "/network"), 2);
}

#[tokio::test]
async fn a_timed_out_post_is_checked_not_resent() {
    let mut created: Vec<Value> = vec![];
    let fake = Fake::start(
        move |seen| match (seen.method.as_str(), seen.path.as_str()) {
            ("GET", "/server") => ok(Value::Array(created.clone())),
            ("POST", "/server") => {
                let server = server_json(11, "slow-1", "New");
                created.push(server.clone());
                slow(ok(server), Duration::from_secs(2))
            }
            _ => status(404, "no route"),
        },
    )
    .await;
    let client = fake.client();
    let server = client.create_server(&spec("slow-1"), &[]).await.unwrap();
    assert_eq!(server.id, ServerId(11));
    assert_eq!(fake.count(&Method::POST, "/server"), 1);
    assert_eq!(client.stats().adopted, 1);
}

#[tokio::test]
async fn every_attempt_timing_out_is_a_timeout_error() {
    let fake = Fake::start(|_| slow(ok(json!([])), Duration::from_secs(2))).await;
    let client = fake.client();
    let error = client.ssh_keys().await.unwrap_err();
    assert!(
        matches!(error, ProviderError::Timeout { attempts: 4, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("GET /sshkey"), "{error}");
    assert_eq!(fake.count(&Method::GET, "/sshkey"), 4);
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::with_config(&url, Token::new(TOKEN), fast_config()).unwrap();
    let error = client.images().await.unwrap_err();
    assert!(
        matches!(error, ProviderError::Connect { attempts: 4, .. }),
        "{error:?}"
    );
    assert_eq!(client.stats().retries, 3);
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_is_done_when_the_retry_finds_nothing() {
    let mut deleted = false;
    let fake = Fake::start(move |_| {
        if deleted {
            status(404, "Server not found")
        } else {
            deleted = true;
            status(502, "bad gateway")
        }
    })
    .await;
    let client = fake.client();
    client.delete_server(ServerId(3)).await.unwrap();
    assert_eq!(fake.count(&Method::DELETE, "/server/3"), 2);
    // But a first-time 404 is reported: the ID is stale.
    let error = client.delete_server(ServerId(3)).await.unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
}

#[tokio::test]
async fn a_power_action_whose_answer_was_lost_is_adopted_while_running() {
    let mut actions: Vec<Value> = vec![json!({"ID": 1, "Type": "Create", "State": "Completed"})];
    let fake = Fake::start(
        move |seen| match (seen.method.as_str(), seen.path.as_str()) {
            ("GET", "/server/4/action") => ok(Value::Array(actions.clone())),
            ("POST", "/server/4/action") => {
                actions.insert(
                    0,
                    json!({"ID": 2, "Type": seen.body["Type"], "State": "InProgress"}),
                );
                status(500, "oops")
            }
            _ => status(404, "no route"),
        },
    )
    .await;
    let client = fake.client();
    let action = client.power(ServerId(4), PowerOp::On).await.unwrap();
    assert_eq!(action.id, ActionId(2));
    assert_eq!(action.kind, "PowerOn");
    assert_eq!(fake.count(&Method::POST, "/server/4/action"), 1);
}

#[tokio::test]
async fn an_attach_already_done_is_not_sent_again() {
    let fake = Fake::start(
        move |seen| match (seen.method.as_str(), seen.path.as_str()) {
            ("GET", "/server/4/action") => ok(json!([
                {"ID": 7, "Type": "AddNetwork", "State": "Completed"},
                {"ID": 3, "Type": "AddNetwork", "State": "Completed"}
            ])),
            ("GET", "/server/4") => {
                let mut server = server_json(4, "web-4", "Active");
                server["LinkedNetworks"] = json!([{"NetworkID": 31, "NetworkType": "Private"}]);
                ok(server)
            }
            ("POST", "/server/4/action") => slow(status(500, "late"), Duration::from_secs(2)),
            _ => status(404, "no route"),
        },
    )
    .await;
    let client = fake.client();
    let action = client
        .attach_network(ServerId(4), NetworkId(31))
        .await
        .unwrap();
    assert_eq!(action.id, ActionId(7));
    assert_eq!(fake.count(&Method::POST, "/server/4/action"), 1);
}

#[tokio::test]
async fn wait_action_polls_until_completed() {
    let mut polls = 0;
    let fake = Fake::start(move |seen| match seen.path.as_str() {
        "/server/4/action/9" => {
            polls += 1;
            let state = if polls < 3 { "InProgress" } else { "Completed" };
            ok(json!({"ID": 9, "Type": "Resize", "State": state}))
        }
        _ => status(404, "no route"),
    })
    .await;
    let client = fake.client();
    let deadline = Instant::now() + Duration::from_secs(5);
    let action = client
        .wait_action(ServerId(4), ActionId(9), deadline)
        .await
        .unwrap();
    assert_eq!(action.state, ActionState::Completed);
    assert_eq!(fake.count(&Method::GET, "/server/4/action/9"), 3);
}

#[tokio::test]
async fn wait_timeouts_name_the_server_and_the_task() {
    let fake = Fake::start(|seen| match seen.path.as_str() {
        "/server/4/action/9" => ok(json!({"ID": 9, "Type": "PowerOff", "State": "InProgress"})),
        "/server/4" => ok(server_json(4, "web-4", "New")),
        _ => status(404, "no route"),
    })
    .await;
    let client = fake.client();
    let started = Instant::now();
    let deadline = started + Duration::from_millis(150);
    let error = client
        .wait_action(ServerId(4), ActionId(9), deadline)
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the deadline is kept"
    );
    let text = error.to_string();
    assert!(text.contains("\"web-4\" (ID 4)"), "{text}");
    assert!(text.contains("action 9 (PowerOff)"), "{text}");

    let error = client
        .wait_server_active(ServerId(4), Instant::now() + Duration::from_millis(100))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("\"web-4\" (ID 4)") && text.contains("state Active"),
        "{text}"
    );
}

#[tokio::test]
async fn wait_server_active_stops_at_need_money() {
    let fake = Fake::start(|_| ok(server_json(8, "big", "NeedMoney"))).await;
    let client = fake.client();
    let error = client
        .wait_server_active(ServerId(8), Instant::now() + Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::ServerStuck { .. }),
        "{error:?}"
    );
    assert_eq!(fake.count(&Method::GET, "/server/8"), 1);
}

#[tokio::test]
async fn observe_is_one_call_per_kind_however_many_servers() {
    let fake = Fake::start(|seen| match seen.path.as_str() {
        "/server" => ok(Value::Array(
            (1..=25)
                .map(|i| server_json(i, &format!("s{i}"), "Active"))
                .collect(),
        )),
        "/network" => ok(json!([{"ID": 31, "Name": "lan", "State": "Active"}])),
        "/sshkey" => ok(json!([{"ID": 3, "Title": "ci", "PublicKey": "ssh-ed25519 AAAA"}])),
        "/dns" => ok(json!([{"ID": 12, "Name": "example.com", "LinkedRecords": []}])),
        _ => status(404, "no route"),
    })
    .await;
    let client = fake.client();
    let observed = client.observe(ict::provider::Kinds::ALL).await.unwrap();
    assert_eq!(observed.servers.len(), 25);
    assert_eq!(observed.networks[0].name, "lan");
    assert_eq!(observed.ssh_keys[0].title, "ci");
    assert_eq!(observed.domains[0].name, "example.com");
    assert_eq!(client.stats().requests, 4);
}

#[tokio::test]
async fn too_many_requests_is_retried_but_a_rejected_post_is_not() {
    let mut calls = 0;
    let fake = Fake::start(move |seen| match seen.method.as_str() {
        "GET" => {
            calls += 1;
            if calls == 1 {
                status(429, "slow down")
            } else {
                ok(json!([]))
            }
        }
        _ => status(400, "RAM must be a multiple of 1024"),
    })
    .await;
    let client = fake.client();
    assert!(client.images().await.unwrap().is_empty());
    assert_eq!(client.stats().retries, 1);
    let error = client.create_server(&spec("bad"), &[]).await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::Http { status: 400, message, .. } if message.contains("RAM")),
        "{error:?}"
    );
    assert_eq!(fake.count(&Method::POST, "/server"), 1);
}
