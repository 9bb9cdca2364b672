//! A database outage under load: a `fennec serve` process reaches PostgreSQL through a TCP
//! relay that the test cuts and restores, as a crashed or restarted database server would.
//! During the outage requests fail cleanly with 503, none succeed wrongly, the outage is
//! logged once, and service resumes by itself. Always runs on PostgreSQL.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fennec_core::rules::ClientAuthMethod;
use fennec_core::service::{Admin, Fennec, NewClientInput, NewResourceInput};
use fennec_core::store::scratch::ScratchDatabase;
use fennec_core::views::GrantInput;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

mod support;
use support::process::{free_port, prepared_database, start_with, Instance};

/// A TCP relay to the database that can drop every connection and refuse new ones.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accepting: JoinHandle<()>,
}

impl Relay {
    async fn to(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (up_flag, open) = (up.clone(), connections.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up_flag.load(Ordering::SeqCst) {
                    continue; // dropped at once: the database is "down"
                }
                let target = target.clone();
                let relay = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                open.lock().unwrap().push(relay);
            }
        });
        Relay {
            port,
            up,
            connections,
            accepting,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for relay in self.connections.lock().unwrap().drain(..) {
            relay.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}

/// One token request's outcome: the status and the `error` code, if any.
type Outcome = (StatusCode, Option<String>);

async fn request_token(instance: &Instance, secret: &str) -> Outcome {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "backend"),
        ("client_secret", secret),
        ("scope", "party-api2:read1"),
    ];
    let answer = reqwest::Client::new()
        .post(format!("{}/acme/-/backend/oauth/token", instance.base))
        .timeout(Duration::from_secs(20))
        .form(&form)
        .send()
        .await
        .expect("the server answers even while its database is down");
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    (status, body["error"].as_str().map(str::to_string))
}

/// Sends honest and wrong-secret requests in turn for `duration`, at most 2,000 of each.
async fn load(instance: &Instance, secret: &str, duration: Duration) -> Vec<(bool, Outcome)> {
    let mut outcomes = Vec::new();
    let end = Instant::now() + duration;
    while Instant::now() < end && outcomes.len() < 4_000 {
        outcomes.push((true, request_token(instance, secret).await));
        let wrong = format!("{secret}x");
        outcomes.push((false, request_token(instance, &wrong).await));
    }
    outcomes
}

fn count(outcomes: &[(bool, Outcome)], honest: bool, status: StatusCode) -> usize {
    outcomes
        .iter()
        .filter(|(h, (s, _))| *h == honest && *s == status)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_fails_cleanly_and_service_resumes_without_a_restart() {
    let database = prepared_database(ScratchDatabase::postgres().await).await;
    let fennec = Fennec::new(database.store().await, "http://unused.test").unwrap();
    let secret = register_client(&fennec).await;

    let options = PgConnectOptions::from_str(database.url()).unwrap();
    let relay = Relay::to(format!("{}:{}", options.get_host(), options.get_port())).await;
    let separator = if database.url().contains('?') {
        '&'
    } else {
        '?'
    };
    let relayed_url = format!(
        "{}{separator}host=127.0.0.1&port={}",
        database.url(),
        relay.port
    );
    let public_url = format!("http://127.0.0.1:{}", free_port());
    let settings = [
        ("FENNEC_DATABASE_ACQUIRE_TIMEOUT", "1"),
        ("FENNEC_DATABASE_STATEMENT_TIMEOUT", "2"),
    ];
    let instance = start_with(&relayed_url, &database, &public_url, "a", &settings).await;

    let before = load(&instance, &secret, Duration::from_secs(1)).await;
    assert!(count(&before, true, StatusCode::OK) > 0);
    assert_eq!(count(&before, false, StatusCode::OK), 0);

    relay.cut();
    let during = load(&instance, &secret, Duration::from_secs(4)).await;
    relay.restore();

    let unavailable = during
        .iter()
        .filter(|(_, (status, error))| {
            *status == StatusCode::SERVICE_UNAVAILABLE
                && error.as_deref() == Some("temporarily_unavailable")
        })
        .count();
    assert!(
        unavailable > 0,
        "the outage is answered with 503: {during:?}"
    );
    assert_eq!(
        count(&during, false, StatusCode::OK),
        0,
        "no wrong secret passes"
    );
    for (_, (status, error)) in &during {
        let clean = match status.as_u16() {
            200 | 503 => true,
            401 => error.as_deref() == Some("invalid_client"),
            // The load's wrong secrets soon get the client refused early for a while.
            429 => error.as_deref() == Some("temporarily_unavailable"),
            _ => false,
        };
        assert!(
            clean,
            "unexpected answer during the outage: {status} {error:?}"
        );
    }

    let mut resumed = false;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !resumed && Instant::now() < deadline {
        resumed = request_token(&instance, &secret).await.0 == StatusCode::OK;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(resumed, "tokens are issued again once the database is back");
    let wrong = request_token(&instance, &format!("{secret}x")).await;
    assert!(
        [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&wrong.0),
        "a wrong secret is still refused: {wrong:?}"
    );

    let log = std::fs::read_to_string(&instance.log).unwrap();
    let outage_lines = log.matches("the database cannot be reached").count();
    assert_eq!(outage_lines, 1, "one line for the whole outage:\n{log}");
    assert_eq!(log.matches("the database is reachable again").count(), 1);
}

/// Registers resource `party-api2` and client `backend` granted `read1`; returns its secret.
async fn register_client(fennec: &Fennec) -> String {
    let admin = Admin {
        id: String::new(),
        username: "admin".into(),
    };
    let now = fennec_server::now();
    let resource = NewResourceInput {
        display_name: "Party API 2".into(),
        name: "party-api2".into(),
        scopes: vec!["read1".into()],
    };
    fennec
        .create_resource(&admin, "acme", "-", resource, now)
        .await
        .unwrap();
    let client = NewClientInput {
        display_name: "Backend".into(),
        name: "backend".into(),
        auth_method: ClientAuthMethod::ClientSecretPost,
        grants: vec![GrantInput {
            resource: "party-api2".into(),
            scopes: vec!["read1".into()],
        }],
        certificates: vec![],
    };
    let created = fennec
        .create_client(&admin, "acme", "-", client, now)
        .await
        .unwrap();
    created.secret.unwrap()
}
