//! The use cases of generated credentials, written once against the ports: register a
//! database, issue a login, list, revoke, rotate a scope, and the sweeper's passes.
//!
//! Issuing creates the role first (one transaction in the database), then its lease
//! conditionally, and drops the role when the lease cannot be written. The password is never
//! written anywhere: issuing costs no Secrets Manager write at all, so the account's 50 writes
//! per second never cap issuance. A crash between the two leaves a role with no lease, which
//! the sweeper finds by its database's prefix once older than its grace period.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::SecretString;
use time::OffsetDateTime;

use super::lease::{Lease, LeaseKey, LeaseScope, LeaseState, LoginLedger, login_name};
use super::{GeneratedLogins, NewLogin, RegisteredDatabase};
use crate::audit::{Actor, AuditAction, AuditEvent, Service};
use crate::credential::{CredentialId, CredentialRecord, RecordKey, now};
use crate::error::{Dependency, Error};
use crate::ports::{CredentialRepository, SecretVault, StoreError, TestFailure};
use crate::rotation::{DatabaseLogin, PasswordPolicy};
use crate::service::{CredentialService, NewCredential, store_error};
use crate::tenancy::{Caller, OrgId};

/// A registered database and its admin login, read once per sweep.
type DatabaseAdmin = (CredentialRecord<RegisteredDatabase>, DatabaseLogin);

/// How leases are given and taken back.
#[derive(Debug, Clone)]
pub struct LeasePolicy {
    pub password: PasswordPolicy,
    /// How long after a lease ends the database stops the login by itself: the sweeper acts at
    /// the end, the database a little later, so a stopped sweeper still stops every login.
    pub database_margin: Duration,
    /// Revocations tried before a lease is irrevocable (Vault's default, 6).
    pub max_failures: u32,
    /// How old a role without a lease must be before the sweeper drops it: longer than any
    /// issue takes, so a login being issued is never taken for an orphan.
    pub orphan_grace: Duration,
}

impl Default for LeasePolicy {
    fn default() -> Self {
        LeasePolicy {
            password: PasswordPolicy::default(),
            database_margin: Duration::from_secs(5),
            max_failures: 6,
            orphan_grace: Duration::from_secs(15 * 60),
        }
    }
}

/// A database to register: its admin login (the secret document) and Strongroom's settings.
pub struct NewDatabase {
    pub credential: NewCredential<RegisteredDatabase>,
    /// The admin login, as the document holds it, to check before anything is written.
    pub admin: DatabaseLogin,
}

/// A login just issued: its lease, and the password shown once.
pub struct Issued {
    pub lease: Lease,
    pub password: SecretString,
}

/// What one pass of the sweeper did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub revoked: usize,
    pub retried_later: usize,
    pub became_irrevocable: usize,
    pub orphan_logins_dropped: usize,
}

pub struct GeneratedCredentials<R, V, L, D> {
    store: CredentialService<R, V>,
    ledger: L,
    logins: D,
    policy: LeasePolicy,
}

/// Why a database with live credentials is not deregistered.
pub const LIVE_CREDENTIALS: &str =
    "the database has live credentials; delete them first, or delete the database with force=true";

/// `action` by `caller` on `lease`, a login of `database`.
fn login_event(
    caller: &Caller,
    action: AuditAction,
    database: &CredentialRecord<RegisteredDatabase>,
    lease: &Lease,
) -> AuditEvent {
    caller.event(action, Some(database.id), Some(lease.login.clone()))
}

/// `action` by the sweeper on `lease`, a login of the registered database `database` (None
/// when it is gone).
fn sweeper_event(action: AuditAction, database: Option<CredentialId>, lease: &Lease) -> AuditEvent {
    AuditEvent::new(
        lease.organization.clone(),
        action,
        Actor::Service(Service::Sweeper),
        database,
        Some(lease.login.clone()),
    )
}

/// How often a rotation reads a lease again that concurrent rotations keep changing.
const SHORTEN_ATTEMPTS: usize = 8;

/// The key of the registered database `name` of `organization`.
pub fn database_key(organization: OrgId, name: &str) -> RecordKey {
    RecordKey::by_name(organization, super::REGISTERED_DATABASE, name)
}

fn database_error(failure: TestFailure) -> Error {
    Error::Unavailable {
        dependency: Dependency::Database,
        detail: failure.to_string(),
    }
}

/// `at` plus `duration`, saturating far in the future.
fn after(at: OffsetDateTime, duration: Duration) -> OffsetDateTime {
    at.checked_add(time::Duration::try_from(duration).unwrap_or(time::Duration::MAX))
        .unwrap_or(OffsetDateTime::new_utc(
            time::Date::MAX,
            time::Time::MIDNIGHT,
        ))
}

/// The wait before retry `failures` (1, 2, …) of a failed revocation: 30 s doubling, at most an
/// hour, so six tries span about half an hour.
pub fn retry_delay(failures: u32) -> Duration {
    let doubled = 30u64.saturating_mul(1u64 << failures.saturating_sub(1).min(16));
    Duration::from_secs(doubled.min(3600))
}

impl<R, V, L, D> GeneratedCredentials<R, V, L, D>
where
    R: CredentialRepository,
    V: SecretVault,
    L: LoginLedger,
    D: GeneratedLogins,
{
    pub fn new(store: CredentialService<R, V>, ledger: L, logins: D, policy: LeasePolicy) -> Self {
        GeneratedCredentials {
            store,
            ledger,
            logins,
            policy,
        }
    }

    pub fn store(&self) -> &CredentialService<R, V> {
        &self.store
    }

    pub fn ledger(&self) -> &L {
        &self.ledger
    }

    pub fn policy_mut(&mut self) -> &mut LeasePolicy {
        &mut self.policy
    }

    /// Registers a database: its admin login is checked first (it logs in, may create roles,
    /// the roles to grant exist), and nothing is written when it fails.
    pub async fn register(
        &self,
        caller: &Caller,
        key: RecordKey,
        new: NewDatabase,
    ) -> Result<CredentialRecord<RegisteredDatabase>, Error> {
        self.logins
            .check_admin(&new.admin, &new.credential.attributes.grants)
            .await
            .map_err(|failure| Error::Refused(format!("the admin login was refused: {failure}")))?;
        let id = crate::CredentialId::generate();
        self.store
            .create(caller, key, id, new.credential)
            .await
            .map_err(|error| match error {
                Error::Conflict(_) => {
                    Error::Conflict("a database of this name is already registered")
                }
                other => other,
            })
    }

    /// The registered database under `key`.
    pub async fn database(
        &self,
        key: &RecordKey,
    ) -> Result<CredentialRecord<RegisteredDatabase>, Error> {
        self.store.get(key).await?.ok_or(Error::NotFound)
    }

    /// The admin login of `database`, read from its secret's current version.
    pub async fn admin(
        &self,
        database: &CredentialRecord<RegisteredDatabase>,
    ) -> Result<DatabaseLogin, Error> {
        let document = self.store.secret_document(database).await?;
        DatabaseLogin::parse(&document).map_err(|error| Error::Corrupt {
            what: "registered database",
            detail: format!("its admin secret: {error}"),
        })
    }

    /// Issues a login of `database` for `scope`, living `lifetime` (the database's default
    /// when None; never past its maximum).
    pub async fn issue(
        &self,
        caller: &Caller,
        database: &CredentialRecord<RegisteredDatabase>,
        scope: LeaseScope,
        lifetime: Option<Duration>,
    ) -> Result<Issued, Error> {
        let admin = self.admin(database).await?;
        self.issue_as(caller, database, &admin, scope, lifetime)
            .await
    }

    async fn issue_as(
        &self,
        caller: &Caller,
        database: &CredentialRecord<RegisteredDatabase>,
        admin: &DatabaseLogin,
        scope: LeaseScope,
        lifetime: Option<Duration>,
    ) -> Result<Issued, Error> {
        let settings = &database.attributes;
        let lifetime = lifetime
            .unwrap_or(settings.default_lifetime())
            .min(settings.max_lifetime());
        let created_at = now();
        let expires_at = after(created_at, lifetime);
        let login = login_name(&settings.login_prefix, OffsetDateTime::now_utc());
        let password = self.policy.password.generate(admin.engine);
        self.logins
            .create_login(
                admin,
                NewLogin {
                    name: &login,
                    password: &password,
                    valid_until: after(expires_at, self.policy.database_margin),
                    grants: &settings.grants,
                },
            )
            .await
            .map_err(database_error)?;
        let lease = Lease {
            organization: database.key.organization.clone(),
            database: settings.name.clone(),
            login,
            scope,
            created_by: caller.user.clone(),
            created_at,
            expires_at,
            state: LeaseState::Active,
            due_at: Some(expires_at),
            failures: 0,
            last_failure: None,
            rotation_reason: None,
            version: 1,
        };
        let event = caller.event(
            AuditAction::LoginIssued,
            Some(database.id),
            Some(lease.login.clone()),
        );
        if let Err(error) = self.ledger.put(&lease, None, Some(&event)).await {
            // The role was never recorded: take it back now rather than leave it to the sweeper.
            if let Err(undo) = self
                .logins
                .drop_login(admin, &lease.login, &settings.owner)
                .await
            {
                tracing::error!(login = %lease.login, error = %undo,
                    "could not drop the login of a failed issue; the sweeper will");
            }
            return Err(store_error(error));
        }
        tracing::info!(database = %settings.name, login = %lease.login,
            expires_at = %crate::credential::rfc3339(expires_at), "login issued");
        Ok(Issued { lease, password })
    }

    /// Every lease of `database`.
    pub async fn leases(
        &self,
        database: &CredentialRecord<RegisteredDatabase>,
    ) -> Result<Vec<Lease>, Error> {
        self.ledger
            .list(&database.key.organization, &database.attributes.name)
            .await
            .map_err(store_error)
    }

    /// The lease of the login `login` of `database`.
    pub async fn lease(
        &self,
        database: &CredentialRecord<RegisteredDatabase>,
        login: &str,
    ) -> Result<Lease, Error> {
        let key = LeaseKey {
            organization: database.key.organization.clone(),
            database: database.attributes.name.clone(),
            login: login.to_owned(),
        };
        self.ledger
            .get(&key)
            .await
            .map_err(store_error)?
            .ok_or(Error::NotFound)
    }

    /// Revokes `lease` now: the role dropped (sessions terminated), then the lease deleted.
    /// When the database fails, the lease is due again soon for the sweeper — or, `force`d,
    /// forgotten anyway — and the failure is returned.
    pub async fn revoke(
        &self,
        caller: &Caller,
        database: &CredentialRecord<RegisteredDatabase>,
        lease: &Lease,
        force: bool,
    ) -> Result<(), Error> {
        let admin = self.admin(database).await?;
        let event = login_event(caller, AuditAction::LoginRevoked, database, lease);
        match self
            .revoke_as(database, &admin, lease, force, &event)
            .await?
        {
            None => Ok(()),
            Some(failure) => Err(failure),
        }
    }

    /// Drops `lease`'s role as `admin`, and records what happened: the lease deleted with
    /// `event` (None), or its failure counted, irrevocable after too many (what the database
    /// said). The outer error is the metadata store's.
    async fn revoke_as(
        &self,
        database: &CredentialRecord<RegisteredDatabase>,
        admin: &DatabaseLogin,
        lease: &Lease,
        force: bool,
        event: &AuditEvent,
    ) -> Result<Option<Error>, Error> {
        let dropped = self
            .logins
            .drop_login(admin, &lease.login, &database.attributes.owner)
            .await;
        match dropped {
            Ok(()) => {
                self.forget(lease, event).await?;
                tracing::info!(database = %lease.database, login = %lease.login, "login revoked");
                Ok(None)
            }
            Err(failure) if force => {
                tracing::warn!(database = %lease.database, login = %lease.login, %failure,
                    "forced: lease forgotten although the database did not drop the login");
                self.forget(lease, event).await?;
                Ok(None)
            }
            Err(failure) => {
                self.count_failure(lease, &failure).await?;
                Ok(Some(database_error(failure)))
            }
        }
    }

    /// Deletes `lease`, recording `event`; one already deleted or changed by a concurrent
    /// revocation is fine (that revocation recorded its own event).
    async fn forget(&self, lease: &Lease, event: &AuditEvent) -> Result<(), Error> {
        match self.ledger.delete(lease, event).await {
            Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(error) => Err(store_error(error)),
        }
    }

    /// Records a failed revocation of `lease`: due again after a back-off, or irrevocable.
    async fn count_failure(&self, lease: &Lease, failure: &TestFailure) -> Result<(), Error> {
        let failures = lease.failures + 1;
        let irrevocable = failures >= self.policy.max_failures;
        let updated = Lease {
            failures,
            last_failure: Some(failure.to_string()),
            state: if irrevocable {
                LeaseState::Irrevocable
            } else {
                lease.state
            },
            due_at: (!irrevocable).then(|| after(now(), retry_delay(failures))),
            version: lease.version + 1,
            ..lease.clone()
        };
        if irrevocable {
            // A metric in CloudWatch's embedded format: alarms watch for any.
            tracing::error!(
                metric = "IrrevocableLogins",
                database = %lease.database, login = %lease.login, %failure,
                "login could not be revoked after {failures} attempts; it is irrevocable until forced"
            );
        } else {
            tracing::warn!(database = %lease.database, login = %lease.login, %failure,
                failures, "revocation failed; retrying later");
        }
        match self.ledger.put(&updated, Some(lease.version), None).await {
            Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(error) => Err(store_error(error)),
        }
    }

    /// Nile's rotate: a new login for `scope`, and every other login of that scope ends after
    /// `delay` — at once when None — or sooner if its lifetime ends sooner.
    pub async fn rotate(
        &self,
        caller: &Caller,
        database: &CredentialRecord<RegisteredDatabase>,
        scope: LeaseScope,
        delay: Option<Duration>,
        reason: Option<String>,
    ) -> Result<Issued, Error> {
        let admin = self.admin(database).await?;
        let existing = self.leases(database).await?;
        let issued = self
            .issue_as(caller, database, &admin, scope.clone(), None)
            .await?;
        for lease in existing.iter().filter(|lease| lease.scope == scope) {
            match delay {
                None => {
                    // The new login is out: a failure here is the sweeper's to retry.
                    let event = login_event(caller, AuditAction::LoginRevoked, database, lease);
                    match self.revoke_as(database, &admin, lease, false, &event).await {
                        Ok(None) => {}
                        Ok(Some(error)) | Err(error) => {
                            tracing::error!(login = %lease.login, %error,
                                "could not revoke a rotated login; the sweeper will");
                        }
                    }
                }
                Some(delay) => {
                    let event = login_event(caller, AuditAction::LoginShortened, database, lease);
                    self.shorten(
                        database,
                        &admin,
                        lease,
                        after(now(), delay),
                        &reason,
                        &event,
                    )
                    .await?
                }
            }
        }
        Ok(issued)
    }

    /// Brings `lease`'s end forward to `until` (never later than it was), in the database
    /// first, then in the lease. A lease changed meanwhile (another rotation shortened it, the
    /// sweeper counted a failure) is read again and shortened from there; one revoked, or
    /// shortened as much, meanwhile needs nothing more.
    async fn shorten(
        &self,
        database: &CredentialRecord<RegisteredDatabase>,
        admin: &DatabaseLogin,
        lease: &Lease,
        until: OffsetDateTime,
        reason: &Option<String>,
        event: &AuditEvent,
    ) -> Result<(), Error> {
        let mut lease = lease.clone();
        for _ in 0..SHORTEN_ATTEMPTS {
            let until = until.min(lease.expires_at);
            self.logins
                .expire_login(
                    admin,
                    &lease.login,
                    after(until, self.policy.database_margin),
                )
                .await
                .map_err(database_error)?;
            let updated = Lease {
                expires_at: until,
                due_at: lease.due_at.map(|due| due.min(until)),
                rotation_reason: reason.clone(),
                version: lease.version + 1,
                ..lease.clone()
            };
            // An event of its own per attempt: its id is the write's idempotency token, which
            // another write may not reuse.
            let event = AuditEvent {
                id: uuid::Uuid::new_v4(),
                ..event.clone()
            };
            match self
                .ledger
                .put(&updated, Some(lease.version), Some(&event))
                .await
            {
                Ok(()) => {
                    tracing::info!(database = %database.attributes.name, login = %lease.login,
                        until = %crate::credential::rfc3339(until), "rotated login scheduled to end");
                    return Ok(());
                }
                Err(StoreError::ConditionFailed) => {
                    match self.ledger.get(&lease.key()).await.map_err(store_error)? {
                        // Another rotation got there first, as soon or sooner.
                        Some(current) if current.expires_at <= until => return Ok(()),
                        Some(current) => lease = current,
                        None => return Ok(()),
                    }
                }
                Err(error) => return Err(store_error(error)),
            }
        }
        Err(store_error(StoreError::ConditionFailed))
    }

    /// Deregisters the database under `key`. Refused while it has leases, unless `force`d:
    /// then every login is revoked first, and the database stays registered if one fails.
    pub async fn deregister(
        &self,
        caller: &Caller,
        key: &RecordKey,
        force: bool,
    ) -> Result<(), Error> {
        let database = self.database(key).await?;
        let leases = self.leases(&database).await?;
        if !leases.is_empty() {
            if !force {
                return Err(Error::Conflict(LIVE_CREDENTIALS));
            }
            let admin = self.admin(&database).await?;
            for lease in &leases {
                let event = login_event(caller, AuditAction::LoginRevoked, &database, lease);
                if let Some(error) = self
                    .revoke_as(&database, &admin, lease, false, &event)
                    .await?
                {
                    return Err(error);
                }
            }
        }
        self.store
            .delete::<RegisteredDatabase>(caller, key)
            .await
            .map(drop)
    }

    /// The sweeper's pass over leases whose time has come: each read again, then revoked
    /// (expired) or retried (failed before), at most `limit` of them.
    pub async fn sweep_due(&self, now: OffsetDateTime, limit: usize) -> Result<SweepReport, Error> {
        let due = self.ledger.due(now, limit).await.map_err(store_error)?;
        let mut report = SweepReport::default();
        let mut admins: HashMap<(OrgId, String), Option<DatabaseAdmin>> = HashMap::new();
        for key in due {
            let Some(lease) = self.ledger.get(&key).await.map_err(store_error)? else {
                continue;
            };
            if lease.due_at.is_none_or(|due| due > now) {
                continue;
            }
            let place = (key.organization.clone(), key.database.clone());
            if !admins.contains_key(&place) {
                let found = self.database_and_admin(&key).await?;
                admins.insert(place.clone(), found);
            }
            let Some(Some((database, admin))) = admins.get(&place) else {
                continue;
            };
            let failures_before = lease.failures;
            // Due at its end, or again after a revocation that failed.
            let action = if lease.expires_at <= now {
                AuditAction::LoginExpired
            } else {
                AuditAction::LoginRevoked
            };
            let event = sweeper_event(action, Some(database.id), &lease);
            match self
                .revoke_as(database, admin, &lease, false, &event)
                .await?
            {
                None => report.revoked += 1,
                Some(_) if failures_before + 1 >= self.policy.max_failures => {
                    report.became_irrevocable += 1
                }
                Some(_) => report.retried_later += 1,
            }
        }
        Ok(report)
    }

    /// The database a due lease belongs to, with its admin login. A lease whose database is
    /// gone can never be revoked through it: it is forgotten (deregistering revokes every
    /// login first, so only a forced path leaves one).
    async fn database_and_admin(&self, key: &LeaseKey) -> Result<Option<DatabaseAdmin>, Error> {
        let database_key = database_key(key.organization.clone(), &key.database);
        match self.store.get::<RegisteredDatabase>(&database_key).await? {
            Some(database) => {
                let admin = self.admin(&database).await?;
                Ok(Some((database, admin)))
            }
            None => {
                tracing::warn!(database = %key.database, login = %key.login,
                    "a lease of a database no longer registered: forgotten");
                if let Some(lease) = self.ledger.get(key).await.map_err(store_error)? {
                    let event = sweeper_event(AuditAction::LoginRevoked, None, &lease);
                    self.forget(&lease, &event).await?;
                }
                Ok(None)
            }
        }
    }

    /// Drops the logins of `database` a crash left without a lease: generated under its
    /// prefix, older than the grace period, with no lease. Returns how many.
    pub async fn sweep_orphan_logins(
        &self,
        database: &CredentialRecord<RegisteredDatabase>,
        now: OffsetDateTime,
    ) -> Result<usize, Error> {
        let admin = self.admin(database).await?;
        let prefix = &database.attributes.login_prefix;
        let names = self
            .logins
            .logins_with_prefix(&admin, prefix)
            .await
            .map_err(database_error)?;
        let leased: std::collections::HashSet<String> = self
            .leases(database)
            .await?
            .into_iter()
            .map(|lease| lease.login)
            .collect();
        let cutoff = now - time::Duration::try_from(self.policy.orphan_grace).unwrap_or_default();
        let mut dropped = 0;
        for name in names {
            let old_enough = super::lease::login_created_at(prefix, &name)
                .is_some_and(|created| created < cutoff);
            if !old_enough || leased.contains(&name) {
                continue;
            }
            // Read again: a lease written since the list above is not an orphan's.
            let key = LeaseKey {
                organization: database.key.organization.clone(),
                database: database.attributes.name.clone(),
                login: name.clone(),
            };
            if self.ledger.get(&key).await.map_err(store_error)?.is_some() {
                continue;
            }
            self.logins
                .drop_login(&admin, &name, &database.attributes.owner)
                .await
                .map_err(database_error)?;
            tracing::warn!(database = %database.attributes.name, login = %name,
                "dropped a login left without its lease");
            dropped += 1;
        }
        Ok(dropped)
    }
}
