//! The sweeper: one function, two jobs, each on its own EventBridge schedule.
//!
//! - `expire` revokes the generated logins whose lifetime ended, read from the table's sparse
//!   `Due` index (never a scan), and retries failed revocations with back-off until a login is
//!   irrevocable. Batches follow each other until nothing due is left or the time is spent.
//! - `reconcile` cleans what a crash can leave, each thing only once older than the grace
//!   period, so nothing in flight is touched: secrets with no metadata, versions staged and
//!   never made current, and the logins of each registered database left without a lease.
//!
//! Safe to run twice at once (every write is conditional and dropping an absent login
//! succeeds), though the template lets only one run at a time.

use std::time::{Duration, Instant};

use credential_model::generated::{
    GeneratedCredentials, GeneratedLogins, LoginLedger, REGISTERED_DATABASE, RegisteredDatabase,
};
use credential_model::ports::{CredentialRepository, SecretVault};
use credential_model::reconcile::{SecretInventory, sweep_secrets};
use credential_model::service::{KIND_TAG, ORGANIZATION_TAG, RECORD_TAG};
use credential_model::{Error, RecordKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The binary's name, as the template knows it.
pub const BINARY: &str = "strongroom-sweeper";

/// Leases read from the index per batch.
pub const BATCH: usize = 500;

/// What a schedule asks for: the rule's constant input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "job", rename_all = "kebab-case")]
pub enum Job {
    Expire,
    Reconcile,
}

/// What a run did: returned as the invocation's result and logged.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub revoked: usize,
    pub retried_later: usize,
    pub became_irrevocable: usize,
    pub orphan_logins_dropped: usize,
    pub databases_checked: usize,
    pub database_failures: usize,
    pub orphan_secrets_retired: usize,
    pub versions_promoted: usize,
    pub labels_removed: usize,
    pub secret_failures: usize,
    pub milliseconds: u128,
}

/// What the sweeper works with.
pub struct Deps<R, V, L, D> {
    pub generated: GeneratedCredentials<R, V, L, D>,
    /// How old something a crash may have left must be before it is cleaned.
    pub grace: Duration,
    /// When an `expire` run stops starting batches: well inside the function's timeout.
    pub budget: Duration,
}

impl<R, V, L, D> Deps<R, V, L, D>
where
    R: CredentialRepository,
    V: SecretVault + SecretInventory,
    L: LoginLedger,
    D: GeneratedLogins,
{
    /// Runs `job` as of `now`.
    pub async fn run(&self, job: Job, now: OffsetDateTime) -> Result<Report, Error> {
        let report = match job {
            Job::Expire => self.expire(now).await?,
            Job::Reconcile => self.reconcile(now).await,
        };
        tracing::info!(?job, report = ?report, "sweep done");
        Ok(report)
    }

    /// Cleans what crashes left among the deployment's secrets, then the logins of every
    /// registered database (found among those secrets: each has one).
    pub async fn reconcile(&self, now: OffsetDateTime) -> Report {
        let started = Instant::now();
        let store = self.generated.store();
        let secrets = sweep_secrets(
            store.repository(),
            store.vault(),
            store.vault(),
            signed(self.grace),
            now,
        )
        .await;
        let mut report = Report {
            orphan_secrets_retired: secrets.orphans_retired,
            versions_promoted: secrets.versions_promoted,
            labels_removed: secrets.labels_removed,
            secret_failures: secrets.failures + usize::from(!secrets.complete),
            ..Report::default()
        };
        let databases = self.registered_databases(&mut report).await;
        self.orphan_logins(databases, now, &mut report).await;
        report.milliseconds = started.elapsed().as_millis();
        report
    }

    /// The records of every registered database, from their secrets' tags.
    async fn registered_databases(&self, report: &mut Report) -> Vec<RecordKey> {
        let inventory = self.generated.store().vault();
        let kind = REGISTERED_DATABASE.to_string();
        let mut keys = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = match inventory.list(next.as_deref()).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::error!(%error, "could not list the registered databases");
                    report.secret_failures += 1;
                    return keys;
                }
            };
            for secret in page.secrets.iter().filter(|s| s.deleted_at.is_none()) {
                if secret.tag(KIND_TAG) != Some(kind.as_str()) {
                    continue;
                }
                if let (Some(organization), Some(record)) =
                    (secret.tag(ORGANIZATION_TAG), secret.tag(RECORD_TAG))
                {
                    keys.extend(RecordKey::from_tags(organization, record));
                }
            }
            match page.next {
                Some(token) => next = Some(token),
                None => return keys,
            }
        }
    }

    /// Revokes every lease due by `now`, batch after batch, while time is left.
    pub async fn expire(&self, now: OffsetDateTime) -> Result<Report, Error> {
        let started = Instant::now();
        let mut report = Report::default();
        loop {
            let batch = self.generated.sweep_due(now, BATCH).await?;
            report.revoked += batch.revoked;
            report.retried_later += batch.retried_later;
            report.became_irrevocable += batch.became_irrevocable;
            let acted = batch.revoked + batch.retried_later + batch.became_irrevocable;
            if acted < BATCH || started.elapsed() > self.budget {
                break;
            }
        }
        report.milliseconds = started.elapsed().as_millis();
        Ok(report)
    }

    /// Drops the logins a crash left without a lease in each of `databases`; one database
    /// that cannot be reached is counted and logged, and the others still checked.
    pub async fn orphan_logins(
        &self,
        databases: impl IntoIterator<Item = RecordKey>,
        now: OffsetDateTime,
        report: &mut Report,
    ) {
        for key in databases {
            let database = match self.generated.store().get::<RegisteredDatabase>(&key).await {
                Ok(Some(database)) => database,
                Ok(None) => continue,
                Err(error) => {
                    tracing::error!(database = %key.slot, %error, "could not read a registered database");
                    report.database_failures += 1;
                    continue;
                }
            };
            report.databases_checked += 1;
            match self.generated.sweep_orphan_logins(&database, now).await {
                Ok(dropped) => report.orphan_logins_dropped += dropped,
                Err(error) => {
                    tracing::error!(database = %database.attributes.name, %error,
                        "could not look for orphan logins");
                    report.database_failures += 1;
                }
            }
        }
    }
}

/// The sweeper's dependencies in Lambda.
pub type AwsDeps = Deps<
    strongroom_aws::DynamoRepository,
    strongroom_aws::SecretsManagerVault,
    strongroom_aws::DynamoLedger,
    strongroom_connectors::GeneratedLoginsDriver,
>;

/// How old what a crash left must be before it is cleaned, unless
/// `STRONGROOM_SWEEP_GRACE_SECONDS` says otherwise: far longer than any request takes.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(15 * 60);

/// The dependencies on the clients of `sdk`, cleaning what is older than `grace`.
pub fn deps(
    sdk: &strongroom_aws::SdkConfig,
    settings: &strongroom_aws::StoreSettings,
    grace: Duration,
) -> AwsDeps {
    let mut generated = nile::deps(sdk, settings);
    generated.policy_mut().orphan_grace = grace;
    Deps {
        generated,
        grace,
        // The function's timeout is 300 s: the last batch starts well before it.
        budget: Duration::from_secs(200),
    }
}

/// Reads the configuration the template sets and builds the clients.
pub fn deps_from_env() -> Result<AwsDeps, strongroom_aws::ConfigError> {
    let settings = strongroom_aws::StoreSettings::from_env()?;
    let grace =
        match std::env::var("STRONGROOM_SWEEP_GRACE_SECONDS") {
            Ok(text) => Duration::from_secs(text.parse().map_err(|_| {
                strongroom_aws::ConfigError::Invalid {
                    name: "STRONGROOM_SWEEP_GRACE_SECONDS",
                    reason: "must be a whole number of seconds",
                }
            })?),
            Err(_) => DEFAULT_GRACE,
        };
    let (_, sdk) = strongroom_aws::sdk_from_env()?;
    Ok(deps(&sdk, &settings, grace))
}

/// `duration` as the time crate counts, saturating.
fn signed(duration: Duration) -> time::Duration {
    time::Duration::try_from(duration).unwrap_or(time::Duration::MAX)
}
