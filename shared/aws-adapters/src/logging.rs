//! Logging as Lambda's advanced logging controls configure it (`AWS_LAMBDA_LOG_FORMAT`,
//! `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`), with one guard: the crates that print whole
//! requests and responses at DEBUG/TRACE — the AWS SDK (a `CreateSecret` body holds a
//! password), HTTP, TLS, the database driver and the Lambda runtime (an event holds a request
//! body) — are capped at INFO, whatever level an operator asks for.

use std::str::FromStr;

use tracing_subscriber::filter::EnvFilter;
pub use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

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
pub fn filter(level: LevelFilter) -> EnvFilter {
    let cap = level.min(LevelFilter::INFO);
    BODY_PRINTING_CRATES
        .iter()
        .filter_map(|name| format!("{name}={cap}").parse().ok())
        .fold(
            EnvFilter::default().add_directive(level.into()),
            |filter, directive| filter.add_directive(directive),
        )
}

/// Installs the subscriber at `level`, in JSON or text, writing to `writer`. A second call
/// does nothing.
pub fn init_with<W>(level: LevelFilter, json: bool, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter(level))
        .with_writer(writer);
    // Err means a subscriber is already installed, which is fine.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
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

    #[test]
    fn trace_is_capped_for_body_printing_crates() {
        let text = filter(LevelFilter::TRACE).to_string();
        assert!(text.contains("aws_smithy_runtime=info"), "{text}");
        assert!(text.contains("lambda_runtime=info"), "{text}");
        assert!(text.contains("trace"), "{text}");
    }

    #[test]
    fn quieter_levels_are_not_raised() {
        let text = filter(LevelFilter::WARN).to_string();
        assert!(text.contains("aws_smithy_runtime=warn"), "{text}");
    }
}
