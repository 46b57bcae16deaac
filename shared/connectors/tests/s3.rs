//! S3 and GCS (its S3-compatible XML API) with keys of moto's IAM users: moto, enforcing IAM,
//! checks the signature and the action of every request.

mod common;

use common::{assert_failed, assert_passed, canary, test};
use credential_model::Provider;
use credential_model::ports::{FailureKind, Origin};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use strongroom_local_stack::iam::{AccessKey, user_with_actions};
use strongroom_local_stack::testing;

/// A new moto IAM user allowed `actions`, and its key.
async fn key(actions: &[&str]) -> AccessKey {
    let admin = strongroom_aws::config::sdk_config().expect("the environment's AWS configuration");
    let user = format!("tester-{}", testing::unique_suffix());
    user_with_actions(&admin, &user, actions)
        .await
        .expect("a moto IAM user and its key")
}

fn document(engine: &str, endpoint: &str, key: &AccessKey) -> Value {
    json!({"engine": engine, "access_key_id": key.access_key_id,
           "secret_access_key": key.secret_access_key.expose_secret(), "endpoint": endpoint})
}

#[tokio::test]
async fn s3_keys_are_checked_with_a_signed_request() {
    let Some(endpoint) = testing::moto_enforcing_iam() else {
        return;
    };
    let allowed = key(&["s3:ListAllMyBuckets"]).await;
    let secret = allowed.secret_access_key.expose_secret();
    let right = document("s3", &endpoint, &allowed);
    assert_passed(&test(Provider::S3, &right).await);

    let wrong = canary();
    let mut wrong_secret = right.clone();
    wrong_secret["secret_access_key"] = json!(wrong);
    assert_failed(
        &test(Provider::S3, &wrong_secret).await,
        FailureKind::Authentication,
        Origin::Warehouse,
        "SignatureDoesNotMatch",
        &[secret, &wrong],
    );

    let mut unknown_key = right.clone();
    unknown_key["access_key_id"] = json!("AKIAUNKNOWN000000000");
    assert_failed(
        &test(Provider::S3, &unknown_key).await,
        FailureKind::Authentication,
        Origin::Warehouse,
        "InvalidAccessKeyId",
        &[secret],
    );

    let unprivileged = key(&[]).await;
    assert_failed(
        &test(Provider::S3, &document("s3", &endpoint, &unprivileged)).await,
        FailureKind::PermissionDenied,
        Origin::Warehouse,
        "AccessDenied",
        &[unprivileged.secret_access_key.expose_secret()],
    );

    let closed = format!("http://127.0.0.1:{}", testing::closed_port());
    assert_failed(
        &test(Provider::S3, &document("s3", &closed, &allowed)).await,
        FailureKind::Unreachable,
        Origin::Strongroom,
        "connection refused",
        &[secret],
    );
}

#[tokio::test]
async fn gcs_hmac_keys_are_checked_through_the_s3_compatible_api() {
    let Some(endpoint) = testing::moto_enforcing_iam() else {
        return;
    };
    let allowed = key(&["s3:ListAllMyBuckets"]).await;
    let secret = allowed.secret_access_key.expose_secret();
    // GCS's region is `auto`, its default; moto stands in for storage.googleapis.com.
    let right = document("gcs", &endpoint, &allowed);
    assert_passed(&test(Provider::Gcs, &right).await);

    let wrong = canary();
    let mut wrong_secret = right.clone();
    wrong_secret["secret_access_key"] = json!(wrong);
    assert_failed(
        &test(Provider::Gcs, &wrong_secret).await,
        FailureKind::Authentication,
        Origin::Warehouse,
        "SignatureDoesNotMatch",
        &[secret, &wrong],
    );
}
