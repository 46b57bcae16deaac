//! The sweeper's use case: what a crash between the two stores' writes leaves behind (DESIGN
//! §3), put right. A change writes the secret first and the metadata second, so a crash leaves:
//!
//! - a secret no metadata names (a create that died before its metadata write, a failed undo,
//!   the secret of a replaced credential whose retirement failed): retired, recoverable for the
//!   vault's recovery window;
//! - a version staged (`STRONGROOM_STAGED`) that the metadata names but that never became
//!   current (an update that died before making it current): made current, as that update
//!   would have, with the same compare-and-swap;
//! - a staged version the metadata does not name (an update that died before its metadata
//!   write, or lost its race), or one a rotation outside Strongroom has overtaken: its label
//!   removed, so a rotation no longer waits for a change that will never finish.
//!
//! Only what is older than a grace period is touched, so no request in flight is. No secret
//! value is read: the inventory lists names, tags, dates and labels.

use std::future::Future;

use time::{Duration, OffsetDateTime};

use crate::credential::{RecordKey, SecretRef};
use crate::ports::{CredentialRepository, SecretVault, StoreError, VaultError};
use crate::rotation::{CURRENT, PREVIOUS, STAGED};
use crate::service::{ORGANIZATION_TAG, RECORD_TAG};

/// A secret as the inventory lists it: never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSecret {
    /// Its ARN.
    pub secret: SecretRef,
    pub name: String,
    pub tags: Vec<(String, String)>,
    pub created_at: Option<OffsetDateTime>,
    /// When it is to be deleted, if it is scheduled for deletion.
    pub deleted_at: Option<OffsetDateTime>,
    /// Every labelled version's id and its labels.
    pub versions: Vec<(String, Vec<String>)>,
}

impl ListedSecret {
    /// The value of its tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value.as_str())
    }

    /// The version that holds `stage`.
    fn holder_of(&self, stage: &str) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage))
            .map(|(version, _)| version.as_str())
    }
}

/// One page of the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretPage {
    pub secrets: Vec<ListedSecret>,
    /// Where the next page starts; `None` on the last.
    pub next: Option<String>,
}

/// The deployment's secrets as a whole, for the sweeper: what [`SecretVault`], which only
/// reaches a secret by its reference, cannot do.
pub trait SecretInventory: Send + Sync {
    /// One page of the secrets under the deployment's name prefix, from the start (`None`) or
    /// from where the previous page said the next starts. Secrets scheduled for deletion may be
    /// left out; those listed say so (`deleted_at`).
    fn list(
        &self,
        page: Option<&str>,
    ) -> impl Future<Output = Result<SecretPage, VaultError>> + Send;

    /// When each labelled version of `secret` was created: one more call per secret, which
    /// the listing does not answer.
    fn version_dates(
        &self,
        secret: &SecretRef,
    ) -> impl Future<Output = Result<Vec<(String, OffsetDateTime)>, VaultError>> + Send;

    /// Removes the label `STRONGROOM_STAGED` from version `version_id`, only if it holds it:
    /// `Ok(false)` when it does not (another change staged since), and nothing changed.
    fn unstage(
        &self,
        secret: &SecretRef,
        version_id: &str,
    ) -> impl Future<Output = Result<bool, VaultError>> + Send;
}

/// What a sweep did. Each secret counts once, in `seen` and at most one other count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Secrets listed under the deployment's prefix.
    pub seen: usize,
    /// Secrets no metadata names, scheduled for deletion.
    pub orphans_retired: usize,
    /// Staged versions the metadata names, made current.
    pub versions_promoted: usize,
    /// `STRONGROOM_STAGED` labels removed from versions nothing will make current.
    pub labels_removed: usize,
    /// Secrets under the prefix without the tags that lead to a record: left alone.
    pub unrecognized: usize,
    /// Secrets whose reconciliation failed (each logged): the next sweep tries them again.
    pub failures: usize,
    /// Whether the whole inventory was listed: false when a page could not be read.
    pub complete: bool,
}

#[derive(Debug, thiserror::Error)]
enum SweepError {
    #[error("metadata: {0}")]
    Store(#[from] StoreError),
    #[error("vault: {0}")]
    Vault(#[from] VaultError),
}

/// What reconciling one secret did.
enum Outcome {
    Untouched,
    Unrecognized,
    Retired,
    Promoted,
    Unstaged,
}

/// Puts right what crashes left among the inventory's secrets older than `grace` at `now`.
/// A failure on one secret is logged and counted, and the sweep goes on; a page that cannot
/// be listed ends it (`complete` is false).
pub async fn sweep_secrets<R, V, I>(
    repository: &R,
    vault: &V,
    inventory: &I,
    grace: Duration,
    now: OffsetDateTime,
) -> ReconcileReport
where
    R: CredentialRepository,
    V: SecretVault,
    I: SecretInventory,
{
    let sweep = Sweep {
        repository,
        vault,
        inventory,
        cutoff: now - grace,
    };
    let mut report = ReconcileReport::default();
    let mut page: Option<String> = None;
    loop {
        let listed = match inventory.list(page.as_deref()).await {
            Ok(listed) => listed,
            Err(error) => {
                tracing::error!(%error, seen = report.seen,
                    "could not list the secrets; the sweep stops here");
                return report;
            }
        };
        for secret in &listed.secrets {
            report.seen += 1;
            match sweep.reconcile(secret).await {
                Ok(Outcome::Untouched) => {}
                Ok(Outcome::Unrecognized) => report.unrecognized += 1,
                Ok(Outcome::Retired) => report.orphans_retired += 1,
                Ok(Outcome::Promoted) => report.versions_promoted += 1,
                Ok(Outcome::Unstaged) => report.labels_removed += 1,
                // Deleted since it was listed: nothing left to put right.
                Err(SweepError::Vault(VaultError::NotFound)) => {}
                Err(error) => {
                    report.failures += 1;
                    tracing::error!(secret = %secret.secret, %error,
                        "could not reconcile a secret; the next sweep tries again");
                }
            }
        }
        match listed.next {
            Some(next) => page = Some(next),
            None => {
                report.complete = true;
                return report;
            }
        }
    }
}

struct Sweep<'a, R, V, I> {
    repository: &'a R,
    vault: &'a V,
    inventory: &'a I,
    /// Only what was created at or before this is old enough to touch.
    cutoff: OffsetDateTime,
}

impl<R, V, I> Sweep<'_, R, V, I>
where
    R: CredentialRepository,
    V: SecretVault,
    I: SecretInventory,
{
    /// Whether something created `at` is past the grace period. An unknown date is not.
    fn settled(&self, at: Option<OffsetDateTime>) -> bool {
        at.is_some_and(|at| at <= self.cutoff)
    }

    async fn reconcile(&self, secret: &ListedSecret) -> Result<Outcome, SweepError> {
        if secret.deleted_at.is_some() || !self.settled(secret.created_at) {
            return Ok(Outcome::Untouched);
        }
        let key = secret
            .tag(ORGANIZATION_TAG)
            .zip(secret.tag(RECORD_TAG))
            .and_then(|(organization, record)| RecordKey::from_tags(organization, record));
        let Some(key) = key else {
            tracing::warn!(secret = %secret.secret,
                "a secret under the prefix without tags naming its record; left alone");
            return Ok(Outcome::Unrecognized);
        };
        // A record under the key that names another secret: this one was replaced.
        let named_version = match self.repository.get_any(&key).await? {
            Some(found) if found.record.secret == secret.secret => found.record.secret_version,
            _ => {
                self.vault.retire(&secret.secret).await?;
                tracing::info!(secret = %secret.secret, "retired a secret no metadata names");
                return Ok(Outcome::Retired);
            }
        };
        let staged = match secret.holder_of(STAGED) {
            Some(staged) if secret.holder_of(CURRENT) != Some(staged) => staged,
            // Nothing staged, or the staged version was made current: a finished change.
            _ => return Ok(Outcome::Untouched),
        };
        self.settle_staged(secret, staged, &named_version).await
    }

    /// A version staged and not current: made current when the metadata names it and nothing
    /// has overtaken it, unlabelled otherwise.
    async fn settle_staged(
        &self,
        secret: &ListedSecret,
        staged: &str,
        named_version: &str,
    ) -> Result<Outcome, SweepError> {
        let dates = self.inventory.version_dates(&secret.secret).await?;
        let created = |version: &str| {
            dates
                .iter()
                .find(|(id, _)| id == version)
                .map(|(_, at)| *at)
        };
        if !self.settled(created(staged)) {
            return Ok(Outcome::Untouched);
        }
        let current = secret.holder_of(CURRENT);
        // Made current once and replaced since, or older than the current version: a
        // rotation outside Strongroom came after it, and promoting it would undo that
        // rotation (`CredentialService::update` merges from the current version then too).
        // A current version of unknown date overtakes nothing.
        let overtaken = secret
            .versions
            .iter()
            .any(|(id, stages)| id == staged && stages.iter().any(|s| s == PREVIOUS))
            || current.and_then(created) > created(staged);
        if staged == named_version && !overtaken {
            let current = current.ok_or_else(|| {
                VaultError::Unavailable("the secret has no current version".into())
            })?;
            if !self
                .vault
                .move_current(&secret.secret, staged, current)
                .await?
            {
                return Ok(Outcome::Untouched);
            }
            tracing::info!(secret = %secret.secret, version = staged,
                "made current a version the metadata names");
            return Ok(Outcome::Promoted);
        }
        if !self.inventory.unstage(&secret.secret, staged).await? {
            return Ok(Outcome::Untouched);
        }
        tracing::info!(secret = %secret.secret, version = staged,
            "unlabelled a staged version that will never be made current");
        Ok(Outcome::Unstaged)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::connection::DatabaseLogin;
    use crate::credential::{Attributes, CredentialId, CredentialKind, CredentialRecord, now};
    use crate::document::{Document, SecretValue};
    use crate::ports::{Expected, NewSecret};
    use crate::provider::Provider;
    use crate::service::{CredentialService, NewCredential};
    use crate::testing::{INVENTORY_PAGE, MemoryRepository, MemoryVault, caller};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Named {
        name: String,
    }

    impl Attributes for Named {
        const KIND: CredentialKind = CredentialKind::GenericCredential;
    }

    type Service = CredentialService<MemoryRepository, MemoryVault>;

    const GRACE: Duration = Duration::minutes(15);

    fn service() -> Service {
        CredentialService::new(MemoryRepository::default(), MemoryVault::default())
    }

    fn document(password: &str) -> Document {
        DatabaseLogin {
            host: Some("db".into()),
            password: Some(SecretValue::text(password)),
            ..DatabaseLogin::default()
        }
        .document(Provider::Postgres)
    }

    async fn created(service: &Service) -> CredentialRecord<Named> {
        let id = CredentialId::generate();
        let key = RecordKey::item(caller().organization, CredentialKind::GenericCredential, id);
        let new = NewCredential {
            document: document("first"),
            attributes: Named { name: "n".into() },
            expires_at: None,
        };
        service
            .create(&caller(), key, id, new)
            .await
            .expect("created")
    }

    fn key_tags(key: &RecordKey) -> Vec<(String, String)> {
        vec![
            (ORGANIZATION_TAG.into(), key.organization.to_string()),
            (RECORD_TAG.into(), key.slot_tag()),
        ]
    }

    /// A secret of a credential `id` with `tags`, and no record.
    async fn secret(service: &Service, id: CredentialId, tags: Vec<(String, String)>) -> SecretRef {
        service
            .vault()
            .create(NewSecret {
                name: format!("org_a/generic-credential/{id}"),
                description: "test".into(),
                document: &document("orphan").render(),
                tags,
                idempotency_token: id.to_string(),
            })
            .await
            .expect("created")
            .secret
    }

    /// A secret as a create leaves it when it dies before writing its metadata: tagged with
    /// a record that does not exist.
    async fn orphan(service: &Service) -> SecretRef {
        let id = CredentialId::generate();
        let key = RecordKey::item(caller().organization, CredentialKind::GenericCredential, id);
        secret(service, id, key_tags(&key)).await
    }

    /// A version of `record`'s secret staged by a change that died before its metadata write.
    async fn staged(service: &Service, record: &CredentialRecord<Named>) -> String {
        service
            .vault()
            .stage(
                &record.secret,
                &document("second").render(),
                &uuid::Uuid::new_v4().to_string(),
            )
            .await
            .expect("staged")
    }

    /// A change that died after its metadata write, before making its version current: the
    /// record it wrote.
    async fn written_not_current(
        service: &Service,
        record: &CredentialRecord<Named>,
    ) -> CredentialRecord<Named> {
        let written = CredentialRecord {
            secret_version: staged(service, record).await,
            version: record.version + 1,
            ..record.clone()
        };
        service
            .repository()
            .put(&written, Expected::record(record))
            .await
            .expect("metadata written");
        written
    }

    async fn sweep(service: &Service, now: OffsetDateTime) -> ReconcileReport {
        sweep_secrets(
            service.repository(),
            service.vault(),
            service.vault(),
            GRACE,
            now,
        )
        .await
    }

    async fn current(service: &Service, secret: &SecretRef) -> String {
        service
            .vault()
            .current_version(secret)
            .await
            .expect("described")
    }

    async fn labels(service: &Service, secret: &SecretRef, version: &str) -> Vec<String> {
        service
            .vault()
            .versions(secret)
            .await
            .expect("described")
            .into_iter()
            .find(|(id, _)| id == version)
            .map(|(_, stages)| stages)
            .unwrap_or_default()
    }

    /// When version `version` of `secret` was written.
    async fn written_at(service: &Service, secret: &SecretRef, version: &str) -> OffsetDateTime {
        let read = service.vault().read_version(secret, version).await;
        read.ok()
            .and_then(|read| read.created_at)
            .map(OffsetDateTime::from)
            .expect("a dated version")
    }

    fn report(seen: usize) -> ReconcileReport {
        ReconcileReport {
            seen,
            complete: true,
            ..ReconcileReport::default()
        }
    }

    #[tokio::test]
    async fn a_secret_no_metadata_names_is_retired_and_a_named_one_stays() {
        let service = service();
        let kept = created(&service).await;
        let lost = orphan(&service).await;
        assert_eq!(
            sweep(&service, now()).await,
            ReconcileReport {
                orphans_retired: 1,
                ..report(2)
            }
        );
        assert_eq!(service.vault().live_secrets(), vec![kept.secret.0]);
        assert!(
            service.vault().read_current(&lost).await.is_err(),
            "scheduled for deletion"
        );
        assert_eq!(
            sweep(&service, now()).await,
            report(2),
            "nothing left to do"
        );
    }

    #[tokio::test]
    async fn a_secret_whose_record_names_another_secret_is_retired() {
        let service = service();
        let record = created(&service).await;
        // A replaced credential's secret: its record now names the replacement.
        let replaced = secret(&service, CredentialId::generate(), key_tags(&record.key)).await;
        let report = sweep(&service, now()).await;
        assert_eq!(report.orphans_retired, 1);
        assert_eq!(service.vault().live_secrets(), vec![record.secret.0]);
        assert!(service.vault().read_current(&replaced).await.is_err());
    }

    #[tokio::test]
    async fn a_staged_version_the_metadata_names_is_made_current() {
        let service = service();
        let record = created(&service).await;
        let written = written_not_current(&service, &record).await;
        assert_eq!(
            sweep(&service, now()).await,
            ReconcileReport {
                versions_promoted: 1,
                ..report(1)
            }
        );
        assert_eq!(
            current(&service, &record.secret).await,
            written.secret_version
        );
        let previous = labels(&service, &record.secret, &record.secret_version).await;
        assert_eq!(previous, vec![PREVIOUS.to_owned()]);
        // Finished: the staged version is current, and the next sweep leaves it.
        assert_eq!(sweep(&service, now()).await, report(1));
    }

    #[tokio::test]
    async fn a_staged_version_nobody_names_loses_its_label_and_nothing_else() {
        let service = service();
        let record = created(&service).await;
        let version = staged(&service, &record).await;
        assert_eq!(
            sweep(&service, now()).await,
            ReconcileReport {
                labels_removed: 1,
                ..report(1)
            }
        );
        assert_eq!(
            current(&service, &record.secret).await,
            record.secret_version
        );
        assert!(labels(&service, &record.secret, &version).await.is_empty());
        assert!(
            service
                .vault()
                .read_version(&record.secret, &version)
                .await
                .is_ok(),
            "the version stays"
        );
        assert_eq!(service.vault().live_secrets(), vec![record.secret.0]);
    }

    #[tokio::test]
    async fn a_staged_version_a_rotation_overtook_is_unlabelled_not_made_current() {
        let service = service();
        // Died before making its version current; then AWS's rotation made a newer one current.
        let first = created(&service).await;
        let written = written_not_current(&service, &first).await;
        let rotated = service
            .vault()
            .rotate_outside(&first.secret, "rotated")
            .expect("rotated");
        // A finished change whose version a rotation then replaced (`AWSPREVIOUS`).
        let second = created(&service).await;
        let finished = service
            .update(
                &caller(),
                &second,
                crate::service::CredentialChange {
                    document: Some(document("changed")),
                    attributes: second.attributes.clone(),
                    expires_at: None,
                },
            )
            .await
            .expect("updated");
        let rotated_second = service
            .vault()
            .rotate_outside(&second.secret, "rotated")
            .expect("rotated");
        assert_eq!(
            sweep(&service, now()).await,
            ReconcileReport {
                labels_removed: 2,
                ..report(2)
            }
        );
        assert_eq!(current(&service, &first.secret).await, rotated);
        assert_eq!(current(&service, &second.secret).await, rotated_second);
        assert!(
            labels(&service, &first.secret, &written.secret_version)
                .await
                .is_empty()
        );
        assert_eq!(
            labels(&service, &second.secret, &finished.secret_version).await,
            vec![PREVIOUS.to_owned()]
        );
    }

    #[tokio::test]
    async fn what_is_younger_than_the_grace_period_is_untouched() {
        let service = service();
        let lost = orphan(&service).await;
        let named = created(&service).await;
        let unnamed = created(&service).await;
        let written = written_not_current(&service, &named).await;
        let version = staged(&service, &unnamed).await;
        // The version staged last is the newest thing: a minute old.
        let newest = written_at(&service, &unnamed.secret, &version).await;
        assert_eq!(
            sweep(&service, newest + Duration::minutes(1)).await,
            report(3)
        );
        // The secrets are past the grace period, the versions staged after them are not.
        let first_staged = written_at(&service, &named.secret, &written.secret_version).await;
        assert_eq!(
            sweep(&service, first_staged + GRACE - Duration::nanoseconds(1)).await,
            ReconcileReport {
                orphans_retired: 1,
                ..report(3)
            },
            "only the orphan is put right"
        );
        assert_eq!(current(&service, &named.secret).await, named.secret_version);
        assert_eq!(
            labels(&service, &named.secret, &written.secret_version).await,
            vec![STAGED.to_owned()]
        );
        assert_eq!(
            labels(&service, &unnamed.secret, &version).await,
            vec![STAGED.to_owned()]
        );
        assert!(service.vault().read_current(&lost).await.is_err());
    }

    #[tokio::test]
    async fn secrets_without_a_record_tag_and_secrets_scheduled_for_deletion_are_left_alone() {
        let service = service();
        let untagged = secret(&service, CredentialId::generate(), Vec::new()).await;
        let organization = (ORGANIZATION_TAG.to_owned(), "org_a".to_owned());
        let unparseable = vec![organization, (RECORD_TAG.into(), "nonsense/1".into())];
        let odd = secret(&service, CredentialId::generate(), unparseable).await;
        let retired = orphan(&service).await;
        service.vault().retire(&retired).await.expect("retired");
        assert_eq!(
            sweep(&service, now()).await,
            ReconcileReport {
                unrecognized: 2,
                ..report(3)
            }
        );
        let mut live = vec![untagged.0, odd.0];
        live.sort();
        assert_eq!(service.vault().live_secrets(), live);
    }

    /// The memory vault's inventory, counting the versions it dates and failing to date one
    /// secret's.
    struct Watched<'a> {
        vault: &'a MemoryVault,
        failing: Option<SecretRef>,
        dated: AtomicUsize,
    }

    impl<'a> Watched<'a> {
        fn new(vault: &'a MemoryVault, failing: Option<SecretRef>) -> Self {
            Watched {
                vault,
                failing,
                dated: AtomicUsize::new(0),
            }
        }
    }

    impl SecretInventory for Watched<'_> {
        async fn list(&self, page: Option<&str>) -> Result<SecretPage, VaultError> {
            self.vault.list(page).await
        }

        async fn version_dates(
            &self,
            secret: &SecretRef,
        ) -> Result<Vec<(String, OffsetDateTime)>, VaultError> {
            self.dated.fetch_add(1, Ordering::Relaxed);
            if self.failing.as_ref() == Some(secret) {
                return Err(VaultError::Unavailable("throttled".into()));
            }
            self.vault.version_dates(secret).await
        }

        async fn unstage(&self, secret: &SecretRef, version_id: &str) -> Result<bool, VaultError> {
            self.vault.unstage(secret, version_id).await
        }
    }

    #[tokio::test]
    async fn a_failure_on_one_secret_is_counted_and_the_sweep_goes_on() {
        let service = service();
        let failing = created(&service).await;
        let failing_version = staged(&service, &failing).await;
        let others = [created(&service).await, created(&service).await];
        for other in &others {
            staged(&service, other).await;
        }
        let lost = orphan(&service).await;
        let inventory = Watched::new(service.vault(), Some(failing.secret.clone()));
        let report = sweep_secrets(
            service.repository(),
            service.vault(),
            &inventory,
            GRACE,
            now(),
        )
        .await;
        const { assert!(4 > INVENTORY_PAGE, "the sweep pages") };
        assert_eq!(
            report,
            ReconcileReport {
                seen: 4,
                orphans_retired: 1,
                labels_removed: 2,
                failures: 1,
                complete: true,
                ..ReconcileReport::default()
            }
        );
        assert!(service.vault().read_current(&lost).await.is_err());
        assert_eq!(
            labels(&service, &failing.secret, &failing_version).await,
            vec![STAGED.to_owned()],
            "the next sweep tries again"
        );
    }

    #[tokio::test]
    async fn finished_changes_cost_no_call_beyond_the_listing_and_the_record() {
        let service = service();
        for _ in 0..3 {
            let record = created(&service).await;
            let change = crate::service::CredentialChange {
                document: Some(document("changed")),
                attributes: record.attributes.clone(),
                expires_at: None,
            };
            service
                .update(&caller(), &record, change)
                .await
                .expect("updated");
        }
        let inventory = Watched::new(service.vault(), None);
        let swept = sweep_secrets(
            service.repository(),
            service.vault(),
            &inventory,
            GRACE,
            now(),
        )
        .await;
        assert_eq!(swept, report(3));
        assert_eq!(inventory.dated.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn an_outage_is_counted_per_secret_and_a_listing_that_fails_is_incomplete() {
        let service = service();
        created(&service).await;
        orphan(&service).await;
        service.repository().set_down(true);
        assert_eq!(
            sweep(&service, now()).await,
            ReconcileReport {
                failures: 2,
                ..report(2)
            }
        );
        assert_eq!(service.vault().live_secrets().len(), 2, "nothing retired");
        service.vault().set_down(true);
        assert_eq!(sweep(&service, now()).await, ReconcileReport::default());
    }
}
