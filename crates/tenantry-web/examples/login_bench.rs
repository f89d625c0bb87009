//! Login under attack: 96 concurrent anonymous logins (the ASVS review's memory
//! exhaustion), then the same again, against a server in this process. Prints the
//! process's resident memory before, at the peak and after, the answers (401 wrong
//! password, 429 busy or throttled), and the hashing peak; writes the `login-bench`
//! section of docs/benchmarks.md.
//! `cargo run --release -p tenantry-web --example login_bench`

use std::time::Instant;

use secrecy::SecretString;
use tenantry_store::{Catalog, KeySource, OpenOptions};
use tenantry_web::{AppState, Config};

const CONCURRENT: usize = 96;

/// Resident and peak resident memory of this process, in MiB (Linux).
fn rss() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
}

async fn burst(url: &str, pre: &str, csrf: &str, round: usize) -> (usize, usize, f64) {
    let started = Instant::now();
    let tries: Vec<_> = (0..CONCURRENT)
        .map(|i| {
            let (url, pre, csrf) = (url.to_owned(), pre.to_owned(), csrf.to_owned());
            tokio::spawn(async move {
                let from: std::net::IpAddr =
                    format!("127.0.{}.{}", round + 2, i + 1).parse().unwrap();
                let http = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .local_address(from)
                    .build()
                    .unwrap();
                http.post(format!("{url}/login"))
                    .header("cookie", format!("tenantry_pre={pre}"))
                    .form(&[
                        ("_csrf", csrf.as_str()),
                        ("name", &format!("nobody{i}")),
                        ("password", "not a password at all"),
                    ])
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            })
        })
        .collect();
    let (mut wrong, mut busy) = (0, 0);
    for t in tries {
        match t.await.unwrap() {
            401 => wrong += 1,
            429 => busy += 1,
            other => panic!("unexpected answer {other}"),
        }
    }
    (wrong, busy, started.elapsed().as_secs_f64())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let db = tenantry_testkit::TestDb::sqlite();
    let catalog = Catalog::open(&OpenOptions {
        database_url: db.url.clone(),
        key: KeySource::Hex(SecretString::from(tenantry_testkit::TEST_MASTER_KEY)),
        max_connections: 4,
    })
    .await
    .unwrap()
    .0;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(catalog, Config::default()).unwrap();
    tokio::spawn(tenantry_web::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    let http = reqwest::Client::new();
    let page = http.get(format!("{url}/login")).send().await.unwrap();
    let pre = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("tenantry_pre="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let at = html.find("name=\"_csrf\" value=\"").unwrap() + 20;
    let csrf = html[at..at + html[at..].find('"').unwrap()].to_owned();

    let (before, _) = rss();
    let (w1, b1, s1) = burst(&url, &pre, &csrf, 0).await;
    let (after1, _) = rss();
    let (w2, b2, s2) = burst(&url, &pre, &csrf, 1).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let (after2, peak) = rss();
    let cap = state.hasher.concurrency();
    let hashing_peak = state.hasher.peak();
    println!(
        "before: {before:.0} MiB; after burst 1: {after1:.0} MiB; after burst 2: {after2:.0} MiB; peak {peak:.0} MiB"
    );
    println!(
        "burst 1: {w1} wrong password, {b1} busy (429), {s1:.2} s; burst 2: {w2} / {b2}, {s2:.2} s"
    );
    println!("hashes at once: at most {hashing_peak} (cap {cap})");
    let body = format!(
        "## Login under attack\n\n`cargo run --release -p tenantry-web --example login_bench`: {CONCURRENT} concurrent anonymous logins with wrong passwords, twice, against the server in-process (argon2id m = 19 MiB), on the project's 2-core machine. The ASVS review measured 158 MiB → 2.6 GiB, kept, before the hashing cap.\n\n| measure | figure |\n|---|---|\n| resident memory before | {before:.0} MiB |\n| after the first burst | {after1:.0} MiB |\n| after the second burst | {after2:.0} MiB (peak during the run: {peak:.0} MiB) |\n| answers, burst 1 | {w1} checked (401), {b1} turned away (429 with Retry-After), in {s1:.2} s |\n| answers, burst 2 | {w2} checked, {b2} turned away, in {s2:.2} s |\n| argon2 hashes at once | at most {hashing_peak} (cap: {cap}, one per core) |\n\nHashing memory is a fixed pool of one 19 MiB block per core; a burst leaves the process no larger than the one before it.\n"
    );
    tenantry_testkit::write_bench_section("login-bench", &body);
}
