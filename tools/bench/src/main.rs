//! `make bench`: the release Lambda binaries, run as Lambda runs them — each process talking to
//! a local Lambda Runtime API — against moto behind a proxy that counts AWS calls. Prints, per
//! function: binary size, cold init (process start to its first request for work), the first
//! request after init, warm latency, AWS calls per request and peak memory.
//!
//! Figures are local: moto answers in about a millisecond where AWS takes several, over plain
//! HTTP where AWS needs TLS. They compare builds with each other, not with production.

mod counting_proxy;
mod runtime_api;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use counting_proxy::{CountingProxy, difference};
use credential_model::{OrgId, Scopes, UserId};
use runtime_api::RuntimeApi;
use secrecy::SecretString;
use serde_json::{Value, json};
use strongroom_auth::TokenIssuer;
use strongroom_local_stack::{LocalStack, Template, provision, template_path};
use tokio::process::{Child, Command};

type Failure = Box<dyn std::error::Error>;

const ISSUER: &str = "strongroom-bench";
const AUDIENCE: &str = "strongroom";
const ORG: &str = "org_bench";
const USER: &str = "user_fixture";
/// Cold starts measured per function.
const COLD_STARTS: usize = 5;
/// Scenario rounds per family; the first is each process's first request.
const ROUNDS: usize = 30;

struct Bench {
    root: PathBuf,
    lambda_dir: PathBuf,
    proxy: CountingProxy,
    stack: LocalStack,
    token: String,
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
        self.lambda_dir.join(binary).join("bootstrap")
    }

    /// Starts `binary` against its own Runtime API, with the template's environment.
    async fn spawn(&self, binary: &str) -> Result<(RuntimeApi, Child, Instant), Failure> {
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
        let started = Instant::now();
        let child = Command::new(self.bootstrap(binary))
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
            .env("STRONGROOM_SECRET_PREFIX", "strongroom")
            .env("STRONGROOM_TOKEN_KEY_SECRET", &self.stack.token_key_secret)
            .env("STRONGROOM_TOKEN_ISSUER", ISSUER)
            .env("STRONGROOM_TOKEN_AUDIENCE", AUDIENCE)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                format!(
                    "{binary}: cannot start {}: {e}",
                    self.bootstrap(binary).display()
                )
            })?;
        Ok((runtime, child, started))
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

    /// The sample event of `binary` (`events/<binary>.json`), for the bench's organization.
    fn event(&self, binary: &str) -> Result<Value, Failure> {
        let file = match binary {
            "authorizer" => "authorizer-request.json".to_owned(),
            route => format!("{route}.json"),
        };
        let path = self.root.join("events").join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut event: Value = serde_json::from_str(&text)?;
        if binary == "authorizer" {
            let header = format!("Bearer {}", self.token);
            event["headers"]["authorization"] = header.clone().into();
            event["identitySource"] = json!([header]);
        } else {
            event["requestContext"]["authorizer"]["lambda"]["organization_id"] = ORG.into();
            if let Some(workspace) = event["headers"].get_mut("x-workspace-id") {
                *workspace = ORG.into();
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
        if self.binary != "authorizer" && reply["statusCode"] != expected {
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
        let (runtime, mut child, _) = bench.spawn(binary).await?;
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
        .map(|b| bench.event(b))
        .collect::<Result<_, _>>()?;
    Ok((start_all(bench, binaries).await?, events))
}

/// The authorizer: one token, verified again and again.
async fn authorizer_scenario(bench: &Bench) -> Result<Vec<Running>, Failure> {
    let mut running = start_all(bench, &["authorizer"]).await?;
    let event = bench.event("authorizer")?;
    for round in 0..ROUNDS {
        let verdict = running[0].call(bench, &event, 200, round).await?;
        if verdict["context"]["verdict"] != "authenticated" {
            return Err(format!("authorizer refused the bench token: {verdict}").into());
        }
    }
    Ok(running)
}

/// Levered: create (replace), get, test against 127.0.0.1:5432, delete — every round.
async fn levered_scenario(bench: &Bench) -> Result<Vec<Running>, Failure> {
    let binaries = [
        "levered-create-connection",
        "levered-get-connection",
        "levered-test-connection",
        "levered-delete-connection",
    ];
    let (mut running, events) = start_scenario(bench, &binaries).await?;
    let expected = [201, 200, 200, 204];
    for round in 0..ROUNDS {
        for ((function, event), status) in running.iter_mut().zip(&events).zip(expected) {
            function.call(bench, event, status, round).await?;
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

fn report(bench: &Bench, cold: &mut [(String, Vec<f64>)], scenarios: &mut [Running]) {
    println!(
        "{:<30} {:>8} {:>8} {:>9} {:>13} {:>7}  AWS calls per request",
        "function", "size MB", "init ms", "first ms", "warm p50/p95", "RSS MB"
    );
    for (binary, init) in cold.iter_mut() {
        let size = std::fs::metadata(bench.bootstrap(binary)).map_or(0, |m| m.len()) as f64;
        let init = median(init);
        let Some(function) = scenarios.iter_mut().find(|s| s.binary == binary.as_str()) else {
            println!(
                "{binary:<30} {:>8.2} {init:>8.1}  (no scenario)",
                size / 1e6
            );
            continue;
        };
        let observed = &mut function.observed;
        let p50 = percentile(&mut observed.warm_ms, 0.5);
        let p95 = percentile(&mut observed.warm_ms, 0.95);
        let (count, detail) = observed.calls.clone().unwrap_or_default();
        println!(
            "{binary:<30} {:>8.2} {init:>8.1} {:>9.1} {p50:>6.1}/{p95:<6.1} {:>7.1}  {count}: {detail}",
            size / 1e6,
            observed.first_ms,
            observed.peak_rss_kb as f64 / 1024.0,
        );
    }
    println!(
        "\ninit: median of {COLD_STARTS} process starts until the first request for work; first: the \
         first invocation after init; warm: the next {} invocations; RSS: peak resident memory. \
         Local figures against moto: compare builds, not production.",
        ROUNDS - 1
    );
}

async fn run(root: &Path) -> Result<(), Failure> {
    let moto = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| "AWS_ENDPOINT_URL (moto) is not set: run `make bench`")?;
    let lambda_dir = root.join("target/lambda");
    let sdk = strongroom_aws::sdk_config().await;
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
    let token = TokenIssuer::hs256(&key, ISSUER, AUDIENCE)?.issue(
        &OrgId::parse(ORG).ok_or("org")?,
        &UserId::parse(USER).ok_or("user")?,
        Scopes::all(),
        3600,
    )?;
    let bench = Bench {
        root: root.to_owned(),
        lambda_dir,
        proxy: CountingProxy::start(&moto).await?,
        stack,
        token,
    };

    let mut binaries: Vec<String> = vec!["authorizer".to_owned()];
    binaries.extend(template.routes()?.into_iter().map(|r| r.binary));
    let mut cold = Vec::new();
    for binary in &binaries {
        if !bench.bootstrap(binary).exists() {
            return Err(format!(
                "{} is missing: run `cargo lambda build --release` first",
                bench.bootstrap(binary).display()
            )
            .into());
        }
        let mut samples = Vec::new();
        for _ in 0..COLD_STARTS {
            let (runtime, mut child, started) = bench.spawn(binary).await?;
            let ready = Bench::until_ready(binary, &runtime, &mut child).await?;
            samples.push((ready - started).as_secs_f64() * 1000.0);
            let _ = child.kill().await;
        }
        cold.push((binary.clone(), samples));
    }

    let mut scenarios = authorizer_scenario(&bench).await?;
    scenarios.extend(levered_scenario(&bench).await?);
    scenarios.extend(lightdash_scenario(&bench).await?);
    scenarios.extend(mielto_scenario(&bench).await?);
    for function in &mut scenarios {
        function.observed.peak_rss_kb = peak_rss_kb(&function.child);
    }
    report(&bench, &mut cold, &mut scenarios);
    Ok(())
}

#[tokio::main]
async fn main() {
    let root = std::env::current_dir().unwrap_or_default();
    if let Err(error) = run(&root).await {
        eprintln!("strongroom-bench: {error}");
        std::process::exit(1);
    }
}
