//! Rotation as Secrets Manager runs it: `RotateSecret` names Strongroom's rotation function
//! and the schedule (`RotateImmediately=false`), or starts a rotation now under a version id of
//! our choosing (`ClientRequestToken`); `CancelRotateSecret` stops the schedule. Secrets
//! Manager then invokes the function's four steps, so the console, the CLI and AWS's own tools
//! see the state Strongroom sets.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::cancel_rotate_secret::CancelRotateSecretError;
use aws_sdk_secretsmanager::operation::rotate_secret::RotateSecretError;
use aws_sdk_secretsmanager::types::RotationRulesType;
use credential_model::SecretRef;
use credential_model::ports::VaultError;
use credential_model::rotation::{RotationControl, Schedule};

use crate::aws_error;

/// The ARN of the rotation function Secrets Manager invokes. Optional: a stack deployed
/// without one serves everything but scheduling and starting rotations.
pub const ROTATION_FUNCTION_ENV: &str = "STRONGROOM_ROTATION_FUNCTION_ARN";

#[derive(Clone)]
pub struct SecretsManagerRotation {
    client: Client,
    function_arn: Option<String>,
}

impl SecretsManagerRotation {
    pub fn new(client: Client, function_arn: Option<String>) -> Self {
        SecretsManagerRotation {
            client,
            function_arn: function_arn.filter(|arn| !arn.trim().is_empty()),
        }
    }

    /// On `client` (the sandbox's one Secrets Manager client), with the rotation function's
    /// ARN from [`ROTATION_FUNCTION_ENV`] when set.
    pub fn from_env(client: Client) -> Self {
        Self::new(client, std::env::var(ROTATION_FUNCTION_ENV).ok())
    }

    fn function_arn(&self) -> Result<&str, VaultError> {
        self.function_arn.as_deref().ok_or_else(|| {
            VaultError::Unavailable(format!(
                "{ROTATION_FUNCTION_ENV} is not set: this deployment has no rotation function"
            ))
        })
    }
}

/// A rotation call that failed: the secret is gone (it does not exist, or is scheduled for
/// deletion), or Secrets Manager did not do it.
fn failed<E>(error: SdkError<E, HttpResponse>, gone: impl Fn(&E) -> bool) -> VaultError
where
    E: std::error::Error + Send + Sync + 'static,
{
    if error.as_service_error().is_some_and(gone) {
        VaultError::NotFound
    } else {
        VaultError::Unavailable(aws_error::describe(error))
    }
}

impl RotationControl for SecretsManagerRotation {
    async fn schedule(&self, secret: &SecretRef, schedule: &Schedule) -> Result<(), VaultError> {
        let rules = RotationRulesType::builder()
            .schedule_expression(schedule.as_str())
            .build();
        self.client
            .rotate_secret()
            .secret_id(&secret.0)
            .rotation_lambda_arn(self.function_arn()?)
            .rotation_rules(rules)
            .rotate_immediately(false)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed(e, RotateSecretError::is_resource_not_found_exception))
    }

    async fn cancel(&self, secret: &SecretRef) -> Result<(), VaultError> {
        match self
            .client
            .cancel_rotate_secret()
            .secret_id(&secret.0)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // A secret that was never given a rotation function has no rotation to cancel.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(CancelRotateSecretError::is_invalid_request_exception) =>
            {
                Ok(())
            }
            Err(error) => Err(failed(
                error,
                CancelRotateSecretError::is_resource_not_found_exception,
            )),
        }
    }

    async fn rotate_now(&self, secret: &SecretRef, token: &str) -> Result<(), VaultError> {
        self.client
            .rotate_secret()
            .secret_id(&secret.0)
            .rotation_lambda_arn(self.function_arn()?)
            .client_request_token(token)
            .rotate_immediately(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed(e, RotateSecretError::is_resource_not_found_exception))
    }
}
