//! `make bench`: the release Lambda binaries, run as Lambda runs them — each process talking to
//! a local Lambda Runtime API — against moto behind a proxy that counts AWS calls. Prints, per
//! function: cold init (process start to its first request for work) beside an empty
//! `lambda_runtime` function's in the same run, where the init went (phase by phase), the first
//! request after init, binary size, warm latency, AWS calls per request and peak memory; and
//! fails when a function's init is more than 1.5 times the empty function's. Then rotations
//! by the rotation function, cold and warm, beside AWS's template (`rotation.rs`); a missed
//! target fails the run too. The authorizer is measured twice: with HS256 tokens only, and
//! with an identity provider's key set verifying RS256 tokens (`identity_provider.rs`).
//!
//! Figures are local: moto answers in about a millisecond where AWS takes several, over plain
//! HTTP where AWS needs TLS. They compare builds with each other, not with production.

mod counting_proxy;
mod identity_provider;
mod rotation;
mod runtime_api;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use counting_proxy::{CountingProxy, difference};
use credential_model::api_tokens::{ApiTokens, TokenRequest};
use credential_model::{Caller, OrgId, Scopes, UserId};
use identity_provider::IdentityProvider;
use runtime_api::RuntimeApi;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use strongroom_auth::TokenIssuer;
use strongroom_aws::{DynamoTokenStore, KmsTokenMac};
use strongroom_local_stack::{LocalStack, Template, provision, template_path};
use tokio::process::{Child, Command};

type Failure = Box<dyn std::error::Error>;

const ISSUER: &str = "strongroom-bench";
const AUDIENCE: &str = "strongroom";
const ORG: &str = "org_bench";
/// The organization of the n-th round of cold starts' requests (`org_cold_{n}`), so what they
/// create lengthens neither the scenarios' lists nor the next round's.
const COLD_ORG: &str = "org_cold_";
const USER: &str = "user_fixture";
/// Cold starts measured per function, interleaved with every other function's.
const COLD_STARTS: usize = 25;
/// The empty `lambda_runtime` function every init is measured against.
const EMPTY: &str = "empty-lambda";
/// How many times the empty function's median init a function's may take.
const MAX_INIT_RATIO: f64 = 1.5;
/// What a function built for the bench prints on standard error when its init ends.
const PHASES_LINE: &str = "strongroom-init-phases ";
/// Scenario rounds per family; the first is each process's first request.
const ROUNDS: usize = 30;
/// The authorizer binary configured with a key set (`STRONGROOM_TOKEN_JWKS_URL`), given an
/// RS256 token: its row beside the HS256-only authorizer's.
const AUTHORIZER_RS256: &str = "authorizer-rs256";
/// The authorizer binary given a Strongroom API token (`ApiKey srk_…`): each request reads the
/// token's item and has KMS verify its HMAC.
const AUTHORIZER_API_TOKEN: &str = "authorizer-api-token";

fn is_authorizer(binary: &str) -> bool {
    binary == "authorizer" || binary == AUTHORIZER_RS256 || binary == AUTHORIZER_API_TOKEN
}

struct Bench {
    root: PathBuf,
    lambda_dir: PathBuf,
    proxy: CountingProxy,
    stack: LocalStack,
    token: String,
    identity_provider: IdentityProvider,
    rs256_token: String,
    api_token: SecretString,
}

/// What one function did in its scenario.
#[derive(Default)]
struct Observed {
    first_ms: f64,
    warm_ms: Vec<f64>,
    calls: Option<(u64, String)>,
    peak_rss_kb: u64,
}

impl Bench {
    fn bootstrap(&self, binary: &str) -> PathBuf {
        let binary = if is_authorizer(binary) {
            "authorizer"
        } else {
            binary
        };
        self.lambda_dir.join(binary).join("bootstrap")
    }

    /// Starts `binary` against its own Runtime API, with the template's environment.
    async fn spawn(
        &self,
        binary: &str,
    ) -> Result<(RuntimeApi, Child, Instant, SystemTime), Failure> {
        // moto enforces IAM: the functions run with the environment's key, its administrator's.
        let credential = |name: &str| {
            std::env::var(name)
                .map_err(|_| format!("{name} is not set: run `make bench`, which sets it"))
        };
        let (access_key_id, secret_access_key) = (
            credential("AWS_ACCESS_KEY_ID")?,
            credential("AWS_SECRET_ACCESS_KEY")?,
        );
        let runtime = RuntimeApi::start().await?;
        let (started, started_at) = (Instant::now(), SystemTime::now());
        let mut command = Command::new(self.bootstrap(binary));
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", binary)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", secret_access_key)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", format!("http://{}", self.proxy.addr))
            .env("STRONGROOM_TABLE", &self.stack.table)
            .env("STRONGROOM_KMS_KEY_ID", &self.stack.kms_key_arn)
            .env("STRONGROOM_SECRET_PREFIX", &self.stack.secret_prefix)
            .env("STRONGROOM_TOKEN_MAC_KEY_ID", &self.stack.token_mac_key_arn)
            .env("STRONGROOM_TOKEN_KEY_SECRET", &self.stack.token_key_secret)
            .env("STRONGROOM_TOKEN_ISSUER", ISSUER)
            .env("STRONGROOM_TOKEN_AUDIENCE", AUDIENCE)
            .env("STRONGROOM_INIT_PHASES", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if binary == AUTHORIZER_RS256 {
            command.env(
                "STRONGROOM_TOKEN_JWKS_URL",
                &self.identity_provider.key_set_url,
            );
        }
        let child = command.spawn().map_err(|e| {
            format!(
                "{binary}: cannot start {}: {e}",
                self.bootstrap(binary).display()
            )
        })?;
        Ok((runtime, child, started, started_at))
    }

    /// Waits until the function asks for its first event: its cold init is over.
    async fn until_ready(
        binary: &str,
        runtime: &RuntimeApi,
        child: &mut Child,
    ) -> Result<Instant, Failure> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(ready) = runtime.first_poll() {
                return Ok(ready);
            }
            if let Some(error) = runtime.init_error() {
                return Err(format!("{binary}: init failed: {error}").into());
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("{binary}: exited during init ({status})").into());
            }
            if Instant::now() > deadline {
                return Err(format!("{binary}: not ready after 15 s").into());
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }

    /// The sample event of `binary` (`events/<binary>.json`), for organization `org`.
    fn event(&self, binary: &str, org: &str) -> Result<Value, Failure> {
        let file = match binary {
            EMPTY => return Ok(json!({})),
            rotation::BINARY => return Ok(rotation::cold_start_event()),
            "authorizer" | AUTHORIZER_RS256 | AUTHORIZER_API_TOKEN => {
                "authorizer-request.json".to_owned()
            }
            route => format!("{route}.json"),
        };
        let path = self.root.join("events").join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut event: Value = serde_json::from_str(&text)?;
        if is_authorizer(binary) {
            let header = match binary {
                AUTHORIZER_RS256 => format!("Bearer {}", self.rs256_token),
                AUTHORIZER_API_TOKEN => format!("ApiKey {}", self.api_token.expose_secret()),
                _ => format!("Bearer {}", self.token),
            };
            event["headers"]["authorization"] = header.clone().into();
            event["identitySource"] = json!([header]);
        } else {
            event["requestContext"]["authorizer"]["lambda"]["organization_id"] = org.into();
            if let Some(workspace) = event["headers"].get_mut("x-workspace-id") {
                *workspace = org.into();
            }
        }
        Ok(event)
    }
}

fn peak_rss_kb(child: &Child) -> u64 {
    let Some(pid) = child.id() else { return 0 };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

/// The size of the file at `path` deflated, as a zip deployment package stores it, in MB.
fn zipped_mb(path: &Path) -> f64 {
    use std::io::Write;
    let Ok(bytes) = std::fs::read(path) else {
        return 0.0;
    };
    let mut zipped = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    if zipped.write_all(&bytes).is_err() {
        return 0.0;
    }
    zipped.finish().map_or(0.0, |z| z.len() as f64 / 1e6)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let index = ((values.len() as f64 - 1.0) * p).round() as usize;
    values.get(index).copied().unwrap_or(0.0)
}

/// One running function of a scenario.
struct Running {
    binary: &'static str,
    runtime: RuntimeApi,
    child: Child,
    observed: Observed,
}

impl Running {
    /// Invokes the function, checks the HTTP status it answered, and records what it cost.
    async fn call(
        &mut self,
        bench: &Bench,
        event: &Value,
        expected: u16,
        round: usize,
    ) -> Result<Value, Failure> {
        let before = bench.proxy.calls();
        let started = Instant::now();
        let answer = self
            .runtime
            .invoke(event.to_string())
            .await
            .map_err(|e| format!("{}: {e}", self.binary))?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        let made = difference(&before, &bench.proxy.calls());
        let reply: Value = serde_json::from_str(&answer)?;
        if !is_authorizer(self.binary) && reply["statusCode"] != expected {
            return Err(format!(
                "{} answered {}, not {expected}: {}",
                self.binary, reply["statusCode"], reply["body"]
            )
            .into());
        }
        if round == 0 {
            self.observed.first_ms = elapsed;
        } else {
            self.observed.warm_ms.push(elapsed);
            self.observed.calls.get_or_insert(made);
        }
        Ok(reply)
    }
}

async fn start_all(bench: &Bench, binaries: &[&'static str]) -> Result<Vec<Running>, Failure> {
    let mut running = Vec::new();
    for binary in binaries {
        let (runtime, mut child, _, _) = bench.spawn(binary).await?;
        Bench::until_ready(binary, &runtime, &mut child).await?;
        running.push(Running {
            binary,
            runtime,
            child,
            observed: Observed::default(),
        });
    }
    Ok(running)
}

/// The functions of a scenario, started, and their sample events.
async fn start_scenario(
    bench: &Bench,
    binaries: &[&'static str],
) -> Result<(Vec<Running>, Vec<Value>), Failure> {
    let events = binaries
        .iter()
        .map(|b| bench.event(b, ORG))
        .collect::<Result<_, _>>()?;
    Ok((start_all(bench, binaries).await?, events))
}

/// The authorizer, HS256-only, with a key set, and given an API token: one token each,
/// verified again and again.
async fn authorizer_scenario(bench: &Bench) -> Result<Vec<Running>, Failure> {
    let binaries = ["authorizer", AUTHORIZER_RS256, AUTHORIZER_API_TOKEN];
    let (mut running, events) = start_scenario(bench, &binaries).await?;
    for round in 0..ROUNDS {
        for (function, event) in running.iter_mut().zip(&events) {
            let verdict = function.call(bench, event, 200, round).await?;
            if verdict["context"]["verdict"] != "authenticated" {
                let binary = function.binary;
                return Err(format!("{binary} refused the bench token: {verdict}").into());
            }
        }
    }
    Ok(running)
}

/// The key set is fetched once per init of the RS256 authorizer, never for a request.
fn key_set_fetches(bench: &Bench) -> Result<(), Failure> {
    let (fetches, inits) = (bench.identity_provider.fetches(), COLD_STARTS + 1);
    println!(
        "\n{AUTHORIZER_RS256}: the key set was fetched {fetches} times for {inits} inits and {} requests",
        COLD_STARTS + ROUNDS
    );
    if fetches == inits {
        Ok(())
    } else {
        Err(format!("{AUTHORIZER_RS256} fetched its key set {fetches} times, not {inits}").into())
    }
}

/// Levered: create (replace), get, test against 127.0.0.1:5432, delete — every round.
async fn levered_scenario(bench: &Bench) -> Result<Vec<Running>, Failure> {
    let binaries = [
        "levered-create-connection",
        "levered-get-connection",
        "levered-test-connection",
        "levered-delete-connection",
    ];
    in_turn(bench, &binaries, &[201, 200, 200, 204]).await
}

/// Starts `binaries` and calls each in turn with its sample event every round, expecting
/// `statuses`.
async fn in_turn(
    bench: &Bench,
    binaries: &[&'static str],
    statuses: &[u16],
) -> Result<Vec<Running>, Failure> {
    let (mut running, events) = start_scenario(bench, binaries).await?;
    for round in 0..ROUNDS {
        for ((function, event), status) in running.iter_mut().zip(&events).zip(statuses) {
            function.call(bench, event, *status, round).await?;
        }
    }
    Ok(running)
}

/// `event` naming the resource `id` in its path parameter `parameter`.
fn for_resource(event: &Value, parameter: &str, id: &str) -> Value {
    let mut event = event.clone();
    event["pathParameters"][parameter] = id.into();
    event
}

/// A field of the JSON body of a function's answer.
fn answered(reply: &Value, pointer: &str) -> Result<String, Failure> {
    let body: Value = serde_json::from_str(reply["body"].as_str().unwrap_or("null"))?;
    body.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("no {pointer} in {body}").into())
}

/// Lightdash: create, list, update (a new password), delete — every round.
async fn lightdash_scenario(bench: &Bench) -> Result<Vec<Running>, Failure> {
    let binaries = [
        "lightdash-create-credentials",
        "lightdash-list-credentials",
        "lightdash-update-credentials",
        "lightdash-delete-credentials",
    ];
    let (mut running, events) = start_scenario(bench, &binaries).await?;
    for round in 0..ROUNDS {
        let created = running[0].call(bench, &events[0], 200, round).await?;
        let uuid = answered(&created, "/results/uuid")?;
        running[1].call(bench, &events[1], 200, round).await?;
        let update = for_resource(&events[2], "uuid", &uuid);
        running[2].call(bench, &update, 200, round).await?;
        let delete = for_resource(&events[3], "uuid", &uuid);
        running[3].call(bench, &delete, 200, round).await?;
    }
    Ok(running)
}

/// Mielto: create, list, get, update (new credentials), delete — every round.
async fn mielto_scenario(bench: &Bench) -> Result<Vec<Running>, Failure> {
    let binaries = [
        "mielto-create-credential",
        "mielto-list-credentials",
        "mielto-get-credential",
        "mielto-update-credential",
        "mielto-delete-credential",
    ];
    let (mut running, events) = start_scenario(bench, &binaries).await?;
    for round in 0..ROUNDS {
        let created = running[0].call(bench, &events[0], 200, round).await?;
        let id = answered(&created, "/id")?;
        running[1].call(bench, &events[1], 200, round).await?;
        for (function, status) in [(2, 200), (3, 200), (4, 204)] {
            let event = for_resource(&events[function], "credential_id", &id);
            running[function].call(bench, &event, status, round).await?;
        }
    }
    Ok(running)
}

/// Credible: create, list, get, test the stored connection (against 127.0.0.1:5432), update
/// (the password kept), test an unsaved configuration, delete — every round.
async fn credible_scenario(bench: &Bench) -> Result<Vec<Running>, Failure> {
    let binaries = [
        "credible-create-connection",
        "credible-list-connections",
        "credible-get-connection",
        "credible-test-stored-connection",
        "credible-update-connection",
        "credible-test-connection",
        "credible-delete-connection",
    ];
    in_turn(bench, &binaries, &[201, 200, 200, 200, 200, 200, 200]).await
}

/// What one cold start of a function showed.
struct ColdStart {
    init_ms: f64,
    first_ms: f64,
    /// AWS calls made during init (none, by design).
    init_calls: u64,
    /// Connections to AWS opened during init, and by the first request.
    init_connections: u64,
    first_connections: u64,
    /// Where the init went, phase by phase, in microseconds: from the process's start to
    /// `main` (`exec`), then as the function reported it.
    phases: Vec<(String, f64)>,
}

/// The phases a function reported on standard error, after `exec`: its start to `main`.
fn phases(stderr: &[u8], started_at: SystemTime) -> Vec<(String, f64)> {
    let text = String::from_utf8_lossy(stderr);
    let Some(line) = text.lines().find_map(|l| l.strip_prefix(PHASES_LINE)) else {
        return Vec::new();
    };
    let Ok(reported) = serde_json::from_str::<Value>(line) else {
        return Vec::new();
    };
    let started_us = started_at
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e6);
    let main_us = reported["main_at_us"].as_f64().unwrap_or(started_us);
    let mut phases = vec![("exec".to_owned(), main_us - started_us)];
    for phase in reported["phases"].as_array().into_iter().flatten() {
        if let (Some(name), Some(us)) = (phase[0].as_str(), phase[1].as_f64()) {
            phases.push((name.to_owned(), us));
        }
    }
    phases
}

/// Starts `binary`, waits for its init to end, invokes it once with its sample event, and
/// stops it.
async fn cold_start(bench: &Bench, binary: &str, round: usize) -> Result<ColdStart, Failure> {
    let event = bench
        .event(binary, &format!("{COLD_ORG}{round}"))?
        .to_string();
    let (calls, connections) = (bench.proxy.calls(), bench.proxy.connections());
    let (runtime, mut child, started, started_at) = bench.spawn(binary).await?;
    let ready = Bench::until_ready(binary, &runtime, &mut child).await?;
    let (init_calls, init_connections) = (
        difference(&calls, &bench.proxy.calls()).0,
        bench.proxy.connections() - connections,
    );
    let asked = Instant::now();
    runtime
        .invoke(event)
        .await
        .map_err(|e| format!("{binary}: {e}"))?;
    let first_ms = asked.elapsed().as_secs_f64() * 1000.0;
    let first_connections = bench.proxy.connections() - connections - init_connections;
    let _ = child.start_kill();
    let output = child.wait_with_output().await?;
    Ok(ColdStart {
        init_ms: (ready - started).as_secs_f64() * 1000.0,
        first_ms,
        init_calls,
        init_connections,
        first_connections,
        phases: phases(&output.stderr, started_at),
    })
}

/// Every function's cold starts, interleaved: one start of each in turn, `COLD_STARTS` times,
/// so a busy moment of the machine weighs on all of them alike.
async fn cold_starts(
    bench: &Bench,
    binaries: &[String],
) -> Result<Vec<(String, Vec<ColdStart>)>, Failure> {
    let mut starts: Vec<(String, Vec<ColdStart>)> =
        binaries.iter().map(|b| (b.clone(), Vec::new())).collect();
    for round in 0..COLD_STARTS {
        for (binary, samples) in &mut starts {
            samples.push(cold_start(bench, binary, round).await?);
        }
    }
    Ok(starts)
}

/// Prints every figure, and refuses the run when a function's init is over `MAX_INIT_RATIO`
/// times the empty function's.
fn report(
    bench: &Bench,
    cold: &[(String, Vec<ColdStart>)],
    scenarios: &mut [Running],
) -> Result<(), Failure> {
    let init = |samples: &[ColdStart]| {
        let mut values: Vec<f64> = samples.iter().map(|s| s.init_ms).collect();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        (median(&mut values), min)
    };
    let empty = cold
        .iter()
        .find(|(binary, _)| binary == EMPTY)
        .map(|(_, samples)| init(samples).0)
        .ok_or("the empty function was not measured")?;
    println!(
        "{:<30} {:>14} {:>6} {:>8} {:>7} {:>5} {:>10} {:>7} {:>12} {:>6}  AWS calls per request",
        "function",
        "init ms (min)",
        "×empty",
        "first ms",
        "size MB",
        "zip",
        "conns i/1st",
        "init calls",
        "warm p50/p95",
        "RSS MB",
    );
    let mut over = Vec::new();
    for (binary, samples) in cold {
        let size = std::fs::metadata(bench.bootstrap(binary)).map_or(0, |m| m.len()) as f64;
        let (median_ms, min_ms) = init(samples);
        let ratio = median_ms / empty;
        if ratio > MAX_INIT_RATIO {
            over.push(format!("{binary} ×{ratio:.2}"));
        }
        let first = median(&mut samples.iter().map(|s| s.first_ms).collect::<Vec<_>>());
        let init = format!("{median_ms:.1} ({min_ms:.1})");
        let zipped = zipped_mb(&bench.bootstrap(binary));
        let connections = |count: fn(&ColdStart) -> u64| {
            median(&mut samples.iter().map(|s| count(s) as f64).collect::<Vec<_>>())
        };
        let opened = format!(
            "{}/{}",
            connections(|s| s.init_connections),
            connections(|s| s.first_connections)
        );
        let init_calls = samples.iter().map(|s| s.init_calls).max().unwrap_or(0);
        print!(
            "{binary:<30} {init:>14} {ratio:>6.2} {first:>8.1} {:>7.2} {zipped:>5.2} {opened:>10} {init_calls:>7}",
            size / 1e6
        );
        match scenarios.iter_mut().find(|s| s.binary == binary.as_str()) {
            Some(function) => {
                let observed = &mut function.observed;
                let p50 = percentile(&mut observed.warm_ms, 0.5);
                let p95 = percentile(&mut observed.warm_ms, 0.95);
                let (count, detail) = observed.calls.clone().unwrap_or_default();
                let rss = observed.peak_rss_kb as f64 / 1024.0;
                println!(" {p50:>5.1}/{p95:<6.1} {rss:>6.1}  {count}: {detail}");
            }
            None => println!(),
        }
    }
    println!(
        "\ninit: median (min) of {COLD_STARTS} process starts, interleaved, until the first request \
         for work; ×empty: beside the empty lambda_runtime function of the same run; first: the \
         first invocation after init (the sample event), median; zip: the deployment package, \
         MB; conns i/1st: connections to AWS opened during init / by the first request \
         (median); init calls: AWS calls made during init (most of any start); warm: a \
         scenario's next {} invocations; RSS: peak resident memory. {AUTHORIZER_RS256}: the \
         authorizer with a key set served on 127.0.0.1 (plain HTTP; an identity provider's \
         takes longer) and an RS256 token; its init fetches the set. {AUTHORIZER_API_TOKEN}: the \
         authorizer given a Strongroom API token (a GetItem and a KMS VerifyMac per request, \
         the uncached verdict). Local figures against \
         moto: compare builds, not production.",
        ROUNDS - 1
    );
    print_phases(cold);
    if over.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "init over {MAX_INIT_RATIO}× the empty function's: {}",
            over.join(", ")
        )
        .into())
    }
}

/// Where each function's init went: the median of each phase, in milliseconds.
fn print_phases(cold: &[(String, Vec<ColdStart>)]) {
    let mut names: Vec<String> = Vec::new();
    for (_, samples) in cold {
        for (name, _) in samples.iter().flat_map(|s| &s.phases) {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    if names.is_empty() {
        return;
    }
    print!("\ninit phases, median ms\n{:<30}", "function");
    for name in &names {
        print!(" {name:>12}");
    }
    println!();
    for (binary, samples) in cold {
        print!("{binary:<30}");
        for name in &names {
            let mut values: Vec<f64> = samples
                .iter()
                .filter_map(|s| s.phases.iter().find(|(n, _)| n == name))
                .map(|(_, us)| us / 1000.0)
                .collect();
            if values.is_empty() {
                print!(" {:>12}", "-");
            } else {
                print!(" {:>12.2}", median(&mut values));
            }
        }
        println!();
    }
}

/// A Strongroom API token of `user`, issued in `stack` as `POST /strongroom/v1/tokens` does.
async fn api_token(
    sdk: &strongroom_aws::SdkConfig,
    stack: &LocalStack,
    org: &OrgId,
    user: &UserId,
) -> Result<SecretString, Failure> {
    let tokens = ApiTokens::new(
        DynamoTokenStore::new(aws_sdk_dynamodb::Client::new(sdk), &stack.table),
        KmsTokenMac::new(aws_sdk_kms::Client::new(sdk), &stack.token_mac_key_arn),
    );
    let caller = Caller {
        organization: org.clone(),
        user: user.clone(),
        scopes: Scopes::all(),
        expires_at: i64::MAX,
        origin: Default::default(),
    };
    let request = TokenRequest {
        name: "bench".to_owned(),
        scopes: Scopes::all(),
        expires_at: None,
    };
    let issued = tokens
        .issue(&caller, request, time::OffsetDateTime::now_utc())
        .await
        .map_err(|e| format!("the bench's API token: {e}"))?;
    Ok(issued.token)
}

async fn run(root: &Path) -> Result<(), Failure> {
    let moto = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| "AWS_ENDPOINT_URL (moto) is not set: run `make bench`")?;
    let lambda_dir = root.join("target/lambda");
    let sdk = strongroom_aws::sdk_config()?;
    let key = SecretString::from(format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    ));
    let template = Template::load(&template_path())?;
    let stack = provision(
        &sdk,
        &template,
        &format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]),
        &key,
    )
    .await?;
    let (org, user) = (
        OrgId::parse(ORG).ok_or("org")?,
        UserId::parse(USER).ok_or("user")?,
    );
    let token =
        TokenIssuer::hs256(&key, ISSUER, AUDIENCE)?.issue(&org, &user, Scopes::all(), 3600)?;
    let identity_provider = IdentityProvider::start(ISSUER, AUDIENCE).await?;
    let rs256_token = identity_provider
        .issuer()
        .issue(&org, &user, Scopes::all(), 3600)?;
    let api_token = api_token(&sdk, &stack, &org, &user).await?;
    let bench = Bench {
        root: root.to_owned(),
        lambda_dir,
        proxy: CountingProxy::start(&moto).await?,
        stack,
        token,
        identity_provider,
        rs256_token,
        api_token,
    };

    let mut binaries: Vec<String> = vec![
        EMPTY.to_owned(),
        "authorizer".to_owned(),
        AUTHORIZER_RS256.to_owned(),
        AUTHORIZER_API_TOKEN.to_owned(),
    ];
    binaries.extend(template.routes()?.into_iter().map(|r| r.binary));
    binaries.push(rotation::BINARY.to_owned());
    for binary in &binaries {
        if !bench.bootstrap(binary).exists() {
            return Err(format!(
                "{} is missing: run `cargo lambda build --release` first",
                bench.bootstrap(binary).display()
            )
            .into());
        }
    }
    let cold = cold_starts(&bench, &binaries).await?;

    let mut scenarios = authorizer_scenario(&bench).await?;
    scenarios.extend(levered_scenario(&bench).await?);
    scenarios.extend(lightdash_scenario(&bench).await?);
    scenarios.extend(mielto_scenario(&bench).await?);
    scenarios.extend(credible_scenario(&bench).await?);
    for function in &mut scenarios {
        function.observed.peak_rss_kb = peak_rss_kb(&function.child);
    }
    let mut rotations = rotation::measure(&bench, &sdk).await?;
    // Both tables are printed before either refuses the run.
    let failures: Vec<String> = [
        report(&bench, &cold, &mut scenarios),
        key_set_fetches(&bench),
        rotation::report(&mut rotations),
    ]
    .into_iter()
    .filter_map(Result::err)
    .map(|error| error.to_string())
    .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; ").into())
    }
}

#[tokio::main]
async fn main() {
    let root = std::env::current_dir().unwrap_or_default();
    if let Err(error) = run(&root).await {
        eprintln!("strongroom-bench: {error}");
        std::process::exit(1);
    }
}
