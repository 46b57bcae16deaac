//! Rotation control for the local stack until a local driver of the rotation's four steps is
//! plugged in: Secrets Manager's own `RotateSecret` and `CancelRotateSecret`, sent to moto,
//! naming a rotation function that does not exist there.
//!
//! Moto does what Secrets Manager does before it invokes the function — it records the
//! function and schedule, stages the `AWSPENDING` version — then answers
//! `ResourceNotFoundException` for the function. That outcome, and only that one (the secret is
//! still there, and for "rotate now" the version asked for is staged `AWSPENDING`), counts as
//! done here: the function has nothing to run yet.

use credential_model::SecretRef;
use credential_model::ports::{SecretVault, VaultError};
use credential_model::rotation::{RotationControl, Schedule};
use strongroom_aws::{SdkConfig, SecretsManagerRotation, SecretsManagerVault, StoreSettings};

/// The rotation function the local stack names: moto has no such function.
pub const LOCAL_ROTATION_FUNCTION_ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:strongroom-local-rotation";

pub struct LocalRotation {
    rotation: SecretsManagerRotation,
    /// Reads versions and stages only (`DescribeSecret`), as the emulator's administrator: the
    /// check is the local stack's, not something the function does.
    vault: SecretsManagerVault,
}

impl LocalRotation {
    /// Rotating on `function`'s identity (its template policies, as its Lambda sandbox would
    /// have them); checking on `admin`'s.
    pub fn new(function: &SdkConfig, admin: &SdkConfig, store: &StoreSettings) -> Self {
        LocalRotation {
            rotation: SecretsManagerRotation::new(
                aws_sdk_secretsmanager::Client::new(function),
                Some(LOCAL_ROTATION_FUNCTION_ARN.to_owned()),
            ),
            vault: SecretsManagerVault::new(aws_sdk_secretsmanager::Client::new(admin), store),
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
}

impl RotationControl for LocalRotation {
    async fn schedule(&self, secret: &SecretRef, schedule: &Schedule) -> Result<(), VaultError> {
        match self.rotation.schedule(secret, schedule).await {
            Err(VaultError::NotFound) if self.got_to_the_function(secret, None).await => Ok(()),
            other => other,
        }
    }

    async fn cancel(&self, secret: &SecretRef) -> Result<(), VaultError> {
        self.rotation.cancel(secret).await
    }

    async fn rotate_now(&self, secret: &SecretRef, token: &str) -> Result<(), VaultError> {
        match self.rotation.rotate_now(secret, token).await {
            Err(VaultError::NotFound) if self.got_to_the_function(secret, Some(token)).await => {
                Ok(())
            }
            other => other,
        }
    }
}
