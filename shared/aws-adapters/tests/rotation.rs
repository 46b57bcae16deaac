//! What `SecretsManagerRotation` asks Secrets Manager, and how it reads the answers. Moto
//! records neither a `ScheduleExpression` nor `RotateImmediately`, so the requests are checked
//! here, on a real client whose transport is `aws-smithy-mocks` (one attempt per call).

use aws_sdk_secretsmanager::Client as Secrets;
use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::operation::cancel_rotate_secret::CancelRotateSecretOutput;
use aws_sdk_secretsmanager::operation::rotate_secret::RotateSecretOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use credential_model::SecretRef;
use credential_model::ports::VaultError;
use credential_model::rotation::{RotationControl, Schedule};
use serde_json::json;
use strongroom_aws::SecretsManagerRotation;

const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:strongroom/org_a/warehouse-connection/1-AbCdEf";
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:strongroom-rotation";

fn rotation(rules: &[&Rule], function: Option<&str>) -> SecretsManagerRotation {
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, rules, |c| c
        .retry_config(RetryConfig::disabled()));
    SecretsManagerRotation::new(client, function.map(str::to_owned))
}

fn secret() -> SecretRef {
    SecretRef(SECRET_ARN.into())
}

/// A Secrets Manager error answer, as the service sends it.
fn error(error_type: &str) -> HttpResponse {
    let body = json!({"__type": error_type, "message": "refused"}).to_string();
    let mut response = HttpResponse::new(400.try_into().expect("a status"), body.into());
    response
        .headers_mut()
        .insert("content-type", "application/x-amz-json-1.1");
    response
}

#[tokio::test]
async fn a_schedule_names_the_function_and_expression_without_rotating_now() {
    let rule = mock!(Secrets::rotate_secret)
        .match_requests(|r| {
            r.secret_id() == Some(SECRET_ARN)
                && r.rotation_lambda_arn() == Some(FUNCTION_ARN)
                && r.rotation_rules()
                    .and_then(|rules| rules.schedule_expression())
                    == Some("cron(0 4 ? * SUN *)")
                && r.rotation_rules()
                    .and_then(|rules| rules.automatically_after_days())
                    .is_none()
                && r.rotate_immediately() == Some(false)
        })
        .then_output(|| RotateSecretOutput::builder().build());
    let control = rotation(&[&rule], Some(FUNCTION_ARN));
    let schedule = Schedule::parse("cron(0 4 ? * SUN *)").expect("valid");
    control
        .schedule(&secret(), &schedule)
        .await
        .expect("scheduled");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn rotating_now_uses_the_token_as_the_new_version() {
    let rule = mock!(Secrets::rotate_secret)
        .match_requests(|r| {
            r.client_request_token() == Some("4f0c2a7e-1d3b-4c5a-9e8f-7a6b5c4d3e2f")
                && r.rotate_immediately() == Some(true)
                && r.rotation_lambda_arn() == Some(FUNCTION_ARN)
                && r.rotation_rules().is_none()
        })
        .then_output(|| RotateSecretOutput::builder().build());
    let control = rotation(&[&rule], Some(FUNCTION_ARN));
    control
        .rotate_now(&secret(), "4f0c2a7e-1d3b-4c5a-9e8f-7a6b5c4d3e2f")
        .await
        .expect("started");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn without_a_rotation_function_nothing_is_sent() {
    let rule = mock!(Secrets::rotate_secret).then_output(|| RotateSecretOutput::builder().build());
    let control = rotation(&[&rule], Some(" "));
    let schedule = Schedule::parse("rate(30 days)").expect("valid");
    let refused = control.schedule(&secret(), &schedule).await;
    assert!(
        matches!(&refused, Err(VaultError::Unavailable(why)) if why.contains("STRONGROOM_ROTATION_FUNCTION_ARN")),
        "{refused:?}"
    );
    assert!(control.rotate_now(&secret(), "t").await.is_err());
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn answers_are_classified() {
    let gone =
        mock!(Secrets::rotate_secret).then_http_response(|| error("ResourceNotFoundException"));
    let throttled =
        mock!(Secrets::rotate_secret).then_http_response(|| error("ThrottlingException"));
    let control = rotation(&[&gone, &throttled], Some(FUNCTION_ARN));
    let schedule = Schedule::parse("rate(1 day)").expect("valid");
    let result = control.schedule(&secret(), &schedule).await;
    assert!(matches!(result, Err(VaultError::NotFound)), "{result:?}");
    let result = control.rotate_now(&secret(), "token").await;
    assert!(
        matches!(result, Err(VaultError::Unavailable(_))),
        "{result:?}"
    );

    // Cancelling where there is nothing to cancel is done; a missing secret is gone.
    let nothing = mock!(Secrets::cancel_rotate_secret)
        .then_http_response(|| error("InvalidRequestException"));
    let done = mock!(Secrets::cancel_rotate_secret)
        .then_output(|| CancelRotateSecretOutput::builder().build());
    let missing = mock!(Secrets::cancel_rotate_secret)
        .then_http_response(|| error("ResourceNotFoundException"));
    let control = rotation(&[&nothing, &done, &missing], None);
    assert!(control.cancel(&secret()).await.is_ok());
    assert!(control.cancel(&secret()).await.is_ok());
    let result = control.cancel(&secret()).await;
    assert!(matches!(result, Err(VaultError::NotFound)), "{result:?}");
}
