//! What Strongroom does about rotations' outcomes: its own failures recorded, the outcomes of
//! rotations it did not drive (AWS's templates, the console) followed, and a rotation left
//! stuck with `AWSPENDING` resumed or cleared.

use credential_model::ports::CredentialRepository;
use credential_model::rotation::{
    CURRENT, DatabaseAccounts, DatabaseLogin, PENDING, RotationControl, RotationStatus,
    RotationVault, Selector,
};
use credential_model::{CredentialId, OrgId, SecretRef};

use crate::{RotationError, Rotator, refused};

/// A rotation outcome Secrets Manager reports (its `RotationSucceeded` / `RotationFailed`
/// events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
}

/// What [`Rotator::recover`] did about a stuck rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// No version was left pending.
    Nothing,
    /// The pending version already worked and the current one did not: it was made current.
    Resumed(String),
    /// The pending version was taken off, so the next rotation can start.
    Cleared(String),
}

impl<R, V, D> Rotator<R, V, D>
where
    R: CredentialRepository,
    V: RotationVault,
    D: DatabaseAccounts,
{
    /// Records a failed step as the credential's rotation state, when the secret leads to
    /// one. Best effort: the step's own error is what Secrets Manager acts on.
    pub(crate) async fn record_failure(&self, secret_id: &str, token: &str, error: &RotationError) {
        let recorded = async {
            let description = self.vault.describe(secret_id).await?;
            let record = self.owner(&description).await?;
            let reason = error.to_string();
            self.amend(&record.record.key, &description.arn, |record| {
                crate::steps::set_state(record, token, RotationStatus::Failed, Some(reason.clone()))
            })
            .await
            .map(|_| ())
        };
        if let Err(error) = recorded.await {
            tracing::debug!(%error, "the failure could not be recorded on a credential");
        }
    }

    /// Follows a rotation outcome Secrets Manager reported for `secret_id`: a success is
    /// recorded with the version (and user) now current, whoever rotated; a failure is
    /// recorded, and a version it left pending resumed or cleared.
    pub async fn follow_outcome(
        &self,
        secret_id: &str,
        outcome: Outcome,
    ) -> Result<(), RotationError> {
        let description = self.vault.describe(secret_id).await?;
        let record = self.owner(&description).await?;
        let key = &record.record.key;
        match outcome {
            Outcome::Succeeded => {
                let current = self
                    .vault
                    .value(&description.arn, Selector::stage(CURRENT))
                    .await?
                    .ok_or_else(|| refused("the secret has no current value"))?;
                let username = DatabaseLogin::parse(&current.document)
                    .ok()
                    .map(|login| login.username);
                self.follow(
                    key,
                    &description.arn,
                    &current.version_id,
                    username.as_deref(),
                    RotationStatus::Succeeded,
                    None,
                )
                .await
            }
            Outcome::Failed => {
                let recovery = self.recover(secret_id).await?;
                let token = description
                    .holder_of(PENDING)
                    .unwrap_or_default()
                    .to_owned();
                let reason = match recovery {
                    Recovery::Resumed(_) => return Ok(()),
                    Recovery::Cleared(_) => {
                        "Secrets Manager reported the rotation failed; its pending version was cleared"
                    }
                    Recovery::Nothing => "Secrets Manager reported the rotation failed",
                };
                self.amend(key, &description.arn, |record| {
                    crate::steps::set_state(
                        record,
                        &token,
                        RotationStatus::Failed,
                        Some(reason.to_owned()),
                    )
                })
                .await
                .map(|_| ())
            }
        }
    }

    /// Unblocks a secret whose last rotation left `AWSPENDING` on a version that is not
    /// current (Secrets Manager refuses the next rotation until then): when the pending login
    /// works and the current one does not — the database was changed and the rotation failed
    /// after — the pending version is made current; otherwise `AWSPENDING` is taken off it.
    pub async fn recover(&self, secret_id: &str) -> Result<Recovery, RotationError> {
        let description = self.vault.describe(secret_id).await?;
        let record = self.owner(&description).await?;
        let (Some(pending), Some(current)) = (
            description.holder_of(PENDING),
            description.holder_of(CURRENT),
        ) else {
            return Ok(Recovery::Nothing);
        };
        if pending == current {
            return Ok(Recovery::Nothing);
        }
        let arn = &description.arn;
        let login = |selector| async move {
            let value = self.vault.value(arn, selector).await?;
            Ok::<_, RotationError>(value.and_then(|v| DatabaseLogin::parse(&v.document).ok()))
        };
        let pending_login = login(Selector::version(pending, PENDING)).await?;
        let current_login = login(Selector::stage(CURRENT)).await?;
        if let (Some(pending_login), Some(current_login)) = (pending_login, current_login)
            && self.accounts.check_login(&current_login).await.is_err()
            && self.accounts.check_login(&pending_login).await.is_ok()
        {
            self.vault
                .move_stage(arn, CURRENT, Some(pending), Some(current))
                .await?;
            self.vault
                .move_stage(arn, PENDING, None, Some(pending))
                .await?;
            self.follow(
                &record.record.key,
                arn,
                pending,
                Some(&pending_login.username),
                RotationStatus::Succeeded,
                None,
            )
            .await?;
            return Ok(Recovery::Resumed(pending.to_owned()));
        }
        self.vault
            .move_stage(arn, PENDING, None, Some(pending))
            .await?;
        Ok(Recovery::Cleared(pending.to_owned()))
    }

    /// Starts a rotation of the credential `id` of `organization` now (a platform team's
    /// "rotate when X happens" rule): only one whose rotation is configured, after
    /// unblocking a rotation left stuck. Returns the new rotation's token.
    pub async fn request(
        &self,
        organization: &OrgId,
        id: CredentialId,
        control: &impl RotationControl,
    ) -> Result<String, RotationError> {
        let key = self
            .repository
            .locate(organization, id)
            .await?
            .ok_or_else(|| refused("no such credential"))?;
        let record = self
            .repository
            .get_any(&key)
            .await?
            .ok_or_else(|| refused("no such credential"))?;
        if record.record.rotation.settings.is_none() {
            return Err(refused("rotation is not configured for this credential"));
        }
        let secret = record.record.secret.0.clone();
        self.recover(&secret).await?;
        let token = uuid::Uuid::new_v4().to_string();
        let token_ref = token.as_str();
        let state = |status, reason: Option<String>| {
            move |record: &mut credential_model::CredentialRecord<serde_json::Value>| {
                crate::steps::set_state(record, token_ref, status, reason.clone())
            }
        };
        // Recorded first: a rotation driven in-process finishes before `rotate_now` returns.
        self.amend(&key, &secret, state(RotationStatus::InProgress, None))
            .await?;
        if let Err(error) = control.rotate_now(&SecretRef(secret.clone()), &token).await {
            let error = RotationError::from(error);
            let reason = Some(error.to_string());
            self.amend(&key, &secret, state(RotationStatus::Failed, reason))
                .await?;
            return Err(error);
        }
        Ok(token)
    }

    /// Schedules the secret of the credential `id` of `organization` when its record carries
    /// rotation settings: a replaced connection keeps how it rotates, and its new secret is
    /// scheduled when Strongroom hears of its creation. Does nothing for one without.
    pub async fn schedule_created(
        &self,
        organization: &OrgId,
        id: CredentialId,
        control: &impl RotationControl,
    ) -> Result<(), RotationError> {
        let Some(key) = self.repository.locate(organization, id).await? else {
            return Ok(());
        };
        let Some(record) = self.repository.get_any(&key).await? else {
            return Ok(());
        };
        let Some(settings) = &record.record.rotation.settings else {
            return Ok(());
        };
        control
            .schedule(&record.record.secret, &settings.schedule)
            .await?;
        Ok(())
    }
}
