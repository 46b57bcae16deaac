//! The four steps and the preamble each runs.

use credential_model::audit::{Actor, AuditAction, AuditEvent, Service};
use credential_model::credential::now;
use credential_model::ports::{CredentialRepository, Expected, FailureKind, StoreError};
use credential_model::rotation::{
    CURRENT, DatabaseAccounts, DatabaseLogin, PENDING, PREVIOUS, RotationState, RotationStatus,
    RotationVault, STAGED, Selector, StagedValue, Strategy, alternate_username, with_login,
};
use credential_model::{AnyRecord, CredentialRecord, RecordKey};
use serde_json::Value;

use crate::{Context, RotationError, Rotator, Step, refused};

/// What the preamble found.
enum Found {
    /// The token's version is current already: the rotation is over.
    Done(Context),
    /// The token's version is pending: the step has work to do.
    Pending(Context),
}

impl<R, V, D> Rotator<R, V, D>
where
    R: CredentialRepository,
    V: RotationVault,
    D: DatabaseAccounts,
{
    pub(crate) async fn run_step(
        &self,
        step: Step,
        secret_id: &str,
        token: &str,
    ) -> Result<(), RotationError> {
        // A later step of the rotation this sandbox began: its context stands, except for
        // the token's labels, which the step re-reads.
        if step != Step::Create
            && let Some(context) = self.remembered(secret_id, token)
        {
            return match step {
                Step::Set => self.set(&context).await,
                Step::Test => self.test(&context).await,
                _ => self.finish(&context).await,
            };
        }
        let context = match self.preamble(secret_id, token).await? {
            Found::Done(context) => {
                if step == Step::Finish {
                    self.conclude(&context).await?;
                }
                return Ok(());
            }
            Found::Pending(context) => context,
        };
        self.remember(&context);
        match step {
            Step::Create => self.create(&context).await,
            Step::Set => self.set(&context).await,
            Step::Test => self.test(&context).await,
            Step::Finish => self.finish(&context).await,
        }
    }

    /// What every step checks first, as AWS's templates do, and the multi-tenant guards.
    async fn preamble(&self, secret_id: &str, token: &str) -> Result<Found, RotationError> {
        let description = self.vault.describe(secret_id).await?;
        let record = self.owner(&description).await?;
        let settings = record
            .record
            .rotation
            .settings
            .clone()
            .ok_or_else(|| refused("rotation is not configured for this credential"))?;
        if !description.rotation_enabled {
            return Err(refused("rotation is not enabled for the secret"));
        }
        let stages = description
            .stages_of(token)
            .ok_or_else(|| refused("the token is not a version of the secret"))?;
        let done = stages.iter().any(|s| s == CURRENT);
        if !done && !stages.iter().any(|s| s == PENDING) {
            return Err(refused("the token's version is not AWSPENDING"));
        }
        let current = self
            .vault
            .value(&description.arn, Selector::stage(CURRENT))
            .await?
            .ok_or_else(|| refused("the secret has no current value"))?;
        let context = Context {
            secret_id: secret_id.to_owned(),
            token: token.to_owned(),
            key: record.record.key.clone(),
            description,
            settings,
            current,
            fresh_pending: false,
        };
        Ok(if done {
            Found::Done(context)
        } else {
            Found::Pending(context)
        })
    }

    /// The pending version's value; `None` when it is current already (an earlier attempt
    /// finished the rotation).
    async fn pending(&self, context: &Context) -> Result<Option<StagedValue>, RotationError> {
        let pending = self
            .vault
            .value(
                &context.description.arn,
                Selector::version(&context.token, PENDING),
            )
            .await?
            .ok_or_else(|| refused("the pending version has no value: createSecret first"))?;
        Ok((!pending.stages.iter().any(|s| s == CURRENT)).then_some(pending))
    }

    /// createSecret: the current document with a new password (and, alternating, the other
    /// user), stored as the pending version — unless an earlier attempt stored it already.
    async fn create(&self, context: &Context) -> Result<(), RotationError> {
        let arn = &context.description.arn;
        if self
            .vault
            .value(arn, Selector::version(&context.token, PENDING))
            .await?
            .is_some()
        {
            return Ok(());
        }
        let base = self.hold(context).await?;
        let current = DatabaseLogin::parse(&base.document)?;
        let username = self.rotated_username(context, &current)?;
        let password = self.policy.generate(current.engine);
        // The admin secret is written as `masterarn`, as AWS's alternating-users template and
        // other AWS-native consumers expect it.
        let masterarn = match context.settings.strategy {
            Strategy::SingleUser => None,
            Strategy::AlternatingUsers => self.admin_secret(context, &current).await?,
        };
        let document = with_login(&base.document, &username, &password, masterarn.as_deref())?;
        self.vault
            .put_pending(arn, &context.token, &document)
            .await?;
        self.remember(&Context {
            current: base,
            fresh_pending: true,
            ..context.clone()
        });
        Ok(())
    }

    /// Records the rotation `in-progress` — from then on the credential's own changes to its
    /// secret wait (`CredentialService::update` answers 409) — and returns the version to
    /// build on: the current one, read again if the metadata names another; refused while a
    /// change the metadata names is written but not yet current, which the rotation would
    /// otherwise lose (Secrets Manager retries it).
    async fn hold(&self, context: &Context) -> Result<StagedValue, RotationError> {
        let (key, arn, token) = (&context.key, &context.description.arn, &context.token);
        let record = self
            .amend(key, arn, |record| {
                set_state(record, token, RotationStatus::InProgress, None)
            })
            .await?
            .ok_or_else(|| refused("the credential holds another secret now (it was replaced)"))?;
        if record.secret_version == context.current.version_id {
            return Ok(context.current.clone());
        }
        let named = Selector {
            version_id: Some(&record.secret_version),
            stage: None,
        };
        let in_flight = self
            .vault
            .value(arn, named)
            .await?
            .is_some_and(|named| named.stages.iter().any(|stage| stage == STAGED));
        if in_flight {
            return Err(refused(
                "a change to the credential is being written; the rotation is retried after it",
            ));
        }
        self.vault
            .value(arn, Selector::stage(CURRENT))
            .await?
            .ok_or_else(|| refused("the secret has no current value"))
    }

    /// The user the rotation gives a new password: the current one, or the other of the two.
    fn rotated_username(
        &self,
        context: &Context,
        current: &DatabaseLogin,
    ) -> Result<String, RotationError> {
        Ok(match context.settings.strategy {
            Strategy::SingleUser => current.username.clone(),
            Strategy::AlternatingUsers => alternate_username(&current.username, current.engine)?,
        })
    }

    /// setSecret: makes the database accept the pending password.
    async fn set(&self, context: &Context) -> Result<(), RotationError> {
        let Some(pending) = self.pending(context).await? else {
            return Ok(());
        };
        let pending = DatabaseLogin::parse(&pending.document)?;
        let current = DatabaseLogin::parse(&context.current.document)?;
        if (&pending.host, pending.port) != (&current.host, current.port) {
            return Err(refused(
                "the pending secret names another host or port than the current one",
            ));
        }
        let expected_user = self.rotated_username(context, &current)?;
        if pending.username != expected_user {
            return Err(refused(format!(
                "the pending secret's user must be `{expected_user}`"
            )));
        }
        // Alternating users: the admin login is resolved and its guards passed before any
        // statement reaches a database.
        let admin = match context.settings.strategy {
            Strategy::SingleUser => None,
            Strategy::AlternatingUsers => {
                Some(self.admin_login(context, &current, &pending).await?)
            }
        };
        // An earlier attempt set it already: the database is not touched twice. (A password
        // this sandbox has just generated cannot have been set: one login saved.)
        if !context.fresh_pending && self.accounts.check_login(&pending).await.is_ok() {
            return Ok(());
        }
        let Some(admin) = admin else {
            return self.set_own(context, &current, &pending).await;
        };
        // The credential being rotated must itself work before the admin login is used on
        // its behalf: otherwise whoever can write the secret chooses what the admin does.
        self.accounts
            .check_login(&current)
            .await
            .map_err(RotationError::Database)?;
        self.accounts
            .provision_alternate(&admin, &current, &pending)
            .await
            .map_err(RotationError::Database)
    }

    /// Single user: the user changes its own password, logged in with the current password
    /// or, when that no longer works (a rotation that set the database and failed after),
    /// the previous one.
    async fn set_own(
        &self,
        context: &Context,
        current: &DatabaseLogin,
        pending: &DatabaseLogin,
    ) -> Result<(), RotationError> {
        let failure = match self
            .accounts
            .change_own_password(current, &pending.password)
            .await
        {
            Ok(()) => return Ok(()),
            Err(failure) if failure.kind == FailureKind::Authentication => failure,
            Err(failure) => return Err(RotationError::Database(failure)),
        };
        let previous = self
            .vault
            .value(&context.description.arn, Selector::stage(PREVIOUS))
            .await?
            .map(|previous| DatabaseLogin::parse(&previous.document))
            .transpose()?
            .filter(|previous| {
                (&previous.username, &previous.host, previous.port)
                    == (&pending.username, &pending.host, pending.port)
            });
        let Some(previous) = previous else {
            return Err(RotationError::Database(failure));
        };
        let previous = DatabaseLogin {
            tls: current.tls,
            ..previous
        };
        self.accounts
            .change_own_password(&previous, &pending.password)
            .await
            .map_err(|_| {
                refused(
                    "cannot log in with the previous, current or pending password; the database was not changed",
                )
            })
    }

    /// The admin secret for alternating users: the admin credential the rotation settings
    /// name (set through the API, so it wins), else the secret's `masterarn`.
    async fn admin_secret(
        &self,
        context: &Context,
        current: &DatabaseLogin,
    ) -> Result<Option<String>, RotationError> {
        let Some(id) = context.settings.admin_credential else {
            return Ok(current.masterarn.clone());
        };
        let missing = || refused("the admin credential does not exist");
        let key = self
            .repository
            .locate(&context.key.organization, id)
            .await?
            .ok_or_else(missing)?;
        let admin = self.repository.get_any(&key).await?.ok_or_else(missing)?;
        Ok(Some(admin.record.secret.0))
    }

    /// The admin login for alternating users — of the same organization and host: the one
    /// `createSecret` chose and wrote into the pending version as `masterarn` (so it is not
    /// looked up again), else as [`Self::admin_secret`] finds it.
    async fn admin_login(
        &self,
        context: &Context,
        current: &DatabaseLogin,
        pending: &DatabaseLogin,
    ) -> Result<DatabaseLogin, RotationError> {
        let organization = &context.key.organization;
        let secret = match &pending.masterarn {
            Some(chosen) => chosen.clone(),
            None => self.admin_secret(context, current).await?.ok_or_else(|| {
                refused(
                    "alternating users need an admin login: a `masterarn` or an admin credential",
                )
            })?,
        };
        let admin = self
            .vault
            .value(&secret, Selector::stage(CURRENT))
            .await?
            .filter(|admin| self.is_ours(&admin.name, organization.as_str()))
            .ok_or_else(|| {
                refused("the admin secret is not a Strongroom secret of this organization")
            })?;
        let admin = DatabaseLogin::parse(&admin.document)?;
        if (&admin.host, admin.port) != (&current.host, current.port) {
            return Err(refused("the admin login is for another host"));
        }
        Ok(DatabaseLogin {
            dbname: current.dbname.clone(),
            ..admin
        })
    }

    /// testSecret: the pending login works.
    async fn test(&self, context: &Context) -> Result<(), RotationError> {
        let Some(pending) = self.pending(context).await? else {
            return Ok(());
        };
        let pending = DatabaseLogin::parse(&pending.document)?;
        self.accounts
            .check_login(&pending)
            .await
            .map_err(RotationError::Database)
    }

    /// finishSecret: the pending version becomes current, compare-and-swap from the version
    /// the rotation began from.
    async fn finish(&self, context: &Context) -> Result<(), RotationError> {
        let arn = &context.description.arn;
        let moved = self
            .vault
            .move_stage(
                arn,
                CURRENT,
                Some(&context.token),
                Some(&context.current.version_id),
            )
            .await?;
        if !moved {
            // Current moved since the rotation began: an earlier attempt finished it (then
            // there is only the rest to do), or someone else changed the secret.
            return match self.preamble(&context.secret_id, &context.token).await? {
                Found::Done(context) => self.conclude(&context).await,
                Found::Pending(_) => Err(refused(
                    "the secret's current version changed during the rotation; retry",
                )),
            };
        }
        self.conclude(context).await
    }

    /// What follows the move of `AWSCURRENT`: `AWSPENDING` taken off, and the metadata told.
    /// Secrets Manager takes `AWSPENDING` off itself when it drives the steps; when anything
    /// else does (a local stack, a rotation resumed by hand) nobody would, and a label left
    /// on a version that is not current blocks the next rotation. One write, either way.
    pub(crate) async fn conclude(&self, context: &Context) -> Result<(), RotationError> {
        let arn = &context.description.arn;
        self.vault
            .move_stage(arn, PENDING, None, Some(&context.token))
            .await?;
        // The user now current, without reading it back: the rotation's own (the context
        // read it when the rotation was already over), or the one its strategy made.
        let current = DatabaseLogin::parse(&context.current.document)?;
        let username = if context.current.version_id == context.token {
            current.username
        } else {
            self.rotated_username(context, &current)?
        };
        self.follow(
            &context.key,
            arn,
            &context.token,
            Some(&username),
            RotationStatus::Succeeded,
            None,
        )
        .await?;
        self.forget();
        Ok(())
    }

    /// Records in the metadata that the secret `arn`'s current version is `version_id`, with
    /// its login's `username`, and the rotation's state.
    pub(crate) async fn follow(
        &self,
        key: &RecordKey,
        arn: &str,
        version_id: &str,
        username: Option<&str>,
        status: RotationStatus,
        reason: Option<String>,
    ) -> Result<(), RotationError> {
        self.amend(key, arn, |record| {
            record.secret_version = version_id.to_owned();
            if let Some(username) = username
                && record.settings.contains_key("username")
            {
                record
                    .settings
                    .insert("username".into(), serde_json::Value::from(username));
            }
            set_state(record, version_id, status, reason.clone());
        })
        .await?;
        Ok(())
    }

    /// Applies `change` to the record under `key`, conditionally on the record as read and
    /// retrying when another write came first; the record as it is stored then. A record
    /// that holds another secret than `arn` now (replaced) or none (deleted) is left alone
    /// (`None`); so is one `change` leaves as it was.
    pub(crate) async fn amend(
        &self,
        key: &RecordKey,
        arn: &str,
        change: impl Fn(&mut CredentialRecord<Value>),
    ) -> Result<Option<CredentialRecord<Value>>, RotationError> {
        const ATTEMPTS: usize = 5;
        for _ in 0..ATTEMPTS {
            let Some(read) = self.repository.get_any(key).await? else {
                return Ok(None);
            };
            if read.record.secret.0 != arn {
                return Ok(None);
            }
            let mut record = read.record.clone();
            change(&mut record);
            if record == read.record {
                return Ok(Some(record));
            }
            record.updated_at = now();
            record.version += 1;
            let write = AnyRecord {
                kind: read.kind,
                record,
            };
            let expected = Expected::record(&read.record);
            let written = match outcome_event(&read.record, &write.record) {
                Some(event) => {
                    self.repository
                        .put_any_audited(&write, expected, &event)
                        .await
                }
                None => self.repository.put_any(&write, expected).await,
            };
            match written {
                Ok(()) => return Ok(Some(write.record)),
                Err(StoreError::ConditionFailed) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(RotationError::Store(StoreError::ConditionFailed))
    }
}

/// The audit event of a rotation's outcome, when `written` records one `read` did not: the
/// rotation (its token the subject) succeeded or failed.
fn outcome_event(
    read: &CredentialRecord<Value>,
    written: &CredentialRecord<Value>,
) -> Option<AuditEvent> {
    let state = written.rotation.state.as_ref()?;
    let action = match state.status {
        RotationStatus::Succeeded => AuditAction::RotationSucceeded,
        RotationStatus::Failed => AuditAction::RotationFailed,
        RotationStatus::InProgress => return None,
    };
    let before = read.rotation.state.as_ref();
    if before.is_some_and(|b| b.status == state.status && b.token == state.token) {
        return None;
    }
    Some(AuditEvent::new(
        written.key.organization.clone(),
        action,
        Actor::Service(Service::Rotation),
        Some(written.id),
        state.token.clone(),
    ))
}

/// Sets `record`'s rotation state to `status` for the rotation `token`, unless it says so
/// already.
pub(crate) fn set_state(
    record: &mut CredentialRecord<Value>,
    token: &str,
    status: RotationStatus,
    reason: Option<String>,
) {
    let previous = record.rotation.state.as_ref();
    if previous.is_some_and(|s| {
        s.status == status && s.token.as_deref() == Some(token) && s.reason == reason
    }) {
        return;
    }
    let at = now();
    let last_rotated_at = match status {
        RotationStatus::Succeeded => Some(at),
        _ => previous.and_then(|s| s.last_rotated_at),
    };
    record.rotation.state = Some(RotationState {
        status,
        token: Some(token.to_owned()),
        at,
        last_rotated_at,
        reason,
    });
}
