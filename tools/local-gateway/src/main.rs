//! `strongroom-local`: the local API (`serve`) and dev tokens (`token`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use credential_model::{OrgId, Scope, Scopes, UserId};
use secrecy::SecretString;
use strongroom_auth::TokenIssuer;
use strongroom_local::{EventPump, Functions, Gateway, LOCAL_AUDIENCE, LOCAL_ISSUER};
use strongroom_local_stack::{Template, provision};

#[derive(Parser)]
#[command(about = "Strongroom's local API and dev tokens")]
struct Cli {
    /// Where the local stack keeps its token signing key.
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
    },
}

type Failure = Box<dyn std::error::Error>;

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
    std::fs::write(&path, &key)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(SecretString::from(key))
}

fn token(
    key: &SecretString,
    org: &str,
    user: &str,
    scopes: Scopes,
    hours: i64,
) -> Result<String, Failure> {
    let org =
        OrgId::parse(org).ok_or("--org must be 1-128 characters of letters, digits and _.@+=-")?;
    let user = UserId::parse(user)
        .ok_or("--user must be 1-128 characters of letters, digits and _.@+=-")?;
    Ok(
        TokenIssuer::hs256(key, LOCAL_ISSUER, LOCAL_AUDIENCE)?.issue(
            &org,
            &user,
            scopes,
            hours * 3600,
        )?,
    )
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
    )
    .await?;
    let events = EventPump::new(
        functions.publisher_identity(),
        &stack,
        strongroom_events::DEFAULT_SOURCE,
    )
    .await?;
    tokio::spawn(events.run());
    let gateway = Gateway::new(&template, functions)?;
    let routes = gateway.route_keys();
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
            .await?;
    let dev_token = token(&key, "org_dev", "user_dev", Scopes::all(), 12)?;
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
        } => parse_scopes(scopes.as_deref())
            .and_then(|scopes| Ok((scopes, signing_key(&cli.state_dir)?)))
            .and_then(|(scopes, key)| token(&key, &org, &user, scopes, hours))
            .map(|t| println!("{t}")),
    };
    if let Err(error) = result {
        eprintln!("strongroom-local: {error}");
        std::process::exit(1);
    }
}
