//! The token endpoint benchmark: seeds a database, starts a release `fennec`, drives it with
//! `wrk` over loopback and prints one line per case. Run it with `scripts/bench.sh`.
// Printing its figures is what this program is for; the server itself logs with tracing.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use fennec_core::keys::{LoadedKey, SigningAlg, SigningKey};
use fennec_core::rules::ClientAuthMethod;
use fennec_core::secret::{self, Secret};
use fennec_core::service::{Fennec, NewClientInput, NewResourceInput};
use fennec_core::store::scratch::{first_start, ADMIN_PASSWORD};
use fennec_core::store::{AuditEntry, NewApplication, NewSecret, Store};
use fennec_core::views::GrantInput;

use leptos::server_fn::ServerFn;
use serde_json::json;

/// The port of the server with 10 registered clients; the one with more listens on the next.
const PORT: u16 = 18_931;
const WARM_CLIENTS: usize = 10;
const COLD_CLIENTS: usize = 1_000;
/// The most single-use assertions signed before the run per second of it. Below that, 1.25
/// times the two-core signing bound is made: no server signs faster than the bound, so none is
/// ever sent twice. ES256 requests are held back by far more than their signature, and a
/// replayed assertion would show as an error.
const ASSERTIONS_PER_SECOND_CAP: f64 = 25_000.0;

/// What one wrk run measured.
struct Measured {
    rate: f64,
    /// The range of rates over the rounds, when there were several.
    spread: String,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    /// The rate's share of the two-core signing bound sampled just before it; over several
    /// rounds, the median of the rounds' shares.
    share_of_bound: f64,
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let binary = PathBuf::from(
        args.get(1)
            .expect("usage: bench <path to release fennec> [site root]"),
    );
    // The console's built site, for its figures; without it only the token endpoint is measured.
    let site = args.get(2).map(PathBuf::from);
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // BENCH_QUICK=1: RS256 with 10 clients only, for a quick look.
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    // BENCH_ALG=ES256 (or RS256): that key type only.
    let algs: Vec<SigningAlg> = match (quick, std::env::var("BENCH_ALG")) {
        (_, Ok(alg)) => vec![alg.parse().expect("BENCH_ALG is RS256 or ES256")],
        (true, _) => vec![SigningAlg::RS256],
        (false, _) => vec![SigningAlg::RS256, SigningAlg::ES256],
    };
    let populations: &[usize] = match quick {
        true => &[10],
        false => &[10, 100_000],
    };
    // BENCH_CASE=text: only the cases whose name holds it ("flood" and "console" name the last
    // two), for a closer look at one of them.
    let only = std::env::var("BENCH_CASE").unwrap_or_default();
    for alg in algs {
        let one_core = signing_rate(alg, 1, 3);
        // The median of three samples, as the cases are medians of three rounds.
        let mut samples: Vec<f64> = (0..ROUNDS).map(|_| signing_rate(alg, 2, 3)).collect();
        samples.sort_by(f64::total_cmp);
        let bound = samples[ROUNDS / 2];
        println!(
            "in-process {alg} signing: {one_core:.0} tokens/s on one core; two-core bound \
             {bound:.0} tokens/s (two threads at once, median of {ROUNDS})"
        );
        // Every population is served at once, by its own server, and the rounds of a case take
        // turns between them, so that a drift of the machine during the run weighs on all alike.
        let fleets: Vec<Fleet> = populations
            .iter()
            .enumerate()
            .map(|(i, &registered)| {
                let port = PORT + i as u16;
                let dir = tempfile::tempdir().unwrap();
                let seeded =
                    runtime.block_on(seed(dir.path(), port, alg, registered, seconds, bound));
                let server = start(&binary, dir.path(), port, site.as_deref());
                let idle_rss = rss_kib(&server, "VmRSS");
                Fleet {
                    registered,
                    dir,
                    seeded,
                    server,
                    idle_rss,
                }
            })
            .collect();

        let cases: [(&str, LinesOf); 4] = [
            ("client_secret_post warm", |s| &s.post),
            ("client_secret_basic warm", |s| &s.basic),
            ("private_key_jwt", |s| &s.assertions),
            ("client_secret_post cold", |s| &s.cold),
        ];
        for (name, lines_of) in cases.into_iter().filter(|(name, _)| name.contains(&only)) {
            // The machine's own speed drifts by several percent within a minute, so each case is
            // compared with the bound measured alongside it, just before each of its rounds.
            let (measured, alongside): (Vec<Measured>, f64) = if name.ends_with("cold") {
                let alongside = signing_rate(alg, 2, BOUND_SAMPLE_SECS);
                let measured = fleets
                    .iter()
                    .map(|f| drive(f.target(), lines_of(&f.seeded), seconds.min(5), alongside))
                    .collect();
                (measured, alongside)
            } else {
                // Warm cases are measured after the first requests proved each secret once.
                if name.ends_with("warm") {
                    for f in &fleets {
                        drive(f.target(), lines_of(&f.seeded), 2, bound);
                        println!(
                            "  after proving the warm secrets ({} registered): RSS {} MB, peak {} MB",
                            f.registered,
                            rss_kib(&f.server, "VmRSS") / 1024,
                            rss_kib(&f.server, "VmHWM") / 1024
                        );
                    }
                }
                let targets: Vec<(Target, &[String])> = fleets
                    .iter()
                    .map(|f| (f.target(), lines_of(&f.seeded)))
                    .collect();
                drive_rounds(&targets, seconds, name == "private_key_jwt", alg)
            };
            let few = &measured[0];
            for (f, m) in fleets.iter().zip(&measured) {
                // Compared as shares of the bound sampled just before each run, which takes
                // out the machine's drift between runs; the plain rates' difference follows.
                let compared = match f.registered {
                    10 => String::new(),
                    _ => format!(
                        "  {:+.0}% against 10 registered (rates alone {:+.0}%)",
                        100.0 * (m.share_of_bound / few.share_of_bound - 1.0),
                        100.0 * (m.rate / few.rate - 1.0)
                    ),
                };
                println!(
                    "{name:<26} {alg} registered={:<6} {:>7.0} req/s{}  p50 {:>6.2} ms  \
                     p99 {:>6.2} ms  errors {:<4} peak RSS {:>4} MB  {:>3.0}% of the two-core \
                     bound (sampled before each run, median {alongside:.0}/s){compared}",
                    f.registered,
                    m.rate,
                    m.spread,
                    m.p50_ms,
                    m.p99_ms,
                    m.errors,
                    rss_kib(&f.server, "VmHWM") / 1024,
                    100.0 * m.share_of_bound
                );
            }
        }

        let few = &fleets[0];
        if alg == SigningAlg::RS256 && "flood".contains(&only) {
            flood_case(&runtime, few, seconds);
        }
        if alg == SigningAlg::RS256 && "console".contains(&only) {
            // Last, so that the browser's processes cannot slow the token endpoint cases.
            match &site {
                Some(_) => {
                    console_figures(&runtime, few.seeded.port, few.seeded.registrations);
                    println!(
                        "  after the console figures: RSS {} MB, peak {} MB",
                        rss_kib(&few.server, "VmRSS") / 1024,
                        rss_kib(&few.server, "VmHWM") / 1024
                    );
                }
                None => println!("console figures skipped: no site root given"),
            }
        }
        for f in &fleets {
            println!(
                "server RSS at idle: {} MB ({alg}, {} registered clients)",
                f.idle_rss / 1024,
                f.registered
            );
        }
    }
}

/// Picks a case's request lines out of what was seeded.
type LinesOf = fn(&Seeded) -> &[String];

/// One population of registered clients with the server that serves them.
struct Fleet {
    registered: usize,
    dir: tempfile::TempDir,
    seeded: Seeded,
    server: Server,
    idle_rss: u64,
}

impl Fleet {
    fn target(&self) -> Target<'_> {
        Target {
            dir: self.dir.path(),
            port: self.seeded.port,
        }
    }
}

/// Where wrk sends its requests, and the folder its script and request lines go in.
#[derive(Clone, Copy)]
struct Target<'a> {
    dir: &'a Path,
    port: u16,
}

/// Tokens minted in a second with a freshly generated key of `alg` by `threads` threads at
/// once. Two threads measure the two-core bound as the cores really share out: two virtual
/// cores of one physical core, or turbo clocks for a single busy core, make it less than twice
/// the one-core rate.
fn signing_rate(alg: SigningAlg, threads: usize, seconds: u64) -> f64 {
    let key = LoadedKey::load(&SigningKey::generate(alg).unwrap()).unwrap();
    let message = vec![b'x'; 400];
    let start = Instant::now();
    let total: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut count = 0u64;
                    while start.elapsed() < Duration::from_secs(seconds) {
                        key.sign(&message).unwrap();
                        count += 1;
                    }
                    count
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

/// Request lines for wrk: `authorization-header|form-body` (the header may be empty).
struct Seeded {
    /// The port of the server these lines are for: its issuer is the assertions' audience.
    port: u16,
    /// Registrations in the measured environment, for the applications list figure.
    registrations: usize,
    post: Vec<String>,
    basic: Vec<String>,
    assertions: Vec<String>,
    cold: Vec<String>,
}

/// Registers what the cases need in a new database in `dir`; `bound` is the two-core signing
/// rate of `alg`, which sets how many single-use assertions are made.
async fn seed(
    dir: &Path,
    port: u16,
    alg: SigningAlg,
    registered: usize,
    seconds: u64,
    bound: f64,
) -> Seeded {
    let url = format!("sqlite://{}", dir.join("fennec.db").display());
    let store = Store::connect(&url).await.unwrap();
    let fennec = Fennec::new(store.clone(), &format!("http://127.0.0.1:{port}")).unwrap();
    let now = fennec_server::now();
    let admin = first_start(&fennec, "acme", now).await;
    if alg == SigningAlg::ES256 {
        fennec
            .rotate_signing_key(&admin, "acme", "-", Some(alg), 0, now)
            .await
            .unwrap();
    }
    let resource = NewResourceInput {
        display_name: "Party API 2".into(),
        name: "party-api2".into(),
        scopes: vec!["read1".into()],
    };
    fennec
        .create_resource(&admin, "acme", "-", resource, now)
        .await
        .unwrap();

    let grants = || {
        vec![GrantInput {
            resource: "party-api2".into(),
            scopes: vec!["read1".into()],
        }]
    };
    let create = |name: String, method: ClientAuthMethod, certificates: Vec<String>| {
        let input = NewClientInput {
            display_name: name.clone(),
            name,
            auth_method: method,
            grants: grants(),
            certificates,
        };
        let fennec = fennec.clone();
        let admin = admin.clone();
        async move {
            fennec
                .create_client(&admin, "acme", "-", input, now)
                .await
                .unwrap()
        }
    };

    let scope = "scope=party-api2%3Aread1&grant_type=client_credentials";
    let mut post = Vec::new();
    let mut basic = Vec::new();
    for i in 0..WARM_CLIENTS {
        let c = create(
            format!("post-{i}"),
            ClientAuthMethod::ClientSecretPost,
            vec![],
        )
        .await;
        let secret = c.secret.unwrap();
        post.push(format!(
            "|{scope}&client_id={}&client_secret={secret}",
            c.client_id
        ));
        let c = create(
            format!("basic-{i}"),
            ClientAuthMethod::ClientSecretBasic,
            vec![],
        )
        .await;
        let pair = STANDARD.encode(format!("{}:{}", c.client_id, c.secret.unwrap()));
        basic.push(format!("Basic {pair}|{scope}"));
    }

    // The signing client's key is of the configuration's type, as with certificates that
    // hold an RSA or a P-256 key.
    let key = match alg {
        SigningAlg::RS256 => {
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        }
        SigningAlg::ES256 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
    }
    .unwrap();
    let params = rcgen::CertificateParams::new(vec!["bench.example.test".into()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    create(
        "signer".into(),
        ClientAuthMethod::PrivateKeyJwt,
        vec![STANDARD.encode(cert.der())],
    )
    .await;
    // Signed with the key parsed once, as the server signs, so that the run's assertions take
    // seconds to make rather than minutes.
    let signing_key = LoadedKey::load(&SigningKey {
        kid: "bench-signer".into(),
        alg,
        private_pkcs8_der: key.serialize_der(),
    })
    .unwrap();
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": alg.as_str(), "typ": "JWT" }).to_string());
    let audience = format!("http://127.0.0.1:{port}/acme/-/");
    // More than the server could take in a round: it signs a token for each, so it cannot go
    // faster than the two-core signing bound, and each request also checks a signature.
    let per_second = (bound * 1.25).min(ASSERTIONS_PER_SECOND_CAP) as usize;
    let count = ROUNDS * seconds as usize * per_second;
    let sign = |i: usize| {
        let claims = json!({
            "iss": "signer", "sub": "signer", "aud": audience,
            "jti": format!("bench-{i}"), "iat": now, "exp": now + 3_000,
        });
        let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = URL_SAFE_NO_PAD.encode(signing_key.sign(input.as_bytes()).unwrap());
        format!(
            "|{scope}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-\
             type%3Ajwt-bearer&client_assertion={input}.{signature}"
        )
    };
    // RSA signing is slow enough for tens of thousands to be worth both cores.
    let assertions: Vec<String> = std::thread::scope(|scope| {
        let (sign, half) = (&sign, count / 2);
        let first = scope.spawn(move || (0..half).map(sign).collect::<Vec<_>>());
        let second: Vec<_> = (half..count).map(sign).collect();
        let mut all = first.join().unwrap();
        all.extend(second);
        all
    });

    // Cold clients and the filler registrations share one real Argon2id hash of their secret,
    // so that seeding 100,000 clients takes seconds rather than an hour.
    let resource_id = store
        .application("acme", "-", "party-api2")
        .await
        .unwrap()
        .unwrap()
        .id;
    let shared = Secret::generate();
    let shared_hash = secret::hash_secret(&shared).unwrap();
    let extra = registered
        .saturating_sub(2 * WARM_CLIENTS + 1)
        .max(COLD_CLIENTS);
    let mut cold = Vec::new();
    for i in 0..extra {
        let name = format!("filler-{i}");
        if i < COLD_CLIENTS {
            cold.push(format!(
                "|{scope}&client_id={name}&client_secret={}",
                shared.expose()
            ));
        }
        insert_client(&store, &name, &shared_hash, &resource_id, now).await;
    }
    Seeded {
        port,
        registrations: 2 * WARM_CLIENTS + 2 + extra,
        post,
        basic,
        assertions,
        cold,
    }
}

async fn insert_client(store: &Store, name: &str, hash: &str, resource_id: &str, now: i64) {
    let app = NewApplication {
        id: format!("bench-{name}"),
        tenant: "acme".into(),
        environment: "-".into(),
        name: name.into(),
        display_name: name.into(),
        is_resource: false,
        is_client: true,
        auth_method: Some("client_secret_post".into()),
        token_lifetime_secs: 3_600,
        scopes: vec![],
        grants: vec![(resource_id.to_string(), "read1".to_string())],
        secret: Some(NewSecret {
            id: format!("secret-{name}"),
            hash: hash.into(),
            info: None,
            expires_at: None,
        }),
        certificates: vec![],
        created_at: now,
    };
    let audit = AuditEntry {
        at: now,
        actor: "bench".into(),
        tenant: Some("acme".into()),
        environment: Some("-".into()),
        action: "client.created".into(),
        target: Some(name.into()),
        detail: "benchmark filler".into(),
    };
    store.insert_application(&app, &audit).await.unwrap();
}

fn start(binary: &Path, dir: &Path, port: u16, site: Option<&Path>) -> Server {
    let site = match site {
        Some(site) => site.to_path_buf(),
        None => {
            let empty = dir.join("site");
            std::fs::create_dir_all(empty.join("pkg")).unwrap();
            empty
        }
    };
    // Another run's server on the port would be measured in this one's place.
    if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        panic!("port {port} is taken: is another benchmark running?");
    }
    let child = Command::new(binary)
        .arg("serve")
        .env("FENNEC_LISTEN", format!("127.0.0.1:{port}"))
        .env("FENNEC_DATA_DIR", dir)
        .env("FENNEC_SITE_ROOT", &site)
        // The level a server runs at unless told otherwise: every token issued is logged.
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the fennec binary starts");
    let server = Server { child };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("fennec did not start");
}

/// Prints the console's figures: its first load in headless Chromium (bytes as served, time
/// until hydrated) and the server time of the applications list with every registration.
fn console_figures(runtime: &tokio::runtime::Runtime, port: u16, registrations: usize) {
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let cookie = runtime.block_on(async {
        let signed_in = client
            .post(format!(
                "{base}{}",
                <fennec_app::api::SignIn as ServerFn>::PATH
            ))
            .header("Origin", &base)
            .json(&json!({ "username": "admin", "password": ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap();
        signed_in
            .headers()
            .get("set-cookie")
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .unwrap_or_default()
            .to_string()
    });
    first_load(&base, "/console/login", None);
    first_load(&base, "/console/acme/-/applications", Some(&cookie));

    let times = runtime.block_on(async {
        let mut times = Vec::new();
        let mut complete = true;
        for _ in 0..21 {
            let started = Instant::now();
            let page = client
                .get(format!("{base}/console/acme/-/applications"))
                .header("Cookie", &cookie)
                .send()
                .await
                .unwrap();
            let body = page.text().await.unwrap_or_default();
            times.push(started.elapsed().as_secs_f64() * 1_000.0);
            complete &= body.contains("filler-999");
        }
        (times, complete)
    });
    let (mut sorted, complete) = times;
    sorted.sort_by(f64::total_cmp);
    println!(
        "applications list with {registrations} registrations, rendered on the server: \
         p50 {:.0} ms, slowest {:.0} ms (21 loads over loopback{})",
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1],
        if complete {
            ""
        } else {
            "; some pages lacked rows!"
        }
    );
}

/// Prints the first load of the console page at `path` in headless Chromium, signed in with
/// `cookie` when given: bytes as sent, time until hydrated, and each file.
fn first_load(base: &str, path: &str, cookie: Option<&str>) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../end2end/bench/console-load.mjs"
    );
    let mut command = Command::new("node");
    command.arg(script).arg(base).arg(path);
    command.args(cookie);
    match command.output() {
        Ok(out) if out.status.success() => {
            let figures: serde_json::Value =
                serde_json::from_slice(&out.stdout).unwrap_or_default();
            println!(
                "console first load of {path} (headless Chromium, empty cache): {:.0} KB \
                 transferred, hydrated after {} ms",
                figures["bytes"].as_f64().unwrap_or(f64::NAN) / 1024.0,
                figures["interactive_ms"]
            );
            for file in figures["files"].as_array().into_iter().flatten() {
                println!(
                    "  {:<44} {:>6.1} KB  {}",
                    file["url"].as_str().unwrap_or_default(),
                    file["bytes"].as_f64().unwrap_or(f64::NAN) / 1024.0,
                    file["encoding"].as_str().unwrap_or_default()
                );
            }
        }
        Ok(out) => println!(
            "console first load of {path} not measured: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        ),
        Err(e) => println!("console first load not measured: node did not run ({e})"),
    }
}

/// Measures honest warm `client_secret_post` clients while one client id is flooded with 500
/// wrong secrets a second, and prints their rate against their rate without the flood. The two
/// are measured in turns, [`ROUNDS`] times each, and the medians compared.
fn flood_case(runtime: &tokio::runtime::Runtime, fleet: &Fleet, seconds: u64) {
    let (target, seeded) = (fleet.target(), &fleet.seeded);
    let mut calm = Vec::new();
    let mut flooded = Vec::new();
    let mut answers = [0u64; 3];
    // Honest requests that were not answered with a token, in either kind of turn.
    let mut honest_errors = 0;
    for _ in 0..ROUNDS {
        let m = drive(target, &seeded.post, seconds, f64::NAN);
        honest_errors += m.errors;
        calm.push(m.rate);
        let (m, counts) = flooded_drive(runtime, target, seeded, seconds);
        honest_errors += m.errors;
        flooded.push(m.rate);
        for (total, count) in answers.iter_mut().zip(counts) {
            *total += count;
        }
    }
    let median = |rates: &mut Vec<f64>| {
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    };
    let (calm_rate, flooded_rate) = (median(&mut calm), median(&mut flooded));
    let sent: u64 = answers.iter().sum();
    println!(
        "flood: honest client_secret_post RS256 {flooded_rate:>7.0} req/s against {calm_rate:.0} \
         without it ({:.0}%; medians of {ROUNDS} turns each; honest errors {honest_errors}) \
         while one client got {:.0} wrong secrets/s: {} answered 429, {} answered 401, {} \
         other; peak RSS {} MB",
        100.0 * flooded_rate / calm_rate,
        sent as f64 / (ROUNDS as u64 * seconds) as f64,
        answers[0],
        answers[1],
        answers[2],
        rss_kib(&fleet.server, "VmHWM") / 1024
    );
}

/// One run of the honest clients while the flood goes on; with the flood's answers counted as
/// 429, 401 and anything else.
fn flooded_drive(
    runtime: &tokio::runtime::Runtime,
    target: Target,
    seeded: &Seeded,
    seconds: u64,
) -> (Measured, [u64; 3]) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    let stop = Arc::new(AtomicBool::new(false));
    let counts: Arc<[AtomicU64; 3]> = Arc::new(Default::default());
    let flood = {
        let stop = stop.clone();
        let counts = counts.clone();
        runtime.spawn(async move {
            let client = reqwest::Client::new();
            let url = format!("http://127.0.0.1:{}/acme/-/oauth/token", target.port);
            let limit = Arc::new(tokio::sync::Semaphore::new(64));
            let mut tick = tokio::time::interval(Duration::from_millis(2));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let Ok(permit) = limit.clone().try_acquire_owned() else {
                    continue;
                };
                let request = client
                    .post(&url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body("grant_type=client_credentials&client_id=post-0&client_secret=wrong");
                let counts = counts.clone();
                tokio::spawn(async move {
                    let slot = match request.send().await.map(|r| r.status().as_u16()) {
                        Ok(429) => 0,
                        Ok(401) => 1,
                        _ => 2,
                    };
                    counts[slot].fetch_add(1, Ordering::Relaxed);
                    drop(permit);
                });
            }
        })
    };
    let m = drive(target, &seeded.post, seconds, f64::NAN);
    stop.store(true, Ordering::Relaxed);
    let _ = runtime.block_on(flood);
    let counts = [0, 1, 2].map(|slot| counts[slot].load(Ordering::Relaxed));
    (m, counts)
}

/// The server's memory figure `field` (`VmRSS` now, `VmHWM` peak) in KiB.
fn rss_kib(server: &Server, field: &str) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Rounds each warm case is measured in; the median round is reported.
const ROUNDS: usize = 3;
/// Length of each sample of the two-core bound taken alongside a case.
const BOUND_SAMPLE_SECS: u64 = 2;

/// Runs [`drive`] [`ROUNDS`] times on each target, the targets taking turns (in the other
/// order every other round), and keeps for each the round with the median rate, with the other
/// rounds' errors added and the range of rates noted. Single-use lines are shared out so that
/// no round sends a line an earlier round sent. The two-core signing bound of `alg` is sampled
/// just before each run, and each run's rate is taken as a share of that sample; the median of
/// the samples comes back too.
fn drive_rounds(
    targets: &[(Target, &[String])],
    seconds: u64,
    single_use: bool,
    alg: SigningAlg,
) -> (Vec<Measured>, f64) {
    let mut rounds: Vec<Vec<Measured>> = targets.iter().map(|_| Vec::new()).collect();
    let mut bounds = Vec::new();
    for round in 0..ROUNDS {
        // Every other round takes the targets the other way round, so that none is always
        // measured first.
        let mut order: Vec<usize> = (0..targets.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for index in order {
            let (target, lines) = &targets[index];
            let share = lines.len() / ROUNDS;
            let lines = match single_use {
                true => &lines[round * share..(round + 1) * share],
                false => lines,
            };
            let bound = signing_rate(alg, 2, BOUND_SAMPLE_SECS);
            bounds.push(bound);
            rounds[index].push(drive(*target, lines, seconds, bound));
        }
    }
    bounds.sort_by(f64::total_cmp);
    let measured = rounds
        .into_iter()
        .map(|mut measured| {
            let mut shares: Vec<f64> = measured.iter().map(|m| m.share_of_bound).collect();
            shares.sort_by(f64::total_cmp);
            measured.sort_by(|a, b| a.rate.total_cmp(&b.rate));
            let errors = measured.iter().map(|m| m.errors).sum();
            let spread = format!(
                " (rounds {:.0}–{:.0})",
                measured[0].rate,
                measured[ROUNDS - 1].rate
            );
            let mut median = measured.swap_remove(ROUNDS / 2);
            median.errors = errors;
            median.spread = spread;
            median.share_of_bound = shares[ROUNDS / 2];
            median
        })
        .collect();
    (measured, bounds[ROUNDS / 2])
}

/// Runs wrk for `seconds` with 2 threads and 16 connections, each request one of `lines`
/// (every line used at most once per run where there are enough of them); `bound` is the
/// two-core signing rate to take the rate as a share of.
fn drive(target: Target, lines: &[String], seconds: u64, bound: f64) -> Measured {
    let requests = target.dir.join("requests.txt");
    let mut file = std::fs::File::create(&requests).unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
    let script = target.dir.join("requests.lua");
    std::fs::write(&script, LUA).unwrap();
    let output = Command::new("wrk")
        .args(["-t2", "-c16", &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(&script)
        .arg(format!(
            "http://127.0.0.1:{}/acme/-/oauth/token",
            target.port
        ))
        .env("BENCH_REQUESTS", &requests)
        .output()
        .expect("wrk runs (scripts/bench.sh installs it)");
    let mut measured = parse_wrk(&String::from_utf8_lossy(&output.stdout));
    measured.share_of_bound = measured.rate / bound;
    measured
}

fn parse_wrk(text: &str) -> Measured {
    let number_after = |label: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.trim_start().starts_with(label))?;
        line.trim_start()[label.len()..]
            .split_whitespace()
            .next()
            .map(to_ms_or_number)
    };
    let errors = number_after("Non-2xx or 3xx responses:").unwrap_or(0.0) as u64
        + text
            .lines()
            .find(|l| l.trim_start().starts_with("Socket errors:"))
            .map(|l| {
                l.split(|c: char| !c.is_ascii_digit())
                    .filter_map(|n| n.parse::<u64>().ok())
                    .sum::<u64>()
            })
            .unwrap_or(0);
    Measured {
        rate: number_after("Requests/sec:").unwrap_or(0.0),
        spread: String::new(),
        p50_ms: number_after("50%").unwrap_or(f64::NAN),
        p99_ms: number_after("99%").unwrap_or(f64::NAN),
        errors,
        share_of_bound: f64::NAN,
    }
}

/// `1.23ms`, `456.00us` and `1.02s` in milliseconds; plain numbers as they are.
fn to_ms_or_number(value: &str) -> f64 {
    let split = value
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => number / 1_000.0,
        "ms" => number,
        "s" => number * 1_000.0,
        "m" => number * 60_000.0,
        _ => number,
    }
}

/// Each wrk thread walks its own share of the request lines, so single-use assertions are
/// never sent twice. The requests are formatted in `init`, before wrk's clock starts, so that
/// the load generator spends its share of the two cores sending rather than building them.
const LUA: &str = r#"
local lines = {}
for line in io.lines(os.getenv("BENCH_REQUESTS")) do lines[#lines + 1] = line end
local threads = 0
function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end
local function format(line)
  local auth, body = line:match("^(.-)|(.*)$")
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  if auth ~= "" then headers["Authorization"] = auth end
  return wrk.format("POST", nil, headers, body)
end
local requests = {}
function init(args)
  for index = offset + 1, #lines, 2 do requests[#requests + 1] = format(lines[index]) end
  if #requests == 0 then requests[1] = format(lines[1]) end
  lines = nil
end
local i = 0
function request()
  i = i + 1
  return requests[((i - 1) % #requests) + 1]
end
"#;
