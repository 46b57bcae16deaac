//! What every tester's test does: a tester, a document, and a failure checked for what failed,
//! who said so and that no secret is in it.

#![allow(dead_code)] // each test crate uses its part

pub mod databases;

use std::time::Duration;

use credential_model::Provider;
use credential_model::ports::{ConnectionTester, FailureKind, Origin, TestFailure, TestOutcome};
use secrecy::SecretString;
use serde_json::Value;
use strongroom_connectors::DatabaseTester;

/// The timeout the families use.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A value no message or Debug output may ever contain.
pub fn canary() -> String {
    format!("Canary-{}-Secret", uuid::Uuid::new_v4().simple())
}

/// Tests `document` (rendered as a family renders it) as `provider`.
pub async fn test(provider: Provider, document: &Value) -> TestOutcome {
    let tester = DatabaseTester::new(TIMEOUT);
    assert!(tester.supports(provider), "{provider} is supported");
    tester
        .test(provider, &SecretString::from(document.to_string()))
        .await
}

/// Asserts `outcome` passed.
pub fn assert_passed(outcome: &TestOutcome) {
    assert_eq!(outcome, &TestOutcome::Passed);
}

/// Asserts `outcome` failed as `kind`, said by `origin`, in words containing `words`, and that
/// neither its detail nor its Debug output holds any of `secrets`.
pub fn assert_failed(
    outcome: &TestOutcome,
    kind: FailureKind,
    origin: Origin,
    words: &str,
    secrets: &[&str],
) -> TestFailure {
    for secret in secrets {
        assert!(
            !format!("{outcome:?}").contains(secret),
            "a secret is in {outcome:?}"
        );
    }
    let TestOutcome::Failed(failure) = outcome else {
        panic!("expected a {kind:?} failure, the test passed");
    };
    assert_eq!((failure.kind, failure.origin), (kind, origin), "{failure}");
    assert!(failure.detail.contains(words), "{failure}");
    failure.clone()
}
