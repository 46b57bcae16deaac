//! Logging as Lambda's advanced logging controls configure it (`AWS_LAMBDA_LOG_FORMAT`,
//! `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`), with one guard: the crates that print whole
//! requests and responses at DEBUG/TRACE — the AWS SDK (a `CreateSecret` body holds a
//! password), HTTP, TLS, the database driver and the Lambda runtime (an event holds a request
//! body) — are capped at INFO, whatever level an operator asks for.

use std::str::FromStr;

pub use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Crates whose DEBUG/TRACE output can contain secret material.
const BODY_PRINTING_CRATES: &[&str] = &[
    "aws_config",
    "aws_runtime",
    "aws_sdk_dynamodb",
    "aws_sdk_kms",
    "aws_sdk_secretsmanager",
    "aws_sdk_sso",
    "aws_sdk_ssooidc",
    "aws_sdk_sts",
    "aws_sigv4",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_types",
    "h2",
    "hyper",
    "hyper_rustls",
    "hyper_util",
    "lambda_http",
    "lambda_runtime",
    "lambda_runtime_api_client",
    "reqwest",
    "rustls",
    "tokio_postgres",
];

fn requested_level() -> LevelFilter {
    std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|level| LevelFilter::from_str(&level).ok())
        .unwrap_or(LevelFilter::INFO)
}

/// The filter for `level`: everything at `level`, the body-printing crates at most at INFO.
/// (A fixed target list, not `EnvFilter`: no directive parsing and no regex engine at init.)
pub fn filter(level: LevelFilter) -> Targets {
    let cap = level.min(LevelFilter::INFO);
    Targets::new()
        .with_default(level)
        .with_targets(BODY_PRINTING_CRATES.iter().map(|name| (*name, cap)))
}

/// Installs the subscriber at `level`, in JSON or text, writing to `writer`. A second call
/// does nothing.
pub fn init_with<W>(level: LevelFilter, json: bool, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(writer);
    let registry = tracing_subscriber::registry().with(filter(level));
    // Err means a subscriber is already installed, which is fine.
    let _ = if json {
        registry.with(layer.json()).try_init()
    } else {
        registry.with(layer).try_init()
    };
}

/// Installs the subscriber as the environment asks, writing to standard output as Lambda
/// expects.
pub fn init() {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    init_with(requested_level(), json, std::io::stdout);
}

#[cfg(test)]
mod tests {
    use super::*;

    use tracing::Level;

    #[test]
    fn trace_is_capped_for_body_printing_crates() {
        let filter = filter(LevelFilter::TRACE);
        for target in [
            "aws_smithy_runtime::client::orchestrator",
            "lambda_runtime",
            "hyper_util",
        ] {
            assert!(filter.would_enable(target, &Level::INFO), "{target}");
            assert!(!filter.would_enable(target, &Level::DEBUG), "{target}");
        }
        assert!(filter.would_enable("strongroom_aws::dynamodb", &Level::TRACE));
    }

    #[test]
    fn quieter_levels_are_not_raised() {
        let filter = filter(LevelFilter::WARN);
        assert!(!filter.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(!filter.would_enable("mielto", &Level::INFO));
        assert!(filter.would_enable("mielto", &Level::WARN));
    }
}
