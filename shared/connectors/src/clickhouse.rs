//! ClickHouse connection tests, over its HTTP interface: `SELECT 1` in the stored database.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use credential_model::ports::{FailureKind, Origin, TestFailure};
use http::header::{AUTHORIZATION, HOST};
use http::{Request, StatusCode};
use http_body_util::Empty;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::failure::{failure, incomplete, server_said, within};
use crate::http::{Reply, Server, exchange};
use crate::tls::TlsConfigs;

const ENGINE: &str = "ClickHouse";

#[derive(Deserialize)]
struct ClickhouseSecret {
    host: String,
    port: Option<u16>,
    dbname: Option<String>,
    username: Option<String>,
    password: Option<SecretString>,
    sslmode: Option<String>,
}

pub(crate) async fn test(
    document: &SecretString,
    timeout: Duration,
    tls: &TlsConfigs,
) -> Result<(), TestFailure> {
    let secret: ClickhouseSecret =
        serde_json::from_str(document.expose_secret()).map_err(|_| incomplete(ENGINE))?;
    // `disable` is plain HTTP; any other mode is HTTPS, `verify-full` checking the certificate.
    let tls = match secret.sslmode.as_deref() {
        Some("disable") => None,
        Some("verify-full") => Some(&tls.verify_full),
        _ => Some(&tls.encrypt_only),
    };
    let server = Server {
        host: &secret.host,
        port: secret
            .port
            .unwrap_or(if tls.is_some() { 8443 } else { 8123 }),
        tls,
    };
    let query = {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("query", "SELECT 1");
        if let Some(dbname) = &secret.dbname {
            query.append_pair("database", dbname);
        }
        query.finish()
    };
    let username = secret.username.as_deref().unwrap_or("default");
    let password = secret
        .password
        .as_ref()
        .map(|p| p.expose_secret())
        .unwrap_or_default();
    let credentials = STANDARD.encode(format!("{username}:{password}"));
    let request = Request::get(format!("/?{query}"))
        .header(HOST, server.authority())
        .header(AUTHORIZATION, format!("Basic {credentials}"))
        .body(Empty::new())
        .map_err(|_| incomplete(ENGINE))?;
    let target = server.target();
    let reply = within(timeout, &target, exchange(&server, request)).await?;
    judge(&reply, &target, &[secret.password.as_ref()])
}

/// Passes on ClickHouse's answer to `SELECT 1`; anything else says what the server said.
fn judge(
    reply: &Reply,
    target: &str,
    secrets: &[Option<&SecretString>],
) -> Result<(), TestFailure> {
    if reply.status == StatusCode::OK {
        return if reply.body.trim() == "1" {
            Ok(())
        } else {
            Err(failure(
                FailureKind::Other,
                Origin::Warehouse,
                format!("{target} answered, but not as ClickHouse answers SELECT 1"),
            ))
        };
    }
    // Newer servers send the code in a header too; every version starts the body with it.
    let code = reply
        .headers
        .get("x-clickhouse-exception-code")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or_else(|| exception_code(&reply.body));
    let kind = match (code, reply.status) {
        // UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD, AUTHENTICATION_FAILED
        (Some(192 | 193 | 194 | 516), _) => FailureKind::Authentication,
        // UNKNOWN_DATABASE
        (Some(81), _) => FailureKind::MissingDatabase,
        // IP_ADDRESS_NOT_ALLOWED, DATABASE_ACCESS_DENIED, ACCESS_DENIED
        (Some(195 | 291 | 497), _) => FailureKind::PermissionDenied,
        (_, StatusCode::UNAUTHORIZED) => FailureKind::Authentication,
        (_, StatusCode::FORBIDDEN) => FailureKind::PermissionDenied,
        _ => FailureKind::Other,
    };
    let said = if reply.body.trim().is_empty() {
        format!("HTTP {}", reply.status)
    } else {
        server_said(&reply.body, secrets)
    };
    Err(failure(kind, Origin::Warehouse, said))
}

/// The `N` of a body starting `Code: N` (ClickHouse's error text).
fn exception_code(body: &str) -> Option<u32> {
    let rest = body.trim_start().strip_prefix("Code:")?.trim_start();
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_read_from_old_and_new_bodies() {
        assert_eq!(
            exception_code(
                "Code: 193, e.displayText() = DB::Exception: Wrong password for user app"
            ),
            Some(193)
        );
        assert_eq!(
            exception_code("Code: 516. DB::Exception: app: Authentication failed"),
            Some(516)
        );
        assert_eq!(exception_code("<html>Bad gateway</html>"), None);
    }
}
