//! What every tester says the same way: failures found before or on the way to a server
//! (settings, key material, I/O, TLS, time), and the scrubbing of what a server said.

use std::error::Error;
use std::future::Future;
use std::io;
use std::time::Duration;

use credential_model::ports::{FailureKind, Origin, TestFailure, TestOutcome};
use secrecy::{ExposeSecret, SecretString};

/// The longest server message passed on: enough to say what went wrong, not a whole page.
const MAX_DETAIL_CHARS: usize = 300;

pub(crate) fn failure(kind: FailureKind, origin: Origin, detail: impl Into<String>) -> TestFailure {
    TestFailure {
        kind,
        origin,
        detail: detail.into(),
    }
}

/// The outcome of a test that ends in `result`.
pub(crate) fn outcome(result: Result<(), TestFailure>) -> TestOutcome {
    match result {
        Ok(()) => TestOutcome::Passed,
        Err(failure) => TestOutcome::Failed(failure),
    }
}

/// A document that does not describe a connection to `engine`. serde's own message could quote
/// a value from the document, so it is never passed on.
pub(crate) fn incomplete(engine: &str) -> TestFailure {
    failure(
        FailureKind::InvalidSettings,
        Origin::Strongroom,
        format!("the stored credential is not a complete {engine} connection"),
    )
}

/// An engine whose network part cannot be reached from here, once its other parts passed.
pub(crate) fn not_available_here(engine: &str) -> TestFailure {
    failure(
        FailureKind::Unsupported,
        Origin::Strongroom,
        format!("tests for {engine} are not available here"),
    )
}

/// Key material that does not parse or open: which `field`, and what is wrong with it, said
/// without any of it.
pub(crate) fn key_material(field: &str, problem: impl std::fmt::Display) -> TestFailure {
    failure(
        FailureKind::KeyMaterial,
        Origin::Strongroom,
        format!("the key material in {field} {problem}"),
    )
}

/// Runs `attempt`, giving up after `timeout`.
pub(crate) async fn within<T>(
    timeout: Duration,
    target: &str,
    attempt: impl Future<Output = Result<T, TestFailure>>,
) -> Result<T, TestFailure> {
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(failure(
                FailureKind::Timeout,
                Origin::Strongroom,
                format!("no answer from {target} within {} s", timeout.as_secs()),
            ))
        })
}

/// Says what failed on the way to `target` when a driver's error comes from the network or
/// TLS, looking through its causes: `None` when none of them does.
fn on_the_way(error: &(dyn Error + 'static), target: &str) -> Option<TestFailure> {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls_failed(tls, target));
        }
        if let Some(io) = current.downcast_ref::<io::Error>() {
            // An io::Error's source() skips the error it wraps: TLS streams wrap rustls's there.
            if let Some(tls) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                return Some(tls_failed(tls, target));
            }
            return Some(io_failed(io, target));
        }
        cause = current.source();
    }
    None
}

/// What a driver's error that is not the server's answer says: the network or TLS when one of
/// its causes is, otherwise its own words, without the secrets it might quote.
pub(crate) fn driver_failed(
    error: &(dyn Error + 'static),
    target: &str,
    secrets: &[Option<&SecretString>],
) -> TestFailure {
    on_the_way(error, target).unwrap_or_else(|| {
        failure(
            FailureKind::Other,
            Origin::Strongroom,
            format!("{target}: {}", server_said(&error.to_string(), secrets)),
        )
    })
}

/// A failure to reach `target`.
pub(crate) fn io_failed(error: &io::Error, target: &str) -> TestFailure {
    let (kind, what) = match error.kind() {
        io::ErrorKind::ConnectionRefused => {
            (FailureKind::Unreachable, "connection refused".to_owned())
        }
        io::ErrorKind::TimedOut => (FailureKind::Timeout, "connection timed out".to_owned()),
        io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof => (
            FailureKind::Unreachable,
            "the server closed the connection".to_owned(),
        ),
        _ => (FailureKind::Unreachable, error.to_string()),
    };
    failure(
        kind,
        Origin::Strongroom,
        format!("could not connect to {target}: {what}"),
    )
}

fn tls_failed(error: &rustls::Error, target: &str) -> TestFailure {
    failure(
        FailureKind::Tls,
        Origin::Strongroom,
        format!("TLS with {target} failed: {error}"),
    )
}

/// What a server said, on one line, bounded, with any of `secrets` it quoted masked.
pub(crate) fn server_said(message: &str, secrets: &[Option<&SecretString>]) -> String {
    let mut said = message.split_whitespace().collect::<Vec<_>>().join(" ");
    for secret in secrets.iter().flatten() {
        let secret = secret.expose_secret();
        // A short secret could match ordinary words; a server quoting one that short is unheard of.
        if secret.len() >= 4 {
            said = said.replace(secret, "********");
        }
    }
    // Masked before cut, so no part of a secret survives at the cut.
    said.chars().take(MAX_DETAIL_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_say_refused_timed_out_or_what_else() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        let found = on_the_way(&refused, "db:5432").expect("classified");
        assert_eq!(found.kind, FailureKind::Unreachable);
        assert_eq!(found.origin, Origin::Strongroom);
        assert_eq!(
            found.detail,
            "could not connect to db:5432: connection refused"
        );
        let timed_out = io::Error::from(io::ErrorKind::TimedOut);
        assert_eq!(
            on_the_way(&timed_out, "db:5432").map(|f| f.kind),
            Some(FailureKind::Timeout)
        );
    }

    #[test]
    fn tls_errors_are_found_inside_io_errors() {
        let wrapped = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::Expired),
        );
        let found = on_the_way(&wrapped, "db:443").expect("classified");
        assert_eq!(found.kind, FailureKind::Tls);
        assert!(
            found.detail.starts_with("TLS with db:443 failed: "),
            "{}",
            found.detail
        );
    }

    #[test]
    fn what_a_server_said_is_one_bounded_line_without_secrets() {
        let password = SecretString::from("hunter22-canary");
        let said = server_said(
            &format!(
                "bad\n  password {}\n{}",
                "hunter22-canary",
                "x".repeat(1000)
            ),
            &[Some(&password), None],
        );
        assert!(said.starts_with("bad password ******** x"), "{said}");
        assert!(!said.contains("hunter22-canary"));
        assert_eq!(said.chars().count(), MAX_DETAIL_CHARS);
    }
}
