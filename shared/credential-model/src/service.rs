//! The use cases every family shares, written once against the ports. This is where the
//! two-store rules live: secret first, then metadata conditionally, and undo the secret when
//! the metadata write fails, so no metadata ever points at a missing secret.

use secrecy::SecretString;
use time::OffsetDateTime;

use crate::audit::{AuditAction, AuditEvent};
use crate::credential::{Attributes, CredentialId, CredentialRecord, RecordKey, SecretRef, now};
use crate::document::Document;
use crate::error::{Dependency, Error};
use crate::ports::{
    ConnectionTester, CredentialRepository, Expected, NewSecret, SecretVault, SecretVersion,
    StoreError, TestOutcome, VaultError, untestable,
};
use crate::tenancy::{Caller, OrgId};

/// A credential to store: its secret document and the family's own attributes.
#[derive(Debug)]
pub struct NewCredential<A> {
    pub document: Document,
    pub attributes: A,
    pub expires_at: Option<OffsetDateTime>,
}

/// A change to a stored credential: its new attributes and expiry, and, when the secret
/// changes, its new document. Secrets the document keeps ([`crate::SecretValue::Kept`]) are
/// filled from the version the record names.
#[derive(Debug)]
pub struct CredentialChange<A> {
    pub document: Option<Document>,
    pub attributes: A,
    pub expires_at: Option<OffsetDateTime>,
}

pub struct CredentialService<R, V> {
    repository: R,
    vault: V,
}

/// The domain error of a repository's failure.
pub fn store_error(error: StoreError) -> Error {
    match error {
        StoreError::ConditionFailed => {
            Error::Conflict("the credential was changed by another request; retry")
        }
        StoreError::Unavailable(detail) => Error::Unavailable {
            dependency: Dependency::MetadataStore,
            detail,
        },
        StoreError::Corrupt(detail) => Error::Corrupt {
            what: "credential metadata",
            detail,
        },
    }
}

/// The domain error of a vault's failure on a credential's secret.
pub fn vault_error(error: VaultError) -> Error {
    match error {
        VaultError::NotFound => Error::Corrupt {
            what: "credential",
            detail: "its secret is missing from the vault".into(),
        },
        VaultError::Unavailable(detail) => Error::Unavailable {
            dependency: Dependency::SecretVault,
            detail,
        },
    }
}

/// How long a rotation `in-progress` holds off changes to the secret: far longer than a
/// rotation takes (milliseconds to seconds, with Secrets Manager's retries), short enough that
/// one whose end was never recorded does not block a credential for good.
pub const ROTATION_HOLD: time::Duration = time::Duration::minutes(15);

pub const ORGANIZATION_TAG: &str = "strongroom:organization";
pub const KIND_TAG: &str = "strongroom:kind";
pub const ID_TAG: &str = "strongroom:credential-id";
pub const PROVIDER_TAG: &str = "strongroom:provider";
/// With [`ORGANIZATION_TAG`], the key of the secret's record ([`RecordKey::slot_tag`]).
pub const RECORD_TAG: &str = "strongroom:record";

impl<R: CredentialRepository, V: SecretVault> CredentialService<R, V> {
    pub fn new(repository: R, vault: V) -> Self {
        CredentialService { repository, vault }
    }

    pub fn repository(&self) -> &R {
        &self.repository
    }

    pub fn vault(&self) -> &V {
        &self.vault
    }

    pub async fn get<A: Attributes>(
        &self,
        key: &RecordKey,
    ) -> Result<Option<CredentialRecord<A>>, Error> {
        self.repository.get(key).await.map_err(store_error)
    }

    /// Every credential of `organization` whose slot starts with `slot_prefix`.
    pub async fn list<A: Attributes>(
        &self,
        organization: &OrgId,
        slot_prefix: &str,
    ) -> Result<Vec<CredentialRecord<A>>, Error> {
        self.repository
            .list(organization, slot_prefix)
            .await
            .map_err(store_error)
    }

    /// Stores a new credential `id` under `key`, which must be free.
    pub async fn create<A: Attributes>(
        &self,
        caller: &Caller,
        key: RecordKey,
        id: CredentialId,
        new: NewCredential<A>,
    ) -> Result<CredentialRecord<A>, Error> {
        self.write(caller, key, id, new, Expected::Absent, Default::default())
            .await
    }

    /// Changes the credential `record` in place: same id, same secret (so its ARN stays valid
    /// for whoever uses it), a new secret version. The new version is staged, the metadata that
    /// names it written conditionally on `record` — so a change the caller never saw is not
    /// silently overwritten (409 instead) — and only then is the version made current: a
    /// request that loses a race never changes the secret anyone reads, and changes that
    /// follow each other become current in the order they were written. A change that keeps
    /// the secret as it is writes the metadata alone.
    pub async fn update<A: Attributes>(
        &self,
        caller: &Caller,
        record: &CredentialRecord<A>,
        change: CredentialChange<A>,
    ) -> Result<CredentialRecord<A>, Error> {
        let event = caller.event(AuditAction::CredentialUpdated, Some(record.id), None);
        let CredentialChange {
            document,
            attributes,
            expires_at,
        } = change;
        let mut updated = CredentialRecord {
            attributes,
            expires_at,
            updated_at: now(),
            version: record.version + 1,
            ..record.clone()
        };
        let Some(mut document) = document.filter(|d| changes_secret(record, d)) else {
            self.put_over(record, &updated, &event).await?;
            return Ok(updated);
        };
        // A rotation builds its new version from the current one: a secret changed under it
        // would be lost when it finishes. (One left `in-progress` for long has died: it no
        // longer blocks.)
        if record.rotation.rotating_since(now() - ROTATION_HOLD) {
            return Err(Error::Conflict(
                "the credential is being rotated; retry when the rotation has finished",
            ));
        }
        if document.needs_stored() {
            match self.mergeable(record).await {
                Ok(stored) => document.keep_from(&stored.document),
                Err(error) => return Err(self.lost_secret(record, error).await),
            }
        }
        let staged = self
            .vault
            .stage(
                &record.secret,
                &document.render(),
                &uuid::Uuid::new_v4().to_string(),
            )
            .await;
        updated.secret_version = match staged {
            Ok(version) => version,
            Err(error) => return Err(self.lost_secret(record, error).await),
        };
        updated.provider = document.provider();
        updated.settings = document.settings();
        self.put_over(record, &updated, &event).await?;
        self.make_current(&updated, &record.secret_version).await?;
        if updated.provider != record.provider {
            self.retag(&updated).await;
        }
        Ok(updated)
    }

    /// The version whose secrets a change of `record` keeps: the one its metadata names —
    /// the change before may be written but not promoted yet, and its secrets are the ones to
    /// keep — unless a rotation (Strongroom's, AWS's template, the console) made another
    /// current since: the named version was replaced (`AWSPREVIOUS`), or the current one was
    /// written after it. Merging from the named version would put back the password the
    /// rotation replaced.
    async fn mergeable<A>(
        &self,
        record: &CredentialRecord<A>,
    ) -> Result<SecretVersion, VaultError> {
        let named = self
            .vault
            .read_version(&record.secret, &record.secret_version)
            .await?;
        let current = self.vault.read_current(&record.secret).await?;
        let rotated_since = current.version_id != named.version_id
            && (named.replaced || current.created_at > named.created_at);
        Ok(if rotated_since { current } else { named })
    }

    /// Writes `updated` over `record`, conditionally on finding it as it was read.
    async fn put_over<A: Attributes>(
        &self,
        record: &CredentialRecord<A>,
        updated: &CredentialRecord<A>,
        event: &AuditEvent,
    ) -> Result<(), Error> {
        let written = self
            .repository
            .put_audited(updated, Expected::record(record), event)
            .await;
        match written {
            Err(StoreError::ConditionFailed) => Err(self.changed_since(record).await),
            other => other.map_err(store_error),
        }
    }

    /// Why `record` is not as it was read: deleted meanwhile (404) or changed (409).
    async fn changed_since<A: Attributes>(&self, record: &CredentialRecord<A>) -> Error {
        match self.get::<A>(&record.key).await {
            Ok(None) => Error::NotFound,
            Ok(Some(_)) => store_error(StoreError::ConditionFailed),
            Err(error) => error,
        }
    }

    /// What a vault error met while changing `record` means. Its secret gone means the
    /// credential was deleted (404) or replaced (409) meanwhile; a secret missing under
    /// metadata that still names it is corruption.
    async fn lost_secret<A: Attributes>(
        &self,
        record: &CredentialRecord<A>,
        error: VaultError,
    ) -> Error {
        if !matches!(error, VaultError::NotFound) {
            return vault_error(error);
        }
        match self.get::<A>(&record.key).await {
            Ok(None) => Error::NotFound,
            Ok(Some(current)) if current.id == record.id && current.version == record.version => {
                vault_error(error)
            }
            Ok(Some(_)) => store_error(StoreError::ConditionFailed),
            Err(error) => error,
        }
    }

    /// Moves `AWSCURRENT` to the version `written` names, from `previous` (the version of the
    /// metadata it replaced) or from wherever it is, unless newer metadata has been written
    /// meanwhile: then that change promotes its own version, and this one must not. Each move
    /// is a compare-and-swap, so a slow request can never put an older version back.
    async fn make_current<A: Attributes>(
        &self,
        written: &CredentialRecord<A>,
        previous: &str,
    ) -> Result<(), Error> {
        const ATTEMPTS: usize = 5;
        let secret = &written.secret;
        let mut from = previous.to_owned();
        for _ in 0..ATTEMPTS {
            let moved = match self
                .vault
                .move_current(secret, &written.secret_version, &from)
                .await
            {
                Ok(moved) => moved,
                // Deleted since this change was written: there is nothing left to promote.
                Err(VaultError::NotFound) => return Ok(()),
                Err(error) => return Err(vault_error(error)),
            };
            if moved {
                return Ok(());
            }
            let latest = self.get::<A>(&written.key).await?;
            if latest
                .is_none_or(|latest| latest.id != written.id || latest.version != written.version)
            {
                return Ok(());
            }
            from = match self.vault.current_version(secret).await {
                Ok(current) => current,
                Err(VaultError::NotFound) => return Ok(()),
                Err(error) => return Err(vault_error(error)),
            };
            if from == written.secret_version {
                return Ok(());
            }
        }
        // Only a storm of writers gets here; the next change promotes its own version.
        tracing::error!(%secret, version = written.version,
            "could not make the written secret version current; a later change will");
        Ok(())
    }

    /// Keeps the secret's provider tag in step with its record. A failure is logged, not
    /// returned: the change has been made, and the tag is only a finding aid.
    async fn retag<A: Attributes>(&self, record: &CredentialRecord<A>) {
        let tags = [(PROVIDER_TAG.to_owned(), record.provider.to_string())];
        if let Err(error) = self.vault.tag(&record.secret, &tags).await {
            tracing::error!(secret = %record.secret, %error,
                "could not retag a secret whose provider changed");
        }
    }

    /// Makes `new` the credential stored under `key`, replacing whatever was there. The
    /// replacement gets a new id and a new secret; the previous secret is retired only once
    /// the new metadata is in place, so there is never a moment without a usable credential
    /// and never two active ones.
    pub async fn replace<A: Attributes>(
        &self,
        caller: &Caller,
        key: RecordKey,
        new: NewCredential<A>,
    ) -> Result<CredentialRecord<A>, Error> {
        let existing = self.get::<A>(&key).await?;
        let expected = existing.as_ref().map_or(Expected::Absent, Expected::record);
        let id = CredentialId::generate();
        // The replacement keeps how the credential rotates: Strongroom's rotation function
        // schedules the new secret when it hears of its creation.
        let rotation = crate::rotation::Rotation {
            settings: existing.as_ref().and_then(|e| e.rotation.settings.clone()),
            state: None,
        };
        let record = self.write(caller, key, id, new, expected, rotation).await?;
        if let Some(previous) = existing {
            self.retire(&previous.secret).await;
        }
        Ok(record)
    }

    /// Deletes the credential under `key`: its metadata, then its secret (recoverable for the
    /// vault's recovery window).
    pub async fn delete<A: Attributes>(
        &self,
        caller: &Caller,
        key: &RecordKey,
    ) -> Result<CredentialRecord<A>, Error> {
        let record = self.get::<A>(key).await?.ok_or(Error::NotFound)?;
        let event = caller.event(AuditAction::CredentialDeleted, Some(record.id), None);
        self.repository
            .delete_audited(key, Expected::record(&record), &event)
            .await
            .map_err(store_error)?;
        self.retire(&record.secret).await;
        Ok(record)
    }

    /// Tests the connection `record` stores with `tester`, reading its secret only when the
    /// tester supports its provider.
    pub async fn test_connection<A>(
        &self,
        record: &CredentialRecord<A>,
        tester: &impl ConnectionTester,
    ) -> Result<TestOutcome, Error> {
        if !tester.supports(record.provider) {
            return Ok(untestable(record.provider));
        }
        let document = self.secret_document(record).await?;
        Ok(tester.test(record.provider, &document).await)
    }

    /// The stored secret document of a credential (its current version).
    pub async fn secret_document<A>(
        &self,
        record: &CredentialRecord<A>,
    ) -> Result<SecretString, Error> {
        self.vault
            .read_current(&record.secret)
            .await
            .map(|current| current.document)
            .map_err(vault_error)
    }

    async fn write<A: Attributes>(
        &self,
        caller: &Caller,
        key: RecordKey,
        id: CredentialId,
        new: NewCredential<A>,
        expected: Expected,
        rotation: crate::rotation::Rotation,
    ) -> Result<CredentialRecord<A>, Error> {
        let kind = A::KIND;
        let provider = new.document.provider();
        let created = self
            .vault
            .create(NewSecret {
                // By tenant first, so IAM policies and audits can scope by organization.
                name: format!("{}/{kind}/{id}", key.organization),
                description: format!("Strongroom {kind} {id} ({provider})"),
                document: &new.document.render(),
                tags: vec![
                    (ORGANIZATION_TAG.into(), key.organization.to_string()),
                    (KIND_TAG.into(), kind.to_string()),
                    (ID_TAG.into(), id.to_string()),
                    (PROVIDER_TAG.into(), provider.to_string()),
                    (RECORD_TAG.into(), key.slot_tag()),
                ],
                idempotency_token: id.to_string(),
            })
            .await
            .map_err(vault_error)?;
        let at = now();
        let record = CredentialRecord {
            key,
            id,
            provider,
            settings: new.document.settings(),
            attributes: new.attributes,
            secret: created.secret,
            secret_version: created.version_id,
            expires_at: new.expires_at,
            rotation,
            created_by: caller.user.clone(),
            created_at: at,
            updated_at: at,
            version: match expected {
                Expected::Absent => 1,
                Expected::Current { version, .. } => version + 1,
            },
        };
        let event = match expected {
            Expected::Absent => caller.event(AuditAction::CredentialCreated, Some(id), None),
            Expected::Current { id: replaced, .. } => caller.event(
                AuditAction::CredentialReplaced,
                Some(id),
                Some(replaced.to_string()),
            ),
        };
        if let Err(error) = self.repository.put_audited(&record, expected, &event).await {
            // The secret was never referenced: remove it now rather than leave an orphan.
            if let Err(undo) = self.vault.discard(&record.secret).await {
                tracing::error!(secret = %record.secret, error = %undo,
                    "could not discard the secret of a failed create; the sweeper will");
            }
            return Err(store_error(error));
        }
        Ok(record)
    }

    /// Retires a secret that is no longer referenced. A failure is logged, not returned: the
    /// request it belongs to has succeeded, and the unreferenced secret is the sweeper's.
    async fn retire(&self, secret: &SecretRef) {
        if let Err(error) = self.vault.retire(secret).await {
            tracing::error!(%secret, %error,
                "could not retire a replaced secret; the sweeper will");
        }
    }
}

/// Whether storing `document` for `record` changes its secret: it brings secrets of its own,
/// or other settings, or another provider. A document that only keeps what is stored does not.
fn changes_secret<A>(record: &CredentialRecord<A>, document: &Document) -> bool {
    document.has_new_secrets()
        || document.provider() != record.provider
        || document.settings() != record.settings
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::connection::DatabaseLogin;
    use crate::credential::CredentialKind;
    use crate::document::SecretValue;
    use crate::provider::Provider;
    use crate::tenancy::OrgId;
    use crate::testing::{MemoryRepository, MemoryVault};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Named {
        name: String,
    }

    impl Attributes for Named {
        const KIND: CredentialKind = CredentialKind::GenericCredential;
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Connection {}

    impl Attributes for Connection {
        const KIND: CredentialKind = CredentialKind::WarehouseConnection;
    }

    use crate::testing::caller;

    fn singleton() -> RecordKey {
        RecordKey::singleton(caller().organization, CredentialKind::WarehouseConnection)
    }

    fn document(host: &str, password: SecretValue) -> Document {
        DatabaseLogin {
            host: Some(host.into()),
            port: Some(5432),
            password: Some(password),
            ..DatabaseLogin::default()
        }
        .document(Provider::Postgres)
    }

    fn postgres<A>(password: &str, attributes: A) -> NewCredential<A> {
        NewCredential {
            document: document("db", SecretValue::text(password)),
            attributes,
            expires_at: None,
        }
    }

    fn named(name: &str) -> Named {
        Named { name: name.into() }
    }

    /// A change to the name `name`, storing `document` when there is one.
    fn change(document: Option<Document>, name: &str) -> CredentialChange<Named> {
        CredentialChange {
            document,
            attributes: named(name),
            expires_at: None,
        }
    }

    fn service() -> CredentialService<MemoryRepository, MemoryVault> {
        CredentialService::new(MemoryRepository::default(), MemoryVault::default())
    }

    /// The organization's connection, replaced by one with `password`.
    async fn replaced(
        service: &CredentialService<MemoryRepository, MemoryVault>,
        password: &str,
    ) -> CredentialRecord<Connection> {
        service
            .replace(&caller(), singleton(), postgres(password, Connection {}))
            .await
            .expect("replaced")
    }

    /// The organization's connection, as stored.
    async fn connection(
        service: &CredentialService<MemoryRepository, MemoryVault>,
    ) -> Option<CredentialRecord<Connection>> {
        service.get(&singleton()).await.expect("readable")
    }

    async fn created(
        service: &CredentialService<MemoryRepository, MemoryVault>,
        password: &str,
    ) -> CredentialRecord<Named> {
        let id = CredentialId::generate();
        let key = RecordKey::item(caller().organization, CredentialKind::GenericCredential, id);
        service
            .create(&caller(), key, id, postgres(password, named("n")))
            .await
            .expect("created")
    }

    async fn current(
        service: &CredentialService<MemoryRepository, MemoryVault>,
        record: &CredentialRecord<Named>,
    ) -> String {
        service
            .secret_document(record)
            .await
            .expect("readable")
            .expose_secret()
            .to_owned()
    }

    #[tokio::test]
    async fn given_no_connection_when_replacing_then_one_is_stored_with_its_secret() {
        let service = service();
        let record = replaced(&service, "first").await;
        assert_eq!(record.version, 1);
        assert!(record.secret.0.contains("/org_a/warehouse-connection/"));
        assert!(!format!("{record:?}").contains("first"));
        let document = service.secret_document(&record).await.expect("readable");
        assert!(document.expose_secret().contains("\"password\":\"first\""));
        let tags = service.vault().tags(&record.secret);
        assert!(tags.contains(&(RECORD_TAG.into(), "warehouse-connection/active".into())));
    }

    #[tokio::test]
    async fn given_a_connection_when_replacing_then_the_old_secret_is_retired() {
        let service = service();
        let first = replaced(&service, "first").await;
        let second = replaced(&service, "second").await;
        assert_eq!(second.version, 2);
        assert_ne!(first.id, second.id);
        assert_eq!(service.vault().live_secrets(), vec![second.secret.0]);
    }

    #[tokio::test]
    async fn given_a_rotated_connection_when_replacing_then_the_rotation_settings_stay() {
        let service = service();
        let first = replaced(&service, "first").await;
        let settings = crate::rotation::RotationSettings {
            schedule: crate::rotation::Schedule::parse("rate(7 days)").expect("valid"),
            strategy: crate::rotation::Strategy::SingleUser,
            admin_credential: None,
        };
        let configured = CredentialRecord {
            rotation: crate::rotation::Rotation {
                settings: Some(settings.clone()),
                state: None,
            },
            version: first.version + 1,
            ..first.clone()
        };
        service
            .repository()
            .put(&configured, Expected::record(&first))
            .await
            .expect("configured");
        let second = replaced(&service, "second").await;
        assert_ne!(second.secret, first.secret);
        assert_eq!(second.rotation.settings, Some(settings));
        assert_eq!(
            second.rotation.state, None,
            "the new secret has not rotated"
        );
    }

    #[tokio::test]
    async fn given_a_rotation_in_progress_then_secret_changes_wait_and_others_do_not() {
        let service = service();
        let created = created(&service, "first").await;
        let rotating = |at| CredentialRecord {
            rotation: crate::rotation::Rotation {
                settings: None,
                state: Some(crate::rotation::RotationState {
                    status: crate::rotation::RotationStatus::InProgress,
                    token: Some("t".into()),
                    at,
                    last_rotated_at: None,
                    reason: None,
                }),
            },
            version: created.version + 1,
            ..created.clone()
        };
        let record = rotating(now());
        service
            .repository()
            .put(&record, Expected::record(&created))
            .await
            .expect("rotating");
        let secret_change = change(Some(document("db", SecretValue::text("second"))), "n");
        let refused = service.update(&caller(), &record, secret_change).await;
        assert!(
            matches!(refused, Err(Error::Conflict(reason)) if reason.contains("being rotated"))
        );
        let renamed = service
            .update(&caller(), &record, change(None, "renamed"))
            .await
            .expect("a change that leaves the secret alone goes through");
        // A rotation whose end was never recorded stops holding changes off.
        let stale = rotating(now() - ROTATION_HOLD - time::Duration::seconds(1));
        let stale = CredentialRecord {
            version: renamed.version + 1,
            ..stale
        };
        service
            .repository()
            .put(&stale, Expected::record(&renamed))
            .await
            .expect("stale");
        let secret_change = change(Some(document("db", SecretValue::text("third"))), "n");
        service
            .update(&caller(), &stale, secret_change)
            .await
            .expect("no longer held off");
    }

    #[tokio::test]
    async fn given_a_lost_race_when_replacing_then_conflict_and_no_orphan_secret() {
        let service = service();
        service
            .repository()
            .fail_next_write(StoreError::ConditionFailed);
        let result = service
            .replace(&caller(), singleton(), postgres("loser", Connection {}))
            .await;
        assert!(matches!(result, Err(Error::Conflict(_))), "{result:?}");
        assert!(service.vault().live_secrets().is_empty());
        assert_eq!(connection(&service).await, None);
    }

    #[tokio::test]
    async fn given_a_replace_that_read_a_deleted_connection_then_it_never_overwrites_a_newer_one() {
        let service = service();
        let read = replaced(&service, "first").await;
        service
            .delete::<Connection>(&caller(), &singleton())
            .await
            .expect("deleted");
        let newer = replaced(&service, "newer").await;
        assert_eq!(newer.version, read.version, "the version restarts");
        // A slow replace that read the first connection writes conditionally on it.
        let stale = service
            .repository()
            .put(
                &CredentialRecord {
                    id: CredentialId::generate(),
                    version: 2,
                    ..read.clone()
                },
                Expected::record(&read),
            )
            .await;
        assert!(matches!(stale, Err(StoreError::ConditionFailed)));
        assert_eq!(
            service.get::<Connection>(&singleton()).await.expect("read"),
            Some(newer)
        );
    }

    #[tokio::test]
    async fn given_the_vault_is_down_when_replacing_then_nothing_is_written() {
        let service = service();
        service.vault().set_down(true);
        let result = service
            .replace(&caller(), singleton(), postgres("x", Connection {}))
            .await;
        assert!(matches!(
            result,
            Err(Error::Unavailable {
                dependency: Dependency::SecretVault,
                ..
            })
        ));
        assert_eq!(connection(&service).await, None);
    }

    #[tokio::test]
    async fn given_a_credential_when_updating_then_same_id_and_secret_new_version() {
        let service = service();
        let created = created(&service, "kept").await;
        let updated = service
            .update(
                &caller(),
                &created,
                change(Some(document("elsewhere", SecretValue::Kept)), "renamed"),
            )
            .await
            .expect("updated");
        assert_eq!((updated.id, updated.version), (created.id, 2));
        assert_eq!(updated.secret, created.secret);
        assert_eq!(updated.created_at, created.created_at);
        assert_eq!(updated.attributes, named("renamed"));
        let document = current(&service, &updated).await;
        assert!(document.contains("elsewhere"));
        assert!(document.contains("\"password\":\"kept\""));
    }

    #[tokio::test]
    async fn given_a_lost_race_when_updating_then_conflict_and_the_secret_is_unchanged() {
        let service = service();
        let created = created(&service, "before").await;
        service
            .repository()
            .fail_next_write(StoreError::ConditionFailed);
        let change = change(Some(document("db", SecretValue::text("after"))), "n");
        assert!(matches!(
            service.update(&caller(), &created, change).await,
            Err(Error::Conflict(_))
        ));
        assert!(current(&service, &created).await.contains("before"));
    }

    #[tokio::test]
    async fn given_a_credential_deleted_under_an_update_then_not_found_not_unavailable() {
        let service = service();
        let created = created(&service, "first").await;
        service
            .delete::<Named>(&caller(), &created.key)
            .await
            .expect("deleted");
        for document in [
            document("db", SecretValue::Kept),
            document("db", SecretValue::text("new")),
        ] {
            let change = change(Some(document), "n");
            let result = service.update(&caller(), &created, change).await;
            assert!(matches!(result, Err(Error::NotFound)), "{result:?}");
        }
    }

    #[tokio::test]
    async fn given_a_stale_read_when_updating_from_it_then_conflict_and_nothing_changes() {
        let service = service();
        let stale = created(&service, "first").await;
        let change =
            |password: &str| change(Some(document("db", SecretValue::text(password))), "n");
        let newer = service
            .update(&caller(), &stale, change("second"))
            .await
            .expect("updated");
        assert!(matches!(
            service.update(&caller(), &stale, change("third")).await,
            Err(Error::Conflict(_))
        ));
        assert!(current(&service, &newer).await.contains("second"));
        assert_eq!(
            service.get::<Named>(&stale.key).await.expect("readable"),
            Some(newer)
        );
    }

    #[tokio::test]
    async fn given_a_change_that_keeps_the_secret_then_only_the_metadata_is_written() {
        let service = service();
        let created = created(&service, "kept").await;
        for document in [None, Some(document("db", SecretValue::Kept))] {
            let record = service
                .get::<Named>(&created.key)
                .await
                .expect("read")
                .expect("there");
            let updated = service
                .update(&caller(), &record, change(document, "renamed"))
                .await
                .expect("updated");
            assert_eq!(updated.attributes, named("renamed"));
            assert_eq!(
                updated.secret_version, created.secret_version,
                "no new version"
            );
        }
        assert!(
            current(&service, &created)
                .await
                .contains("\"password\":\"kept\"")
        );
    }

    #[tokio::test]
    async fn given_a_new_provider_then_the_secret_is_retagged() {
        let service = service();
        let created = created(&service, "first").await;
        let mut snowflake = Document::new(Provider::Snowflake);
        snowflake.secret("password", SecretValue::text("second"));
        let updated = service
            .update(&caller(), &created, change(Some(snowflake), "n"))
            .await
            .expect("updated");
        assert_eq!(updated.provider, Provider::Snowflake);
        assert!(
            service
                .vault()
                .tags(&created.secret)
                .contains(&(PROVIDER_TAG.into(), "snowflake".into()))
        );
    }

    #[tokio::test]
    async fn given_a_change_written_but_not_yet_current_then_the_next_builds_on_it_and_wins() {
        let service = service();
        let created = created(&service, "first").await;
        // Change A stages its version and writes its metadata, then stalls before promoting.
        let staged = service
            .vault()
            .stage(
                &created.secret,
                &document("db", SecretValue::text("second")).render(),
                "change-a",
            )
            .await
            .expect("staged");
        let a = CredentialRecord {
            secret_version: staged,
            version: 2,
            ..created.clone()
        };
        service
            .repository()
            .put(&a, Expected::record(&created))
            .await
            .expect("A's metadata");
        // Change B reads A's metadata and keeps the password: A's, not the one still current.
        let b = service
            .update(
                &caller(),
                &a,
                change(Some(document("elsewhere", SecretValue::Kept)), "n"),
            )
            .await
            .expect("B");
        let document = current(&service, &b).await;
        assert!(document.contains("\"password\":\"second\""));
        assert!(document.contains("elsewhere"));
        // A wakes up: it must not put its older version back over B's.
        service
            .make_current(&a, &created.secret_version)
            .await
            .expect("A gives way");
        assert_eq!(
            service
                .vault()
                .current_version(&created.secret)
                .await
                .expect("current"),
            b.secret_version
        );
    }

    #[tokio::test]
    async fn given_a_rotation_outside_strongroom_then_an_update_keeps_the_rotated_password() {
        let service = service();
        let created = created(&service, "before-rotation").await;
        // AWS's rotation template: a new version made current; the metadata still names the
        // version it replaced.
        let rotated = service
            .vault()
            .stage(
                &created.secret,
                &document("db", SecretValue::text("rotated")).render(),
                "aws-rotation",
            )
            .await
            .expect("staged");
        assert!(
            service
                .vault()
                .move_current(&created.secret, &rotated, &created.secret_version)
                .await
                .expect("moved")
        );
        let updated = service
            .update(
                &caller(),
                &created,
                change(Some(document("elsewhere", SecretValue::Kept)), "n"),
            )
            .await
            .expect("updated");
        let document = current(&service, &updated).await;
        assert!(document.contains("\"password\":\"rotated\""), "rolled back");
        assert!(document.contains("elsewhere"));
    }

    #[tokio::test]
    async fn listing_stays_inside_the_organization_and_prefix() {
        let service = service();
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(created(&service, "x").await.id);
        }
        let other = Caller {
            organization: OrgId::parse("org_b").expect("valid"),
            ..caller()
        };
        let id = CredentialId::generate();
        let key = RecordKey::item(
            other.organization.clone(),
            CredentialKind::GenericCredential,
            id,
        );
        service
            .create(&other, key, id, postgres("y", named("theirs")))
            .await
            .expect("created");
        let mine = service
            .list::<Named>(&caller().organization, "generic-credential#")
            .await
            .expect("listed");
        assert_eq!(mine.len(), 3);
        assert!(mine.iter().all(|r| ids.contains(&r.id)));
        assert_eq!(
            service
                .repository()
                .locate(&caller().organization, ids[0])
                .await
                .expect("located"),
            Some(RecordKey::item(
                caller().organization,
                CredentialKind::GenericCredential,
                ids[0]
            ))
        );
        assert_eq!(
            service
                .repository()
                .locate(&other.organization, ids[0])
                .await
                .expect("looked up"),
            None
        );
    }

    #[tokio::test]
    async fn given_a_connection_when_deleting_then_metadata_and_secret_go() {
        let service = service();
        replaced(&service, "x").await;
        service
            .delete::<Connection>(&caller(), &singleton())
            .await
            .expect("deleted");
        assert_eq!(connection(&service).await, None);
        assert!(service.vault().live_secrets().is_empty());
        assert!(matches!(
            service.delete::<Connection>(&caller(), &singleton()).await,
            Err(Error::NotFound)
        ));
    }
}
