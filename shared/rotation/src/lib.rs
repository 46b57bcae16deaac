//! Secrets Manager's rotation protocol for Strongroom's database credentials: the four steps
//! (`createSecret`, `setSecret`, `testSecret`, `finishSecret`), each idempotent, so a rotation
//! retried with the same token after a failure at any point converges on one database change;
//! strategies single-user and alternating-users; and the guards a multi-tenant service needs
//! (only Strongroom's own secrets, only an admin secret of the same organization, never a host
//! change).
//!
//! Rotation is a use case of the same service as the families' writes: `finishSecret` moves
//! `AWSCURRENT` and then records the new version (and user) in the credential's metadata, and
//! every step's outcome is the credential's rotation state.

mod outcome;
mod steps;

use std::sync::Mutex;

use credential_model::ports::{CredentialRepository, StoreError, TestFailure, VaultError};
use credential_model::rotation::{
    DatabaseAccounts, FormatError, PasswordPolicy, RotationSettings, RotationVault,
    SecretDescription, StagedValue,
};
use credential_model::{AnyRecord, RecordKey};

pub use outcome::{Outcome, Recovery};

/// A step of the protocol, as Secrets Manager names it in the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    Set,
    Test,
    Finish,
}

impl Step {
    pub fn parse(step: &str) -> Option<Self> {
        Some(match step {
            "createSecret" => Step::Create,
            "setSecret" => Step::Set,
            "testSecret" => Step::Test,
            "finishSecret" => Step::Finish,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Step::Create => "createSecret",
            Step::Set => "setSecret",
            Step::Test => "testSecret",
            Step::Finish => "finishSecret",
        }
    }
}

/// Why a step failed. None of them carries secret material: database failures are the
/// drivers' scrubbed ones, format errors name keys.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// The event, the secret or the credential does not allow this rotation.
    #[error("refused: {0}")]
    Refused(String),
    #[error("the secret cannot be rotated: {0}")]
    Format(#[from] FormatError),
    #[error("the database refused: {0}")]
    Database(TestFailure),
    #[error("Secrets Manager: {0}")]
    Vault(#[from] VaultError),
    #[error("the metadata store: {0}")]
    Store(#[from] StoreError),
}

fn refused(reason: impl Into<String>) -> RotationError {
    RotationError::Refused(reason.into())
}

/// Where a rotation runs: the secret, the credential that holds it, and how it rotates.
#[derive(Debug, Clone)]
struct Context {
    secret_id: String,
    token: String,
    description: SecretDescription,
    key: RecordKey,
    settings: RotationSettings,
    current: StagedValue,
    /// This sandbox generated the pending password in this rotation's `createSecret`: no
    /// earlier attempt can have set it in the database, so `setSecret` need not try it.
    fresh_pending: bool,
}

/// Runs rotation steps against the ports.
pub struct Rotator<R, V, D> {
    repository: R,
    vault: V,
    accounts: D,
    policy: PasswordPolicy,
    /// What every Strongroom secret's name starts with (`strongroom` → `strongroom/{org}/…`).
    secret_prefix: String,
    /// The context of the rotation the sandbox last ran a step of: Secrets Manager runs the
    /// four steps one after another, usually in one warm sandbox, so the later steps skip the
    /// calls the first one made, re-checking only what may have changed.
    memo: Mutex<Option<Context>>,
}

impl<R, V, D> Rotator<R, V, D>
where
    R: CredentialRepository,
    V: RotationVault,
    D: DatabaseAccounts,
{
    pub fn new(repository: R, vault: V, accounts: D, secret_prefix: impl Into<String>) -> Self {
        Rotator {
            repository,
            vault,
            accounts,
            policy: PasswordPolicy::default(),
            secret_prefix: secret_prefix.into(),
            memo: Mutex::new(None),
        }
    }

    pub fn with_policy(mut self, policy: PasswordPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn repository(&self) -> &R {
        &self.repository
    }

    pub fn vault(&self) -> &V {
        &self.vault
    }

    pub fn accounts(&self) -> &D {
        &self.accounts
    }

    /// Runs `step` of the rotation `token` of `secret_id`. A failure is recorded as the
    /// credential's rotation state (when the credential is known) and returned: Secrets
    /// Manager then retries the whole rotation with the same token.
    pub async fn run(&self, step: Step, secret_id: &str, token: &str) -> Result<(), RotationError> {
        // Boxed: the steps' futures nest deep enough to exhaust the compiler's layout limit.
        let result = Box::pin(self.run_step(step, secret_id, token)).await;
        if let Err(error) = &result {
            tracing::warn!(step = step.name(), secret = secret_id, %error, "rotation step failed");
            self.record_failure(secret_id, token, error).await;
            self.forget();
        }
        result
    }

    fn remembered(&self, secret_id: &str, token: &str) -> Option<Context> {
        let memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        memo.as_ref()
            .filter(|c| c.secret_id == secret_id && c.token == token)
            .cloned()
    }

    fn remember(&self, context: &Context) {
        *self.memo.lock().unwrap_or_else(|e| e.into_inner()) = Some(context.clone());
    }

    fn forget(&self) {
        *self.memo.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The credential `description`'s secret belongs to, if it is a Strongroom secret: its
    /// name under the deployment's prefix and its organization, its tags leading to a record
    /// that still holds this very secret.
    async fn owner(&self, description: &SecretDescription) -> Result<AnyRecord, RotationError> {
        let organization = description.tag(credential_model::service::ORGANIZATION_TAG);
        let slot = description.tag(credential_model::service::RECORD_TAG);
        let key = organization
            .zip(slot)
            .and_then(|(org, slot)| RecordKey::from_tags(org, slot))
            .filter(|key| self.is_ours(&description.name, key.organization.as_str()))
            .ok_or_else(|| refused("not a Strongroom secret"))?;
        let record = self
            .repository
            .get_any(&key)
            .await?
            .ok_or_else(|| refused("no credential holds this secret"))?;
        if record.record.secret.0 != description.arn {
            return Err(refused(
                "the credential holds another secret now (it was replaced)",
            ));
        }
        Ok(record)
    }

    /// Whether a secret named `name` is one Strongroom keeps for `organization`.
    fn is_ours(&self, name: &str, organization: &str) -> bool {
        name.strip_prefix(&self.secret_prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(org, _)| org == organization)
    }
}
