//! `strongroom-local`: the local API (`serve`) and dev tokens (`token`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use authorizer::KeySetUrl;
use clap::{Parser, Subcommand, ValueEnum};
use credential_model::{OrgId, Scope, Scopes, UserId};
use secrecy::SecretString;
use strongroom_auth::TokenIssuer;
use strongroom_aws::StoreSettings;
use strongroom_local::{
    DevKeyPair, EventPump, Functions, Gateway, KEY_SET_PATH, LOCAL_AUDIENCE, LOCAL_ISSUER,
    SweepSchedule,
};
use strongroom_local_stack::{Template, provision};

#[derive(Parser)]
#[command(about = "Strongroom's local API and dev tokens")]
struct Cli {
    /// Where the local stack keeps its token signing keys.
    #[arg(long, default_value = ".dev", global = true)]
    state_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Provision the template's resources in moto and serve the whole API.
    Serve {
        #[arg(long, env = "PORT", default_value_t = 3000)]
        port: u16,
        #[arg(long, default_value = "infra/template.yaml")]
        template: PathBuf,
    },
    /// Print a bearer token for the local API (its last line of output).
    Token {
        #[arg(long, default_value = "org_dev")]
        org: String,
        #[arg(long, default_value = "user_dev")]
        user: String,
        /// Space-separated scopes; every scope when omitted.
        #[arg(long)]
        scopes: Option<String>,
        #[arg(long, default_value_t = 12)]
        hours: i64,
        /// HS256 under the shared key, or RS256 under the key the local API publishes as an
        /// identity provider would.
        #[arg(long, value_enum, default_value_t = Alg::Hs256)]
        alg: Alg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Alg {
    Hs256,
    Rs256,
}

type Failure = Box<dyn std::error::Error>;

/// Locally, what a crash left is cleaned after a minute: every local request is long done.
const SWEEP_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// The local signing key, created on first use and kept so tokens survive restarts.
fn signing_key(state_dir: &Path) -> Result<SecretString, Failure> {
    let path = state_dir.join("token-signing-key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(SecretString::from(key.trim().to_owned()));
    }
    std::fs::create_dir_all(state_dir)?;
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    strongroom_local::write_private(&path, &key)?;
    Ok(SecretString::from(key))
}

/// The issuer of `alg` tokens, its key from `state_dir` (made there on first use).
fn issuer(state_dir: &Path, alg: Alg) -> Result<TokenIssuer, Failure> {
    Ok(match alg {
        Alg::Hs256 => TokenIssuer::hs256(&signing_key(state_dir)?, LOCAL_ISSUER, LOCAL_AUDIENCE)?,
        Alg::Rs256 => {
            DevKeyPair::load_or_create(state_dir)?.issuer(LOCAL_ISSUER, LOCAL_AUDIENCE)?
        }
    })
}

fn token(
    issuer: &TokenIssuer,
    org: &str,
    user: &str,
    scopes: Scopes,
    hours: i64,
) -> Result<String, Failure> {
    let org =
        OrgId::parse(org).ok_or("--org must be 1-128 characters of letters, digits and _.@+=-")?;
    let user = UserId::parse(user)
        .ok_or("--user must be 1-128 characters of letters, digits and _.@+=-")?;
    Ok(issuer.issue(&org, &user, scopes, hours * 3600)?)
}

/// Every scope when none are given; an unknown scope name is an error, not a silent drop.
fn parse_scopes(list: Option<&str>) -> Result<Scopes, Failure> {
    let Some(list) = list.filter(|l| !l.trim().is_empty()) else {
        return Ok(Scopes::all());
    };
    list.split_whitespace()
        .map(|name| {
            Scope::parse(name).ok_or_else(|| {
                let known: Vec<_> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown scope {name:?}; scopes are: {}", known.join(" ")).into()
            })
        })
        .collect()
}

/// Refuses to provision anywhere but a local endpoint: this must never touch a real account.
fn local_endpoint() -> Result<String, Failure> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(
        |_| "AWS_ENDPOINT_URL is not set: start the local API with `make dev`, which starts moto",
    )?;
    let local = ["http://127.0.0.1:", "http://localhost:"]
        .iter()
        .any(|prefix| endpoint.starts_with(prefix));
    if !local {
        return Err(format!("AWS_ENDPOINT_URL={endpoint} is not a local endpoint").into());
    }
    Ok(endpoint)
}

async fn serve(state_dir: &Path, port: u16, template_path: &Path) -> Result<(), Failure> {
    let endpoint = local_endpoint()?;
    let key = signing_key(state_dir)?;
    let identity_provider = DevKeyPair::load_or_create(state_dir)?;
    let key_set = format!("http://127.0.0.1:{port}{KEY_SET_PATH}");
    let key_set_url = KeySetUrl::parse(&key_set).ok_or("the local key set URL is not a URL")?;
    let template = Template::load(template_path)?;
    let sdk = strongroom_aws::sdk_config()?;
    let suffix = format!("local-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let stack = provision(&sdk, &template, &suffix, &key).await?;
    let functions = Functions::new(
        &sdk,
        &template,
        &stack,
        &suffix,
        LOCAL_ISSUER,
        LOCAL_AUDIENCE,
        Some(key_set_url),
    )
    .await?;
    let events = EventPump::new(
        functions.publisher_identity(),
        &stack,
        strongroom_events::DEFAULT_SOURCE,
    )
    .await?;
    tokio::spawn(events.run());
    let store = StoreSettings::new(&stack.table, &stack.kms_key_arn, &stack.secret_prefix);
    let sweeper = strongroom_sweeper::deps(functions.sweeper_identity(), &store, SWEEP_GRACE);
    tokio::spawn(SweepSchedule::DEV.run(sweeper));
    let gateway = Gateway::new(&template, functions)?.with_key_set(identity_provider.key_set());
    let routes = gateway.route_keys();
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
            .await?;
    let hs256 = TokenIssuer::hs256(&key, LOCAL_ISSUER, LOCAL_AUDIENCE)?;
    let dev_token = token(&hs256, "org_dev", "user_dev", Scopes::all(), 12)?;
    println!("Routes from {}:", template_path.display());
    for route in routes {
        println!("  {route}");
    }
    println!("Local AWS (moto): {endpoint}; table {}", stack.table);
    println!(
        "Events: every write is published on the event bus {} (source {})",
        stack.event_bus,
        strongroom_events::DEFAULT_SOURCE
    );
    println!(
        "Sweeper: expired generated logins every {} s; what crashes left (older than {} s) every {} s",
        SweepSchedule::DEV.expire_every.as_secs(),
        SWEEP_GRACE.as_secs(),
        SweepSchedule::DEV.reconcile_every.as_secs()
    );
    println!(
        "Token key set (RS256, as an identity provider publishes it): {key_set}; `make token ALG=rs256` mints a token signed with it"
    );
    println!("Strongroom local API ready on http://127.0.0.1:{port}");
    println!("Dev token (org_dev / user_dev, every scope, 12 h):");
    println!("{dev_token}");
    gateway
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { port, template } => {
            strongroom_aws::logging::init();
            serve(&cli.state_dir, port, &template).await
        }
        Command::Token {
            org,
            user,
            scopes,
            hours,
            alg,
        } => parse_scopes(scopes.as_deref())
            .and_then(|scopes| Ok((scopes, issuer(&cli.state_dir, alg)?)))
            .and_then(|(scopes, issuer)| token(&issuer, &org, &user, scopes, hours))
            .map(|t| println!("{t}")),
    };
    if let Err(error) = result {
        eprintln!("strongroom-local: {error}");
        std::process::exit(1);
    }
}
