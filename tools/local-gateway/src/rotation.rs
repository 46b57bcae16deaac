//! Rotation in the local stack, as Secrets Manager runs it in AWS: `RotateSecret` sent to moto
//! (which records the function and stages the empty `AWSPENDING` version, then answers
//! `ResourceNotFoundException`: moto cannot invoke a Lambda), then the rotation function's four
//! steps run in-process with that token, on the rotation function's own IAM identity — what
//! Secrets Manager's invocations would do.
//!
//! Two things moto does differently are bridged here, and only here: it enables rotation only
//! for `AutomaticallyAfterDays` rules (it ignores `ScheduleExpression`), so a schedule is sent
//! as days; and its "function not found" answer counts as the function's turn, once the
//! versions show that moto got that far.

use std::sync::Arc;

use aws_sdk_secretsmanager::types::RotationRulesType;
use credential_model::SecretRef;
use credential_model::ports::{SecretVault, VaultError};
use credential_model::rotation::{RotationControl, Schedule};
use rotation::AwsRotator;
use strongroom_aws::{SdkConfig, SecretsManagerVault, StoreSettings};
use strongroom_rotation::Step;

/// The rotation function the local stack names: moto has no such function.
pub const LOCAL_ROTATION_FUNCTION_ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:strongroom-local-rotation";

pub struct LocalRotation {
    /// `RotateSecret` and `CancelRotateSecret`, on the calling function's identity.
    client: aws_sdk_secretsmanager::Client,
    /// Reads versions and stages only (`DescribeSecret`), as the emulator's administrator: the
    /// check is the local stack's, not something the function does.
    vault: SecretsManagerVault,
    /// The rotation function, on its own identity.
    rotator: Arc<AwsRotator>,
}

impl LocalRotation {
    /// Rotating on `function`'s identity (its template policies, as its Lambda sandbox would
    /// have them), checking on `admin`'s, the steps run by `rotator`.
    pub fn new(
        function: &SdkConfig,
        admin: &SdkConfig,
        store: &StoreSettings,
        rotator: Arc<AwsRotator>,
    ) -> Self {
        LocalRotation {
            client: aws_sdk_secretsmanager::Client::new(function),
            vault: SecretsManagerVault::new(aws_sdk_secretsmanager::Client::new(admin), store),
            rotator,
        }
    }

    /// Whether the secret's versions show that the rotation got as far as moto goes: the
    /// secret exists and, when `pending` names a version, it is staged `AWSPENDING`.
    async fn got_to_the_function(&self, secret: &SecretRef, pending: Option<&str>) -> bool {
        match self.vault.versions(secret).await {
            Ok(versions) => pending.is_none_or(|token| {
                versions
                    .iter()
                    .any(|(id, stages)| id == token && stages.iter().any(|s| s == "AWSPENDING"))
            }),
            Err(_) => false,
        }
    }

    /// `RotateSecret` on moto; its "function not found" is the function's turn.
    async fn rotate_secret(
        &self,
        secret: &SecretRef,
        rules: Option<RotationRulesType>,
        token: Option<&str>,
    ) -> Result<(), VaultError> {
        let result = self
            .client
            .rotate_secret()
            .secret_id(&secret.0)
            .rotation_lambda_arn(LOCAL_ROTATION_FUNCTION_ARN)
            .set_rotation_rules(rules)
            .set_client_request_token(token.map(str::to_owned))
            .rotate_immediately(token.is_some())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
                    && self.got_to_the_function(secret, token).await =>
            {
                Ok(())
            }
            Err(error) => Err(VaultError::Unavailable(
                strongroom_aws::aws_error::describe(error),
            )),
        }
    }
}

/// A schedule as the days moto understands: `rate(N days)` is N, anything more frequent a day.
fn as_days(schedule: &Schedule) -> i64 {
    schedule
        .as_str()
        .strip_prefix("rate(")
        .and_then(|rate| rate.strip_suffix(" days)").or(rate.strip_suffix(" day)")))
        .and_then(|days| days.trim().parse().ok())
        .unwrap_or(1)
}

impl RotationControl for LocalRotation {
    async fn schedule(&self, secret: &SecretRef, schedule: &Schedule) -> Result<(), VaultError> {
        let rules = RotationRulesType::builder()
            .automatically_after_days(as_days(schedule))
            .build();
        self.rotate_secret(secret, Some(rules), None).await
    }

    async fn cancel(&self, secret: &SecretRef) -> Result<(), VaultError> {
        let result = self
            .client
            .cancel_rotate_secret()
            .secret_id(&secret.0)
            .send()
            .await;
        result
            .map(|_| ())
            .map_err(|e| VaultError::Unavailable(strongroom_aws::aws_error::describe(e)))
    }

    /// Starts the rotation, then runs its four steps as Secrets Manager invokes the function.
    /// As in AWS, the rotation's outcome is the credential's rotation state, not this call's
    /// answer: a failed step is recorded there by the rotation function.
    async fn rotate_now(&self, secret: &SecretRef, token: &str) -> Result<(), VaultError> {
        self.rotate_secret(secret, None, Some(token)).await?;
        for step in [Step::Create, Step::Set, Step::Test, Step::Finish] {
            if let Err(error) = self.rotator.run(step, &secret.0, token).await {
                tracing::warn!(step = step.name(), %error, "local rotation failed");
                break;
            }
        }
        Ok(())
    }
}
